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

} // namespace hyb
