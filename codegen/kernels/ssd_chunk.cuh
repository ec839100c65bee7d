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
// channels) in order; the four products run on tensor cores (wmma, tf32
// inputs, fp32 accumulate); h lives in accumulator fragments (fp32) for the
// whole sequence and is mirrored to shared memory once per chunk for C h^T.
// Grid: (H * P / PS, B), ssdChunkThreads threads, ssdChunkSmemBytes(N, PS)
// bytes of dynamic shared memory. Prefill only (decode keeps scan_kernel).
//
//===----------------------------------------------------------------------===//
#pragma once
#include <mma.h>

#include "common.cuh"

namespace hyb {

namespace ssd {
using namespace nvcuda;
using FragA = wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major>;
using FragAT = wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::col_major>;
using FragB = wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major>;
using FragBT = wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::col_major>;
using FragC = wmma::fragment<wmma::accumulator, 16, 16, 8, float>;

/// Operands in shared memory are stored already rounded to tf32 (once per
/// element, where they are written), so fragment loads convert nothing.
__device__ __forceinline__ float tf32(float v) { return wmma::__float_to_tf32(v); }
__device__ __forceinline__ float4 tf32(float4 v) {
  return make_float4(tf32(v.x), tf32(v.y), tf32(v.z), tf32(v.w));
}
template <typename F> __device__ __forceinline__ void load(F &f, const float *p, int ld) {
  wmma::load_matrix_sync(f, p, ld);
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
/// every copy of a chunk is in flight at once); bf16 ones are converted on
/// the way (synchronous).
template <int Q, int W, int LD, typename XT>
__device__ __forceinline__ void loadRows(float *dst, const XT *src, int64_t row0, int rows,
                                         int stride, int64_t col) {
  if constexpr (sizeof(XT) == 4 && W % 4 == 0) {
    // 16-byte copies (asynchronous: no need to unroll for loads in flight);
    // the launcher checks the alignment of rows and columns.
#pragma unroll 1
    for (int i = threadIdx.x; i < Q * W / 4; i += ssdChunkThreads) {
      const int r = i / (W / 4), c = (i % (W / 4)) * 4;
      const bool valid = r < rows;
      cpAsync16(dst + r * LD + c, reinterpret_cast<const float *>(src) +
                                      (row0 + (valid ? r : 0)) * stride + col + c,
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

/// Rounds to tf32 the slots this thread copied with loadRows (after its
/// copies completed: the same thread, the same slots, no barrier needed).
template <int Q, int W, int LD, typename XT> __device__ __forceinline__ void roundRows(float *dst) {
  if constexpr (sizeof(XT) == 4 && W % 4 == 0) {
#pragma unroll 4
    for (int i = threadIdx.x; i < Q * W / 4; i += ssdChunkThreads) {
      float4 *v = reinterpret_cast<float4 *>(dst + (i / (W / 4)) * LD + (i % (W / 4)) * 4);
      *v = tf32(*v);
    }
  }
}
} // namespace ssd

template <int N, int PS, typename XT, typename YT, typename DtT>
__device__ __forceinline__ void ssd_chunk_kernel(const ScanArgs &a) {
  using namespace nvcuda;
  constexpr int Q = ssdChunkLen, NW = ssdChunkThreads / 32;
  constexpr int LN = N + 4, LP = PS + 4, LQ = Q + 4;  // padded rows (multiples of 4)
  static_assert(Q == 32, "ssd_chunk: the cumulative sum is one warp wide");
  static_assert(N % 16 == 0 && N <= 256 && PS % 16 == 0 && PS <= 64,
                "ssd_chunk: state size and channel slice must be multiples of 16");
  constexpr int TY = (Q / 16) * (PS / 16);   // output tiles
  constexpr int TG = (Q / 16) * (Q / 16 + 1) / 2;  // C B^T tiles on or below the diagonal
  constexpr int TH = (PS / 16) * (N / 16);   // state tiles
  constexpr int HPW = (TH + NW - 1) / NW;    // state tiles per warp
  extern __shared__ __align__(128) float smem[];
  float *Cs = smem, *Bs = Cs + Q * LN, *Hs = Bs + Q * LN, *Xs = Hs + PS * LN;
  float *Ys = Xs + Q * LP, *Gs = Ys + Q * LP, *cum = Gs + Q * LQ, *wB = cum + Q, *dts = wB + Q;

  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int slices = a.P / PS;
  const int h = blockIdx.x / slices, p0 = (blockIdx.x % slices) * PS, b = blockIdx.y;
  const int g = h / (a.H / a.G);
  const float A = -expf(a.aLog[h]);
  const float Dh = a.d ? a.d[h] : 0.f;
  const XT *x = static_cast<const XT *>(a.x);
  const XT *bm = static_cast<const XT *>(a.bm);
  const XT *cm = static_cast<const XT *>(a.cm);
  const DtT *dtp = static_cast<const DtT *>(a.dt);
  YT *y = static_cast<YT *>(a.y);
  float *state = a.state ? a.state + (((int64_t)b * a.H + h) * a.P + p0) * N : nullptr;

  for (int i = threadIdx.x; i < PS * N; i += ssdChunkThreads)
    Hs[(i / N) * LN + i % N] = state ? ssd::tf32(state[i]) : 0.f;
  __syncthreads();
  ssd::FragC hf[HPW];  // fp32 state, loaded unrounded from global memory
#pragma unroll
  for (int k = 0; k < HPW; ++k) {
    const int tile = warp + k * NW;
    if (tile < TH) {
      if (state)
        wmma::load_matrix_sync(hf[k], state + (tile / (N / 16)) * 16 * N + (tile % (N / 16)) * 16,
                               N, wmma::mem_row_major);
      else
        wmma::fill_fragment(hf[k], 0.f);
    }
  }

  // 1. A chunk's C, B, X rows (asynchronous copies) and its raw dt (warp 0,
  //    one per lane), issued for the next chunk while this one is written out.
  float dtRaw = 0.f;
  auto issueLoads = [&](int c0) {
    const int rows = min(Q, a.L - c0);
    const int64_t t0 = (int64_t)b * a.L + c0;
    ssd::loadRows<Q, N, LN>(Cs, cm, t0, rows, a.ldbc, (int64_t)g * N);
    ssd::loadRows<Q, N, LN>(Bs, bm, t0, rows, a.ldbc, (int64_t)g * N);
    ssd::loadRows<Q, PS, LP>(Xs, x, t0, rows, a.ldx, (int64_t)h * a.P + p0);
    if (warp == 0 && lane < rows)
      dtRaw = ld(dtp, (t0 + lane) * a.lddt + h);
  };
  if (a.L > 0)
    issueLoads(0);
  for (int c0 = 0; c0 < a.L; c0 += Q) {
    const int rows = min(Q, a.L - c0);
    const int64_t t0 = (int64_t)b * a.L + c0;
    ssd::cpAsyncWaitAll();
    ssd::roundRows<Q, N, LN, XT>(Cs);
    ssd::roundRows<Q, N, LN, XT>(Bs);
    ssd::roundRows<Q, PS, LP, XT>(Xs);
    if (warp == 0) {
      // dt and the cumulative decay of the chunk (a warp-wide inclusive scan).
      float dt = 0.f;
      if (lane < rows) {
        dt = dtRaw;
        if (a.dtBias)
          dt = fminf(fmaxf(softplusf(dt + a.dtBias[h]), a.dtLo), a.dtHi);
      }
      float c = dt * A;
#pragma unroll
      for (int o = 1; o < 32; o <<= 1) {
        const float u = __shfl_up_sync(0xffffffffu, c, o);
        if (lane >= o)
          c += u;
      }
      const float last = __shfl_sync(0xffffffffu, c, 31);
      cum[lane] = c;
      dts[lane] = dt;
      wB[lane] = __expf(last - c) * dt;
    }
    __syncthreads();
    // 2. C h^T (into Ys) and C B^T (into Gs).
    for (int job = warp; job < TY + TG; job += NW) {
      ssd::FragC acc;
      wmma::fill_fragment(acc, 0.f);
      const bool isY = job < TY;
      int i = job / (PS / 16), j = job % (PS / 16);
      if (!isY) {  // the k-th tile of the lower triangle, row by row
        i = 0, j = job - TY;
        while (j > i)
          j -= ++i;
      }
      const float *bsrc = isY ? Hs + j * 16 * LN : Bs + j * 16 * LN;
#pragma unroll 4
      for (int k = 0; k < N / 8; ++k) {
        ssd::FragA fa;
        ssd::FragBT fb;
        ssd::load(fa, Cs + i * 16 * LN + k * 8, LN);
        ssd::load(fb, bsrc + k * 8, LN);
        wmma::mma_sync(acc, fa, fb, acc);
      }
      if (isY)
        wmma::store_matrix_sync(Ys + i * 16 * LP + j * 16, acc, LP, wmma::mem_row_major);
      else
        wmma::store_matrix_sync(Gs + i * 16 * LQ + j * 16, acc, LQ, wmma::mem_row_major);
    }
    __syncthreads();
    // 3. Decays: the causal mask with D on the diagonal, e^cum on C h^T,
    //    e^(cum_last - cum_j) dt_j on the rows of B.
#pragma unroll 4
    for (int e = threadIdx.x; e < Q * Q; e += ssdChunkThreads) {
      const int i = e / Q, j = e % Q;
      float v = 0.f;
      if (j <= i)
        v = Gs[i * LQ + j] * __expf(cum[i] - cum[j]) * dts[j] + (i == j ? Dh : 0.f);
      Gs[i * LQ + j] = ssd::tf32(v);
    }
#pragma unroll 2
    for (int e = threadIdx.x; e < Q * PS / 4; e += ssdChunkThreads) {
      const int i = e / (PS / 4);
      float4 *v = reinterpret_cast<float4 *>(Ys + i * LP + (e % (PS / 4)) * 4);
      const float f = __expf(cum[i]);
      float4 u = *v;
      u.x *= f, u.y *= f, u.z *= f, u.w *= f;
      *v = u;
    }
#pragma unroll 4
    for (int e = threadIdx.x; e < Q * N / 4; e += ssdChunkThreads) {
      const int j = e / (N / 4);
      float4 *v = reinterpret_cast<float4 *>(Bs + j * LN + (e % (N / 4)) * 4);
      const float f = wB[j];
      float4 u = *v;
      *v = ssd::tf32(make_float4(u.x * f, u.y * f, u.z * f, u.w * f));
    }
    __syncthreads();
    // 4. Y += G X (in Ys); h = e^cum_last h + X^T B~ (registers, mirrored to Hs).
    for (int job = warp; job < TY; job += NW) {
      const int i = job / (PS / 16), j = job % (PS / 16);
      ssd::FragC acc;
      wmma::load_matrix_sync(acc, Ys + i * 16 * LP + j * 16, LP, wmma::mem_row_major);
#pragma unroll
      for (int k = 0; k < Q / 8; ++k) {
        ssd::FragA fa;
        ssd::FragB fb;
        ssd::load(fa, Gs + i * 16 * LQ + k * 8, LQ);
        ssd::load(fb, Xs + k * 8 * LP + j * 16, LP);
        wmma::mma_sync(acc, fa, fb, acc);
      }
      wmma::store_matrix_sync(Ys + i * 16 * LP + j * 16, acc, LP, wmma::mem_row_major);
    }
    const float decay = __expf(cum[Q - 1]);
#pragma unroll
    for (int k = 0; k < HPW; ++k) {
      const int tile = warp + k * NW;
      if (tile < TH) {
        const int r = tile / (N / 16), c = tile % (N / 16);
#pragma unroll
        for (int e = 0; e < hf[k].num_elements; ++e)
          hf[k].x[e] *= decay;
#pragma unroll
        for (int kq = 0; kq < Q / 8; ++kq) {
          ssd::FragAT fa;  // X^T: column-major view of the [Q, PS] rows
          ssd::FragB fb;
          ssd::load(fa, Xs + kq * 8 * LP + r * 16, LP);
          ssd::load(fb, Bs + kq * 8 * LN + c * 16, LN);
          wmma::mma_sync(hf[k], fa, fb, hf[k]);
        }
        ssd::FragC hr = hf[k];  // the shared mirror is an operand: tf32
#pragma unroll
        for (int e = 0; e < hr.num_elements; ++e)
          hr.x[e] = ssd::tf32(hr.x[e]);
        wmma::store_matrix_sync(Hs + r * 16 * LN + c * 16, hr, LN, wmma::mem_row_major);
      }
    }
    __syncthreads();
    // 5. The next chunk's copies start (they do not touch Ys, Hs or the
    //    decays), then this chunk's output rows.
    if (c0 + Q < a.L)
      issueLoads(c0 + Q);
    if constexpr (sizeof(YT) == 4) {
#pragma unroll 2
      for (int e = threadIdx.x; e < rows * PS / 4; e += ssdChunkThreads) {
        const int i = e / (PS / 4), p = (e % (PS / 4)) * 4;
        *reinterpret_cast<float4 *>(y + (t0 + i) * ((int64_t)a.H * a.P) + (int64_t)h * a.P + p0 +
                                    p) = *reinterpret_cast<const float4 *>(Ys + i * LP + p);
      }
    } else {
#pragma unroll 1
      for (int e = threadIdx.x; e < rows * PS; e += ssdChunkThreads) {
        const int i = e / PS, p = e % PS;
        st(y, (t0 + i) * ((int64_t)a.H * a.P) + (int64_t)h * a.P + p0 + p, Ys[i * LP + p]);
      }
    }
  }
  if (state)  // the fp32 fragments (the shared mirror is rounded)
#pragma unroll
    for (int k = 0; k < HPW; ++k) {
      const int tile = warp + k * NW;
      if (tile < TH)
        wmma::store_matrix_sync(state + (tile / (N / 16)) * 16 * N + (tile % (N / 16)) * 16, hf[k],
                                N, wmma::mem_row_major);
    }
}

} // namespace hyb
