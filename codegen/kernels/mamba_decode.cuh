//===- mamba_decode.cuh - One decode step of mamba2_core in one kernel ----===//
//
// Decode (one token per batch row) runs conv1d + SiLU, the SSD recurrence and
// the gated RMS norm of a Mamba-2 mixer as one launch instead of three (conv
// 3.4, scan 4.2 and norm 4.9 us per layer on the H100, mostly launch and
// ramp). Grid (ceil(P / Rows), H, B) x 128 threads, as the decode scan:
// NSplit lanes own one channel's N-wide state row (N / NSplit registers).
//   1. Every block convolves its group's B and C (2N channels, from the
//      carried window) into shared memory, and its Rows x channels; the
//      first lane of a channel also shifts that channel's window (each x
//      channel has exactly one owner).
//   2. dt = clamp(softplus(dt + dt_bias)); h = exp(dt A) h + dt x B;
//      y = C . h + D x, written to the y scratch (fp32).
//   3. The last block of a batch row to finish (a self-resetting counter, as
//      in the split-key attention decode) shifts the B/C windows (every
//      block of the row has read them by then) and applies the gated norm
//      to the row's H*P values of y.
// The arithmetic is the three kernels' (fp32 throughout; bf16 output).
//
//===----------------------------------------------------------------------===//
#pragma once
#include "common.cuh"

namespace hyb {

template <int N, int K, typename ZT, typename XT, typename DtT>
__device__ __forceinline__ void mamba_decode_kernel(const MambaDecodeArgs &a) {
  constexpr int NSplit = (N % 32 == 0) ? 32 : (N % 16 == 0) ? 16 : (N % 8 == 0) ? 8 : 4;
  static_assert(N % NSplit == 0 && K >= 1 && K <= 8, "mamba decode: state % 4, conv width 1..8");
  constexpr int NPer = N / NSplit, Rows = 128 / NSplit, S = K - 1;
  __shared__ float bc[2 * N];      // this group's conv'd B, then C
  __shared__ float scratch[33];
  __shared__ int last;
  const int q = threadIdx.x % NSplit, row = threadIdx.x / NSplit;
  const int p = blockIdx.x * Rows + row, h = blockIdx.y, b = blockIdx.z;
  const int inner = a.H * a.P, gn = a.G * N, convDim = inner + 2 * gn;
  const int g = h / (a.H / a.G);
  const XT *xin = static_cast<const XT *>(a.xbc) + (int64_t)b * a.ldxbc;
  float *win0 = a.convState + (int64_t)b * S * convDim;
  // silu(conv) of channel c over its carried window and the new input;
  // `shift` also moves the window on by one token.
  auto conv = [&](int c, bool shift) {
    float acc = a.convBias ? a.convBias[c] : 0.f;
    const float xv = ld(xin, c);
#pragma unroll
    for (int j = 0; j < S; ++j) {
      const float wj = win0[(int64_t)j * convDim + c];
      acc += a.convW[c * K + j] * wj;
      if (shift && j > 0)
        win0[(int64_t)(j - 1) * convDim + c] = wj;
    }
    acc += a.convW[c * K + S] * xv;
    if (shift && S > 0)
      win0[(int64_t)(S - 1) * convDim + c] = xv;
    return siluf(acc);
  };
  for (int i = threadIdx.x; i < 2 * N; i += blockDim.x)
    bc[i] = conv(inner + (i < N ? g * N + i : gn + g * N + i - N), false);
  const bool live = p < a.P;
  float xv = 0.f;
  if (live && q == 0)
    xv = conv(h * a.P + p, true);
  xv = __shfl_sync(0xffffffffu, xv, (threadIdx.x & 31) / NSplit * NSplit);
  __syncthreads();

  // The recurrence (scan_kernel's arithmetic at L = 1).
  const DtT *dtp = static_cast<const DtT *>(a.dt);
  const float dt = fminf(fmaxf(softplusf(ld(dtp, (int64_t)b * a.lddt + h) + a.dtBias[h]), a.dtLo),
                         a.dtHi);
  const float dA = __expf(dt * -expf(a.aLog[h]));
  const float dx = dt * xv;
  float *st0 = a.ssm + (((int64_t)b * a.H + h) * a.P + (live ? p : 0)) * N + q * NPer;
  float acc = 0.f;
#pragma unroll
  for (int i = 0; i < NPer; ++i) {
    const float hs = dA * st0[i] + dx * bc[q * NPer + i];
    acc += bc[N + q * NPer + i] * hs;
    if (live)
      st0[i] = hs;
  }
#pragma unroll
  for (int o = NSplit / 2; o > 0; o >>= 1)
    acc += __shfl_xor_sync(0xffffffffu, acc, o);
  if (live && q == 0)
    a.y[(int64_t)b * inner + h * a.P + p] = acc + (a.d ? a.d[h] : 0.f) * xv;

  // The row's last block: B/C windows and the gated norm.
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0)
    last = atomicAdd(a.counter + b, 1) == (int)(gridDim.x * gridDim.y) - 1;
  __syncthreads();
  if (!last)
    return;
  __threadfence();
  for (int c = inner + threadIdx.x; c < convDim; c += blockDim.x)
    conv(c, true);
  // Other blocks' y: read through L2 (__ldcg), where their fenced stores are.
  const float *y = a.y + (int64_t)b * inner;
  const ZT *z = static_cast<const ZT *>(a.z) + (int64_t)b * a.ldz;
  const int gs = inner / a.normGroups;
  for (int ng = 0; ng < a.normGroups; ++ng) {
    float ss = 0.f;
#pragma unroll 4
    for (int c = ng * gs + threadIdx.x; c < (ng + 1) * gs; c += blockDim.x) {
      float v = __ldcg(y + c);
      if (!a.normBeforeGate)
        v *= siluf(ld(z, c));
      ss += v * v;
    }
    const float inv = rsqrtf(blockSum(ss, scratch) / gs + a.eps);
#pragma unroll 4
    for (int c = ng * gs + threadIdx.x; c < (ng + 1) * gs; c += blockDim.x) {
      const float zs = siluf(ld(z, c));
      float r = __ldcg(y + c);
      if (!a.normBeforeGate)
        r *= zs;
      r *= inv * a.normW[c];
      if (a.normBeforeGate)
        r *= zs;
      st(a.out, (int64_t)b * inner + c, r);
    }
  }
  if (threadIdx.x == 0)
    a.counter[b] = 0;  // ready for the next launch (graph replays reuse it)
}

} // namespace hyb
