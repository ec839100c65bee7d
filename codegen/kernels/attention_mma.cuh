//===- attention_mma.cuh - Causal GQA attention prefill on the tensor cores ===//
//
// Same contract as attn_prefill_kernel (attention.cuh): queries q [B, L, Hq,
// Dh] at positions *pos + l; keys/values from the cache [B, ctx, Hkv, Dh]
// (row stride Hkv * Dh, already holding this call's keys at *pos ..
// *pos + L - 1); query head h reads kv head h / (Hq / Hkv); key kk is visible
// to the query at position p iff kk <= p and (window <= 0 or
// kk >= p - window + 1); softmax in fp32; out [B, L, Hq, Dh] bf16.
//
// Grid (ceil(L / 64), Hq, B); block attnPrefillMmaThreads<Dh>() threads
// (128 = 4 warps for every head dim). Static shared memory only (36,864
// bytes at Dh 64, 34,816 at Dh 128; <= 48 KB for every Dh): no dynamic
// shared memory. Pointers: k/v 16-byte aligned (cp.async of 16 bytes), q and
// out 4-byte aligned. Head dims: multiples of 16 up to 128.
//
// Design (FlashAttention-2 style):
//   - 4 warps, each owns 16 query rows; their Q A-fragments are read once
//     from global memory (32-bit loads) into registers;
//   - K/V tiles of KT keys (64 for Dh <= 64, else 32: 4 tiles <= 48 KB) in
//     shared memory, rows padded to Dh + 8 bf16 (the 8 rows of every
//     ldmatrix phase fall in distinct banks), double buffered with cp.async
//     and one barrier per tile; keys past the block's last visible key are
//     zero-filled (src-size 0) so no stale or NaN cache data can reach P.V;
//   - S = Q K^T with mma.m16n8k16 (bf16 in, fp32 accumulate); K B-fragments
//     by ldmatrix.x4 (key-major rows are the col-major B layout: each lane
//     gets the two contiguous bf16 a 32-bit load would, four at a time);
//   - online softmax in registers in base 2 (exp2 of s * scale * log2e),
//     row max over the 4 lanes of a row by two xor-shuffles; the row sum
//     stays per lane until the end; masks only on steps that can cross the
//     causal / window boundary (a separate code path), which also skip the
//     16-key slices no row of the warp sees; a row whose max is still -inf
//     uses 0 as its base, so fully masked rows give P = 0 and no NaN;
//   - O += P V: the S accumulators of two adjacent n8 tiles are the A
//     fragment of one k16 step (converted to bf16x2 in registers); V
//     B-fragments by ldmatrix.x4.trans;
//   - query tiles run in reverse order (blockIdx.x 0 = the last, longest
//     tile) so the short tiles form the tail of the grid.
//   - optional log-sum-exp (AttnArgs::lse, for the backward): one fp32 per
//     query row, [B, Hq, L], natural log of sum_j exp(scale * q.k_j); a
//     null pointer skips it (one uniform branch after the main loop).
// Measured on an H100 (docs/perf/attention-prefill.md): B8 L2048 Hq16 Hkv4
// Dh64 in 0.294 ms (234 TFLOP/s; cuDNN 0.210 ms), 13x the CUDA-core kernel.
//===----------------------------------------------------------------------===//
#pragma once
#include "common.cuh"

namespace hyb {
namespace amma {

__device__ __forceinline__ uint32_t smemAddr(const void *p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}
/// 16-byte global -> shared copy; !valid writes 16 zero bytes (src unread).
__device__ __forceinline__ void cpAsync16(uint32_t dst, const void *src, bool valid) {
  const int n = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(n)
               : "memory");
}
__device__ __forceinline__ void cpAsyncCommit() {
  asm volatile("cp.async.commit_group;\n" ::: "memory");
}
template <int N> __device__ __forceinline__ void cpAsyncWait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}
__device__ __forceinline__ void ldsm4(uint32_t &r0, uint32_t &r1, uint32_t &r2, uint32_t &r3,
                                      uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
               : "r"(addr)
               : "memory");
}
__device__ __forceinline__ void ldsm4t(uint32_t &r0, uint32_t &r1, uint32_t &r2, uint32_t &r3,
                                       uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
               : "r"(addr)
               : "memory");
}
/// d += A (16x16 bf16, row) * B (16x8 bf16, col), fp32 accumulators.
__device__ __forceinline__ void mma16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0,
                                         uint32_t b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
               "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
/// d = A * B (accumulators start at zero).
__device__ __forceinline__ void mma16816z(float (&d)[4], const uint32_t (&a)[4], uint32_t b0,
                                          uint32_t b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
               "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%10, %10, %10, %10};\n"
               : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1), "f"(0.f));
}
template <bool B> struct BoolTag { static constexpr bool value = B; };
/// 2^x (ex2.approx: -inf -> +0).
__device__ __forceinline__ float exp2Fast(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}
/// bf16x2 of (lo, hi): lo in the low half (the lower column index).
__device__ __forceinline__ uint32_t packBf16(float lo, float hi) {
  uint32_t r;
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}

/// The A fragment of one k16 step from the fp32 accumulators of the two n8
/// tiles it spans (lo: columns 0-7, hi: 8-15), rounded to bf16.
__device__ __forceinline__ void packAFrag(uint32_t (&a)[4], const float (&lo)[4],
                                          const float (&hi)[4]) {
  a[0] = packBf16(lo[0], lo[1]);  // row g,     columns 2t, 2t+1
  a[1] = packBf16(lo[2], lo[3]);  // row g + 8, columns 2t, 2t+1
  a[2] = packBf16(hi[0], hi[1]);  // row g,     columns 8+2t, 8+2t+1
  a[3] = packBf16(hi[2], hi[3]);  // row g + 8, columns 8+2t, 8+2t+1
}
/// d[mt][2n], d[mt][2n + 1] (+)= A[mt] x the 16 rows at `addr` (ldmatrix,
/// lane offset included), for every m-tile; Zero: d = instead of +=.
template <bool Trans, int MT, int N>
__device__ __forceinline__ void mmaRows16(float (&d)[MT][N][4], int n, const uint32_t (*a)[4],
                                          int aStride, uint32_t addr, bool zero) {
  uint32_t b0, b1, b2, b3;
  if (Trans)
    ldsm4t(b0, b1, b2, b3, addr);
  else
    ldsm4(b0, b1, b2, b3, addr);
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) {
    const uint32_t(&am)[4] = a[mt * aStride];
    if (zero) {
      mma16816z(d[mt][2 * n], am, b0, b1);
      mma16816z(d[mt][2 * n + 1], am, b2, b3);
    } else {
      mma16816(d[mt][2 * n], am, b0, b1);
      mma16816(d[mt][2 * n + 1], am, b2, b3);
    }
  }
}
/// Two products with the same B rows layout, as the backward needs them:
/// s = As B1^T and p = Ap B2^T over NT n8 tiles, B1 / B2 the rows (row-major,
/// LDS elements) at b1 / b2 (lane offset included). Skips (leaves undefined)
/// the n16 tiles np with !live(np).
template <int MT, int NKS, int NT, int LDS, typename Live>
__device__ __forceinline__ void mmaScorePair(float (&s)[MT][NT][4], float (&p)[MT][NT][4],
                                             const uint32_t (&as)[MT][NKS][4],
                                             const uint32_t (&ap)[MT][NKS][4], uint32_t b1,
                                             uint32_t b2, Live live) {
#pragma unroll
  for (int ks = 0; ks < NKS; ++ks)
#pragma unroll
    for (int np = 0; np < NT / 2; ++np) {
      if (!live(np))
        continue;
      const uint32_t off = (uint32_t)((16 * np * LDS + 16 * ks) * 2);
      mmaRows16<false>(s, np, &as[0][ks], NKS, b1 + off, ks == 0);
      mmaRows16<false>(p, np, &ap[0][ks], NKS, b2 + off, ks == 0);
    }
}
/// acc[mt][.] += A[mt] x (the 16 rows at `base`)^... over all NDT dim tiles:
/// B from ldmatrix.trans of 16 rows x Dh (row-major, LDS elements; lane
/// offset included), as in P V, dS K, P^T dO.
template <int MT, int NDT>
__device__ __forceinline__ void mmaAccumT(float (&acc)[MT][NDT][4], const uint32_t (&a)[MT][4],
                                          uint32_t base) {
#pragma unroll
  for (int dd = 0; dd < NDT / 2; ++dd)
    mmaRows16<true>(acc, dd, a, 1, base + (uint32_t)(16 * dd * 2), false);
}

/// Tile configuration of one head dim (the launcher needs Threads). Measured
/// on the H100 and slower: 2 warps of 32 rows (MT = 2), 32-key softmax steps
/// at Dh 64, and S of the next tile overlapped with the softmax (193
/// registers, 2 blocks per SM).
template <int Dh> struct PrefillCfg {
  static constexpr int MT = 1;                  // m16 row tiles per warp
  static constexpr int KT = Dh <= 64 ? 64 : 32; // keys per shared tile
  static constexpr int KC = KT;                 // keys per softmax step
  static constexpr int Threads = 64 / (16 * MT) * 32;
};

/// The kernel body for 16 * MT rows per warp, KT keys per shared tile
/// (double buffered), KC keys per online-softmax step.
template <int Dh, int MT, int KT, int KC>
__device__ __forceinline__ void attnPrefillMma(const AttnArgs &a) {
  static_assert(Dh % 16 == 0 && Dh <= 128, "attention (mma): head dim must be a multiple of 16, <= 128");
  static_assert(KC == 32 || KC == 64, "attention (mma): 32 or 64 keys per softmax step");
  static_assert(KT % KC == 0, "attention (mma): key tile of whole steps");
  constexpr int QT = 64;                 // queries per block
  constexpr int Warps = QT / (16 * MT);
  static_assert(Warps * 16 * MT == QT, "attention (mma): 64 rows per block");
  constexpr int Threads = Warps * 32;
  constexpr int LDS = Dh + 8;            // padded shared row (bf16)
  constexpr int NKS = Dh / 16;           // k16 steps of Q K^T
  constexpr int NDT = Dh / 8;            // n8 tiles of O
  constexpr int NKT = KC / 8;            // n8 tiles of S per step
  constexpr int CH = Dh / 8;             // 16-byte chunks per row
  constexpr uint32_t BufBytes = KT * LDS * 2;
  static_assert(2 * 2 * KT * LDS * 2 <= 48 * 1024, "attention (mma): static shared memory > 48 KB");
  __shared__ __align__(16) bf16_t kS[2][KT * LDS];
  __shared__ __align__(16) bf16_t vS[2][KT * LDS];

  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int g = lane >> 2, t = lane & 3;
  const int qtile = gridDim.x - 1 - blockIdx.x;  // longest tiles first
  const int h = blockIdx.y, b = blockIdx.z;
  const int kvh = h / (a.Hq / a.Hkv);
  const int L = a.L, W = a.window;
  const int pos = *a.pos;
  const int l0 = qtile * QT;
  const int pLast = pos + min(L, l0 + QT) - 1;  // last visible key of the block
  const int kBegin = W > 0 ? max(0, pos + l0 - W + 1) : 0;
  const int nTiles = (pLast - kBegin) / KT + 1;
  const int64_t rowStride = (int64_t)a.Hkv * Dh;
  const bf16_t *kg = a.k + (int64_t)b * a.ctx * rowStride + (int64_t)kvh * Dh;
  const bf16_t *vg = a.v + (int64_t)b * a.ctx * rowStride + (int64_t)kvh * Dh;

  // Tile copy (16-byte chunks, CH per row): when CH divides the block, this
  // thread moves chunk cc of rows cj + p * RowsPerPass; else chunk i of the
  // tile is chunk i % CH of row i / CH.
  const uint32_t kSmem = smemAddr(&kS[0][0]), vSmem = smemAddr(&vS[0][0]);
  auto load = [&](uint32_t dst, const bf16_t *src, int tile, int buf) {
    dst += buf * BufBytes;
    if constexpr (Threads % CH == 0) {
      constexpr int RowsPerPass = Threads / CH;
      const int cj = threadIdx.x / CH, cc = threadIdx.x % CH;
      const int row0 = kBegin + tile * KT + cj;
      const int64_t off0 = (int64_t)row0 * rowStride + cc * 8;
      dst += (cj * LDS + cc * 8) * 2;
#pragma unroll
      for (int p = 0; p < (KT + RowsPerPass - 1) / RowsPerPass; ++p) {
        if (KT % RowsPerPass != 0 && cj + p * RowsPerPass >= KT)
          break;
        const bool ok = row0 + p * RowsPerPass <= pLast;  // else zero-fill (src unread)
        const int64_t off = ok ? off0 + (int64_t)p * RowsPerPass * rowStride : 0;
        cpAsync16(dst + p * RowsPerPass * LDS * 2, src + off, ok);
      }
    } else {
      constexpr int Chunks = KT * CH;
#pragma unroll
      for (int p = 0; p < (Chunks + Threads - 1) / Threads; ++p) {
        const int i = threadIdx.x + p * Threads;
        if (Chunks % Threads != 0 && i >= Chunks)
          break;
        const int j = i / CH, cc = i % CH, row = kBegin + tile * KT + j;
        const bool ok = row <= pLast;
        const int64_t off = ok ? (int64_t)row * rowStride + cc * 8 : 0;
        cpAsync16(dst + (j * LDS + cc * 8) * 2, src + off, ok);
      }
    }
  };
  load(kSmem, kg, 0, 0);
  load(vSmem, vg, 0, 0);
  cpAsyncCommit();

  // This warp's rows: wl0 + 16 mt + g + 8 i (i = 0, 1).
  const int wl0 = l0 + warp * 16 * MT;
  const bool warpLive = wl0 < L;
  const int wpMin = pos + wl0, wpMax = wpMin + 16 * MT - 1;

  // Q A-fragments (rows past L read row L - 1; never stored). A negative
  // scale flips Q's sign bits (exact), so the softmax scale c is positive.
  const float kLog2e = 1.4426950408889634f;
  const float c = fmaxf(fabsf(a.scale) * kLog2e, 1e-30f);
  const uint32_t signFlip = a.scale < 0.f ? 0x80008000u : 0u;
  uint32_t qa[MT][NKS][4];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) {
    const int r0 = min(wl0 + 16 * mt + g, L - 1), r1 = min(wl0 + 16 * mt + g + 8, L - 1);
    const bf16_t *q0 = a.q + (((int64_t)b * L + r0) * a.Hq + h) * Dh + 2 * t;
    const bf16_t *q1 = a.q + (((int64_t)b * L + r1) * a.Hq + h) * Dh + 2 * t;
#pragma unroll
    for (int ks = 0; ks < NKS; ++ks) {
      qa[mt][ks][0] = *reinterpret_cast<const uint32_t *>(q0 + 16 * ks) ^ signFlip;
      qa[mt][ks][1] = *reinterpret_cast<const uint32_t *>(q1 + 16 * ks) ^ signFlip;
      qa[mt][ks][2] = *reinterpret_cast<const uint32_t *>(q0 + 16 * ks + 8) ^ signFlip;
      qa[mt][ks][3] = *reinterpret_cast<const uint32_t *>(q1 + 16 * ks + 8) ^ signFlip;
    }
  }

  float o[MT][NDT][4];
  float mRow[MT][2], lRow[MT][2];  // running max (raw score units), per-lane sum
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) {
#pragma unroll
    for (int d = 0; d < NDT; ++d)
      o[mt][d][0] = o[mt][d][1] = o[mt][d][2] = o[mt][d][3] = 0.f;
    mRow[mt][0] = mRow[mt][1] = -INFINITY;
    lRow[mt][0] = lRow[mt][1] = 0.f;
  }

  // ldmatrix lane addresses: lane supplies row (lane & 7) of matrix lane >> 3.
  const int mi = lane >> 3, mr = lane & 7;
  // K (non-trans): matrices (keys +0, dims +0), (+0, +8), (+8, +0), (+8, +8)
  // -> b0, b1 of n-tile 2np, b0, b1 of n-tile 2np + 1.
  const uint32_t kLane = kSmem + (uint32_t)((((mi >> 1) * 8 + mr) * LDS + (mi & 1) * 8) * 2);
  // V (trans): matrices (keys +0, dims +0), (+8, +0), (+0, +8), (+8, +8)
  // -> b0, b1 of dim tile 2dp, b0, b1 of dim tile 2dp + 1.
  const uint32_t vLane = vSmem + (uint32_t)((((mi & 1) * 8 + mr) * LDS + (mi >> 1) * 8) * 2);

  // Whether some row of this warp can see a key of [k, k + 16) (warp-uniform).
  auto live16 = [&](int k) { return k <= wpMax && (W <= 0 || k + 15 >= wpMin - W + 1); };

  // Keys [k0, k0 + KC): whether some row of this warp sees one, and whether
  // the step can cross the causal / window boundary (then it is masked).
  auto visible = [&](int k0) {
    return warpLive && k0 <= wpMax && (W <= 0 || k0 + KC - 1 >= wpMin - W + 1);
  };
  auto crossing = [&](int k0) { return k0 + KC - 1 > wpMin || (W > 0 && k0 < wpMax - W + 1); };

  // S = Q K^T for the KC keys from k0 (shared offset kc of K buffer kb).
  auto scores = [&](float (&s)[MT][NKT][4], const uint32_t kb, const int kc, const int k0,
                    auto maskedTag) {
    constexpr bool Masked = decltype(maskedTag)::value;
#pragma unroll
    for (int ks = 0; ks < NKS; ++ks)
#pragma unroll
      for (int np = 0; np < NKT / 2; ++np) {
        if (Masked && !live16(k0 + 16 * np)) {
          if (ks == 0)
#pragma unroll
            for (int mt = 0; mt < MT; ++mt)
#pragma unroll
              for (int e = 0; e < 4; ++e)
                s[mt][2 * np][e] = s[mt][2 * np + 1][e] = -INFINITY;
          continue;
        }
        uint32_t b0, b1, b2, b3;
        ldsm4(b0, b1, b2, b3, kb + (uint32_t)(((kc + 16 * np) * LDS + 16 * ks) * 2));
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
          if (ks == 0) {
            mma16816z(s[mt][2 * np], qa[mt][0], b0, b1);
            mma16816z(s[mt][2 * np + 1], qa[mt][0], b2, b3);
          } else {
            mma16816(s[mt][2 * np], qa[mt][ks], b0, b1);
            mma16816(s[mt][2 * np + 1], qa[mt][ks], b2, b3);
          }
        }
      }
  };
  // Online softmax of S (keys from k0), then O += P V (shared offset kc of
  // V buffer vb).
  auto softmaxPV = [&](float (&s)[MT][NKT][4], const uint32_t vb, const int kc, const int k0,
                       auto maskedTag) {
    constexpr bool Masked = decltype(maskedTag)::value;
    if (Masked) {
#pragma unroll
      for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int i = 0; i < 2; ++i) {
          const int p = wpMin + 16 * mt + g + 8 * i;  // this row's position
          const int lo = W > 0 ? p - W + 1 : 0;
#pragma unroll
          for (int n = 0; n < NKT; ++n)
#pragma unroll
            for (int e = 0; e < 2; ++e) {
              const int kk = k0 + 8 * n + 2 * t + e;
              if (kk > p || kk < lo)
                s[mt][n][2 * i + e] = -INFINITY;
            }
        }
    }
    // Online softmax (base 2): tree max / sum over this lane's columns.
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
      for (int i = 0; i < 2; ++i) {
        float r[NKT];
#pragma unroll
        for (int n = 0; n < NKT; ++n)
          r[n] = fmaxf(s[mt][n][2 * i], s[mt][n][2 * i + 1]);
#pragma unroll
        for (int w = NKT / 2; w >= 1; w /= 2)
#pragma unroll
          for (int n = 0; n < w; ++n)
            r[n] = fmaxf(r[n], r[n + w]);
        float mx = fmaxf(mRow[mt][i], r[0]);
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        const float base = mx == -INFINITY ? 0.f : mx * c;  // all masked so far: P = 0
        const float corr = exp2Fast(fmaf(mRow[mt][i], c, -base));  // 0 while mRow = -inf
        mRow[mt][i] = mx;
#pragma unroll
        for (int d = 0; d < NDT; ++d) {
          o[mt][d][2 * i] *= corr;
          o[mt][d][2 * i + 1] *= corr;
        }
#pragma unroll
        for (int n = 0; n < NKT; ++n) {
          s[mt][n][2 * i] = exp2Fast(fmaf(s[mt][n][2 * i], c, -base));
          s[mt][n][2 * i + 1] = exp2Fast(fmaf(s[mt][n][2 * i + 1], c, -base));
          r[n] = s[mt][n][2 * i] + s[mt][n][2 * i + 1];
        }
#pragma unroll
        for (int w = NKT / 2; w >= 1; w /= 2)
#pragma unroll
          for (int n = 0; n < w; ++n)
            r[n] += r[n + w];
        lRow[mt][i] = fmaf(lRow[mt][i], corr, r[0]);
      }
    // O += P V: S accumulators of n-tiles 2j, 2j + 1 = A fragment of k16 step j.
#pragma unroll
    for (int j = 0; j < KC / 16; ++j) {
      if (Masked && !live16(k0 + 16 * j))
        continue;  // P = 0 for these 16 keys
      uint32_t pa[MT][4];
#pragma unroll
      for (int mt = 0; mt < MT; ++mt)
        packAFrag(pa[mt], s[mt][2 * j], s[mt][2 * j + 1]);
      mmaAccumT<MT, NDT>(o, pa, vb + (uint32_t)((kc + 16 * j) * LDS * 2));
    }
  };

  // One barrier per tile: after it, tile `tile` is visible to every warp and
  // every warp is done with tile - 1, whose buffers then take tile + 1.
  for (int tile = 0; tile < nTiles; ++tile) {
    const int buf = tile & 1;
    cpAsyncWait<0>();  // this thread's copies of tile `tile` landed
    __syncthreads();
    if (tile + 1 < nTiles) {
      load(kSmem, kg, tile + 1, buf ^ 1);
      load(vSmem, vg, tile + 1, buf ^ 1);
      cpAsyncCommit();
    }
    const uint32_t kb = kLane + buf * BufBytes, vb = vLane + buf * BufBytes;
#pragma unroll
    for (int kc = 0; kc < KT; kc += KC) {
      const int k0 = kBegin + tile * KT + kc;  // first key of this step
      if (!visible(k0))
        continue;
      float s[MT][NKT][4];
      if (crossing(k0)) {
        scores(s, kb, kc, k0, BoolTag<true>());
        softmaxPV(s, vb, kc, k0, BoolTag<true>());
      } else {
        scores(s, kb, kc, k0, BoolTag<false>());
        softmaxPV(s, vb, kc, k0, BoolTag<false>());
      }
    }
  }

  // O / l, bf16, 32-bit stores; rows >= L are not stored. With a.lse, lane
  // t = 0 of each row also stores lse = ln 2 * (m c + log2 l) (the natural
  // log of the row's sum of exp(scale * s)); +inf for a row with no key.
  float *lseOut = a.lse ? a.lse + ((int64_t)b * a.Hq + h) * L : nullptr;
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      float l = lRow[mt][i];
      l += __shfl_xor_sync(0xffffffffu, l, 1);
      l += __shfl_xor_sync(0xffffffffu, l, 2);
      const float inv = l > 0.f ? 1.f / l : 0.f;
      const int r = wl0 + 16 * mt + g + 8 * i;
      if (lseOut && t == 0 && r < L)
        lseOut[r] = l > 0.f ? fmaf(mRow[mt][i], c, log2f(l)) * 0.6931471805599453f : INFINITY;
      if (r < L) {
        bf16_t *orow = a.out + (((int64_t)b * L + r) * a.Hq + h) * Dh + 2 * t;
#pragma unroll
        for (int d = 0; d < NDT; ++d)
          *reinterpret_cast<uint32_t *>(orow + 8 * d) =
              packBf16(o[mt][d][2 * i] * inv, o[mt][d][2 * i + 1] * inv);
      }
    }
}

} // namespace amma

/// Threads per block of attn_prefill_mma_kernel<Dh> (the launcher's block size).
template <int Dh> constexpr int attnPrefillMmaThreads() { return amma::PrefillCfg<Dh>::Threads; }

/// Causal GQA attention prefill on the tensor cores; grid (ceil(L / 64), Hq,
/// B), attnPrefillMmaThreads<Dh>() threads, static shared memory only.
template <int Dh>
__device__ __forceinline__ void attn_prefill_mma_kernel(const AttnArgs &a) {
  using C = amma::PrefillCfg<Dh>;
  amma::attnPrefillMma<Dh, C::MT, C::KT, C::KC>(a);
}

} // namespace hyb
