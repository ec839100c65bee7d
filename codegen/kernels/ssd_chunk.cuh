//===- ssd_chunk.cuh - Mamba-2 chunked scan (SSD) on tensor cores ---------===//
//
// Same contract as scan_kernel (ScanArgs; state [B, H, P, N] read and written
// back), computed by chunks of Q = 32 tokens with the SSD decomposition.
// Inside a chunk, with cum_i = sum_{k<=i} dt_k A (<= 0, so every exponential
// below is <= 1) and h the state entering the chunk ([P, N]):
//   Y  = diag(e^cum) C h^T                       (state -> output)
//      + (mask o e^(cum_i - cum_j) dt_j  o C B^T + D I) X   (within the chunk)
//   h' = e^cum_last h + X^T (diag(e^(cum_last - cum_j) dt_j) B)
// One block of 8 warps walks the chunks of one (batch row, head, slice of PS
// channels) in order, three barriers per chunk. The products are
// mma.sync.m16n8k8 tf32 (fp32 accumulate) on fragments read from shared
// memory with explicit shared addresses (rows padded so that every fragment
// load is conflict-free). Each warp keeps its tiles in registers across the
// phases: C h^T is scaled and then accumulated with G X in place and stored
// straight to y; the state h (fp32) lives in accumulators for the whole
// sequence and is mirrored (tf32-rounded) to shared memory once per chunk.
// Grid: (H * P / PS, B), ssdChunkThreads threads, ssdChunkSmemBytes(N, PS)
// bytes of dynamic shared memory. Prefill only (decode keeps scan_kernel).
//
//===----------------------------------------------------------------------===//
#pragma once
#include "common.cuh"
#include "scan.cuh"

namespace hyb {

namespace ssd {
__device__ __forceinline__ float tf32(float v) {
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(v));
  return __uint_as_float(r);
}
__device__ __forceinline__ float4 tf32(float4 v) {
  return make_float4(tf32(v.x), tf32(v.y), tf32(v.z), tf32(v.w));
}
__device__ __forceinline__ uint32_t lds(uint32_t addr) {
  uint32_t v;
  asm volatile("ld.shared.b32 %0, [%1];" : "=r"(v) : "r"(addr));
  return v;
}
/// d += a (16x8, row) * b (8x8, col); tf32 operands as fp32 bit patterns.
__device__ __forceinline__ void mma(float *d, const uint32_t *a, const uint32_t *b) {
  asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, "
               "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
/// A fragment (rows r0.., columns k0..) of a row-major matrix at `base`
/// (shared address) with row stride LD floats: g = lane / 4, t = lane % 4.
template <int LD>
__device__ __forceinline__ void loadA(uint32_t *a, uint32_t base, int r0, int k0, int g, int t) {
  const uint32_t p = base + 4u * ((r0 + g) * LD + k0 + t);
  a[0] = lds(p), a[1] = lds(p + 32u * LD), a[2] = lds(p + 16u), a[3] = lds(p + 32u * LD + 16u);
}
/// A fragment of the TRANSPOSE of a row-major matrix (A[m][k] = M[k][m]).
template <int LD>
__device__ __forceinline__ void loadAT(uint32_t *a, uint32_t base, int m0, int k0, int g, int t) {
  const uint32_t p = base + 4u * ((k0 + t) * LD + m0 + g);
  a[0] = lds(p), a[1] = lds(p + 32u), a[2] = lds(p + 16u * LD), a[3] = lds(p + 16u * LD + 32u);
}
/// B fragment (k0.., columns n0..) where B[k][n] = M[n][k] (M row-major: "col").
template <int LD>
__device__ __forceinline__ void loadBT(uint32_t *b, uint32_t base, int n0, int k0, int g, int t) {
  const uint32_t p = base + 4u * ((n0 + g) * LD + k0 + t);
  b[0] = lds(p), b[1] = lds(p + 16u);
}
/// B fragment where B[k][n] = M[k][n] (M row-major).
template <int LD>
__device__ __forceinline__ void loadB(uint32_t *b, uint32_t base, int n0, int k0, int g, int t) {
  const uint32_t p = base + 4u * ((k0 + t) * LD + n0 + g);
  b[0] = lds(p), b[1] = lds(p + 16u * LD);
}

__device__ __forceinline__ void cpAsync16(float *dst, const float *src, bool valid) {
  const unsigned d = (unsigned)__cvta_generic_to_shared(dst);
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(src),
               "r"(valid ? 16 : 0)
               : "memory");
}
__device__ __forceinline__ void cpAsyncWaitAll() {
  asm volatile("cp.async.commit_group;\ncp.async.wait_group 0;\n" ::: "memory");
}

/// Starts copying rows [row0, row0 + Q) of a [T, stride] matrix (columns
/// col .. col + W) into shared rows of stride LD as fp32; rows past `rows`
/// are zero. fp32 sources go through cp.async (complete at cpAsyncWaitAll:
/// every copy of a chunk is in flight at once); bf16 ones are converted and
/// rounded on the way (synchronous).
template <int Q, int W, int LD, typename XT>
__device__ __forceinline__ void loadRows(float *dst, const XT *src, int64_t row0, int rows,
                                         int stride, int64_t col) {
  if constexpr (sizeof(XT) == 4 && W % 4 == 0) {
    // Asynchronous 16-byte copies (no unrolling needed to keep them in
    // flight); the launcher checks the alignment of rows and columns.
#pragma unroll 1
    for (int i = threadIdx.x; i < Q * W / 4; i += ssdChunkThreads) {
      const int r = i / (W / 4), c = (i % (W / 4)) * 4;
      const bool valid = r < rows;
      cpAsync16(dst + r * LD + c,
                reinterpret_cast<const float *>(src) + (row0 + (valid ? r : 0)) * stride + col + c,
                valid);
    }
  } else {
#pragma unroll 1
    for (int i = threadIdx.x; i < Q * W; i += ssdChunkThreads) {
      const int r = i / W, c = i % W;
      dst[r * LD + c] = r < rows ? tf32(ld(src, (row0 + r) * stride + col + c)) : 0.f;
    }
  }
}
/// Rounds to tf32 the slots this thread copied with loadRows (after its own
/// copies completed: the same thread and slots, so no barrier is needed).
template <int Q, int W, int LD, typename XT> __device__ __forceinline__ void roundRows(float *dst) {
  if constexpr (sizeof(XT) == 4 && W % 4 == 0) {
#pragma unroll 4
    for (int i = threadIdx.x; i < Q * W / 4; i += ssdChunkThreads) {
      float4 *v = reinterpret_cast<float4 *>(dst + (i / (W / 4)) * LD + (i % (W / 4)) * 4);
      *v = tf32(*v);
    }
  }
}
/// The host's ssdChunkSmemBytes, evaluated at class scope (host context).
template <int N, int PS> struct SmemCheck {
  static constexpr int bytes = ssdChunkSmemBytes(N, PS);
};
} // namespace ssd

/// Train: also store the state entering every chunk (ScanArgs::chunkStates),
/// which the backward (ssd_chunk_bwd.cuh) reads; inference instances compile
/// without it.
template <int N, int PS, typename XT, typename YT, typename DtT, bool Train = false>
__device__ __forceinline__ void ssd_chunk_kernel(const ScanArgs &a) {
  constexpr int Q = ssdChunkLen, NW = ssdChunkThreads / 32;
  // Row strides (floats): C, B and h rows are read as "k-contiguous"
  // fragments (stride = 4 mod 32), X and B~ rows as "n-contiguous" ones
  // (stride = 8 mod 32): conflict-free either way.
  constexpr int LN = N + 4, LB = N + 8, LP = PS + 8, LQ = Q + 4;
  static_assert(Q == 32 && NW == 8, "ssd_chunk: 8 warps over chunks of 32 tokens");
  static_assert(N % 16 == 0 && N <= 256, "ssd_chunk: state size must be a multiple of 16");
  static_assert(PS == 16 || PS == 32 || PS == 64, "ssd_chunk: channel slice of 16, 32 or 64");
  static_assert(ssd::SmemCheck<N, PS>::bytes ==
                    4 * (2 * Q * LN + 2 * Q * LP + Q * LB + PS * LN + Q * LQ + 3 * Q),
                "ssd_chunk: shared-memory layout and ssdChunkSmemBytes disagree");
  // Output tiles (16 x 8): rows ib = warp / 4, YPW column tiles per warp.
  constexpr int YPW = PS >= 32 ? PS / 32 : 1;
  // State tiles (16 x 8): HT in all, HPW per warp, consecutive in a row block.
  constexpr int HT = (PS / 16) * (N / 8), HPW = HT >= NW ? HT / NW : 1;
  static_assert(HT < NW || (N / 8) % HPW == 0, "ssd_chunk: state tiles of a warp share rows");
  extern __shared__ __align__(128) float smem[];
  // X is double buffered (chunk c+1's copy starts during chunk c's phase 2).
  float *Cs = smem, *Bs = Cs + Q * LN, *Xb = Bs + Q * LN, *Bt = Xb + 2 * Q * LP, *Hs = Bt + Q * LB;
  float *Gs = Hs + PS * LN, *cum = Gs + Q * LQ, *wB = cum + Q, *dts = wB + Q;
  const uint32_t sC = (uint32_t)__cvta_generic_to_shared(Cs);
  const uint32_t sB = (uint32_t)__cvta_generic_to_shared(Bs);
  const uint32_t sX0 = (uint32_t)__cvta_generic_to_shared(Xb);
  const uint32_t sBt = (uint32_t)__cvta_generic_to_shared(Bt);
  const uint32_t sH = (uint32_t)__cvta_generic_to_shared(Hs);
  const uint32_t sG = (uint32_t)__cvta_generic_to_shared(Gs);

  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int slices = a.P / PS;
  const int h = blockIdx.x / slices, p0 = (blockIdx.x % slices) * PS, b = blockIdx.y;
  const int grp = h / (a.H / a.G);
  const float A = -expf(a.aLog[h]);
  const float Dh = a.d ? a.d[h] : 0.f;
  const XT *x = static_cast<const XT *>(a.x);
  const XT *bm = static_cast<const XT *>(a.bm);
  const XT *cm = static_cast<const XT *>(a.cm);
  const DtT *dtp = static_cast<const DtT *>(a.dt);
  YT *y = static_cast<YT *>(a.y);
  float *state = a.state ? a.state + (((int64_t)b * a.H + h) * a.P + p0) * N : nullptr;

  // This warp's tiles.
  const int ib = warp >> 2, q = warp & 3;          // output rows ib*16.., column group q
  const int yt0 = q * YPW;                          // first output column tile
  const bool yLive = yt0 < PS / 8;
  const bool gLive = ib == 1 || q < 2;              // C B^T tile (ib, q) on/below the diagonal
  const int hTile0 = warp * HPW;
  const bool hLive = hTile0 < HT;
  const int hp0 = (hTile0 / (N / 8)) * 16, hn0 = (hTile0 % (N / 8)) * 8;  // rows, first column

  // The state: fp32 accumulators (from the cache), mirrored to Hs as tf32.
  float hAcc[HPW][4];
#pragma unroll
  for (int k = 0; k < HPW; ++k) {
    const int n = hn0 + k * 8 + 2 * t;
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int p = hp0 + g + half * 8;
      float2 v = make_float2(0.f, 0.f);
      if (state && hLive)
        v = *reinterpret_cast<const float2 *>(state + p * N + n);
      hAcc[k][2 * half] = v.x, hAcc[k][2 * half + 1] = v.y;
      if (hLive)
        *reinterpret_cast<float2 *>(Hs + p * LN + n) = make_float2(ssd::tf32(v.x), ssd::tf32(v.y));
    }
  }

  // A chunk's rows are copied ahead: X (into the other buffer) during the
  // previous chunk's phase 2, C, B and the raw dt once the previous chunk is
  // done with them (after its phase 2), overlapping its phase 3.
  float dtRaw = 0.f;
  auto issueCB = [&](int c0) {
    const int rows = min(Q, a.L - c0);
    const int64_t t0 = (int64_t)b * a.L + c0;
    ssd::loadRows<Q, N, LN>(Cs, cm, t0, rows, a.ldbc, (int64_t)grp * N);
    ssd::loadRows<Q, N, LN>(Bs, bm, t0, rows, a.ldbc, (int64_t)grp * N);
    if (warp == 0 && lane < rows)
      dtRaw = ld(dtp, (t0 + lane) * a.lddt + h);
  };
  auto issueX = [&](int c0) {
    ssd::loadRows<Q, PS, LP>(Xb + ((c0 / Q) & 1) * Q * LP, x, (int64_t)b * a.L + c0,
                             min(Q, a.L - c0), a.ldx, (int64_t)h * a.P + p0);
  };
  if (a.L > 0)
    issueCB(0), issueX(0);
  for (int c0 = 0; c0 < a.L; c0 += Q) {
    const int rows = min(Q, a.L - c0);
    const int64_t t0 = (int64_t)b * a.L + c0;
    float *Xs = Xb + ((c0 / Q) & 1) * Q * LP;
    const uint32_t sX = sX0 + 4u * ((c0 / Q) & 1) * Q * LP;
    if constexpr (Train) {  // the fp32 state entering this chunk
      float *cs = a.chunkStates +
                  ((((int64_t)b * a.H + h) * ((a.L + Q - 1) / Q) + c0 / Q) * a.P + p0) * N;
      if (hLive)
#pragma unroll
        for (int k = 0; k < HPW; ++k)
#pragma unroll
          for (int half = 0; half < 2; ++half)
            *reinterpret_cast<float2 *>(cs + (hp0 + g + half * 8) * N + hn0 + k * 8 + 2 * t) =
                make_float2(hAcc[k][2 * half], hAcc[k][2 * half + 1]);
    }
    // 1. The chunk's rows are in; round them to tf32; dt and the decays.
    ssd::cpAsyncWaitAll();
    ssd::roundRows<Q, N, LN, XT>(Cs);
    ssd::roundRows<Q, N, LN, XT>(Bs);
    ssd::roundRows<Q, PS, LP, XT>(Xs);
    if (warp == 0) {
      const float dt = lane < rows ? scanDt(a, dtRaw, h) : 0.f;
      const float c = warpPrefixSum(dt * A, lane);
      const float last = __shfl_sync(0xffffffffu, c, 31);
      cum[lane] = c;
      dts[lane] = dt;
      wB[lane] = __expf(last - c) * dt;
    }
    __syncthreads();
    if (c0 + Q < a.L)  // the other X buffer was last read in the previous chunk
      issueX(c0 + Q);

    // 2. C h^T (this warp's output tiles, kept in registers) and C B^T (its
    //    tile of the lower triangle, masked and decayed into Gs); B~ into Bt.
    float yAcc[YPW][4], gAcc[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll
    for (int j = 0; j < YPW; ++j)
      yAcc[j][0] = yAcc[j][1] = yAcc[j][2] = yAcc[j][3] = 0.f;
    if (yLive || gLive) {
#pragma unroll 4
      for (int k0 = 0; k0 < N; k0 += 8) {
        uint32_t fa[4], fb[2];
        ssd::loadA<LN>(fa, sC, ib * 16, k0, g, t);
        if (yLive)
#pragma unroll
          for (int j = 0; j < YPW; ++j) {
            ssd::loadBT<LN>(fb, sH, (yt0 + j) * 8, k0, g, t);
            ssd::mma(yAcc[j], fa, fb);
          }
        if (gLive) {
          ssd::loadBT<LN>(fb, sB, q * 8, k0, g, t);
          ssd::mma(gAcc, fa, fb);
        }
      }
    }
    {
      const int r = ib * 16 + g, c = q * 8 + 2 * t;
      float v[4];
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int ri = r + (e >> 1) * 8, ci = c + (e & 1);
        float s = 0.f;
        if (gLive && ci <= ri)
          s = gAcc[e] * __expf(cum[ri] - cum[ci]) * dts[ci] + (ri == ci ? Dh : 0.f);
        v[e] = ssd::tf32(s);
      }
      *reinterpret_cast<float2 *>(Gs + r * LQ + c) = make_float2(v[0], v[1]);
      *reinterpret_cast<float2 *>(Gs + (r + 8) * LQ + c) = make_float2(v[2], v[3]);
      const float e0 = __expf(cum[r]), e1 = __expf(cum[r + 8]);
#pragma unroll
      for (int j = 0; j < YPW; ++j)
        yAcc[j][0] *= e0, yAcc[j][1] *= e0, yAcc[j][2] *= e1, yAcc[j][3] *= e1;
    }
#pragma unroll 4
    for (int e = threadIdx.x; e < Q * N / 4; e += ssdChunkThreads) {
      const int j = e / (N / 4), n = (e % (N / 4)) * 4;
      const float f = wB[j];
      const float4 u = *reinterpret_cast<const float4 *>(Bs + j * LN + n);
      *reinterpret_cast<float4 *>(Bt + j * LB + n) =
          ssd::tf32(make_float4(u.x * f, u.y * f, u.z * f, u.w * f));
    }
    __syncthreads();
    if (c0 + Q < a.L)  // phase 3 reads neither C nor B
      issueCB(c0 + Q);

    // 3. Y += G X, stored straight from the accumulators; h = e^cum_last h +
    //    X^T B~, mirrored to Hs for the next chunk's C h^T.
    if (yLive) {
#pragma unroll
      for (int k0 = 0; k0 < Q; k0 += 8) {
        uint32_t fa[4], fb[2];
        ssd::loadA<LQ>(fa, sG, ib * 16, k0, g, t);
#pragma unroll
        for (int j = 0; j < YPW; ++j) {
          ssd::loadB<LP>(fb, sX, (yt0 + j) * 8, k0, g, t);
          ssd::mma(yAcc[j], fa, fb);
        }
      }
      const int64_t ldy = (int64_t)a.H * a.P;
#pragma unroll
      for (int j = 0; j < YPW; ++j)
#pragma unroll
        for (int half = 0; half < 2; ++half) {
          const int r = ib * 16 + g + half * 8;
          if (r < rows) {
            const int64_t o = (t0 + r) * ldy + (int64_t)h * a.P + p0 + (yt0 + j) * 8 + 2 * t;
            if constexpr (sizeof(YT) == 4)
              *reinterpret_cast<float2 *>(y + o) =
                  make_float2(yAcc[j][2 * half], yAcc[j][2 * half + 1]);
            else
              st(y, o, yAcc[j][2 * half]), st(y, o + 1, yAcc[j][2 * half + 1]);
          }
        }
    }
    if (hLive) {
      const float decay = __expf(cum[Q - 1]);
#pragma unroll
      for (int k = 0; k < HPW; ++k)
#pragma unroll
        for (int e = 0; e < 4; ++e)
          hAcc[k][e] *= decay;
#pragma unroll
      for (int k0 = 0; k0 < Q; k0 += 8) {
        uint32_t fa[4], fb[2];
        ssd::loadAT<LP>(fa, sX, hp0, k0, g, t);
#pragma unroll
        for (int k = 0; k < HPW; ++k) {
          ssd::loadB<LB>(fb, sBt, hn0 + k * 8, k0, g, t);
          ssd::mma(hAcc[k], fa, fb);
        }
      }
#pragma unroll
      for (int k = 0; k < HPW; ++k)
#pragma unroll
        for (int half = 0; half < 2; ++half)
          *reinterpret_cast<float2 *>(Hs + (hp0 + g + half * 8) * LN + hn0 + k * 8 + 2 * t) =
              make_float2(ssd::tf32(hAcc[k][2 * half]), ssd::tf32(hAcc[k][2 * half + 1]));
    }
    __syncthreads();
  }
  if (state && hLive)
#pragma unroll
    for (int k = 0; k < HPW; ++k)
#pragma unroll
      for (int half = 0; half < 2; ++half)
        *reinterpret_cast<float2 *>(state + (hp0 + g + half * 8) * N + hn0 + k * 8 + 2 * t) =
            make_float2(hAcc[k][2 * half], hAcc[k][2 * half + 1]);
}

} // namespace hyb
