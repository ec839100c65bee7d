//===- rows_bwd.cuh - Row-wise backward kernels of training on the device -===//
//
// rmsnorm / add_rmsnorm, swiglu, embedding, LM head cross entropy and
// branch_combine backward, plus the column sum of per-block partials, fp32 ->
// bf16 casts and fp32 add / scale. Semantics, grids, shared memory and
// scratch: RowsBwdArgs.h (the CPU references: runtime/cpu/CpuGradFused.cpp,
// CpuGradNorms.cpp, CpuGrad.cpp, LMHeadLoss.cpp). fp32 math throughout;
// every reduction has a fixed order (deterministic: no float atomics).
//
//===----------------------------------------------------------------------===//
#pragma once
#include "RowsBwdArgs.h"
#include "common.cuh"

namespace hyb {
namespace rowsbwd {

/// rowsVecOf (RowsBwdArgs.h) for device code.
__host__ __device__ constexpr int vecOf(int n) { return n % 4 == 0 ? 4 : n % 2 == 0 ? 2 : 1; }

/// VEC consecutive elements at p (aligned to VEC elements) as fp32.
template <int N> __device__ __forceinline__ void ldv(const float *p, float (&v)[N]) {
  if constexpr (N == 4) {
    const float4 r = *reinterpret_cast<const float4 *>(p);
    v[0] = r.x, v[1] = r.y, v[2] = r.z, v[3] = r.w;
  } else if constexpr (N == 2) {
    const float2 r = *reinterpret_cast<const float2 *>(p);
    v[0] = r.x, v[1] = r.y;
  } else {
    static_assert(N == 1, "ldv: 1, 2 or 4 elements");
    v[0] = *p;
  }
}
__device__ __forceinline__ float2 bf2ToF2(uint32_t u) {
  __nv_bfloat162 h;
  memcpy(&h, &u, 4);
  return __bfloat1622float2(h);
}
__device__ __forceinline__ uint32_t f2ToBf2(float a, float b) {
  const __nv_bfloat162 h = __floats2bfloat162_rn(a, b);
  uint32_t u;
  memcpy(&u, &h, 4);
  return u;
}
template <int N> __device__ __forceinline__ void ldv(const bf16_t *p, float (&v)[N]) {
  if constexpr (N == 4) {
    const uint2 r = *reinterpret_cast<const uint2 *>(p);
    const float2 lo = bf2ToF2(r.x), hi = bf2ToF2(r.y);
    v[0] = lo.x, v[1] = lo.y, v[2] = hi.x, v[3] = hi.y;
  } else if constexpr (N == 2) {
    const float2 f = bf2ToF2(*reinterpret_cast<const uint32_t *>(p));
    v[0] = f.x, v[1] = f.y;
  } else {
    static_assert(N == 1, "ldv: 1, 2 or 4 elements");
    v[0] = ld(p, 0);
  }
}
template <int N> __device__ __forceinline__ void stv(float *p, const float (&v)[N]) {
  if constexpr (N == 4)
    *reinterpret_cast<float4 *>(p) = make_float4(v[0], v[1], v[2], v[3]);
  else if constexpr (N == 2)
    *reinterpret_cast<float2 *>(p) = make_float2(v[0], v[1]);
  else
    *p = v[0];
}
template <int N> __device__ __forceinline__ void stv(bf16_t *p, const float (&v)[N]) {
  if constexpr (N == 4)
    *reinterpret_cast<uint2 *>(p) = make_uint2(f2ToBf2(v[0], v[1]), f2ToBf2(v[2], v[3]));
  else if constexpr (N == 2)
    *reinterpret_cast<uint32_t *>(p) = f2ToBf2(v[0], v[1]);
  else
    st(p, 0, v[0]);
}
template <int N> __device__ __forceinline__ void fillv(float (&v)[N], float x) {
#pragma unroll
  for (int k = 0; k < N; ++k)
    v[k] = x;
}

/// Sums of two values over the block (blockDim.x a multiple of 32); every
/// thread gets both. `red` holds 32 float2; reusable after the call.
__device__ __forceinline__ float2 blockSum2(float x, float y, float2 *red) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  x = warpSum(x), y = warpSum(y);
  __syncthreads();
  if (lane == 0)
    red[warp] = make_float2(x, y);
  __syncthreads();
  float2 s = lane < nw ? red[lane] : make_float2(0.f, 0.f);
  return make_float2(warpSum(s.x), warpSum(s.y));
}

/// Exclusive prefix sum of one int per thread over the block (in thread
/// order); *total gets the block's sum. `red`: 33 ints.
__device__ __forceinline__ int blockExclusiveScan(int v, int *red, int *total) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  int incl = v;
#pragma unroll
  for (int o = 1; o < 32; o <<= 1) {
    const int u = __shfl_up_sync(0xffffffffu, incl, o);
    if (lane >= o)
      incl += u;
  }
  __syncthreads();
  if (lane == 31)
    red[warp] = incl;
  __syncthreads();
  if (warp == 0) {
    int w = lane < nw ? red[lane] : 0, wi = w;
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
      const int u = __shfl_up_sync(0xffffffffu, wi, o);
      if (lane >= o)
        wi += u;
    }
    if (lane < nw)
      red[lane] = wi - w;  // exclusive base of warp `lane`
    if (lane == 31)
      red[32] = wi;
  }
  __syncthreads();
  *total = red[32];
  return red[warp] + incl - v;
}

/// Online (max, sum of exp(x - max)) merge; either side may be empty (-inf).
__device__ __forceinline__ void lseMerge(float &m, float &s, float m2, float s2) {
  if (m2 == -INFINITY)
    return;
  if (m == -INFINITY) {
    m = m2, s = s2;
    return;
  }
  const float M = fmaxf(m, m2);
  s = s * __expf(m - M) + s2 * __expf(m2 - M);
  m = M;
}

} // namespace rowsbwd

//===----------------------------------------------------------------------===//
// 1. rmsnorm / add_rmsnorm backward
//===----------------------------------------------------------------------===//

/// See RmsNormBwdArgs. Each thread holds ceil(D / VEC / Threads) vectors of
/// the row (x, dout, dsum) and its dw columns in registers; one two-value
/// block reduction per row.
template <int D, int Threads, typename XT>
__device__ __forceinline__ void rmsnorm_bwd_kernel(const RmsNormBwdArgs &a) {
  static_assert(D > 0 && D <= 16384, "rmsnorm_bwd: row width out of range");
  static_assert(Threads % 32 == 0 && Threads <= 1024, "rmsnorm_bwd: whole warps");
  constexpr int VEC = rowsbwd::vecOf(D), NV = D / VEC, PT = (NV + Threads - 1) / Threads;
  constexpr bool Lean = PT * VEC > 8;
  __shared__ float2 red[32];
  const XT *xp = static_cast<const XT *>(a.x);
  float acc[PT][VEC];
#pragma unroll
  for (int i = 0; i < PT; ++i)
    rowsbwd::fillv(acc[i], 0.f);
  for (int64_t row = blockIdx.x; row < a.T; row += gridDim.x) {
    // Every load of the row first (one memory latency per row); past 8
    // values a thread (D > 16 * Threads), w and dsum are loaded where used
    // so that the row still fits in registers.
    float xv[PT][VEC], dv[PT][VEC], sv[Lean ? 1 : PT][VEC], wv[Lean ? 1 : PT][VEC];
#pragma unroll
    for (int i = 0; i < PT; ++i) {
      const int j = threadIdx.x + i * Threads;
      const int64_t o = row * D + (int64_t)j * VEC;
      if (j < NV) {
        rowsbwd::ldv(xp + o, xv[i]);
        rowsbwd::ldv(a.dout + o, dv[i]);
      } else {
        rowsbwd::fillv(xv[i], 0.f), rowsbwd::fillv(dv[i], 0.f);
      }
      if constexpr (!Lean) {
        rowsbwd::fillv(sv[i], 0.f), rowsbwd::fillv(wv[i], 0.f);
        if (j < NV) {
          rowsbwd::ldv(a.w + j * VEC, wv[i]);
          if (a.dsum)
            rowsbwd::ldv(a.dsum + o, sv[i]);
        }
      }
    }
    float ss = 0.f, gx = 0.f;
#pragma unroll
    for (int i = 0; i < PT; ++i) {
      const int j = threadIdx.x + i * Threads;
      float w[VEC];
      if constexpr (Lean) {
        rowsbwd::fillv(w, 0.f);
        if (j < NV)
          rowsbwd::ldv(a.w + j * VEC, w);
      }
#pragma unroll
      for (int k = 0; k < VEC; ++k) {
        ss += xv[i][k] * xv[i][k];
        gx += dv[i][k] * (Lean ? w[k] : wv[i][k]) * xv[i][k];
      }
    }
    const float2 tot = rowsbwd::blockSum2(ss, gx, red);
    const float r = rsqrtf(tot.x / D + a.eps);
    const float c = r * r * r * tot.y / D;
#pragma unroll
    for (int i = 0; i < PT; ++i) {
      const int j = threadIdx.x + i * Threads;
      const int64_t off = row * D + (int64_t)j * VEC;
      float w[VEC], s[VEC], o[VEC];
      if constexpr (Lean) {
        rowsbwd::fillv(w, 0.f), rowsbwd::fillv(s, 0.f);
        if (j < NV) {
          rowsbwd::ldv(a.w + j * VEC, w);
          if (a.dsum)
            rowsbwd::ldv(a.dsum + off, s);
        }
      }
#pragma unroll
      for (int k = 0; k < VEC; ++k) {
        o[k] = r * dv[i][k] * (Lean ? w[k] : wv[i][k]) - c * xv[i][k] + (Lean ? s[k] : sv[i][k]);
        acc[i][k] += dv[i][k] * xv[i][k] * r;
      }
      if (j < NV) {
        rowsbwd::stv(a.dx + off, o);
        if (a.dxBf)
          rowsbwd::stv(a.dxBf + off, o);
      }
    }
  }
  if (a.partial) {
#pragma unroll
    for (int i = 0; i < PT; ++i) {
      const int j = threadIdx.x + i * Threads;
      if (j < NV)
        rowsbwd::stv(a.partial + (int64_t)blockIdx.x * D + j * VEC, acc[i]);
    }
  }
}

//===----------------------------------------------------------------------===//
// 2. swiglu backward
//===----------------------------------------------------------------------===//

/// See SwigluBwdArgs. Grid-stride over the T * F / VEC vectors (< 2^32).
template <typename GT, int VEC>
__device__ __forceinline__ void swiglu_bwd_kernel(const SwigluBwdArgs &a) {
  const GT *g = static_cast<const GT *>(a.g);
  const GT *u = static_cast<const GT *>(a.u);
  const uint32_t nv = (uint32_t)(a.F / VEC);
  const uint32_t n = (uint32_t)a.T * nv;
  const float gs = a.gateScale;
  for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    const uint32_t t = i / nv, c = (i - t * nv) * VEC;
    float gv[VEC], uv[VEC], dv[VEC], dg[VEC], du[VEC];
    rowsbwd::ldv(g + (int64_t)t * a.ldg + c, gv);
    rowsbwd::ldv(u + (int64_t)t * a.ldu + c, uv);
    rowsbwd::ldv(a.dout + (int64_t)t * a.F + c, dv);
#pragma unroll
    for (int k = 0; k < VEC; ++k) {
      const float z = gs * gv[k];
      const float s = 1.f / (1.f + __expf(-z));
      dg[k] = gs * dv[k] * uv[k] * (s * (1.f + z * (1.f - s)));
      du[k] = dv[k] * z * s;
    }
    rowsbwd::stv(a.dg + (int64_t)t * a.lddg + c, dg);
    rowsbwd::stv(a.du + (int64_t)t * a.lddu + c, du);
  }
}

//===----------------------------------------------------------------------===//
// 3. embedding backward (launch order and scratch: RowsBwdArgs.h)
//===----------------------------------------------------------------------===//

__device__ __forceinline__ void emb_bwd_count_kernel(const EmbeddingBwdArgs &a) {
  const int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t < a.T)
    atomicAdd(a.counts + a.ids[t], 1);
}

/// One block: offsets = exclusive scan of counts; counts <- 0. Thread i owns
/// the contiguous ids [i * per, (i + 1) * per).
template <int Threads>
__device__ __forceinline__ void emb_bwd_scan_kernel(const EmbeddingBwdArgs &a) {
  __shared__ int red[33];
  const int per = (a.V + Threads - 1) / Threads;
  const int beg = min(a.V, (int)threadIdx.x * per), end = min(a.V, beg + per);
  int s = 0;
#pragma unroll 8
  for (int v = beg; v < end; ++v)
    s += a.counts[v];
  int total;
  int run = rowsbwd::blockExclusiveScan(s, red, &total);
#pragma unroll 8
  for (int v = beg; v < end; ++v) {
    const int c = a.counts[v];
    a.offsets[v] = run;
    a.counts[v] = 0;
    run += c;
  }
  if (threadIdx.x == 0)
    a.offsets[a.V] = total;
}

__device__ __forceinline__ void emb_bwd_scatter_kernel(const EmbeddingBwdArgs &a) {
  const int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t < a.T) {
    const int v = a.ids[t];
    a.slots[a.offsets[v] + atomicAdd(a.counts + v, 1)] = t;
  }
}

/// order[offsets[id] + rank] = t, rank = #(positions of the id below t): the
/// positions of every id ascending, whatever order the scatter left.
__device__ __forceinline__ void emb_bwd_rank_kernel(const EmbeddingBwdArgs &a) {
  const int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= a.T)
    return;
  const int v = a.ids[t], b = a.offsets[v], e = a.offsets[v + 1];
  // O(n) per position, O(n^2) per id: int4 loads (slots is 16-byte aligned),
  // 16 positions in flight, so that a frequent id (n in the thousands) costs
  // a few microseconds.
  int k = b, r = 0;
  for (; k < e && (k & 3); ++k)
    r += a.slots[k] < t;
  const int4 *s4 = reinterpret_cast<const int4 *>(a.slots);
  int r0 = 0, r1 = 0, r2 = 0, r3 = 0;
  for (; k + 16 <= e; k += 16) {
    const int4 q0 = s4[k / 4], q1 = s4[k / 4 + 1], q2 = s4[k / 4 + 2], q3 = s4[k / 4 + 3];
    r0 += (q0.x < t) + (q0.y < t) + (q0.z < t) + (q0.w < t);
    r1 += (q1.x < t) + (q1.y < t) + (q1.z < t) + (q1.w < t);
    r2 += (q2.x < t) + (q2.y < t) + (q2.z < t) + (q2.w < t);
    r3 += (q3.x < t) + (q3.y < t) + (q3.z < t) + (q3.w < t);
  }
  for (; k < e; ++k)
    r += a.slots[k] < t;
  r += r0 + r1 + r2 + r3;
  a.order[b + r] = t;
  if (r == 0)
    a.counts[v] = 0;  // leave the counts zero for the next call
}

/// Block j: the rows of order[j * embBwdChunk, ...) by runs of equal id.
template <int D, int Threads>
__device__ __forceinline__ void emb_bwd_chunk_kernel(const EmbeddingBwdArgs &a) {
  constexpr int S = embBwdChunk, VEC = rowsbwd::vecOf(D), NV = D / VEC;
  constexpr int PT = (NV + Threads - 1) / Threads, U = PT >= 8 ? 1 : 8 / PT;
  static_assert(S % U == 0, "emb_bwd_chunk: unroll must divide the chunk");
  static_assert(Threads % 32 == 0 && Threads >= S && Threads <= 1024, "emb_bwd_chunk: threads");
  __shared__ int sPos[S], sId[S], sBeg[S], sEnd[S];
  const int j = blockIdx.x, cs = j * S, n = min(S, a.T - cs), ce = cs + n;
  if (n <= 0)
    return;
  if ((int)threadIdx.x < n) {
    const int p = a.order[cs + threadIdx.x], v = a.ids[p];
    sPos[threadIdx.x] = p, sId[threadIdx.x] = v;
    sBeg[threadIdx.x] = a.offsets[v], sEnd[threadIdx.x] = a.offsets[v + 1];
  }
  __syncthreads();
  float acc[PT][VEC];
#pragma unroll
  for (int i = 0; i < PT; ++i)
    rowsbwd::fillv(acc[i], 0.f);
  for (int k0 = 0; k0 < n; k0 += U) {
    float buf[U][PT][VEC];
#pragma unroll
    for (int q = 0; q < U; ++q)
#pragma unroll
      for (int i = 0; i < PT; ++i) {
        const int jv = threadIdx.x + i * Threads;
        if (k0 + q < n && jv < NV)
          rowsbwd::ldv(a.dout + (int64_t)sPos[k0 + q] * D + jv * VEC, buf[q][i]);
        else
          rowsbwd::fillv(buf[q][i], 0.f);
      }
#pragma unroll
    for (int q = 0; q < U; ++q) {
      const int k = k0 + q;
      if (k >= n)
        break;
#pragma unroll
      for (int i = 0; i < PT; ++i)
#pragma unroll
        for (int c = 0; c < VEC; ++c)
          acc[i][c] += buf[q][i][c];
      if (k == n - 1 || sId[k + 1] != sId[k]) {
        const int b = sBeg[k], e = sEnd[k];
        float *dst = b >= cs && e <= ce ? a.dtable + (int64_t)sId[k] * D
                     : b < cs           ? a.partial + (int64_t)(2 * j) * D
                                        : a.partial + (int64_t)(2 * j + 1) * D;
#pragma unroll
        for (int i = 0; i < PT; ++i) {
          const int jv = threadIdx.x + i * Threads;
          if (jv < NV)
            rowsbwd::stv(dst + jv * VEC, acc[i]);
          rowsbwd::fillv(acc[i], 0.f);
        }
      }
    }
  }
}

/// Block i: ids [i * embBwdIdsPerBlock, ...): zero rows for unused ids, the
/// pieces' partial sums (in piece order) for ids spanning several pieces.
template <int D, int Threads>
__device__ __forceinline__ void emb_bwd_finish_kernel(const EmbeddingBwdArgs &a) {
  constexpr int S = embBwdChunk, R = embBwdIdsPerBlock, VEC = rowsbwd::vecOf(D), NV = D / VEC;
  constexpr int PT = (NV + Threads - 1) / Threads;
  static_assert(Threads % 32 == 0 && Threads > R && Threads <= 1024, "emb_bwd_finish: threads");
  __shared__ int sOff[R + 1];
  const int v0 = blockIdx.x * R, nIds = min(R, a.V - v0);
  if (nIds <= 0)
    return;
  if ((int)threadIdx.x <= nIds)
    sOff[threadIdx.x] = a.offsets[v0 + threadIdx.x];
  __syncthreads();
  for (int r = 0; r < nIds; ++r) {
    const int b = sOff[r], e = sOff[r + 1];
    float *row = a.dtable + (int64_t)(v0 + r) * D;
    if (b == e) {
#pragma unroll
      for (int i = 0; i < PT; ++i) {
        const int jv = threadIdx.x + i * Threads;
        float z[VEC];
        rowsbwd::fillv(z, 0.f);
        if (jv < NV)
          rowsbwd::stv(row + jv * VEC, z);
      }
      continue;
    }
    const int jf = b / S, jl = (e - 1) / S;
    if (jf == jl)
      continue;  // written by emb_bwd_chunk_kernel
#pragma unroll
    for (int i = 0; i < PT; ++i) {
      const int jv = threadIdx.x + i * Threads;
      if (jv >= NV)
        continue;
      float acc[VEC];
      rowsbwd::ldv(a.partial + (int64_t)(2 * jf + 1) * D + jv * VEC, acc);
      int jj = jf + 1;
      for (; jj + 4 <= jl + 1; jj += 4) {
        float p0[VEC], p1[VEC], p2[VEC], p3[VEC];
        rowsbwd::ldv(a.partial + (int64_t)(2 * jj) * D + jv * VEC, p0);
        rowsbwd::ldv(a.partial + (int64_t)(2 * jj + 2) * D + jv * VEC, p1);
        rowsbwd::ldv(a.partial + (int64_t)(2 * jj + 4) * D + jv * VEC, p2);
        rowsbwd::ldv(a.partial + (int64_t)(2 * jj + 6) * D + jv * VEC, p3);
#pragma unroll
        for (int c = 0; c < VEC; ++c)
          acc[c] = (((acc[c] + p0[c]) + p1[c]) + p2[c]) + p3[c];
      }
      for (; jj <= jl; ++jj) {
        float p0[VEC];
        rowsbwd::ldv(a.partial + (int64_t)(2 * jj) * D + jv * VEC, p0);
#pragma unroll
        for (int c = 0; c < VEC; ++c)
          acc[c] += p0[c];
      }
      rowsbwd::stv(row + jv * VEC, acc);
    }
  }
}

//===----------------------------------------------------------------------===//
// 4. LM head cross entropy, per chunk of rows
//===----------------------------------------------------------------------===//

/// Zeros a bf16 row of V values (ignored label).
template <int Threads, int VEC>
__device__ __forceinline__ void ceZeroRow(bf16_t *drow, int V) {
  float z[VEC];
  rowsbwd::fillv(z, 0.f);
  for (int j = threadIdx.x; j < V / VEC; j += Threads)
    rowsbwd::stv(drow + j * VEC, z);
}

/// See CeRowsArgs: one block per row, the row in registers.
template <int V, int Threads, int VEC>
__device__ __forceinline__ void ce_rows_kernel(const CeRowsArgs &a) {
  static_assert(V % VEC == 0, "ce_rows: VEC must divide V");
  constexpr int NV = V / VEC, PT = (NV + Threads - 1) / Threads;
  static_assert(PT * VEC <= 64, "ce_rows: row too long for registers; use ce_rows_any_kernel");
  __shared__ float red[33];
  const int64_t row = blockIdx.x;
  if (row >= a.rows)
    return;
  const int y = a.labels[row];
  bf16_t *drow = a.dlogits + row * a.ldd;
  if (y < 0) {
    ceZeroRow<Threads, VEC>(drow, V);
    if (threadIdx.x == 0)
      a.rowLoss[row] = 0.f;
    return;
  }
  const float *lrow = a.logits + row * a.ldl;
  const float xy = threadIdx.x == 0 ? lrow[y] : 0.f;
  float xv[PT][VEC];
#pragma unroll
  for (int i = 0; i < PT; ++i) {
    const int j = threadIdx.x + i * Threads;
    if (j < NV)
      rowsbwd::ldv(lrow + j * VEC, xv[i]);
    else
      rowsbwd::fillv(xv[i], -INFINITY);
  }
  float m = -INFINITY;
#pragma unroll
  for (int i = 0; i < PT; ++i)
#pragma unroll
    for (int k = 0; k < VEC; ++k)
      m = fmaxf(m, xv[i][k]);
  m = blockMax(m, red);
  float s = 0.f;
#pragma unroll
  for (int i = 0; i < PT; ++i)
#pragma unroll
    for (int k = 0; k < VEC; ++k) {
      xv[i][k] = __expf(xv[i][k] - m);
      s += xv[i][k];
    }
  s = blockSum(s, red);
  const float kk = a.gradScale ? *a.gradScale : a.gradScaleValue;
  const float q = kk / s;
#pragma unroll
  for (int i = 0; i < PT; ++i) {
    const int j = threadIdx.x + i * Threads;
    if (j < NV) {
      float o[VEC];
#pragma unroll
      for (int k = 0; k < VEC; ++k)
        o[k] = xv[i][k] * q - (j * VEC + k == y ? kk : 0.f);
      rowsbwd::stv(drow + j * VEC, o);
    }
  }
  if (threadIdx.x == 0)
    a.rowLoss[row] = m + logf(s) - xy;
}

/// See CeRowsArgs: any V; pass 1 an online max / sum of exp, pass 2 re-reads.
template <int Threads, int VEC>
__device__ __forceinline__ void ce_rows_any_kernel(const CeRowsArgs &a) {
  __shared__ float sm[32], ss[32];
  const int64_t row = blockIdx.x;
  if (row >= a.rows)
    return;
  const int y = a.labels[row], NV = a.V / VEC;
  bf16_t *drow = a.dlogits + row * a.ldd;
  if (y < 0) {
    ceZeroRow<Threads, VEC>(drow, a.V);
    if (threadIdx.x == 0)
      a.rowLoss[row] = 0.f;
    return;
  }
  const float *lrow = a.logits + row * a.ldl;
  float m = -INFINITY, s = 0.f;
  for (int j = threadIdx.x; j < NV; j += Threads) {
    float x[VEC];
    rowsbwd::ldv(lrow + j * VEC, x);
    float mv = x[0];
#pragma unroll
    for (int k = 1; k < VEC; ++k)
      mv = fmaxf(mv, x[k]);
    if (mv > m) {
      s = m == -INFINITY ? 0.f : s * __expf(m - mv);
      m = mv;
    }
#pragma unroll
    for (int k = 0; k < VEC; ++k)
      s += __expf(x[k] - m);
  }
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const float m2 = __shfl_xor_sync(0xffffffffu, m, o), s2 = __shfl_xor_sync(0xffffffffu, s, o);
    rowsbwd::lseMerge(m, s, m2, s2);
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0)
    sm[warp] = m, ss[warp] = s;
  __syncthreads();
  m = lane < Threads / 32 ? sm[lane] : -INFINITY;
  s = lane < Threads / 32 ? ss[lane] : 0.f;
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const float m2 = __shfl_xor_sync(0xffffffffu, m, o), s2 = __shfl_xor_sync(0xffffffffu, s, o);
    rowsbwd::lseMerge(m, s, m2, s2);
  }
  const float lse = m + logf(s);
  const float kk = a.gradScale ? *a.gradScale : a.gradScaleValue;
  for (int j = threadIdx.x; j < NV; j += Threads) {
    float x[VEC];
    rowsbwd::ldv(lrow + j * VEC, x);
#pragma unroll
    for (int k = 0; k < VEC; ++k)
      x[k] = __expf(x[k] - lse) * kk - (j * VEC + k == y ? kk : 0.f);
    rowsbwd::stv(drow + j * VEC, x);
  }
  if (threadIdx.x == 0)
    a.rowLoss[row] = lse - lrow[y];
}

/// One block: *count and *gradScale (see CeLossArgs).
template <int Threads>
__device__ __forceinline__ void ce_grad_scale_kernel(const CeLossArgs &a) {
  __shared__ int red[32];
  int c = 0;
  for (int t = threadIdx.x; t < a.T; t += Threads)
    c += a.labels[t] >= 0;
  c = blockSumFixed(c, red);
  if (threadIdx.x == 0) {
    const float dl = a.dloss ? *a.dloss : 1.f;
    if (a.count)
      *a.count = c;
    *a.gradScale = c ? (float)((double)dl * a.lossScale / c) : 0.f;
  }
}

/// One block: *loss = fixed-order double sum of rowLoss / count; *count.
template <int Threads>
__device__ __forceinline__ void ce_loss_mean_kernel(const CeLossArgs &a) {
  __shared__ double redD[32];
  __shared__ int redI[32];
  double s = 0.0;
  int c = 0;
  for (int t = threadIdx.x; t < a.T; t += Threads) {
    const bool counted = a.labels[t] >= 0;
    c += counted;
    s += counted ? (double)a.rowLoss[t] : 0.0;
  }
  s = blockSumFixed(s, redD);
  c = blockSumFixed(c, redI);
  if (threadIdx.x == 0) {
    *a.loss = c ? (float)(s / c) : 0.f;
    if (a.count)
      *a.count = c;
  }
}

//===----------------------------------------------------------------------===//
// 5. branch_combine backward
//===----------------------------------------------------------------------===//

namespace rowsbwd {
/// The norm backward of one branch row of W values (see
/// BranchCombineBwdArgs): x at xrow (XT), upstream gradient f * drow[c].
/// Thread owns columns c = threadIdx.x + i * Threads. xs / gsm: W floats of
/// shared memory (groups > 1 only), st4: 4 * groups floats; red / red2: the
/// block reductions' 33 floats / 32 float2 (one group).
template <int W, int G, int Threads, typename XT>
__device__ __forceinline__ void normBwdRow(const XT *xrow, const float *w, const float *drow,
                                           float f, float eps, float *dxrow,
                                           float (&dwAcc)[(W + Threads - 1) / Threads], float *xs,
                                           float *gsm, float *st4, float *red, float2 *red2) {
  constexpr int PT = (W + Threads - 1) / Threads, Gn = G == 0 ? 1 : G, GS = W / Gn;
  constexpr bool Group = G != 0;
  static_assert(W % Gn == 0, "branch_combine_bwd: groups must divide the width");
  float xv[PT], up[PT], gv[PT];
#pragma unroll
  for (int i = 0; i < PT; ++i) {
    const int c = threadIdx.x + i * Threads;
    xv[i] = 0.f, up[i] = 0.f, gv[i] = 0.f;
    if (c < W) {
      xv[i] = ld(xrow, c);
      up[i] = f * drow[c];
      gv[i] = up[i] * w[c];
    }
  }
  float mean[PT], r[PT], gm[PT], gxm[PT];
  if constexpr (Gn == 1) {
    float mu = 0.f;
    if (Group) {
      float s = 0.f;
#pragma unroll
      for (int i = 0; i < PT; ++i)
        s += xv[i];
      mu = blockSum(s, red) / W;
    }
    float s2 = 0.f;
#pragma unroll
    for (int i = 0; i < PT; ++i) {
      const int c = threadIdx.x + i * Threads;
      const float d = c < W ? xv[i] - mu : 0.f;
      s2 += d * d;
    }
    const float rr = rsqrtf(blockSum(s2, red) / W + eps);
    float sg = 0.f, sgx = 0.f;
#pragma unroll
    for (int i = 0; i < PT; ++i) {
      const int c = threadIdx.x + i * Threads;
      const float xh = c < W ? (xv[i] - mu) * rr : 0.f;
      sg += gv[i], sgx += gv[i] * xh;
    }
    const float2 t = blockSum2(sg, sgx, red2);
#pragma unroll
    for (int i = 0; i < PT; ++i)
      mean[i] = mu, r[i] = rr, gm[i] = Group ? t.x / W : 0.f, gxm[i] = t.y / W;
  } else {
    // Groups: one warp per group (fixed lane-strided order) from shared memory.
    constexpr int NW = Threads / 32;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();  // the previous row's readers of xs / gsm / st4 are done
#pragma unroll
    for (int i = 0; i < PT; ++i) {
      const int c = threadIdx.x + i * Threads;
      if (c < W)
        xs[c] = xv[i], gsm[c] = gv[i];
    }
    __syncthreads();
    for (int g = warp; g < Gn; g += NW) {
      const float *xg = xs + g * GS, *gg = gsm + g * GS;
      float s = 0.f;
      for (int c = lane; c < GS; c += 32)
        s += xg[c];
      const float mu = warpSum(s) / GS;
      float s2 = 0.f;
      for (int c = lane; c < GS; c += 32) {
        const float d = xg[c] - mu;
        s2 += d * d;
      }
      const float rr = rsqrtf(warpSum(s2) / GS + eps);
      float sg = 0.f, sgx = 0.f;
      for (int c = lane; c < GS; c += 32)
        sg += gg[c], sgx += gg[c] * ((xg[c] - mu) * rr);
      sg = warpSum(sg), sgx = warpSum(sgx);
      if (lane == 0)
        st4[4 * g] = mu, st4[4 * g + 1] = rr, st4[4 * g + 2] = sg / GS, st4[4 * g + 3] = sgx / GS;
    }
    __syncthreads();
#pragma unroll
    for (int i = 0; i < PT; ++i) {
      const int c = threadIdx.x + i * Threads, g = c < W ? c / GS : 0;
      mean[i] = st4[4 * g], r[i] = st4[4 * g + 1], gm[i] = st4[4 * g + 2];
      gxm[i] = st4[4 * g + 3];
    }
  }
#pragma unroll
  for (int i = 0; i < PT; ++i) {
    const int c = threadIdx.x + i * Threads;
    if (c < W) {
      const float xh = (xv[i] - mean[i]) * r[i];
      dwAcc[i] += up[i] * xh;
      if (dxrow)
        dxrow[c] = r[i] * (gv[i] - gm[i] - xh * gxm[i]);
    }
  }
}
} // namespace rowsbwd

/// See BranchCombineBwdArgs.
template <int DA, int DB, int GA, int GB, int Mode, int Threads, typename XT = bf16_t>
__device__ __forceinline__ void branch_combine_bwd_kernel(const BranchCombineBwdArgs &a) {
  static_assert(Mode == 3 || DA == DB, "branch_combine_bwd: add/mean/diff need equal widths");
  static_assert(Threads % 32 == 0 && Threads <= 1024, "branch_combine_bwd: whole warps");
  constexpr int PA = (DA + Threads - 1) / Threads, PB = (DB + Threads - 1) / Threads;
  constexpr int DO = Mode == 3 ? DA + DB : DA;
  __shared__ float xsA[GA > 1 ? DA : 1], gsA[GA > 1 ? DA : 1];
  __shared__ float xsB[GB > 1 ? DB : 1], gsB[GB > 1 ? DB : 1];
  __shared__ float stA[4 * (GA > 1 ? GA : 1)], stB[4 * (GB > 1 ? GB : 1)];
  __shared__ float red[33];
  __shared__ float2 red2[32];
  const float fA = a.scaleA * (Mode == 1 ? 0.5f : 1.f);
  const float fB = a.scaleB * (Mode == 1 ? 0.5f : Mode == 2 ? -1.f : 1.f);
  const XT *ap = static_cast<const XT *>(a.a);
  const XT *bp = static_cast<const XT *>(a.b);
  float accA[PA], accB[PB];
#pragma unroll
  for (int i = 0; i < PA; ++i)
    accA[i] = 0.f;
#pragma unroll
  for (int i = 0; i < PB; ++i)
    accB[i] = 0.f;
  for (int64_t t = blockIdx.x; t < a.T; t += gridDim.x) {
    const float *drow = a.dout + t * DO;
    rowsbwd::normBwdRow<DA, GA, Threads>(ap + t * a.lda, a.wa, drow, fA, a.eps,
                                    a.da ? a.da + t * DA : nullptr, accA, xsA, gsA, stA, red, red2);
    rowsbwd::normBwdRow<DB, GB, Threads>(bp + t * a.ldb, a.wb, drow + (Mode == 3 ? DA : 0), fB, a.eps,
                                    a.db ? a.db + t * DB : nullptr, accB, xsB, gsB, stB, red, red2);
  }
  if (a.partialA)
#pragma unroll
    for (int i = 0; i < PA; ++i) {
      const int c = threadIdx.x + i * Threads;
      if (c < DA)
        a.partialA[(int64_t)blockIdx.x * DA + c] = accA[i];
    }
  if (a.partialB)
#pragma unroll
    for (int i = 0; i < PB; ++i) {
      const int c = threadIdx.x + i * Threads;
      if (c < DB)
        a.partialB[(int64_t)blockIdx.x * DB + c] = accB[i];
    }
}

//===----------------------------------------------------------------------===//
// 6. Utilities
//===----------------------------------------------------------------------===//

/// See RowsColSumArgs: warp w of a block sums rows w, w + Threads / 32, ...
/// of 32 columns; warp 0 adds the warps' sums in order.
template <int Threads>
__device__ __forceinline__ void rows_colsum_kernel(const RowsColSumArgs &a) {
  static_assert(Threads % 32 == 0 && Threads <= 1024, "rows_colsum: whole warps");
  constexpr int NW = Threads / 32;
  __shared__ float red[NW][33];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int col = blockIdx.x * 32 + lane;
  float s = 0.f;
  if (col < a.N) {
    const float *p = a.partial + col;
    int r = warp;
    for (; r + 7 * NW < a.P; r += 8 * NW) {  // 8 loads in flight
      float v[8];
#pragma unroll
      for (int q = 0; q < 8; ++q)
        v[q] = p[(int64_t)(r + q * NW) * a.ldp];
#pragma unroll
      for (int q = 0; q < 8; ++q)
        s += v[q];
    }
    for (; r < a.P; r += NW)
      s += p[(int64_t)r * a.ldp];
  }
  red[warp][lane] = s;
  __syncthreads();
  if (warp == 0 && col < a.N) {
    float t = 0.f;
#pragma unroll
    for (int w = 0; w < NW; ++w)
      t += red[w][lane];
    a.out[col] = a.accumulate ? a.out[col] + t : t;
  }
}

/// See RowsCastArgs.
template <int VEC, typename OutT>
__device__ __forceinline__ void rows_cast_kernel(const RowsCastArgs &a) {
  OutT *dst = static_cast<OutT *>(a.dst);
  const uint32_t nv = (uint32_t)(a.width / VEC), n = (uint32_t)a.T * nv;
  for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    const uint32_t t = i / nv, c = (i - t * nv) * VEC;
    float v[VEC];
    rowsbwd::ldv(a.src + (int64_t)t * a.lds + c, v);
    rowsbwd::stv(dst + (int64_t)t * a.ldd + c, v);
  }
}

/// See RowsF32Args: out = a + b.
template <int VEC>
__device__ __forceinline__ void f32_add_kernel(const RowsF32Args &a) {
  const int64_t n = a.n / VEC;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    float x[VEC], y[VEC];
    rowsbwd::ldv(a.a + i * VEC, x);
    rowsbwd::ldv(a.b + i * VEC, y);
#pragma unroll
    for (int k = 0; k < VEC; ++k)
      x[k] += y[k];
    if (a.out)
      rowsbwd::stv(a.out + i * VEC, x);
    if (a.outBf)
      rowsbwd::stv(a.outBf + i * VEC, x);
  }
}

/// See RowsF32Args: out = f * a.
template <int VEC>
__device__ __forceinline__ void f32_scale_kernel(const RowsF32Args &a) {
  const int64_t n = a.n / VEC;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    float x[VEC];
    rowsbwd::ldv(a.a + i * VEC, x);
#pragma unroll
    for (int k = 0; k < VEC; ++k)
      x[k] *= a.f;
    if (a.out)
      rowsbwd::stv(a.out + i * VEC, x);
    if (a.outBf)
      rowsbwd::stv(a.outBf + i * VEC, x);
  }
}

} // namespace hyb
