//===- ssd_chunk_bwd.cuh - Mamba-2 scan gradients by chunks (v1) ----------===//
//
// The backward of the SSD scan (ssd_chunk.cuh) for training: the formulas of
// tests/gpu/kernels/SsdChunkedReference.h (equal to the CPU recurrence's
// gradients), on tensor cores (mma.sync m16n8k8 tf32, fp32 accumulate). Three
// launches, in this order on one stream (docs/perf/ssd-chunk-bwd.md):
//
// 0. ssd_chunk_bwd_state_kernel<N, P, PS>: the state gradients. One block per
//    (head, slice of PS channels, batch row) walks the chunks in reverse with
//    dh (fp32, in registers): it stores dh' (the gradient of the state
//    LEAVING chunk c; zero for the last chunk) into ScanGradArgs::dStates,
//    then dh <- e^cum_last dh + (diag(e^cum) dY)^T C.
//    Grid (H * P / PS, B), ssdChunkThreads threads, ssdChunkBwdSmemBytes(0, N, PS)
//    (40 KB at N 128, PS 32: 4 blocks per SM with __launch_bounds__(256, 4)).
// 1. ssd_chunk_bwd_chunk_kernel<N, P, HDS = 2>: the rest, chunk-parallel. One
//    block per (chunk, batch row, group) loops over the heads of the group
//    (the next head's x, dy, h, dh' copied while this one computes); dB and dC,
//    shared by the heads of a group, are summed over the heads in registers
//    and stored once (no atomics, no zeroing). dx, ddt are stored per head;
//    the partials of dA and dD per (head, batch row, chunk) go to
//    ScanGradArgs::paramPart.
//    Grid (nChunks, B, G), ssdChunkThreads threads, ssdChunkBwdSmemBytes(1, N, P, HDS)
//    (202 KB at N 128, P 64: one block per SM; the HDS = 1 instance, 138 KB,
//    fits sm_80's 163 KB).
// 2. ssd_chunk_bwd_param_kernel<N, P>: daLog, dD = fixed-order sums of the
//    partials. Grid (H), ssdChunkThreads threads, no dynamic shared memory.
//
// Every output is written, never accumulated: nothing needs zeroing and the
// result is bitwise deterministic (no float atomics anywhere).
//
// Shared-memory tiles are row-major with a row length LD that is a multiple
// of 32 floats, the column index XOR-swizzled by the row (sw below): every
// mma fragment load, row-contiguous (A of a row-major matrix, "k along the
// row") or column-contiguous (B of a row-major matrix, "n along the row"),
// is then free of bank conflicts, so one copy of a matrix serves both kinds.
//
//===----------------------------------------------------------------------===//
#pragma once
#include "common.cuh"
#include "ssd_chunk.cuh"

namespace hyb {

namespace ssdb {
using ssd::lds;
using ssd::mma;
using ssd::tf32;
constexpr unsigned kFull = 0xffffffffu;

/// Swizzle of row r: (r, c) lives at r * LD + (c ^ sw(r)); sw(r) is one of the
/// 8 multiples of 4 below 32, distinct over 8 consecutive rows.
__device__ __forceinline__ int sw(int r) { return ((r & 3) << 3) | (r & 4); }
template <int LD> __device__ __forceinline__ int at(int r, int c) { return r * LD + (c ^ sw(r)); }

/// The lane's coordinates in an mma fragment: g = lane / 4, t = lane % 4.
struct Lane {
  int g, t, fg, t8;  // fg = sw(g), t8 = 8 t
};

// Fragment loads from a swizzled row-major matrix M at shared address `base`.
// Row and column offsets r0, m0, n0, k0 are multiples of 8.
/// A[m][k] = M[r0 + m][k0 + k].
template <int LD>
__device__ __forceinline__ void ldA(uint32_t *a, uint32_t base, int r0, int k0, const Lane &l) {
  const uint32_t p = base + 4u * ((r0 + l.g) * LD);
  const uint32_t c0 = 4u * ((k0 ^ l.fg) | l.t), c4 = 4u * ((k0 ^ l.fg ^ 4) | l.t);
  a[0] = lds(p + c0), a[1] = lds(p + 32u * LD + c0);
  a[2] = lds(p + c4), a[3] = lds(p + 32u * LD + c4);
}
/// A[m][k] = M[k0 + k][m0 + m].
template <int LD>
__device__ __forceinline__ void ldAT(uint32_t *a, uint32_t base, int m0, int k0, const Lane &l) {
  const uint32_t r1 = base + 4u * ((k0 + l.t) * LD), r2 = r1 + 16u * LD;
  const int x0 = m0 ^ l.t8, x1 = (m0 + 8) ^ l.t8;
  a[0] = lds(r1 + 4u * (x0 | l.g)), a[1] = lds(r1 + 4u * (x1 | l.g));
  a[2] = lds(r2 + 4u * (x0 | (l.g ^ 4))), a[3] = lds(r2 + 4u * (x1 | (l.g ^ 4)));
}
/// B[k][n] = M[k0 + k][n0 + n].
template <int LD>
__device__ __forceinline__ void ldB(uint32_t *b, uint32_t base, int k0, int n0, const Lane &l) {
  const uint32_t r1 = base + 4u * ((k0 + l.t) * LD);
  const int x = n0 ^ l.t8;
  b[0] = lds(r1 + 4u * (x | l.g)), b[1] = lds(r1 + 16u * LD + 4u * (x | (l.g ^ 4)));
}
/// B[k][n] = M[n0 + n][k0 + k].
template <int LD>
__device__ __forceinline__ void ldBT(uint32_t *b, uint32_t base, int n0, int k0, const Lane &l) {
  const uint32_t p = base + 4u * ((n0 + l.g) * LD);
  b[0] = lds(p + 4u * ((k0 ^ l.fg) | l.t)), b[1] = lds(p + 4u * ((k0 ^ l.fg ^ 4) | l.t));
}

/// Starts copying rows [0, Q) of a [*, ld] fp32 matrix (from row `row0`,
/// columns col .. col + W) into a swizzled [Q][W] tile; rows past `rows` are
/// zero. Returns nothing to wait on: cpAsyncWaitAll completes them.
template <int Q, int W>
__device__ __forceinline__ void copyRows(float *dst, const float *src, int64_t row0, int rows,
                                         int64_t ld, int64_t col) {
#pragma unroll 1
  for (int i = threadIdx.x; i < Q * W / 4; i += ssdChunkThreads) {
    const int r = i / (W / 4), c = (i % (W / 4)) * 4;
    const bool valid = r < rows;
    ssd::cpAsync16(dst + at<W>(r, c), src + (row0 + (valid ? r : 0)) * ld + col + c, valid);
  }
}
__device__ __forceinline__ void cpAsyncCommit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
/// Waits for this thread's copies but the newest `Pending` commit groups.
template <int Pending> __device__ __forceinline__ void cpAsyncWait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(Pending) : "memory");
}
/// Rounds to tf32 the slots this thread copied with copyRows (its own copies
/// are complete after cpAsyncWaitAll: no barrier needed).
template <int Q, int W> __device__ __forceinline__ void roundRows(float *dst) {
#pragma unroll 4
  for (int i = threadIdx.x; i < Q * W / 4; i += ssdChunkThreads) {
    float4 *v = reinterpret_cast<float4 *>(dst + at<W>(i / (W / 4), (i % (W / 4)) * 4));
    *v = tf32(*v);
  }
}
/// Rounds this thread's slots of two tiles copied by the same loops and adds
/// the dot product of their fp32 values (before rounding) to `dot`.
template <int Q, int W>
__device__ __forceinline__ void roundPair(float *u, float *v, float &dot) {
#pragma unroll 4
  for (int i = threadIdx.x; i < Q * W / 4; i += ssdChunkThreads) {
    const int o = at<W>(i / (W / 4), (i % (W / 4)) * 4);
    float4 *pu = reinterpret_cast<float4 *>(u + o), *pv = reinterpret_cast<float4 *>(v + o);
    const float4 x = *pu, y = *pv;
    dot += x.x * y.x + x.y * y.y + x.z * y.z + x.w * y.w;
    *pu = tf32(x), *pv = tf32(y);
  }
}
__device__ __forceinline__ float2 lds2(const float *p) { return *reinterpret_cast<const float2 *>(p); }
__device__ __forceinline__ void st2(float *p, float x, float y) {
  *reinterpret_cast<float2 *>(p) = make_float2(x, y);
}
/// The host's ssdChunkBwdSmemBytes, evaluated at class scope (host context).
template <int Pass, int N, int P, int HDS = 2> struct SmemCheck {
  static constexpr int bytes = ssdChunkBwdSmemBytes(Pass, N, P, HDS);
};
} // namespace ssdb

/// Pass 0 (state): the gradient of the state leaving every chunk -> a.dStates
/// [B, H, nChunks, P, N] (fp32). Grid (H * P / PS, B), ssdChunkThreads
/// threads, ssdChunkBwdSmemBytes(0, N, PS) bytes of dynamic shared memory.
template <int N, int P, int PS>
__device__ __forceinline__ void ssd_chunk_bwd_state_kernel(const ScanGradArgs &a) {
  using namespace ssdb;
  constexpr int Q = ssdChunkLen, T = ssdChunkThreads, NW = T / 32;
  static_assert(Q == 32 && NW == 8, "ssd_chunk_bwd: 8 warps over chunks of 32 tokens");
  static_assert(N % 32 == 0 && PS % 32 == 0 && P % PS == 0, "ssd_chunk_bwd: N, PS multiples of 32");
  static_assert(SmemCheck<0, N, PS>::bytes == 4 * 2 * Q * (PS + N),
                "ssd_chunk_bwd: shared-memory layout and ssdChunkBwdSmemBytes disagree");
  // dh tiles (16 x 8): HT in all, HPW per warp, consecutive in one row block.
  constexpr int HT = (PS / 16) * (N / 8), HPW = HT / NW;
  static_assert(HT % NW == 0 && (N / 8) % HPW == 0, "ssd_chunk_bwd: state tiles per warp");
  extern __shared__ __align__(128) float smem[];
  float *Ys = smem, *Cs = Ys + 2 * Q * PS;  // [2][Q][PS] dY slice, [2][Q][N] C (swizzled)

  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const Lane l{lane >> 2, lane & 3, sw(lane >> 2), (lane & 3) << 3};
  const int slices = P / PS;
  const int h = blockIdx.x / slices, p0 = (blockIdx.x % slices) * PS, b = blockIdx.y;
  const int grp = h / (a.H / a.G), nc = (a.L + Q - 1) / Q;
  const int64_t HP = (int64_t)a.H * P;
  const float A = -expf(a.aLog[h]);
  const int hTile0 = warp * HPW;
  const int hp0 = (hTile0 / (N / 8)) * 16, hn0 = (hTile0 % (N / 8)) * 8;

  auto issue = [&](int c) {  // chunk c's dY slice and C rows
    const int c0 = c * Q, rows = min(Q, a.L - c0);
    const int64_t t0 = (int64_t)b * a.L + c0;
    copyRows<Q, PS>(Ys + (c & 1) * Q * PS, a.dy, t0, rows, HP, (int64_t)h * P + p0);
    copyRows<Q, N>(Cs + (c & 1) * Q * N, a.cm, t0, rows, a.ldbc, (int64_t)grp * N);
  };
  auto loadDt = [&](int c) {  // lane's dt (0 past the end)
    const int c0 = c * Q;
    return c0 + lane < a.L ? a.dt[((int64_t)b * a.L + c0 + lane) * a.lddt + h] : 0.f;
  };

  float acc[HPW][4];
#pragma unroll
  for (int k = 0; k < HPW; ++k)
    acc[k][0] = acc[k][1] = acc[k][2] = acc[k][3] = 0.f;
  // Chunk 0's update (the gradient of the initial state) is not needed: its
  // rows are never copied.
  float dtNext = 0.f;
  if (nc > 1)
    issue(nc - 1), dtNext = loadDt(nc - 1);
#pragma unroll 1
  for (int c = nc - 1; c >= 0; --c) {
    // dh' of chunk c (the gradient of the state leaving it), fp32.
    float *ds = a.dStates + ((((int64_t)b * a.H + h) * nc + c) * P + p0) * N;
#pragma unroll
    for (int k = 0; k < HPW; ++k)
#pragma unroll
      for (int half = 0; half < 2; ++half)
        st2(ds + (hp0 + l.g + half * 8) * N + hn0 + k * 8 + 2 * l.t, acc[k][2 * half],
             acc[k][2 * half + 1]);
    if (c == 0)
      break;
    const float cum = warpPrefixSum(dtNext * A, lane);
    ssd::cpAsyncWaitAll();
    roundRows<Q, N>(Cs + (c & 1) * Q * N);
    __syncthreads();  // chunk c's rows are in; chunk c + 1's buffers are free
    if (c > 1)
      issue(c - 1), dtNext = loadDt(c - 1);
    // dh <- e^last dh + (diag(e^cum) dY)^T C: A = dY^T scaled by token
    // (rounded here), B = C.
    const float decay = __expf(__shfl_sync(kFull, cum, 31));
#pragma unroll
    for (int k = 0; k < HPW; ++k)
#pragma unroll
      for (int e = 0; e < 4; ++e)
        acc[k][e] *= decay;
    const uint32_t sY = (uint32_t)__cvta_generic_to_shared(Ys + (c & 1) * Q * PS);
    const uint32_t sC = (uint32_t)__cvta_generic_to_shared(Cs + (c & 1) * Q * N);
#pragma unroll
    for (int k0 = 0; k0 < Q; k0 += 8) {
      const float e0 = __expf(__shfl_sync(kFull, cum, k0 + l.t));
      const float e1 = __expf(__shfl_sync(kFull, cum, k0 + l.t + 4));
      uint32_t fa[4], fb[2];
      ldAT<PS>(fa, sY, hp0, k0, l);
      fa[0] = __float_as_uint(tf32(__uint_as_float(fa[0]) * e0));
      fa[1] = __float_as_uint(tf32(__uint_as_float(fa[1]) * e0));
      fa[2] = __float_as_uint(tf32(__uint_as_float(fa[2]) * e1));
      fa[3] = __float_as_uint(tf32(__uint_as_float(fa[3]) * e1));
#pragma unroll
      for (int k = 0; k < HPW; ++k) {
        ldB<N>(fb, sC, k0, hn0 + k * 8, l);
        mma(acc[k], fa, fb);
      }
    }
  }
}

/// Pass 1 (chunk): dx, ddt, dB, dC and the dA, dD partials, one block per (chunk,
/// batch row, group). Grid (nChunks, B, G), ssdChunkThreads threads,
/// ssdChunkBwdSmemBytes(1, N, P, HDS) bytes of dynamic shared memory.
/// Per head, with S = C B^T, W = dY X^T, L_ij = e^(cum_i - cum_j) (j <= i),
/// E_j = e^(cum_last - cum_j), h the state entering and dh' the gradient of
/// the state leaving the chunk:
///   G = L o dt_j o S, M = L o dt_j o W (masked, 32 x 32)
///   dx = G^T dY + diag(E dt) (B dh'^T) + D dY
///   dC += M B + diag(e^cum) (dY h);  dB += M^T C + diag(E dt) (X dh')
///   ddt, dcum from the row / column sums of L o S o W and the row dots
///   C_i . (dY h)_i, B_j . (X dh')_j, <h, dh'>.
/// Warps 0-3 (the C side) own dC, warps 4-7 (the B side) dB: 32 rows x N/4
/// columns each, accumulated over the heads in registers. Copies: x, dy of
/// head k + 1 are issued after barrier (1) of head k, h, dh' of head k + 2
/// after barrier (2) of head k (this head's h, dh' are dead by then), so the
/// DRAM stream never waits on the rounding pass or a barrier. HDS = 1 (one
/// h, dh' buffer: 138 KB at N 128, P 64, for sm_80's 163 KB) issues h, dh'
/// of head k + 1 after barrier (2) of head k instead.
template <int N, int P, int HDS = 2>
__device__ __forceinline__ void ssd_chunk_bwd_chunk_kernel(const ScanGradArgs &a) {
  using namespace ssdb;
  constexpr int Q = ssdChunkLen, T = ssdChunkThreads, NW = T / 32;
  static_assert(Q == 32 && NW == 8, "ssd_chunk_bwd: 8 warps over chunks of 32 tokens");
  static_assert(N % 32 == 0 && P % 32 == 0, "ssd_chunk_bwd: N and P multiples of 32");
  constexpr int NT = N / 32, PT = P / 32;  // 8-column tiles per warp: Q x N, Q x P products
  constexpr int XY = 2 * Q * P, HD = 2 * P * N;  // x, dy / h, dh' of one head
  constexpr int RED = 14 * Q + 2 * NW;
  static_assert(HDS == 1 || HDS == 2, "ssd_chunk_bwd: one or two h, dh' buffers");
  static_assert(SmemCheck<1, N, P, HDS>::bytes ==
                    4 * (2 * Q * N + 2 * Q * Q + 2 * XY + HDS * HD + RED),
                "ssd_chunk_bwd: shared-memory layout and ssdChunkBwdSmemBytes disagree");
  static_assert(SmemCheck<1, N, P, HDS>::bytes <= 227 * 1024, "ssd_chunk_bwd: shared memory > 227 KB");
  extern __shared__ __align__(128) float smem[];
  float *Bs = smem, *Cs = Bs + Q * N, *Gs = Cs + Q * N, *Ms = Gs + Q * Q;  // swizzled
  float *xyBuf = Ms + Q * Q;           // [2][XY]: x [Q][P], dy [Q][P]
  float *hdBuf = xyBuf + 2 * XY;       // [HDS][HD]: h [P][N], dh' [P][N]
  float *pDyCh = hdBuf + HDS * HD;     // [4][Q] partial C_i . (dY h)_i by column quarter
  float *pK = pDyCh + 4 * Q;           // [4][Q] partial B_j . (X dh')_j
  float *pR = pK + 4 * Q;              // [4][Q] row sums of L S W dt_j by 8-column block
  float *pCc = pR + 4 * Q;             // [2][Q] column sums of L S W by 16-row block
  float *pHdh = pCc + 2 * Q;           // [NW] <h, dh'> by warp
  float *pDD = pHdh + NW;              // [NW] dY . x by warp

  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const Lane l{lane >> 2, lane & 3, sw(lane >> 2), (lane & 3) << 3};
  const int c = blockIdx.x, b = blockIdx.y, grp = blockIdx.z;
  const int nc = (a.L + Q - 1) / Q, hpg = a.H / a.G;
  const int c0 = c * Q, rows = min(Q, a.L - c0);
  const int64_t t0 = (int64_t)b * a.L + c0, HP = (int64_t)a.H * P;
  const uint32_t sB = (uint32_t)__cvta_generic_to_shared(Bs);
  const uint32_t sC = (uint32_t)__cvta_generic_to_shared(Cs);
  const uint32_t sG = (uint32_t)__cvta_generic_to_shared(Gs);
  const uint32_t sM = (uint32_t)__cvta_generic_to_shared(Ms);

  // This warp's tiles. Side (C: dY h -> dC; B: x dh' -> dB): all 32 rows,
  // columns nb.. (NT tiles). B dh'^T and dx: rows rb * 16.., columns pb..
  // (PT tiles). Q x Q products: tile (wr, wc), live on or below the diagonal.
  const int side = warp >> 2, nb = (warp & 3) * (N / 4);
  const int rb = warp & 1, pb = (warp >> 1) * (P / 4);
  const int wr = warp >> 2, wc = warp & 3;
  const bool wLive = wr == 1 || wc < 2;

  auto issueXY = [&](int k) {
    const int h = grp * hpg + k;
    float *xy = xyBuf + (k & 1) * XY;
    copyRows<Q, P>(xy, a.x, t0, rows, a.ldx, (int64_t)h * P);
    copyRows<Q, P>(xy + Q * P, a.dy, t0, rows, HP, (int64_t)h * P);
  };
  auto issueHD = [&](int k) {
    const int h = grp * hpg + k;
    float *hd = hdBuf + (k % HDS) * HD;
    const int64_t s0 = (((int64_t)b * a.H + h) * nc + c) * P * N;
    copyRows<P, N>(hd, a.chunkStates + s0, 0, P, N, 0);
    copyRows<P, N>(hd + P * N, a.dStates + s0, 0, P, N, 0);
  };
  auto loadDt = [&](int k) {
    return lane < rows ? a.dt[(t0 + lane) * a.lddt + grp * hpg + k] : 0.f;
  };

  float acc[2][NT][4], Sacc[4] = {0.f, 0.f, 0.f, 0.f};  // acc: dC (C side) or dB (B side)
#pragma unroll
  for (int r = 0; r < 2; ++r)
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e)
        acc[r][j][e] = 0.f;

  // Commit groups, oldest first: {B, C, x dy 0, h dh' 0}, {h dh' 1} (HDS 2),
  // then per head k: {x dy k+1} after (1), {h dh' k+HDS} after (2).
  copyRows<Q, N>(Bs, a.bm, t0, rows, a.ldbc, (int64_t)grp * N);
  copyRows<Q, N>(Cs, a.cm, t0, rows, a.ldbc, (int64_t)grp * N);
  issueXY(0), issueHD(0);
  cpAsyncCommit();
  if (HDS == 2 && hpg > 1)
    issueHD(1), cpAsyncCommit();
  float dtNext = loadDt(0);
#pragma unroll 1
  for (int k = 0; k < hpg; ++k) {
    const int h = grp * hpg + k;
    float *Xs = xyBuf + (k & 1) * XY, *Ys = Xs + Q * P;
    float *Hs = hdBuf + (k % HDS) * HD, *Ds = Hs + P * N;
    const uint32_t sX = (uint32_t)__cvta_generic_to_shared(Xs), sY = sX + 4u * Q * P;
    const uint32_t sH = (uint32_t)__cvta_generic_to_shared(Hs), sD = sH + 4u * P * N;
    const float A = -expf(a.aLog[h]);
    const float Dh = a.d ? a.d[h] : 0.f;
    const float dt = dtNext;

    // 1. This head's rows are in (all but the newest group, h dh' k + 1
    //    with HDS 2): round them to tf32 (the thread's own slots), with
    //    <h, dh'> and dY . x from the fp32 values on the way.
    if (HDS == 2 && k + 1 < hpg)
      cpAsyncWait<1>();
    else
      cpAsyncWait<0>();
    if (k == 0) {
      roundRows<Q, N>(Bs);
      roundRows<Q, N>(Cs);
    }
    float hdh = 0.f, dd = 0.f;
    roundPair<Q, P>(Xs, Ys, dd);
    roundPair<P, N>(Hs, Ds, hdh);
    __syncthreads();  // (1) the previous head is done with the other x, dy and the partials
    if (k + 1 < hpg)
      issueXY(k + 1), cpAsyncCommit(), dtNext = loadDt(k + 1);
    hdh = warpSum(hdh), dd = warpSum(dd);
    if (lane == 0)
      pHdh[warp] = hdh, pDD[warp] = dd;
    if (k == 0 && wLive) {  // S = C B^T, this warp's tile, for all the heads
#pragma unroll 4
      for (int k0 = 0; k0 < N; k0 += 8) {
        uint32_t fa[4], fb[2];
        ldA<N>(fa, sC, wr * 16, k0, l);
        ldBT<N>(fb, sB, wc * 8, k0, l);
        mma(Sacc, fa, fb);
      }
    }
    const float cum = warpPrefixSum(dt * A, lane);
    const float last = __shfl_sync(kFull, cum, 31);

    // 2. W = dY x^T (this warp's tile); the side's product (dY h or x dh',
    //    all rows, columns nb..); B dh'^T (rows rb, columns pb..).
    float Wacc[4] = {0.f, 0.f, 0.f, 0.f}, prod[2][NT][4], DB[PT][4];
#pragma unroll
    for (int r = 0; r < 2; ++r)
#pragma unroll
      for (int j = 0; j < NT; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e)
          prod[r][j][e] = 0.f;
#pragma unroll
    for (int j = 0; j < PT; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e)
        DB[j][e] = 0.f;
    if (wLive) {
#pragma unroll
      for (int k0 = 0; k0 < P; k0 += 8) {
        uint32_t fa[4], fb[2];
        ldA<P>(fa, sY, wr * 16, k0, l);
        ldBT<P>(fb, sX, wc * 8, k0, l);
        mma(Wacc, fa, fb);
      }
    }
    {
      const uint32_t sa = side ? sX : sY, sb = side ? sD : sH;
#pragma unroll 2
      for (int k0 = 0; k0 < P; k0 += 8) {
        uint32_t f0[4], f1[4], fb[2];
        ldA<P>(f0, sa, 0, k0, l);
        ldA<P>(f1, sa, 16, k0, l);
#pragma unroll
        for (int j = 0; j < NT; ++j) {
          ldB<N>(fb, sb, k0, nb + j * 8, l);
          mma(prod[0][j], f0, fb);
          mma(prod[1][j], f1, fb);
        }
      }
    }
#pragma unroll 4
    for (int k0 = 0; k0 < N; k0 += 8) {
      uint32_t fa[4], fb[2];
      ldA<N>(fa, sB, rb * 16, k0, l);
#pragma unroll
      for (int j = 0; j < PT; ++j) {
        ldBT<N>(fb, sD, pb + j * 8, k0, l);
        mma(DB[j], fa, fb);
      }
    }

    // 3. G, M (tf32) from this warp's S, W tile; its row sums of L S W dt_j
    //    and column sums of L S W.
    {
      const int i0 = wr * 16 + l.g, j0 = wc * 8 + 2 * l.t;
      const float ci0 = __shfl_sync(kFull, cum, i0), ci1 = __shfl_sync(kFull, cum, i0 + 8);
      const float cj0 = __shfl_sync(kFull, cum, j0), cj1 = __shfl_sync(kFull, cum, j0 + 1);
      const float dj0 = __shfl_sync(kFull, dt, j0), dj1 = __shfl_sync(kFull, dt, j0 + 1);
      float gv[4], mv[4], pv[4];
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int i = i0 + (e >> 1) * 8, j = j0 + (e & 1);
        const float ci = e >> 1 ? ci1 : ci0, cj = e & 1 ? cj1 : cj0, dj = e & 1 ? dj1 : dj0;
        const float L = wLive && j <= i ? __expf(ci - cj) : 0.f;
        gv[e] = L * dj * Sacc[e];
        mv[e] = L * dj * Wacc[e];
        pv[e] = L * Sacc[e] * Wacc[e];
      }
      st2(Gs + at<Q>(i0, j0), tf32(gv[0]), tf32(gv[1]));
      st2(Gs + at<Q>(i0 + 8, j0), tf32(gv[2]), tf32(gv[3]));
      st2(Ms + at<Q>(i0, j0), tf32(mv[0]), tf32(mv[1]));
      st2(Ms + at<Q>(i0 + 8, j0), tf32(mv[2]), tf32(mv[3]));
      float r0 = pv[0] * dj0 + pv[1] * dj1, r1 = pv[2] * dj0 + pv[3] * dj1;
      float s0 = pv[0] + pv[2], s1 = pv[1] + pv[3];
#pragma unroll
      for (int o = 1; o < 4; o <<= 1)
        r0 += __shfl_xor_sync(kFull, r0, o), r1 += __shfl_xor_sync(kFull, r1, o);
#pragma unroll
      for (int o = 4; o < 32; o <<= 1)
        s0 += __shfl_xor_sync(kFull, s0, o), s1 += __shfl_xor_sync(kFull, s1, o);
      if (l.t == 0)
        pR[wc * Q + i0] = r0, pR[wc * Q + i0 + 8] = r1;
      if (l.g == 0)
        pCc[wr * Q + j0] = s0, pCc[wr * Q + j0 + 1] = s1;
    }

    // 4. acc += diag(w) prod, w = e^cum (C side) or E dt (B side), and the
    //    row dots C_i . (dY h)_i or B_j . (x dh')_j over this warp's columns.
    {
      const float *V = side ? Bs : Cs;
      float *part = (side ? pK : pDyCh) + (warp & 3) * Q;
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        const int i0 = r * 16 + l.g;
        const float ci0 = __shfl_sync(kFull, cum, i0), ci1 = __shfl_sync(kFull, cum, i0 + 8);
        const float di0 = __shfl_sync(kFull, dt, i0), di1 = __shfl_sync(kFull, dt, i0 + 8);
        const float w0 = side ? __expf(last - ci0) * di0 : __expf(ci0);
        const float w1 = side ? __expf(last - ci1) * di1 : __expf(ci1);
        float p0 = 0.f, p1 = 0.f;
#pragma unroll
        for (int j = 0; j < NT; ++j) {
          const int n = nb + j * 8 + 2 * l.t;
          const float2 vA = lds2(V + at<N>(i0, n)), vB = lds2(V + at<N>(i0 + 8, n));
          p0 += vA.x * prod[r][j][0] + vA.y * prod[r][j][1];
          p1 += vB.x * prod[r][j][2] + vB.y * prod[r][j][3];
          acc[r][j][0] += w0 * prod[r][j][0], acc[r][j][1] += w0 * prod[r][j][1];
          acc[r][j][2] += w1 * prod[r][j][2], acc[r][j][3] += w1 * prod[r][j][3];
        }
#pragma unroll
        for (int o = 1; o < 4; o <<= 1)
          p0 += __shfl_xor_sync(kFull, p0, o), p1 += __shfl_xor_sync(kFull, p1, o);
        if (l.t == 0)
          part[i0] = p0, part[i0 + 8] = p1;
      }
    }
    __syncthreads();  // (2) G, M and the partials are complete; h, dh' are dead
    if (k + HDS < hpg)
      issueHD(k + HDS), cpAsyncCommit();

    // 5. C side: dC += M B; B side: dB += M^T C (M[i][j] = 0 for j > i:
    //    k-steps skipped). The B fragments of a k-step serve both row blocks.
    {
      const uint32_t sv = side ? sC : sB;
#pragma unroll
      for (int k0 = 0; k0 < Q; k0 += 8) {
        uint32_t fb[NT][2];
#pragma unroll
        for (int j = 0; j < NT; ++j)
          ldB<N>(fb[j], sv, k0, nb + j * 8, l);
#pragma unroll
        for (int r = 0; r < 2; ++r) {
          if (side ? k0 < r * 16 : k0 >= r * 16 + 16)
            continue;
          uint32_t fm[4];
          if (side)
            ldAT<Q>(fm, sM, r * 16, k0, l);
          else
            ldA<Q>(fm, sM, r * 16, k0, l);
#pragma unroll
          for (int j = 0; j < NT; ++j)
            mma(acc[r][j], fm, fb[j]);
        }
      }
    }
    // 6. dx = G^T dY + diag(E dt) (B dh'^T) + D dY (rows rb, columns pb..).
    const int i0 = rb * 16 + l.g;
    {
      const float ci0 = __shfl_sync(kFull, cum, i0), ci1 = __shfl_sync(kFull, cum, i0 + 8);
      const float di0 = __shfl_sync(kFull, dt, i0), di1 = __shfl_sync(kFull, dt, i0 + 8);
      const float wb0 = __expf(last - ci0) * di0, wb1 = __expf(last - ci1) * di1;  // E_i dt_i
      float dx[PT][4];
#pragma unroll
      for (int j = 0; j < PT; ++j) {
        const int p = pb + j * 8 + 2 * l.t;
        const float2 yA = lds2(Ys + at<P>(i0, p)), yB = lds2(Ys + at<P>(i0 + 8, p));
        dx[j][0] = wb0 * DB[j][0] + Dh * yA.x, dx[j][1] = wb0 * DB[j][1] + Dh * yA.y;
        dx[j][2] = wb1 * DB[j][2] + Dh * yB.x, dx[j][3] = wb1 * DB[j][3] + Dh * yB.y;
      }
#pragma unroll
      for (int k0 = 0; k0 < Q; k0 += 8) {
        if (k0 >= rb * 16) {
          uint32_t fg[4], fb[2];
          ldAT<Q>(fg, sG, rb * 16, k0, l);
#pragma unroll
          for (int j = 0; j < PT; ++j) {
            ldB<P>(fb, sY, k0, pb + j * 8, l);
            mma(dx[j], fg, fb);
          }
        }
      }
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int i = i0 + half * 8;
        if (i < rows)
#pragma unroll
          for (int j = 0; j < PT; ++j)
            st2(a.dx + (t0 + i) * HP + (int64_t)h * P + pb + j * 8 + 2 * l.t, dx[j][2 * half],
                dx[j][2 * half + 1]);
      }
    }
    // 7. ddt and the dA, dD partials: one lane per token of the last warp.
    if (warp == NW - 1) {
      const int i = lane;
      float dyCh = 0.f, K = 0.f, R = 0.f;
#pragma unroll
      for (int q4 = 0; q4 < 4; ++q4)
        dyCh += pDyCh[q4 * Q + i], K += pK[q4 * Q + i], R += pR[q4 * Q + i];
      const float Cc = pCc[i] + pCc[Q + i];
      float hd = 0.f, dD = 0.f;
#pragma unroll
      for (int w = 0; w < NW; ++w)
        hd += pHdh[w], dD += pDD[w];
      const float E = __expf(last - cum);
      const float direct = Cc + E * K;
      float dcum = __expf(cum) * dyCh + R - dt * Cc - E * dt * K;
      const float toLast = warpSum(E * dt * K);
      if (i == rows - 1)
        dcum += toLast + __expf(last) * hd;
      const float da = warpSuffixSum(dcum, lane);
      if (i < rows)
        a.ddt[(t0 + i) * a.lddt + h] = direct + A * da;
      const float dA = warpSum(i < rows ? dt * da : 0.f);
      if (lane == 0) {
        const int64_t nb2 = (int64_t)a.B * nc, o = (int64_t)h * nb2 + (int64_t)b * nc + c;
        a.paramPart[o] = dA;
        a.paramPart[a.H * nb2 + o] = dD;
      }
    }
  }
  // dC (C side), dB (B side) of the group: summed over its heads in order.
  float *out = side ? a.dbm : a.dcm;
#pragma unroll
  for (int r = 0; r < 2; ++r)
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int i = r * 16 + l.g + half * 8;
      if (i < rows)
#pragma unroll
        for (int j = 0; j < NT; ++j)
          st2(out + (t0 + i) * a.ldbc + (int64_t)grp * N + nb + j * 8 + 2 * l.t,
              acc[r][j][2 * half], acc[r][j][2 * half + 1]);
    }
}

/// Pass 2 (param): daLog[h] = A sum dA, dd[h] = sum dD over (batch row, chunk), in a
/// fixed order (warp 0 of the block; any block size). Grid (H),
/// ssdChunkThreads threads, no shared memory.
template <int N, int P>
__device__ __forceinline__ void ssd_chunk_bwd_param_kernel(const ScanGradArgs &a) {
  constexpr int Q = ssdChunkLen;
  if (threadIdx.x >= 32)
    return;
  const int h = blockIdx.x, lane = threadIdx.x;
  const int64_t n = (int64_t)a.B * ((a.L + Q - 1) / Q);
  const float *pa = a.paramPart + h * n, *pd = a.paramPart + (a.H + h) * n;
  double sa = 0.0, sd = 0.0;
  for (int64_t i = lane; i < n; i += 32)
    sa += pa[i], sd += pd[i];
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    sa += __shfl_xor_sync(0xffffffffu, sa, o), sd += __shfl_xor_sync(0xffffffffu, sd, o);
  if (lane == 0) {
    a.daLog[h] = (float)(sa * -exp((double)a.aLog[h]));
    if (a.dd)
      a.dd[h] = (float)sd;
  }
}

} // namespace hyb
