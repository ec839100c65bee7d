//===- gemv.cuh - Decode GEMMs (T <= 8 rows): bandwidth-bound GEMV --------===//
//
// out[t, n] = alpha * x[t, :] . W[n, :] + beta * out[t, n] for the few token
// rows of a decode step, where cuBLASLt's GEMM kernels leave bandwidth on
// the table. One warp per output row n reads W[n, :] once with 16-byte
// loads (bf16, 8 per load), x is staged in shared memory as fp32, fp32
// accumulation, warp-shuffle reduction. Swiglu: two weights (gate, up),
// out = silu(gs * (g + bg)) * (u + bu), so swiglu_linear is one launch.
//
//===----------------------------------------------------------------------===//
#pragma once
#include "common.cuh"

namespace hyb {

template <int MaxT, bool OutF32, bool Swiglu>
__device__ __forceinline__ void gemv_kernel(const GemvArgs &a) {
  static_assert(MaxT >= 1 && MaxT <= 8, "gemv: at most 8 token rows");
  extern __shared__ float xs[];  // [T][K]
  const int T = a.T, K = a.K;
  for (int i = threadIdx.x; i < T * K; i += blockDim.x)
    xs[i] = ld(a.x, (int64_t)(i / K) * a.ldx + i % K);
  __syncthreads();
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int n = blockIdx.x * (blockDim.x >> 5) + warp;
  if (n >= a.N)
    return;
  float acc[MaxT], acc2[MaxT];
#pragma unroll
  for (int t = 0; t < MaxT; ++t)
    acc[t] = acc2[t] = 0.f;
  const uint4 *wr = reinterpret_cast<const uint4 *>(a.w + (int64_t)n * K);
  const uint4 *wr2 = Swiglu ? reinterpret_cast<const uint4 *>(a.w2 + (int64_t)n * K) : nullptr;
#pragma unroll 4
  for (int k8 = lane; k8 < K / 8; k8 += 32) {
    uint4 u = wr[k8], u2;
    if (Swiglu)
      u2 = wr2[k8];
    float wf[8], wf2[8];
    const __nv_bfloat162 *h = reinterpret_cast<const __nv_bfloat162 *>(&u);
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      float2 f = __bfloat1622float2(h[e]);
      wf[2 * e] = f.x, wf[2 * e + 1] = f.y;
    }
    if (Swiglu) {
      const __nv_bfloat162 *h2 = reinterpret_cast<const __nv_bfloat162 *>(&u2);
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        float2 f = __bfloat1622float2(h2[e]);
        wf2[2 * e] = f.x, wf2[2 * e + 1] = f.y;
      }
    }
#pragma unroll
    for (int t = 0; t < MaxT; ++t) {
      if (t < T) {
        const float *xr = xs + t * K + k8 * 8;
#pragma unroll
        for (int e = 0; e < 8; ++e) {
          acc[t] += wf[e] * xr[e];
          if (Swiglu)
            acc2[t] += wf2[e] * xr[e];
        }
      }
    }
  }
#pragma unroll
  for (int t = 0; t < MaxT; ++t) {
    if (t >= T)
      break;
    float s = warpSum(acc[t]);
    float s2 = Swiglu ? warpSum(acc2[t]) : 0.f;
    if (lane == 0) {
      const int64_t o = (int64_t)t * a.ldo + n;
      float v;
      if (Swiglu) {
        float g = s + (a.bias ? a.bias[n] : 0.f), up = s2 + (a.bias2 ? a.bias2[n] : 0.f);
        v = siluf(g * a.gateScale) * up;
      } else {
        v = a.alpha * s;
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
}

} // namespace hyb
