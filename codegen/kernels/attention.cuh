//===- attention.cuh - Causal GQA attention over the KV cache -------------===//
//
// Queries of this call: q [B, L, Hq, Dh] at positions *pos + l; keys and
// values: the cache [B, ctx, Hkv, Dh] (already holding this call's tokens);
// query head h reads kv head h / (Hq / Hkv); window > 0 keeps keys
// [p - window + 1, p]. Softmax in fp32 with the row max subtracted.
//   decode:  block (head, token x key split, batch) of 128 threads: scores
//            in dynamic shared memory, then a block-wide weighted sum of V;
//            with a.splits > 1 (L = 1) each block takes a slice of the keys
//            and the last block of a row merges the partials (flash-decoding).
//   prefill: block (64-query tile, head, batch), one query per thread, K/V
//            tiles staged in shared memory, online softmax (flash style) on
//            the CUDA cores.
//
//===----------------------------------------------------------------------===//
#pragma once
#include "common.cuh"

namespace hyb {

template <int Dh>
__device__ __forceinline__ void attn_decode_kernel(const AttnArgs &a) {
  static_assert(Dh % 8 == 0 && Dh <= 1024, "attention: head dim must be a multiple of 8");
  constexpr int Threads = 128, Vec = Dh / 8;
  constexpr int Slices = Threads / Vec;
  extern __shared__ float scores[];  // [keys]
  __shared__ float qs[Dh];
  __shared__ float part[Slices * Dh];
  __shared__ float scratch[33];
  const int S = a.splits > 1 ? a.splits : 1;
  const int h = blockIdx.x, l = blockIdx.y / S, c = blockIdx.y % S, b = blockIdx.z;
  const int kvh = h / (a.Hq / a.Hkv);
  const int p = *a.pos + l;
  const int lo0 = a.window > 0 ? max(0, p - a.window + 1) : 0;
  // This block's slice of the keys [lo0, p]: split c of S (may be empty).
  const int chunk = (p - lo0 + 1 + S - 1) / S;
  const int lo = lo0 + c * chunk;
  const int n = max(0, min(chunk, p + 1 - lo));
  const int64_t qoff = (((int64_t)b * a.L + l) * a.Hq + h) * Dh;
  for (int e = threadIdx.x; e < Dh; e += Threads)
    qs[e] = ld(a.q, qoff + e) * a.scale;
  __syncthreads();
  const int64_t rowStride = (int64_t)a.Hkv * Dh;
  const bf16_t *kb = a.k + ((int64_t)b * a.ctx + lo) * rowStride + (int64_t)kvh * Dh;
  const bf16_t *vb = a.v + ((int64_t)b * a.ctx + lo) * rowStride + (int64_t)kvh * Dh;
  float mx = -INFINITY;
  for (int j = threadIdx.x; j < n; j += Threads) {
    const uint4 *kr = reinterpret_cast<const uint4 *>(kb + j * rowStride);
    float s = 0.f;
#pragma unroll
    for (int v = 0; v < Vec; ++v) {
      uint4 u = kr[v];
      const __nv_bfloat162 *k2 = reinterpret_cast<const __nv_bfloat162 *>(&u);
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        float2 f = __bfloat1622float2(k2[e]);
        s += f.x * qs[v * 8 + 2 * e] + f.y * qs[v * 8 + 2 * e + 1];
      }
    }
    scores[j] = s;
    mx = fmaxf(mx, s);
  }
  mx = blockMax(mx, scratch);
  float sum = 0.f;
  for (int j = threadIdx.x; j < n; j += Threads) {
    float e = __expf(scores[j] - mx);
    scores[j] = e;
    sum += e;
  }
  sum = blockSum(sum, scratch);  // (its barriers also publish scores[])
  const int slice = threadIdx.x / Vec, vec = threadIdx.x % Vec;
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  if (slice < Slices)
    for (int j = slice; j < n; j += Slices) {
      uint4 u = reinterpret_cast<const uint4 *>(vb + j * rowStride)[vec];
      const __nv_bfloat162 *v2 = reinterpret_cast<const __nv_bfloat162 *>(&u);
      const float w = scores[j];
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        float2 f = __bfloat1622float2(v2[e]);
        acc[2 * e] += w * f.x;
        acc[2 * e + 1] += w * f.y;
      }
    }
  if (slice < Slices)
#pragma unroll
    for (int e = 0; e < 8; ++e)
      part[slice * Dh + vec * 8 + e] = acc[e];
  __syncthreads();
  if (S == 1) {
    const float inv = 1.f / sum;
    for (int e = threadIdx.x; e < Dh; e += Threads) {
      float s = 0.f;
      for (int sl = 0; sl < Slices; ++sl)
        s += part[sl * Dh + e];
      st(a.out, qoff + e, s * inv);
    }
    return;
  }
  const int row = (b * a.L + l) * a.Hq + h;
  float *mine = a.part + ((int64_t)row * S + c) * (Dh + 2);
  for (int e = threadIdx.x; e < Dh; e += Threads) {
    float s = 0.f;
    for (int sl = 0; sl < Slices; ++sl)
      s += part[sl * Dh + e];
    mine[2 + e] = s;
  }
  if (threadIdx.x == 0)
    mine[0] = mx, mine[1] = sum;
  // Publish the partial, then the last block of this row combines all S.
  __threadfence();
  __syncthreads();
  __shared__ int last;
  if (threadIdx.x == 0)
    last = atomicAdd(a.counter + row, 1) == S - 1;
  __syncthreads();
  if (!last)
    return;
  __threadfence();
  // The other blocks' partials: read through L2 (__ldcg), where their fenced
  // stores are (volatile loads would be uncached and serialized).
  const float *all = a.part + (int64_t)row * S * (Dh + 2);
  float m = -INFINITY;
  for (int j = 0; j < S; ++j)
    m = fmaxf(m, __ldcg(all + j * (Dh + 2)));
  float den = 0.f;
  for (int j = 0; j < S; ++j) {
    const float mj = __ldcg(all + j * (Dh + 2));
    if (mj > -INFINITY)
      den += __expf(mj - m) * __ldcg(all + j * (Dh + 2) + 1);
  }
  for (int e = threadIdx.x; e < Dh; e += Threads) {
    float s = 0.f;
    for (int j = 0; j < S; ++j) {
      const float mj = __ldcg(all + j * (Dh + 2));
      if (mj > -INFINITY)
        s += __expf(mj - m) * __ldcg(all + j * (Dh + 2) + 2 + e);
    }
    st(a.out, qoff + e, s / den);
  }
  if (threadIdx.x == 0)
    a.counter[row] = 0;  // ready for the next launch (graph replays reuse it)
}

template <int Dh>
__device__ __forceinline__ void attn_prefill_kernel(const AttnArgs &a) {
  static_assert(Dh % 8 == 0 && Dh <= 256, "attention: head dim must be a multiple of 8, <= 256");
  constexpr int QT = 64;                        // queries per block = threads
  constexpr int KT = Dh <= 64 ? 64 : 8192 / Dh; // keys per shared tile (32 KB)
  constexpr int G = 16;                         // keys per online-softmax step
  static_assert(KT % G == 0, "attention: key tile must be a multiple of 16");
  __shared__ float ks[KT][Dh];
  __shared__ float vs[KT][Dh];
  const int h = blockIdx.y, b = blockIdx.z;
  const int kvh = h / (a.Hq / a.Hkv);
  const int pos = *a.pos;
  const int l0 = blockIdx.x * QT, l = l0 + threadIdx.x;
  const bool live = l < a.L;
  const int p = pos + (live ? l : a.L - 1);
  const int lo = a.window > 0 ? max(0, p - a.window + 1) : 0;
  const float kLog2e = 1.4426950408889634f;
  float q[Dh], acc[Dh];
  const int64_t qoff = (((int64_t)b * a.L + (live ? l : a.L - 1)) * a.Hq + h) * Dh;
#pragma unroll
  for (int e = 0; e < Dh; ++e) {
    q[e] = ld(a.q, qoff + e) * a.scale * kLog2e;
    acc[e] = 0.f;
  }
  float m = -INFINITY, lsum = 0.f;
  const int pLast = pos + min(a.L, l0 + QT) - 1;
  const int pFirst = pos + l0;
  const int kBegin = a.window > 0 ? max(0, pFirst - a.window + 1) : 0;
  const int64_t rowStride = (int64_t)a.Hkv * Dh;
  const bf16_t *kb = a.k + (int64_t)b * a.ctx * rowStride + (int64_t)kvh * Dh;
  const bf16_t *vb = a.v + (int64_t)b * a.ctx * rowStride + (int64_t)kvh * Dh;
  for (int k0 = kBegin; k0 <= pLast; k0 += KT) {
    __syncthreads();
    for (int i = threadIdx.x; i < KT * Dh; i += QT) {
      int j = i / Dh, e = i % Dh, kk = k0 + j;
      bool in = kk <= pLast;
      ks[j][e] = in ? ld(kb, kk * rowStride + e) : 0.f;
      vs[j][e] = in ? ld(vb, kk * rowStride + e) : 0.f;
    }
    __syncthreads();
    for (int j0 = 0; j0 < KT; j0 += G) {
      if (k0 + j0 > p)
        break;
      float s[G];
      float gm = -INFINITY;
#pragma unroll
      for (int g = 0; g < G; ++g) {
        const int kk = k0 + j0 + g;
        float d = 0.f;
#pragma unroll
        for (int e = 0; e < Dh; ++e)
          d += q[e] * ks[j0 + g][e];
        s[g] = (kk <= p && kk >= lo) ? d : -INFINITY;
        gm = fmaxf(gm, s[g]);
      }
      if (gm == -INFINITY)
        continue;
      const float mNew = fmaxf(m, gm);
      const float corr = exp2f(m - mNew);
      lsum *= corr;
#pragma unroll
      for (int e = 0; e < Dh; ++e)
        acc[e] *= corr;
#pragma unroll
      for (int g = 0; g < G; ++g) {
        const float w = exp2f(s[g] - mNew);
        lsum += w;
#pragma unroll
        for (int e = 0; e < Dh; ++e)
          acc[e] += w * vs[j0 + g][e];
      }
      m = mNew;
    }
  }
  if (live) {
    const float inv = 1.f / lsum;
#pragma unroll
    for (int e = 0; e < Dh; ++e)
      st(a.out, qoff + e, acc[e] * inv);
  }
}

} // namespace hyb
