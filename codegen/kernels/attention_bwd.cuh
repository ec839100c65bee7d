//===- attention_bwd.cuh - Causal GQA attention and RoPE backward ----------===//
//
// Training backward of attn_prefill_mma_kernel (attention_mma.cuh) with the
// semantics of runtime/cpu/CpuGradAttention.cpp (attentionGrad, ropeGrad) in
// the FlashAttention-2 form of tests/gpu/kernels/FlashAttentionReference.h:
//   P_ij = exp(scale q_i.k_j - lse_i)  (causal, window; lse from the forward)
//   D_i = dO_i . O_i;  dP_ij = dO_i . v_j;  dS_ij = P_ij (dP_ij - D_i)
//   dV_j = sum_i P_ij dO_i;  dK_j = scale sum_i dS_ij q_i;  dQ_i = scale sum_j dS_ij k_j
// dK, dV sum over the query heads of a kv head. Deterministic: no atomics;
// every output element is written by exactly one thread (overwritten).
//
// Launch order (one stream; AttnBwdArgs for all):
//   1. attn_bwd_prep_kernel<Dh>: rowStats = (lse * log2 e, D) [B, Hq, L, 2]
//      and, when doutBf is set, dO in bf16 (the tensor-core passes read it);
//   2. the dK/dV pass and the dQ pass (independent of each other, both read
//      rowStats): attn_bwd_dkdv_mma_kernel + attn_bwd_dq_mma_kernel (Dh % 16
//      == 0, Dh <= 128; need doutBf), or the CUDA-core attn_bwd_dkdv_kernel
//      + attn_bwd_dq_kernel (Dh % 8 == 0, Dh <= 256; read dout, not doutBf);
//   3. rope_bwd_kernel<Dh> on dq and dk (in place) when q / k were rotated.
// Nothing needs zeroing. Launch geometry: AttnBwdArgs.h.
//
//===----------------------------------------------------------------------===//
#pragma once
#include "AttnBwdArgs.h"
#include "attention_mma.cuh"
#include "common.cuh"

namespace hyb {
namespace abwd {

using amma::BoolTag;
using amma::cpAsync16;
using amma::cpAsyncCommit;
using amma::cpAsyncWait;
using amma::exp2Fast;
using amma::mmaAccumT;
using amma::mmaScorePair;
using amma::packAFrag;
using amma::smemAddr;

constexpr float kLog2e = 1.4426950408889634f;

/// The geometry of AttnBwdArgs.h (host constexpr functions) as constants
/// device code may read.
template <int Dh> struct Geom {
  static constexpr int prepLanes = attnBwdPrepLanes(Dh), prepRows = attnBwdPrepRows(Dh);
  static constexpr AttnBwdDkdvCfg dkdv = attnBwdDkdvCfg(Dh);
  static constexpr AttnBwdDqCfg dq = attnBwdDqCfg(Dh);
};
template <int Dh, int QT> struct DkdvSmem {
  static constexpr int bytes = attnBwdDkdvSmemBytesFor(Dh, QT);
};
template <int Dh, int KT> struct DqSmem {
  static constexpr int bytes = attnBwdDqSmemBytesFor(Dh, KT);
};

/// 8-byte global -> shared copy; !valid writes 8 zero bytes (src unread).
__device__ __forceinline__ void cpAsync8(uint32_t dst, const void *src, bool valid) {
  const int n = valid ? 8 : 0;
  asm volatile("cp.async.ca.shared.global [%0], [%1], 8, %2;\n" ::"r"(dst), "l"(src), "r"(n)
               : "memory");
}

__device__ __forceinline__ float bfLo(uint32_t u) { return __uint_as_float(u << 16); }
__device__ __forceinline__ float bfHi(uint32_t u) { return __uint_as_float(u & 0xffff0000u); }

/// Rows 0 .. Rows - 1 of a bf16 [*, stride] matrix (Dh values from src + row
/// * stride) into shared rows of Dh + 8 bf16 at dst, by 16-byte cp.async;
/// rows >= valid are zero-filled (their source is not read). Rows * stride
/// must fit an int.
template <int Dh, int Rows, int Threads>
__device__ __forceinline__ void loadRows(uint32_t dst, const bf16_t *src, int stride, int valid) {
  constexpr int CH = Dh / 8, LDS = Dh + 8, Chunks = Rows * CH;
#pragma unroll
  for (int p = 0; p < (Chunks + Threads - 1) / Threads; ++p) {
    const int i = threadIdx.x + p * Threads;
    if (Chunks % Threads != 0 && i >= Chunks)
      break;
    const int j = i / CH, cc = i - j * CH;
    const bool ok = j < valid;
    cpAsync16(dst + (uint32_t)((j * LDS + cc * 8) * 2), src + (ok ? j * stride + cc * 8 : 0), ok);
  }
}

/// The row-major A fragments (16 rows x Dh, bf16) of rows r, r + 8 (row g,
/// g + 8 of the m16 tile; already clamped) read from global memory by 32-bit
/// loads: frag[ks] = {(g, 16ks + 2t), (g + 8, 16ks + 2t), (g, +8), (g + 8, +8)}.
template <int Dh>
__device__ __forceinline__ void loadAFrags(uint32_t (&frag)[Dh / 16][4], const bf16_t *row0,
                                           const bf16_t *row1, int t) {
  row0 += 2 * t, row1 += 2 * t;
#pragma unroll
  for (int ks = 0; ks < Dh / 16; ++ks) {
    frag[ks][0] = *reinterpret_cast<const uint32_t *>(row0 + 16 * ks);
    frag[ks][1] = *reinterpret_cast<const uint32_t *>(row1 + 16 * ks);
    frag[ks][2] = *reinterpret_cast<const uint32_t *>(row0 + 16 * ks + 8);
    frag[ks][3] = *reinterpret_cast<const uint32_t *>(row1 + 16 * ks + 8);
  }
}

//===----------------------------------------------------------------------===//
// dK / dV on the tensor cores.
//
// Block: Warps warps, each owning 16 * MT keys: KT = Warps * 16 * MT keys of
// one (batch row, kv head), grid (ceil(L / KT), Hkv, B) taken in linear
// order with the key block slowest (the longest blocks start first). Its K
// and V rows are A fragments in registers for the whole block. It walks
// (query head of the group) x (query tile of QT rows that can see one of its
// keys); Q, dO (bf16) and the (lse2, D) pairs of a tile are double buffered
// in shared memory (cp.async, one barrier per tile). Per chunk of QC queries,
// each warp computes in registers, all transposed (keys are the M dimension):
//   S^T = K Q^T, dP^T = V dO^T  (B fragments: ldmatrix of Q, dO rows)
//   P^T = exp2(S^T scale log2e - lse2),  dS^T = P^T (dP^T - D)
//   dV += P^T dO, dK += dS^T Q  (A: the accumulators repacked to bf16x2;
//                                B: ldmatrix.trans of the same Q, dO rows)
// Chunks no key of the warp sees are skipped; chunks that cross the causal
// or window boundary take a masked path, which also skips the 16-query
// slices no key of the warp sees. Query rows >= L are zero-filled (Q, dO,
// D = 0, so their dS and dO terms vanish). Keys >= L are computed from row
// L - 1 and not stored. dK *= scale at the end; fp32 stores.
//===----------------------------------------------------------------------===//
template <int Dh, int Warps, int MT, int QT, int QC>
__device__ __forceinline__ void dkdvMma(const AttnBwdArgs &a) {
  static_assert(Dh % 16 == 0 && Dh <= 128, "attention bwd (mma): head dim % 16, <= 128");
  static_assert(QC % 16 == 0 && QT % QC == 0, "attention bwd (mma): query chunks of 16s");
  constexpr int Threads = Warps * 32, KT = Warps * 16 * MT, LDS = Dh + 8;
  constexpr int NKS = Dh / 16, NDT = Dh / 8, NQT = QC / 8;
  constexpr uint32_t TileBytes = QT * LDS * 2;          // one Q or dO tile
  constexpr uint32_t BufBytes = 2 * TileBytes + QT * 8;  // Q, dO, stats
  static_assert(2 * BufBytes == (uint32_t)DkdvSmem<Dh, QT>::bytes, "smem layout");
  extern __shared__ __align__(16) unsigned char smemRaw[];

  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int g = lane >> 2, t = lane & 3;
  // Block order: key block slowest, so the first blocks launched are the key
  // blocks with the most query tiles (longest first).
  const int nBH = gridDim.y * gridDim.z;
  const int lin = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const int kb0 = (lin / nBH) * KT, kvh = lin % nBH % a.Hkv, b = lin % nBH / a.Hkv;
  const int L = a.L, W = a.window, G = a.Hq / a.Hkv;
  const int kLast = min(L, kb0 + KT) - 1;
  const int qLast = W > 0 ? min(L - 1, kLast + W - 1) : L - 1;  // last query seeing a key
  const int qt0 = kb0 / QT, nQ = qLast / QT - qt0 + 1;
  const int nSteps = G * nQ;
  const int qStride = a.Hq * Dh;
  const float c = a.scale * kLog2e;

  const uint32_t sBase = smemAddr(smemRaw);
  auto load = [&](int step, int buf) {
    const int hs = step / nQ;
    const int hh = kvh * G + hs, q0 = (qt0 + step - hs * nQ) * QT;
    const uint32_t dst = sBase + buf * BufBytes;
    const int64_t off = ((int64_t)b * L + q0) * qStride + (int64_t)hh * Dh;
    loadRows<Dh, QT, Threads>(dst, a.q + off, qStride, L - q0);
    loadRows<Dh, QT, Threads>(dst + TileBytes, a.doutBf + off, qStride, L - q0);
    const float *st = a.rowStats + (((int64_t)b * a.Hq + hh) * L + q0) * 2;
#pragma unroll
    for (int p = 0; p < (QT + Threads - 1) / Threads; ++p) {
      const int i = threadIdx.x + p * Threads;
      if (QT % Threads != 0 && i >= QT)
        break;
      const bool ok = q0 + i < L;
      cpAsync8(dst + 2 * TileBytes + i * 8, st + (ok ? 2 * i : 0), ok);
    }
  };
  load(0, 0);
  cpAsyncCommit();

  // This warp's keys: wk0 + 16 mt + g + 8 i.
  const int wk0 = kb0 + warp * 16 * MT, wkMax = wk0 + 16 * MT - 1;
  const bool warpLive = wk0 < L;
  uint32_t ka[MT][NKS][4], va[MT][NKS][4];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) {
    const int r0 = min(wk0 + 16 * mt + g, L - 1), r1 = min(wk0 + 16 * mt + g + 8, L - 1);
    const int64_t o0 = (((int64_t)b * L + r0) * a.Hkv + kvh) * Dh;
    const int64_t o1 = (((int64_t)b * L + r1) * a.Hkv + kvh) * Dh;
    loadAFrags<Dh>(ka[mt], a.k + o0, a.k + o1, t);
    loadAFrags<Dh>(va[mt], a.v + o0, a.v + o1, t);
  }
  float dk[MT][NDT][4], dv[MT][NDT][4];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int d = 0; d < NDT; ++d)
#pragma unroll
      for (int e = 0; e < 4; ++e)
        dk[mt][d][e] = dv[mt][d][e] = 0.f;

  // ldmatrix lane offsets (lane supplies row lane & 7 of matrix lane >> 3).
  // Non-trans, rows = queries: matrices (q +0, d +0), (+0, +8), (+8, +0),
  // (+8, +8) -> b0, b1 of query n-tile 2np, b0, b1 of n-tile 2np + 1.
  const int mi = lane >> 3, mr = lane & 7;
  const uint32_t nLane = (uint32_t)((((mi >> 1) * 8 + mr) * LDS + (mi & 1) * 8) * 2);
  // Trans, rows = queries: (q +0, d +0), (+8, +0), (+0, +8), (+8, +8) -> b0,
  // b1 of dim tile 2dp, b0, b1 of dim tile 2dp + 1 (k = queries).
  const uint32_t tLane = (uint32_t)((((mi & 1) * 8 + mr) * LDS + (mi >> 1) * 8) * 2);

  // Whether a key of this warp sees a query of [q, q + n) (warp-uniform).
  auto sees = [&](int q, int n) {
    return q + n - 1 >= wk0 && (W <= 0 || q <= wkMax + W - 1);
  };
  // Whether some (key, query) pair of the warp and [q0, q0 + QC) is masked.
  auto crossing = [&](int q0) { return q0 < wkMax || (W > 0 && q0 + QC - 1 > wk0 + W - 1); };

  auto chunk = [&](const uint32_t qs, const int qc, const int q0, auto maskedTag) {
    constexpr bool Masked = decltype(maskedTag)::value;
    const uint32_t dos = qs + TileBytes;
    const unsigned char *stBase = smemRaw + (qs - sBase) + 2 * TileBytes;
    float s[MT][NQT][4], dp[MT][NQT][4];
    // S^T = K Q^T and dP^T = V dO^T.
    const uint32_t rows = (uint32_t)(qc * LDS * 2) + nLane;
    mmaScorePair<MT, NKS, NQT, LDS>(s, dp, ka, va, qs + rows, dos + rows, [&](int np) {
      return !Masked || sees(q0 + 16 * np, 16);
    });
    // P^T (kept in s) and dS^T (kept in dp); this lane's columns are the
    // queries q0 + 8n + 2t + e, their (lse2, D) pairs one 16-byte load.
#pragma unroll
    for (int n = 0; n < NQT; ++n) {
      if (Masked && !sees(q0 + 16 * (n / 2), 16))
        continue;
      const float4 st = *reinterpret_cast<const float4 *>(stBase + (qc + 8 * n + 2 * t) * 8);
#pragma unroll
      for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int i = 0; i < 2; ++i)
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            float x = fmaf(s[mt][n][2 * i + e], c, -(e ? st.z : st.x));
            if (Masked) {
              const int key = wk0 + 16 * mt + g + 8 * i, q = q0 + 8 * n + 2 * t + e;
              if (key > q || (W > 0 && q - key >= W))
                x = -INFINITY;
            }
            const float p = exp2Fast(x);
            s[mt][n][2 * i + e] = p;
            dp[mt][n][2 * i + e] = p * (dp[mt][n][2 * i + e] - (e ? st.w : st.y));
          }
    }
    // dV += P^T dO, dK += dS^T Q: accumulators of query n-tiles 2j, 2j + 1
    // are the A fragment of k16 step j.
#pragma unroll
    for (int j = 0; j < QC / 16; ++j) {
      if (Masked && !sees(q0 + 16 * j, 16))
        continue;
      uint32_t pa[MT][4], sa[MT][4];
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
        packAFrag(pa[mt], s[mt][2 * j], s[mt][2 * j + 1]);
        packAFrag(sa[mt], dp[mt][2 * j], dp[mt][2 * j + 1]);
      }
      const uint32_t off = (uint32_t)((qc + 16 * j) * LDS * 2) + tLane;
      mmaAccumT<MT, NDT>(dv, pa, dos + off);
      mmaAccumT<MT, NDT>(dk, sa, qs + off);
    }
  };

  int qtile = qt0;
  for (int step = 0; step < nSteps; ++step) {
    const int buf = step & 1;
    cpAsyncWait<0>();  // this thread's copies of this step landed
    __syncthreads();   // ... everyone's; every warp is done with step - 1
    if (step + 1 < nSteps) {
      load(step + 1, buf ^ 1);
      cpAsyncCommit();
    }
    if (warpLive) {
      const uint32_t qs = sBase + buf * BufBytes;
#pragma unroll
      for (int qc = 0; qc < QT; qc += QC) {
        const int q0 = qtile * QT + qc;
        if (q0 >= L || !sees(q0, QC))
          continue;
        if (crossing(q0))
          chunk(qs, qc, q0, BoolTag<true>());
        else
          chunk(qs, qc, q0, BoolTag<false>());
      }
    }
    if (++qtile == qt0 + nQ)
      qtile = qt0;
  }

  // dK * scale, dV: fp32 rows < L, 8-byte stores.
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const int key = wk0 + 16 * mt + g + 8 * i;
      if (key >= L)
        continue;
      const int64_t o = (((int64_t)b * L + key) * a.Hkv + kvh) * Dh + 2 * t;
#pragma unroll
      for (int d = 0; d < NDT; ++d) {
        *reinterpret_cast<float2 *>(a.dk + o + 8 * d) =
            make_float2(dk[mt][d][2 * i] * a.scale, dk[mt][d][2 * i + 1] * a.scale);
        *reinterpret_cast<float2 *>(a.dv + o + 8 * d) =
            make_float2(dv[mt][d][2 * i], dv[mt][d][2 * i + 1]);
      }
    }
}

//===----------------------------------------------------------------------===//
// dQ on the tensor cores.
//
// Block: Warps warps, each owning 16 * MT query rows: QT = Warps * 16 * MT
// rows of one (batch row, query head), grid (ceil(L / QT), Hq, B) taken in
// linear order with the query tile slowest and reversed (the last, longest
// tiles start first). Q and dO (bf16) A fragments and the rows' (lse2, D)
// live in registers; K / V tiles of KT keys are double buffered in shared
// memory (cp.async, zero-filled past the block's last visible key), walked
// in steps of KC keys:
//   S = Q K^T, dP = dO V^T  (B: ldmatrix of K, V rows)
//   dS = exp2(S scale log2e - lse2) (dP - D)
//   dQ += dS K  (A: dS repacked; B: ldmatrix.trans of K)
// Same step skipping / masked path as the forward. dQ *= scale; fp32 stores.
//===----------------------------------------------------------------------===//
template <int Dh, int Warps, int MT, int KT, int KC>
__device__ __forceinline__ void dqMma(const AttnBwdArgs &a) {
  static_assert(Dh % 16 == 0 && Dh <= 128, "attention bwd (mma): head dim % 16, <= 128");
  static_assert(KC % 16 == 0 && KT % KC == 0, "attention bwd (mma): key steps of 16s");
  constexpr int Threads = Warps * 32, QT = Warps * 16 * MT, LDS = Dh + 8;
  constexpr int NKS = Dh / 16, NDT = Dh / 8, NKT = KC / 8;
  constexpr uint32_t TileBytes = KT * LDS * 2;
  static_assert(4 * TileBytes == (uint32_t)DqSmem<Dh, KT>::bytes, "smem layout");
  extern __shared__ __align__(16) unsigned char smemRaw[];

  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int g = lane >> 2, t = lane & 3;
  // Block order: query tile slowest and reversed, so the first blocks
  // launched are the last (longest) tiles of every head.
  const int nBH = gridDim.y * gridDim.z;
  const int lin = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const int qtile = gridDim.x - 1 - lin / nBH;
  const int h = lin % nBH % a.Hq, b = lin % nBH / a.Hq;
  const int kvh = h / (a.Hq / a.Hkv);
  const int L = a.L, W = a.window;
  const int l0 = qtile * QT;
  const int pLast = min(L, l0 + QT) - 1;  // last visible key of the block
  const int kBegin = W > 0 ? max(0, l0 - W + 1) : 0;
  const int nTiles = (pLast - kBegin) / KT + 1;
  const int kvStride = a.Hkv * Dh;
  const bf16_t *kg = a.k + (int64_t)b * L * kvStride + (int64_t)kvh * Dh;
  const bf16_t *vg = a.v + (int64_t)b * L * kvStride + (int64_t)kvh * Dh;
  const float c = a.scale * kLog2e;

  // Shared: K buffers 0, 1 then V buffers 0, 1.
  const uint32_t kSmem = smemAddr(smemRaw), vSmem = kSmem + 2 * TileBytes;
  auto load = [&](int tile, int buf) {
    const int r0 = kBegin + tile * KT;
    const int64_t off = (int64_t)r0 * kvStride;
    loadRows<Dh, KT, Threads>(kSmem + buf * TileBytes, kg + off, kvStride, pLast + 1 - r0);
    loadRows<Dh, KT, Threads>(vSmem + buf * TileBytes, vg + off, kvStride, pLast + 1 - r0);
  };
  load(0, 0);
  cpAsyncCommit();

  // This warp's rows: wl0 + 16 mt + g + 8 i (rows past L read row L - 1).
  const int wl0 = l0 + warp * 16 * MT, wlMax = wl0 + 16 * MT - 1;
  const bool warpLive = wl0 < L;
  uint32_t qa[MT][NKS][4], oa[MT][NKS][4];
  float lse2[MT][2], dRow[MT][2];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) {
    const int r0 = min(wl0 + 16 * mt + g, L - 1), r1 = min(wl0 + 16 * mt + g + 8, L - 1);
    const int64_t o0 = (((int64_t)b * L + r0) * a.Hq + h) * Dh;
    const int64_t o1 = (((int64_t)b * L + r1) * a.Hq + h) * Dh;
    loadAFrags<Dh>(qa[mt], a.q + o0, a.q + o1, t);
    loadAFrags<Dh>(oa[mt], a.doutBf + o0, a.doutBf + o1, t);
    const float2 *st = reinterpret_cast<const float2 *>(a.rowStats) + ((int64_t)b * a.Hq + h) * L;
    const float2 s0 = st[r0], s1 = st[r1];
    lse2[mt][0] = s0.x, dRow[mt][0] = s0.y;
    lse2[mt][1] = s1.x, dRow[mt][1] = s1.y;
  }
  float dq[MT][NDT][4];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int d = 0; d < NDT; ++d)
#pragma unroll
      for (int e = 0; e < 4; ++e)
        dq[mt][d][e] = 0.f;

  const int mi = lane >> 3, mr = lane & 7;
  // Non-trans, rows = keys: (k +0, d +0), (+0, +8), (+8, +0), (+8, +8) ->
  // b0, b1 of key n-tile 2np, b0, b1 of n-tile 2np + 1.
  const uint32_t nLane = (uint32_t)((((mi >> 1) * 8 + mr) * LDS + (mi & 1) * 8) * 2);
  // Trans, rows = keys: (k +0, d +0), (+8, +0), (+0, +8), (+8, +8) -> b0, b1
  // of dim tile 2dd, b0, b1 of dim tile 2dd + 1 (k = keys).
  const uint32_t tLane = (uint32_t)((((mi & 1) * 8 + mr) * LDS + (mi >> 1) * 8) * 2);

  // Whether some row of this warp sees a key of [k, k + n) (warp-uniform).
  auto sees = [&](int k, int n) {
    return k <= wlMax && (W <= 0 || k + n - 1 >= wl0 - W + 1);
  };
  auto crossing = [&](int k0) { return k0 + KC - 1 > wl0 || (W > 0 && k0 < wlMax - W + 1); };

  auto step = [&](const uint32_t kb, const uint32_t vb, const int kc, const int k0,
                  auto maskedTag) {
    constexpr bool Masked = decltype(maskedTag)::value;
    float s[MT][NKT][4], dp[MT][NKT][4];
    // S = Q K^T and dP = dO V^T.
    const uint32_t rows = (uint32_t)(kc * LDS * 2) + nLane;
    mmaScorePair<MT, NKS, NKT, LDS>(s, dp, qa, oa, kb + rows, vb + rows, [&](int np) {
      return !Masked || sees(k0 + 16 * np, 16);
    });
    // dS = P (dP - D), kept in dp.
#pragma unroll
    for (int n = 0; n < NKT; ++n) {
      if (Masked && !sees(k0 + 16 * (n / 2), 16))
        continue;
#pragma unroll
      for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int i = 0; i < 2; ++i)
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            float x = fmaf(s[mt][n][2 * i + e], c, -lse2[mt][i]);
            if (Masked) {
              const int row = wl0 + 16 * mt + g + 8 * i, kk = k0 + 8 * n + 2 * t + e;
              if (kk > row || (W > 0 && row - kk >= W))
                x = -INFINITY;
            }
            dp[mt][n][2 * i + e] = exp2Fast(x) * (dp[mt][n][2 * i + e] - dRow[mt][i]);
          }
    }
    // dQ += dS K.
#pragma unroll
    for (int j = 0; j < KC / 16; ++j) {
      if (Masked && !sees(k0 + 16 * j, 16))
        continue;
      uint32_t sa[MT][4];
#pragma unroll
      for (int mt = 0; mt < MT; ++mt)
        packAFrag(sa[mt], dp[mt][2 * j], dp[mt][2 * j + 1]);
      mmaAccumT<MT, NDT>(dq, sa, kb + (uint32_t)((kc + 16 * j) * LDS * 2) + tLane);
    }
  };

  for (int tile = 0; tile < nTiles; ++tile) {
    const int buf = tile & 1;
    cpAsyncWait<0>();
    __syncthreads();
    if (tile + 1 < nTiles) {
      load(tile + 1, buf ^ 1);
      cpAsyncCommit();
    }
    if (!warpLive)
      continue;
    const uint32_t kb = kSmem + buf * TileBytes, vb = vSmem + buf * TileBytes;
#pragma unroll
    for (int kc = 0; kc < KT; kc += KC) {
      const int k0 = kBegin + tile * KT + kc;
      if (!sees(k0, KC))
        continue;
      if (crossing(k0))
        step(kb, vb, kc, k0, BoolTag<true>());
      else
        step(kb, vb, kc, k0, BoolTag<false>());
    }
  }

  // dQ * scale: fp32 rows < L, 8-byte stores.
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const int r = wl0 + 16 * mt + g + 8 * i;
      if (r >= L)
        continue;
      float *out = a.dq + (((int64_t)b * L + r) * a.Hq + h) * Dh + 2 * t;
#pragma unroll
      for (int d = 0; d < NDT; ++d)
        *reinterpret_cast<float2 *>(out + 8 * d) =
            make_float2(dq[mt][d][2 * i] * a.scale, dq[mt][d][2 * i + 1] * a.scale);
    }
}

} // namespace abwd

//===----------------------------------------------------------------------===//
// Kernels (the emitter wraps each in extern "C" __global__ with
// __launch_bounds__(threads[, minBlocks])).
//===----------------------------------------------------------------------===//

/// Preprocess: rowStats[b, h, l] = (lse * log2 e, sum_d dO * O) (fp32 dO,
/// bf16 O) and, when a.doutBf, doutBf = bf16(dO) (round to nearest).
/// Grid ceil(B * L * Hq / attnBwdPrepRows(Dh)); attnBwdPrepThreads threads
/// (attnBwdPrepLanes(Dh) lanes per (b, l, h) row, 8 values each); no shared
/// memory. Dh % 8 == 0, Dh <= 256.
template <int Dh>
__device__ __forceinline__ void attn_bwd_prep_kernel(const AttnBwdArgs &a) {
  static_assert(Dh % 8 == 0 && Dh <= 256, "attention bwd: head dim % 8, <= 256");
  constexpr int CH = Dh / 8, TPR = abwd::Geom<Dh>::prepLanes, RPB = abwd::Geom<Dh>::prepRows;
  static_assert(TPR >= CH && TPR <= 32, "attention bwd prep: lanes per row");
  const int64_t rows = (int64_t)a.B * a.L * a.Hq;
  const int64_t r = (int64_t)blockIdx.x * RPB + threadIdx.x / TPR;
  const int cc = threadIdx.x % TPR;
  float sum = 0.f;
  if (r < rows && cc < CH) {
    const int64_t e0 = r * Dh + 8 * cc;
    const float4 x0 = *reinterpret_cast<const float4 *>(a.dout + e0);
    const float4 x1 = *reinterpret_cast<const float4 *>(a.dout + e0 + 4);
    const uint4 ov = *reinterpret_cast<const uint4 *>(a.o + e0);
    sum = x0.x * abwd::bfLo(ov.x) + x0.y * abwd::bfHi(ov.x) + x0.z * abwd::bfLo(ov.y) +
          x0.w * abwd::bfHi(ov.y) + x1.x * abwd::bfLo(ov.z) + x1.y * abwd::bfHi(ov.z) +
          x1.z * abwd::bfLo(ov.w) + x1.w * abwd::bfHi(ov.w);
    if (a.doutBf) {
      uint4 w;
      w.x = amma::packBf16(x0.x, x0.y);
      w.y = amma::packBf16(x0.z, x0.w);
      w.z = amma::packBf16(x1.x, x1.y);
      w.w = amma::packBf16(x1.z, x1.w);
      *reinterpret_cast<uint4 *>(a.doutBf + e0) = w;
    }
  }
#pragma unroll
  for (int o = TPR / 2; o >= 1; o /= 2)
    sum += __shfl_xor_sync(0xffffffffu, sum, o);
  if (r < rows && cc == 0) {
    const int64_t h = r % a.Hq, bl = r / a.Hq, l = bl % a.L, bb = bl / a.L;
    const int64_t si = (bb * a.Hq + h) * a.L + l;
    reinterpret_cast<float2 *>(a.rowStats)[si] = make_float2(a.lse[si] * abwd::kLog2e, sum);
  }
}

/// dK, dV on the tensor cores (after attn_bwd_prep_kernel with doutBf).
/// Grid (ceil(L / attnBwdDkdvKeys(Dh)), Hkv, B); attnBwdDkdvThreads(Dh)
/// threads; dynamic shared memory attnBwdDkdvSmemBytes(Dh) (the launcher
/// raises cudaFuncAttributeMaxDynamicSharedMemorySize above 48 KB). Reads q,
/// k, v, doutBf, rowStats; writes every row of dk, dv.
template <int Dh>
__device__ __forceinline__ void attn_bwd_dkdv_mma_kernel(const AttnBwdArgs &a) {
  using G = abwd::Geom<Dh>;
  abwd::dkdvMma<Dh, G::dkdv.warps, G::dkdv.mt, G::dkdv.qt, G::dkdv.qc>(a);
}

/// dQ on the tensor cores (after attn_bwd_prep_kernel with doutBf). Grid
/// (ceil(L / attnBwdDqRows(Dh)), Hq, B); attnBwdDqThreads(Dh) threads;
/// dynamic shared memory attnBwdDqSmemBytes(Dh). Reads q, k, v, doutBf,
/// rowStats; writes every row of dq.
template <int Dh>
__device__ __forceinline__ void attn_bwd_dq_mma_kernel(const AttnBwdArgs &a) {
  using G = abwd::Geom<Dh>;
  abwd::dqMma<Dh, G::dq.warps, G::dq.mt, G::dq.kt, G::dq.kc>(a);
}

/// dQ on the CUDA cores (any Dh % 8 == 0 up to 256; after
/// attn_bwd_prep_kernel, doutBf unused): one warp per query row, lane owns
/// dims lane + 32 u; fp32 dO. Grid (ceil(L / attnBwdFbRows), Hq, B);
/// attnBwdFbThreads threads; no shared memory.
template <int Dh>
__device__ __forceinline__ void attn_bwd_dq_kernel(const AttnBwdArgs &a) {
  static_assert(Dh % 8 == 0 && Dh <= 256, "attention bwd: head dim % 8, <= 256");
  constexpr int U = (Dh + 31) / 32;
  const int lane = threadIdx.x & 31;
  const int i = blockIdx.x * attnBwdFbRows + (threadIdx.x >> 5);
  const int h = blockIdx.y, b = blockIdx.z, L = a.L;
  if (i >= L)
    return;
  const int kvh = h / (a.Hq / a.Hkv);
  const int64_t qo = (((int64_t)b * L + i) * a.Hq + h) * Dh;
  float q[U], go[U], acc[U];
#pragma unroll
  for (int u = 0; u < U; ++u) {
    const int e = lane + 32 * u;
    q[u] = e < Dh ? ld(a.q, qo + e) : 0.f;
    go[u] = e < Dh ? a.dout[qo + e] : 0.f;
    acc[u] = 0.f;
  }
  const float2 st = reinterpret_cast<const float2 *>(a.rowStats)[((int64_t)b * a.Hq + h) * L + i];
  const float c = a.scale * abwd::kLog2e;
  const int lo = a.window > 0 ? max(0, i - a.window + 1) : 0;
  for (int j = lo; j <= i; ++j) {
    const int64_t ko = (((int64_t)b * L + j) * a.Hkv + kvh) * Dh;
    float kv[U], s = 0.f, dp = 0.f;
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int e = lane + 32 * u;
      kv[u] = e < Dh ? ld(a.k, ko + e) : 0.f;
      s = fmaf(q[u], kv[u], s);
      dp = fmaf(go[u], e < Dh ? ld(a.v, ko + e) : 0.f, dp);
    }
    s = warpSum(s);
    dp = warpSum(dp);
    const float ds = exp2f(fmaf(s, c, -st.x)) * (dp - st.y);
#pragma unroll
    for (int u = 0; u < U; ++u)
      acc[u] = fmaf(ds, kv[u], acc[u]);
  }
#pragma unroll
  for (int u = 0; u < U; ++u) {
    const int e = lane + 32 * u;
    if (e < Dh)
      a.dq[qo + e] = acc[u] * a.scale;
  }
}

/// dK, dV on the CUDA cores (any Dh % 8 == 0 up to 256; after
/// attn_bwd_prep_kernel): one warp per key row, walking the group's query
/// heads and the queries that see the key. Grid (ceil(L / attnBwdFbRows),
/// Hkv, B); attnBwdFbThreads threads; no shared memory.
template <int Dh>
__device__ __forceinline__ void attn_bwd_dkdv_kernel(const AttnBwdArgs &a) {
  static_assert(Dh % 8 == 0 && Dh <= 256, "attention bwd: head dim % 8, <= 256");
  constexpr int U = (Dh + 31) / 32;
  const int lane = threadIdx.x & 31;
  const int j = blockIdx.x * attnBwdFbRows + (threadIdx.x >> 5);
  const int kvh = blockIdx.y, b = blockIdx.z, L = a.L;
  if (j >= L)
    return;
  const int G = a.Hq / a.Hkv;
  const int64_t ko = (((int64_t)b * L + j) * a.Hkv + kvh) * Dh;
  float kv[U], vv[U], gk[U], gv[U];
#pragma unroll
  for (int u = 0; u < U; ++u) {
    const int e = lane + 32 * u;
    kv[u] = e < Dh ? ld(a.k, ko + e) : 0.f;
    vv[u] = e < Dh ? ld(a.v, ko + e) : 0.f;
    gk[u] = gv[u] = 0.f;
  }
  const float c = a.scale * abwd::kLog2e;
  const int hi = a.window > 0 ? min(L - 1, j + a.window - 1) : L - 1;
  for (int hh = kvh * G; hh < (kvh + 1) * G; ++hh) {
    const float2 *st = reinterpret_cast<const float2 *>(a.rowStats) + ((int64_t)b * a.Hq + hh) * L;
    for (int i = j; i <= hi; ++i) {
      const int64_t qo = (((int64_t)b * L + i) * a.Hq + hh) * Dh;
      float q[U], go[U], s = 0.f, dp = 0.f;
#pragma unroll
      for (int u = 0; u < U; ++u) {
        const int e = lane + 32 * u;
        q[u] = e < Dh ? ld(a.q, qo + e) : 0.f;
        go[u] = e < Dh ? a.dout[qo + e] : 0.f;
        s = fmaf(q[u], kv[u], s);
        dp = fmaf(go[u], vv[u], dp);
      }
      s = warpSum(s);
      dp = warpSum(dp);
      const float2 sti = st[i];
      const float p = exp2f(fmaf(s, c, -sti.x)), ds = p * (dp - sti.y);
#pragma unroll
      for (int u = 0; u < U; ++u) {
        gv[u] = fmaf(p, go[u], gv[u]);
        gk[u] = fmaf(ds, q[u], gk[u]);
      }
    }
  }
#pragma unroll
  for (int u = 0; u < U; ++u) {
    const int e = lane + 32 * u;
    if (e < Dh) {
      a.dk[ko + e] = gk[u] * a.scale;
      a.dv[ko + e] = gv[u];
    }
  }
}

/// RoPE backward, in place on fp32 gradients: for each token (b, l) and
/// head, the pair (x_i, x_{i + rd/2}) becomes (x_i c + x_{i+rd/2} s,
/// x_{i+rd/2} c - x_i s) with sincosf(float(l) * invFreq[i]) (rope_kernel's
/// angle, positions 0..L-1); channels >= rd untouched. Grid (B * L, 2)
/// (blockIdx.y 0: dq with Hq heads, 1: dk with Hkv heads; a null pointer
/// skips its job); any block size (ropeBwdThreads); no shared memory.
template <int Dh>
__device__ __forceinline__ void rope_bwd_kernel(const RopeBwdArgs &a) {
  static_assert(Dh % 2 == 0 && Dh <= 512, "rope bwd: head dim must be even and <= 512");
  float *x = blockIdx.y == 0 ? a.dq : a.dk;
  if (!x)
    return;
  const int H = blockIdx.y == 0 ? a.Hq : a.Hkv;
  const int64_t stride = blockIdx.y == 0 ? a.ldq : a.ldk;
  const int64_t tok = blockIdx.x;
  const int l = (int)(tok % a.L), half = a.rd / 2;
  float *row = x + tok * stride;
  for (int idx = threadIdx.x; idx < H * half; idx += blockDim.x) {
    const int h = idx / half, r = idx - h * half;
    float s, c;
    sincosf(static_cast<float>(l) * a.invFreq[r], &s, &c);
    float *p = row + (int64_t)h * Dh;
    const float x0 = p[r], x1 = p[r + half];
    p[r] = x0 * c + x1 * s;
    p[r + half] = x1 * c - x0 * s;
  }
}

} // namespace hyb
