//===- scan.cuh - Mamba-2 selective scan, fp32 state ----------------------===//
//
// The SSD recurrence per (batch row, head, channel p):
//   dt = clamp(softplus(dt_raw + dt_bias), lo, hi)   (when dt_bias is given)
//   h[p, :] = exp(dt A) h[p, :] + dt x[p] B;  y[p] = C . h[p, :] + D x[p]
// Each channel's N-wide state row is split over NSplit consecutive lanes
// (N / NSplit fp32 registers each), reduced with shuffles for y. Prefill
// walks the tokens in order (B*H*P*NSplit threads in flight); decode is the
// same kernel with L = 1 and NSplit = 32 for more blocks. The state is read
// from and written back to the cache [B, H, P, N] once per launch.
//
// This is the recurrence, not the chunked tensor-core SSD: O(L) steps per
// thread with all state in registers (see docs/CUDA.md for the numbers).
//
//===----------------------------------------------------------------------===//
#pragma once
#include "common.cuh"

namespace hyb {

/// dt as the scan uses it: clamp(softplus(raw + dt_bias), lo, hi) when the
/// op carries dt_bias (mamba2_core), else raw (ssd_scan).
__device__ __forceinline__ float scanDt(const ScanArgs &a, float raw, int h) {
  return a.dtBias ? fminf(fmaxf(softplusf(raw + a.dtBias[h]), a.dtLo), a.dtHi) : raw;
}

template <int N, int NSplit, typename XT, typename YT, typename DtT = bf16_t>
__device__ __forceinline__ void scan_kernel(const ScanArgs &a) {
  static_assert(N % NSplit == 0 && (NSplit & (NSplit - 1)) == 0 && NSplit <= 32,
                "scan: NSplit must be a power of two dividing the state size");
  constexpr int NPer = N / NSplit;
  constexpr int Rows = 128 / NSplit;  // channels per block of 128 threads
  const int q = threadIdx.x % NSplit, row = threadIdx.x / NSplit;
  const int p = blockIdx.x * Rows + row, h = blockIdx.y, b = blockIdx.z;
  const bool live = p < a.P;
  const int pp = live ? p : 0;
  const int g = h / (a.H / a.G);
  const float A = -expf(a.aLog[h]);
  const float Dh = a.d ? a.d[h] : 0.f;
  const XT *x = static_cast<const XT *>(a.x);
  const XT *bm = static_cast<const XT *>(a.bm);
  const XT *cm = static_cast<const XT *>(a.cm);
  const DtT *dtp = static_cast<const DtT *>(a.dt);
  YT *y = static_cast<YT *>(a.y);
  float hs[NPer];
  float *st0 = a.state ? a.state + (((int64_t)b * a.H + h) * a.P + pp) * N + q * NPer : nullptr;
#pragma unroll
  for (int i = 0; i < NPer; ++i)
    hs[i] = st0 ? st0[i] : 0.f;
  for (int l = 0; l < a.L; ++l) {
    const int64_t t = (int64_t)b * a.L + l;
    const float dt = scanDt(a, ld(dtp, t * a.lddt + h), h);
    const float dA = __expf(dt * A);
    const float xv = ld(x, t * a.ldx + (int64_t)h * a.P + pp);
    const float dx = dt * xv;
    const int64_t bc = t * a.ldbc + (int64_t)g * N + q * NPer;
    float bv[NPer], cv[NPer];
    if constexpr (sizeof(XT) == 4 && NPer % 4 == 0) {
      // fp32 B/C (the conv scratch): 16-byte loads (rows are 16-byte aligned).
#pragma unroll
      for (int i = 0; i < NPer; i += 4) {
        float4 b4 = *reinterpret_cast<const float4 *>(bm + bc + i);
        float4 c4 = *reinterpret_cast<const float4 *>(cm + bc + i);
        bv[i] = b4.x, bv[i + 1] = b4.y, bv[i + 2] = b4.z, bv[i + 3] = b4.w;
        cv[i] = c4.x, cv[i + 1] = c4.y, cv[i + 2] = c4.z, cv[i + 3] = c4.w;
      }
    } else {
#pragma unroll
      for (int i = 0; i < NPer; ++i)
        bv[i] = ld(bm, bc + i), cv[i] = ld(cm, bc + i);
    }
    float acc = 0.f;
#pragma unroll
    for (int i = 0; i < NPer; ++i) {
      hs[i] = dA * hs[i] + dx * bv[i];
      acc += cv[i] * hs[i];
    }
#pragma unroll
    for (int o = NSplit / 2; o > 0; o >>= 1)
      acc += __shfl_xor_sync(0xffffffffu, acc, o);
    if (live && q == 0)
      st(y, t * ((int64_t)a.H * a.P) + (int64_t)h * a.P + p, acc + Dh * xv);
  }
  if (st0 && live)
#pragma unroll
    for (int i = 0; i < NPer; ++i)
      st0[i] = hs[i];
}

} // namespace hyb
