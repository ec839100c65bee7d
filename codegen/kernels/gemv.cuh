//===- gemv.cuh - Decode GEMMs (T <= 8 rows): bandwidth-bound GEMV --------===//
//
// out[t, n] = alpha * x[t, :] . W[n, :] + beta * out[t, n] for the few token
// rows of a decode step, where cuBLASLt's GEMM kernels leave bandwidth on
// the table. 1-8 warps per output row n (a.split, chosen by the host so
// that ~64 warps per SM are loading) read W[n, :] once with 16-byte loads
// (bf16, 8 per load), x read from global (L1), fp32 accumulation,
// warp-shuffle then shared-memory reduction. Waits for the previous kernel
// itself (pdlWait) after its first weight loads. Swiglu: two weights (gate, up),
// out = silu(gs * (g + bg)) * (u + bu), so swiglu_linear is one launch.
//
//===----------------------------------------------------------------------===//
#pragma once
#include "common.cuh"

namespace hyb {

template <int MaxT, bool OutF32, bool Swiglu>
__device__ __forceinline__ void gemv_kernel(const GemvArgs &a) {
  static_assert(MaxT >= 1 && MaxT <= 8, "gemv: at most 8 token rows");
  // Block of 8 warps; a.split warps share one output row (each a slice of
  // K), so small N still puts enough loads in flight. x is read straight
  // from global memory (L1-resident, a few KB): no staging barrier before
  // the weight loads start.
  __shared__ float red[2][8][MaxT];
  const int T = a.T, K8 = a.K / 8, S = a.split;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int n = blockIdx.x * (8 / S) + warp / S, s = warp % S;
  const bool live = n < a.N;
  float acc[MaxT], acc2[MaxT];
#pragma unroll
  for (int t = 0; t < MaxT; ++t)
    acc[t] = acc2[t] = 0.f;
  // Batches of U weight loads per lane, all issued before the first use
  // (a runtime-count loop would issue them one latency at a time). The
  // first batch is issued before waiting for the previous kernel (weights
  // do not depend on it): with programmatic dependent launch the weight
  // stream overlaps the previous kernel's tail.
  constexpr int U = 4;
  const uint4 *wr = reinterpret_cast<const uint4 *>(a.w + (int64_t)(live ? n : 0) * a.K);
  const uint4 *wr2 =
      Swiglu ? reinterpret_cast<const uint4 *>(a.w2 + (int64_t)(live ? n : 0) * a.K) : nullptr;
  const int base0 = s * 32 + lane;
  uint4 u[U], u2[U];
  auto loadBatch = [&](int base) {
#pragma unroll
    for (int j = 0; j < U; ++j) {
      const int k8 = base + j * 32 * S;
      if (k8 < K8) {
        u[j] = __ldg(wr + k8);
        if (Swiglu)
          u2[j] = __ldg(wr2 + k8);
      }
    }
  };
  if (live)
    loadBatch(base0);
  pdlWait();
  if (live) {
    const bool vecX = (reinterpret_cast<uintptr_t>(a.x) & 15) == 0 && (a.ldx & 7) == 0;
    for (int base = base0; base < K8; base += 32 * S * U) {
      if (base != base0)
        loadBatch(base);
#pragma unroll
      for (int j = 0; j < U; ++j) {
        const int k8 = base + j * 32 * S;
        if (k8 >= K8)
          break;
        float wf[8], wf2[8];
        const __nv_bfloat162 *h = reinterpret_cast<const __nv_bfloat162 *>(&u[j]);
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          float2 f = __bfloat1622float2(h[e]);
          wf[2 * e] = f.x, wf[2 * e + 1] = f.y;
        }
        if (Swiglu) {
          const __nv_bfloat162 *h2 = reinterpret_cast<const __nv_bfloat162 *>(&u2[j]);
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            float2 f = __bfloat1622float2(h2[e]);
            wf2[2 * e] = f.x, wf2[2 * e + 1] = f.y;
          }
        }
#pragma unroll
        for (int t = 0; t < MaxT; ++t) {
          if (t < T) {
            float xr[8];
            const bf16_t *xp = a.x + (int64_t)t * a.ldx + k8 * 8;
            if (vecX) {
              uint4 xv = *reinterpret_cast<const uint4 *>(xp);
              const __nv_bfloat162 *x2 = reinterpret_cast<const __nv_bfloat162 *>(&xv);
#pragma unroll
              for (int e = 0; e < 4; ++e) {
                float2 f = __bfloat1622float2(x2[e]);
                xr[2 * e] = f.x, xr[2 * e + 1] = f.y;
              }
            } else {
#pragma unroll
              for (int e = 0; e < 8; ++e)
                xr[e] = ld(xp, e);
            }
#pragma unroll
            for (int e = 0; e < 8; ++e) {
              acc[t] += wf[e] * xr[e];
              if (Swiglu)
                acc2[t] += wf2[e] * xr[e];
            }
          }
        }
      }
    }
  }
#pragma unroll
  for (int t = 0; t < MaxT; ++t) {
    if (t < T) {
      float v = warpSum(acc[t]);
      float v2 = Swiglu ? warpSum(acc2[t]) : 0.f;
      if (lane == 0)
        red[0][warp][t] = v, red[1][warp][t] = v2;
    }
  }
  __syncthreads();
  if (!live || s != 0 || lane != 0)
    return;
  for (int t = 0; t < T; ++t) {
    float sum = 0.f, sum2 = 0.f;
    for (int j = 0; j < S; ++j)
      sum += red[0][warp + j][t], sum2 += red[1][warp + j][t];
    const int64_t o = (int64_t)t * a.ldo + n;
    float v;
    if (Swiglu) {
      float g = sum + (a.bias ? a.bias[n] : 0.f), up = sum2 + (a.bias2 ? a.bias2[n] : 0.f);
      v = siluf(g * a.gateScale) * up;
    } else {
      v = a.alpha * sum;
      if (a.beta != 0.f)
        v += a.beta * (OutF32 ? ld(static_cast<const float *>(a.out), o)
                              : ld(static_cast<const bf16_t *>(a.out), o));
    }
    if (OutF32)
      st(static_cast<float *>(a.out), o, v);
    else
      st(static_cast<bf16_t *>(a.out), o, v);
  }
}

} // namespace hyb
