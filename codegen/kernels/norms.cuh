//===- norms.cuh - rmsnorm, add_rmsnorm, group_norm, gated_rmsnorm, -------===//
//                 branch_combine: one block per row, fp32 statistics
//
// D (the row width) is a template parameter: each thread keeps its
// ceil(D / Threads) values in registers, so a row is read once.
//
//===----------------------------------------------------------------------===//
#pragma once
#include "common.cuh"

namespace hyb {

/// add_rmsnorm (Add) or rmsnorm: one block of Threads per row. XT, RT, ST:
/// element types of lhs, rhs and the sum (fp32 for the residual stream).
template <int D, bool Add, int Threads, typename XT, typename RT, typename ST>
__device__ __forceinline__ void rmsnorm_kernel(const RowNormArgs &a) {
  static_assert(D > 0 && D <= 16384, "rmsnorm: row width out of range");
  static_assert(Threads % 32 == 0, "rmsnorm: threads must be whole warps");
  constexpr int PerThread = (D + Threads - 1) / Threads;
  __shared__ float scratch[33];
  const int64_t row = blockIdx.x;
  if (row >= a.T)
    return;
  const XT *xp = static_cast<const XT *>(a.x);
  const RT *rp = static_cast<const RT *>(a.r);
  ST *sp = static_cast<ST *>(a.sum);
  float v[PerThread], wv[PerThread];
  float ss = 0.f;
  // Every load first (x, r and the weight), so the row costs one memory
  // latency before the reduction instead of a chain of them.
#pragma unroll
  for (int i = 0; i < PerThread; ++i) {
    int c = threadIdx.x + i * Threads;
    float x = 0.f;
    wv[i] = 0.f;
    if (c < D) {
      x = ld(xp, row * D + c);
      if (Add)
        x += ld(rp, row * D + c);
      wv[i] = a.w[c];
    }
    v[i] = x;
  }
#pragma unroll
  for (int i = 0; i < PerThread; ++i) {
    int c = threadIdx.x + i * Threads;
    if (Add && c < D) {
      // Normalise the sum as stored (bf16 or fp32), as later layers see it:
      // round in registers rather than reloading the store.
      st(sp, row * D + c, v[i]);
      v[i] = roundAs(sp, v[i]);
    }
    ss += v[i] * v[i];
  }
  ss = blockSum(ss, scratch);
  const float inv = rsqrtf(ss / D + a.eps);
#pragma unroll
  for (int i = 0; i < PerThread; ++i) {
    int c = threadIdx.x + i * Threads;
    if (c < D)
      st(a.out, row * D + c, v[i] * inv * wv[i]);
  }
}

/// group_norm (Gated false) or gated_rmsnorm (Gated true) of a row of D in
/// G groups; XT is the element type of x (fp32 scan output or bf16).
template <int D, int G, bool Gated, bool NormBeforeGate, typename XT, int Threads,
          typename ZT = bf16_t>
__device__ __forceinline__ void groupnorm_kernel(const GroupNormArgs &a) {
  const ZT *zp = static_cast<const ZT *>(a.z);
  static_assert(D > 0 && D <= 16384 && G > 0 && D % G == 0, "groupnorm: G must divide D");
  constexpr int GS = D / G;
  __shared__ float row[D];
  __shared__ float scratch[33];
  const int64_t t = blockIdx.x;
  if (t >= a.T)
    return;
  const XT *x = static_cast<const XT *>(a.x) + t * a.ldx;
  if constexpr (Gated && G == 1 && D % Threads == 0) {
    // One group (the Mamba-2 gated norm): the row in registers, every load
    // (x, z, w) issued before the single reduction.
    constexpr int PT = D / Threads;
    float v[PT], zv[PT], wv[PT];
    float ss = 0.f;
#pragma unroll
    for (int i = 0; i < PT; ++i) {
      const int c = threadIdx.x + i * Threads;
      v[i] = ld(x, c);
      zv[i] = ld(zp, t * a.ldz + c);
      wv[i] = a.w[c];
    }
#pragma unroll
    for (int i = 0; i < PT; ++i) {
      if (!NormBeforeGate)
        v[i] *= siluf(zv[i]);
      ss += v[i] * v[i];
    }
    const float inv = rsqrtf(blockSum(ss, scratch) / D + a.eps);
#pragma unroll
    for (int i = 0; i < PT; ++i) {
      float r = v[i] * inv * wv[i];
      if (NormBeforeGate)
        r *= siluf(zv[i]);
      st(a.out, t * D + threadIdx.x + i * Threads, r);
    }
    return;
  }
  for (int c = threadIdx.x; c < D; c += Threads) {
    float v = ld(x, c);
    if (Gated && !NormBeforeGate)
      v *= siluf(ld(zp, t * a.ldz + c));
    row[c] = v;
  }
  __syncthreads();
  for (int g = 0; g < G; ++g) {
    float mean = 0.f;
    if (!Gated) {
      float s = 0.f;
      for (int c = threadIdx.x; c < GS; c += Threads)
        s += row[g * GS + c];
      mean = blockSum(s, scratch) / GS;
    }
    float ss = 0.f;
    for (int c = threadIdx.x; c < GS; c += Threads) {
      float d = row[g * GS + c] - mean;
      ss += d * d;
    }
    const float inv = rsqrtf(blockSum(ss, scratch) / GS + a.eps);
    for (int c = threadIdx.x; c < GS; c += Threads) {
      int cc = g * GS + c;
      float r = (row[cc] - mean) * inv * a.w[cc];
      if (Gated && NormBeforeGate)
        r *= siluf(ld(zp, t * a.ldz + cc));
      st(a.out, t * D + cc, r);
    }
  }
}

/// Normalises a row of W values held in `row` (shared) in place: rms (G = 0)
/// or group norm with G groups; then * w * scale.
template <int W, int G, int Threads>
__device__ __forceinline__ void normRowInPlace(float *row, const float *w, float eps, float scale,
                                               float *scratch) {
  constexpr int Groups = G == 0 ? 1 : G;
  static_assert(W % Groups == 0, "branch_combine: groups must divide the width");
  constexpr int GS = W / Groups;
  for (int g = 0; g < Groups; ++g) {
    float mean = 0.f;
    if (G != 0) {
      float s = 0.f;
      for (int c = threadIdx.x; c < GS; c += Threads)
        s += row[g * GS + c];
      mean = blockSum(s, scratch) / GS;
    }
    float ss = 0.f;
    for (int c = threadIdx.x; c < GS; c += Threads) {
      float d = row[g * GS + c] - mean;
      ss += d * d;
    }
    const float inv = rsqrtf(blockSum(ss, scratch) / GS + eps);
    __syncthreads();
    for (int c = threadIdx.x; c < GS; c += Threads)
      row[g * GS + c] = (row[g * GS + c] - mean) * inv * w[g * GS + c] * scale;
    __syncthreads();
  }
}

/// branch_combine: Mode 0 add, 1 mean, 2 diff, 3 concat. GA/GB: 0 = rms.
template <int DA, int DB, int GA, int GB, int Mode, int Threads>
__device__ __forceinline__ void branch_combine_kernel(const BranchCombineArgs &a) {
  static_assert(Mode == 3 || DA == DB, "branch_combine: add/mean/diff need equal widths");
  __shared__ float ra[DA];
  __shared__ float rb[DB];
  __shared__ float scratch[33];
  const int64_t t = blockIdx.x;
  if (t >= a.T)
    return;
  for (int c = threadIdx.x; c < DA; c += Threads)
    ra[c] = ld(a.a, t * a.lda + c);
  for (int c = threadIdx.x; c < DB; c += Threads)
    rb[c] = ld(a.b, t * a.ldb + c);
  __syncthreads();
  normRowInPlace<DA, GA, Threads>(ra, a.wa, a.eps, a.scaleA, scratch);
  normRowInPlace<DB, GB, Threads>(rb, a.wb, a.eps, a.scaleB, scratch);
  if (Mode == 3) {
    for (int c = threadIdx.x; c < DA; c += Threads)
      st(a.out, t * (DA + DB) + c, ra[c]);
    for (int c = threadIdx.x; c < DB; c += Threads)
      st(a.out, t * (DA + DB) + DA + c, rb[c]);
  } else {
    for (int c = threadIdx.x; c < DA; c += Threads) {
      float r = Mode == 0 ? ra[c] + rb[c] : Mode == 1 ? (ra[c] + rb[c]) * 0.5f : ra[c] - rb[c];
      st(a.out, t * DA + c, r);
    }
  }
}

} // namespace hyb
