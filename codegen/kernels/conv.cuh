//===- conv.cuh - Depthwise causal conv1d (+SiLU) with a K-1 row state ----===//
//
// out[b, l, c] = bias[c] + sum_k w[c, k] * xin[b, l - K + 1 + k, c], where
// positions < 0 read the carried state [B, K-1, C] (oldest first). Three
// modes, one template:
//   Seq   thread per (b, c) walks the L tokens with a register window and
//         updates the state in place (decode; any L);
//   Par   thread per (b, l, c): outputs only (prefill);
//   State thread per (b, j, c): the new state = the last K-1 rows of
//         state ++ x (after Par; needs L >= K-1 so it reads x only).
//
//===----------------------------------------------------------------------===//
#pragma once
#include "common.cuh"

namespace hyb {

enum ConvMode { kConvSeq = 0, kConvPar = 1, kConvState = 2 };

template <int K, int Mode, typename OutT, typename InT = bf16_t>
__device__ __forceinline__ void conv_kernel(const ConvArgs &a) {
  const InT *x = static_cast<const InT *>(a.x);
  static_assert(K >= 1 && K <= 8, "conv1d: kernel width must be 1..8");
  constexpr int S = K - 1;
  OutT *out = static_cast<OutT *>(a.out);
  const int64_t C = a.C;
  if (Mode == kConvSeq) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < a.B * C;
         i += (int64_t)gridDim.x * blockDim.x) {
      const int64_t b = i / C, c = i % C;
      float win[S > 0 ? S : 1];
      float w[K];
#pragma unroll
      for (int k = 0; k < K; ++k)
        w[k] = a.w[c * K + k];
#pragma unroll
      for (int j = 0; j < S; ++j)
        win[j] = a.state ? a.state[(b * S + j) * C + c] : 0.f;
      const float bias = a.bias ? a.bias[c] : 0.f;
      for (int64_t l = 0; l < a.L; ++l) {
        const int64_t t = b * a.L + l;
        float xv = ld(x, t * a.ldx + c), acc = bias;
#pragma unroll
        for (int k = 0; k < S; ++k)
          acc += w[k] * win[k];
        acc += w[S] * xv;
#pragma unroll
        for (int k = 0; k + 1 < S; ++k)
          win[k] = win[k + 1];
        if (S > 0)
          win[S - 1] = xv;
        st(out, t * C + c, a.silu ? siluf(acc) : acc);
      }
      if (a.state)
#pragma unroll
        for (int j = 0; j < S; ++j)
          a.state[(b * S + j) * C + c] = win[j];
    }
  } else if (Mode == kConvPar) {
    const int64_t n = a.B * a.L * C;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
      const int64_t t = i / C, c = i % C, b = t / a.L, l = t % a.L;
      float acc = a.bias ? a.bias[c] : 0.f;
#pragma unroll
      for (int k = 0; k < K; ++k) {
        int64_t p = l - S + k;
        float xv = p >= 0 ? ld(x, (b * a.L + p) * a.ldx + c)
                          : (a.state ? a.state[(b * S + S + p) * C + c] : 0.f);
        acc += a.w[c * K + k] * xv;
      }
      st(out, t * C + c, a.silu ? siluf(acc) : acc);
    }
  } else {
    const int64_t n = a.B * S * C;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
      const int64_t b = i / (S * C), j = (i / C) % S, c = i % C;
      a.state[i] = ld(x, (b * a.L + a.L - S + j) * a.ldx + c);
    }
  }
}

/// Prefill (many tokens): each thread computes a run of kConvRun tokens of 4
/// adjacent channels, sliding a window of K-1 rows in registers, so every
/// input row is read once per run (plus K-1 rows of overlap) with vector
/// loads and no per-element index division. Needs C % 4 == 0, ldx % 4 == 0
/// and x aligned for the vector loads (the launcher checks; else kConvPar).
/// Work items: B * ceil(L / kConvRun) * C / 4 (grid-stride).
template <typename T> struct Vec4;
template <> struct Vec4<float> {
  static __device__ __forceinline__ float4 load(const float *p) {
    return *reinterpret_cast<const float4 *>(p);
  }
  static __device__ __forceinline__ void store(float *p, float4 v) {
    *reinterpret_cast<float4 *>(p) = v;
  }
};
template <> struct Vec4<bf16_t> {
  static __device__ __forceinline__ float4 load(const bf16_t *p) {
    const uint2 u = *reinterpret_cast<const uint2 *>(p);
    const float2 a = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162 *>(&u.x));
    const float2 b = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162 *>(&u.y));
    return make_float4(a.x, a.y, b.x, b.y);
  }
  static __device__ __forceinline__ void store(bf16_t *p, float4 v) {
    __nv_bfloat162 a = __floats2bfloat162_rn(v.x, v.y), b = __floats2bfloat162_rn(v.z, v.w);
    uint2 u;
    u.x = *reinterpret_cast<uint32_t *>(&a);
    u.y = *reinterpret_cast<uint32_t *>(&b);
    *reinterpret_cast<uint2 *>(p) = u;
  }
};

template <int K, typename OutT, typename InT>
__device__ __forceinline__ void conv_prefill_kernel(const ConvArgs &a) {
  static_assert(K >= 1 && K <= 8, "conv1d: kernel width must be 1..8");
  constexpr int S = K - 1;
  const InT *x = static_cast<const InT *>(a.x);
  OutT *out = static_cast<OutT *>(a.out);
  const int CQ = a.C / 4, runs = (a.L + kConvRun - 1) / kConvRun;
  const int64_t items = (int64_t)a.B * runs * CQ;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < items;
       i += (int64_t)gridDim.x * blockDim.x) {
    const int c = (int)(i % CQ) * 4;
    const int64_t rest = i / CQ;
    const int run = (int)(rest % runs), b = (int)(rest / runs);
    const int l0 = run * kConvRun;
    float4 w[K];
#pragma unroll
    for (int k = 0; k < K; ++k)
      w[k] = make_float4(a.w[c * K + k], a.w[(c + 1) * K + k], a.w[(c + 2) * K + k],
                         a.w[(c + 3) * K + k]);
    const float4 bias =
        a.bias ? *reinterpret_cast<const float4 *>(a.bias + c) : make_float4(0.f, 0.f, 0.f, 0.f);
    const int64_t row0 = (int64_t)b * a.L;
    // win[j]: input row l0 - S + j (the cache's conv state before position 0).
    float4 win[S > 0 ? S : 1];
#pragma unroll
    for (int j = 0; j < S; ++j) {
      const int p = l0 - S + j;
      if (p >= 0)
        win[j] = Vec4<InT>::load(x + (row0 + p) * a.ldx + c);
      else if (a.state)
        win[j] = *reinterpret_cast<const float4 *>(a.state + ((int64_t)b * S + S + p) * a.C + c);
      else
        win[j] = make_float4(0.f, 0.f, 0.f, 0.f);
    }
#pragma unroll
    for (int r = 0; r < kConvRun; ++r) {
      const int l = l0 + r;
      if (l >= a.L)
        break;
      const float4 xv = Vec4<InT>::load(x + (row0 + l) * a.ldx + c);
      float4 acc = bias;
#pragma unroll
      for (int k = 0; k < K; ++k) {
        const float4 v = k < S ? win[k] : xv;
        acc.x += w[k].x * v.x, acc.y += w[k].y * v.y, acc.z += w[k].z * v.z, acc.w += w[k].w * v.w;
      }
#pragma unroll
      for (int k = 0; k + 1 < S; ++k)
        win[k] = win[k + 1];
      if (S > 0)
        win[S - 1] = xv;
      if (a.silu)
        acc = make_float4(siluf(acc.x), siluf(acc.y), siluf(acc.z), siluf(acc.w));
      Vec4<OutT>::store(out + (row0 + l) * a.C + c, acc);
    }
  }
}

} // namespace hyb
