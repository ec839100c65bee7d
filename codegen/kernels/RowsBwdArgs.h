//===- RowsBwdArgs.h - Parameter blocks of the row-wise backward kernels ---===//
//
// Training on the device (rows_bwd.cuh): the backward of rmsnorm /
// add_rmsnorm, swiglu, embedding, the fused LM head + cross entropy (per
// chunk of rows), branch_combine, and the small utilities they need (a fixed
// order column sum of per-block partials, fp32 -> bf16 casts, fp32 add and
// scale). Gradients are fp32 [T, width] contiguous unless a row stride is
// given; the bf16 outputs are GEMM operands. Every weight gradient is
// deterministic: per-block partial rows in caller scratch, then
// rows_colsum_kernel sums them in a fixed order (no float atomics anywhere).
// Plain C++ (no CUDA headers), like KernelArgs.h. Row strides (`ld*`) are in
// elements.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_CODEGEN_KERNELS_ROWSBWDARGS_H
#define HYBRID_CODEGEN_KERNELS_ROWSBWDARGS_H

#include "KernelArgs.h"

namespace hyb {

/// Elements per vector access of a row of n values: 4, 2 or 1 (the largest
/// that divides n). The kernels below use it for their row width template
/// parameter; a row stride and the base pointer must then be multiples of it
/// (16-byte aligned fp32 / 8-byte aligned bf16 rows at 4).
constexpr int rowsVecOf(int n) { return n % 4 == 0 ? 4 : n % 2 == 0 ? 2 : 1; }
constexpr int rowsMin(int a, int b) { return a < b ? a : b; }
constexpr int rowsMax(int a, int b) { return a > b ? a : b; }

//===----------------------------------------------------------------------===//
// 1. rmsnorm / add_rmsnorm backward: rmsnorm_bwd_kernel<D, Threads, XT>
//===----------------------------------------------------------------------===//

/// Forward: s = x (rmsnorm) or s = a + b stored as `x` (add_rmsnorm: the sum
/// output as stored, bf16 or fp32 = XT); out = s * r * w, r = rsqrt(mean(s^2)
/// + eps). Backward per row, g = dout * w:
///   dx = r g - r^3 s (g . s) / D + dsum;   dw += dout * s * r.
/// dx is the gradient of x, or of both a and b (add_rmsnorm: one buffer, the
/// caller aliases). Grid: rmsNormBwdBlocks(T, D, SMs) blocks (any >= 1; block
/// i takes rows i, i + gridDim.x, ...); rmsNormBwdThreads(D) threads; static
/// shared memory 256 B. `partial` [gridDim.x, D]: every block writes its whole
/// row (zeros when it had no rows); reduce with rows_colsum_kernel(P =
/// gridDim.x, N = D) into dw.
struct RmsNormBwdArgs {
  const void *x;        // [T, D] forward input / sum as stored (XT)
  const float *w;       // [D]
  const float *dout;    // [T, D] gradient wrt the normalised output
  const float *dsum;    // [T, D] gradient wrt the sum output (add_rmsnorm), or null
  float *dx;            // [T, D]
  bf16_t *dxBf;         // [T, D] bf16 copy of dx (GEMM operand), or null
  float *partial;       // [gridDim.x, D] per-block dw, or null (no dw)
  int T;
  float eps;
};
/// Threads of rmsnorm_bwd_kernel: ~2 vectors of the row per thread.
constexpr int rmsNormBwdThreads(int D) {
  return rowsMin(1024, rowsMax(32, (D / rowsVecOf(D) / 2 + 31) / 32 * 32));
}
/// Blocks of rmsnorm_bwd_kernel: ~1024 resident threads per SM; the partials
/// cost 8 * blocks * D bytes of traffic (~3% at D 1024, T 16384).
constexpr int rmsNormBwdBlocks(int T, int D, int numSMs) {
  const int b = numSMs * rowsMax(1, 1024 / rmsNormBwdThreads(D));
  return T < b ? (T > 0 ? T : 1) : b;
}

//===----------------------------------------------------------------------===//
// 2. swiglu backward: swiglu_bwd_kernel<GT, VEC>
//===----------------------------------------------------------------------===//

/// Forward: h = silu(gs * g) * u, with g, u the two GEMM outputs (bias
/// included, before the gate scale) recomputed by the caller (GT: bf16 or
/// fp32). Backward, z = gs * g, s = sigmoid(z):
///   dg = gs * dout * u * s (1 + z (1 - s));   du = dout * z * s.
/// Grid: rowsElemBlocks(T * F / VEC, SMs) (any >= 1: grid-stride loop);
/// 256 threads; no shared memory. VEC (4, 2, 1) must divide F and every row
/// stride, with the pointers aligned to VEC elements. dg / du may sit side by
/// side in one [T, 2F] buffer (lddg = lddu = 2F, du = dg + F).
struct SwigluBwdArgs {
  const void *g, *u;    // [T, ldg], [T, ldu] (GT)
  const float *dout;    // [T, F] contiguous
  bf16_t *dg, *du;      // [T, lddg], [T, lddu]
  int T, F, ldg, ldu, lddg, lddu;
  float gateScale;
};
/// Blocks of a grid-stride element-wise kernel of 256 threads over n items.
constexpr int rowsElemBlocks(long long n, int numSMs) {
  const long long want = (n + 255) / 256, cap = 8LL * numSMs;
  return want < 1 ? 1 : (int)(want < cap ? want : cap);
}

//===----------------------------------------------------------------------===//
// 3. embedding backward (deterministic): six launches in this order
//===----------------------------------------------------------------------===//

/// dtable[v] = sum over tokens t with ids[t] == v of dout[t] (in token order
/// within each embBwdChunk piece, pieces in order), zero rows for unused ids;
/// dtable is OVERWRITTEN. A counting sort of the token positions by id:
///   1. emb_bwd_count_kernel      grid ceil(T / 256) x 256: counts[id] += 1
///   2. emb_bwd_scan_kernel<1024> grid 1 x 1024: offsets = exclusive scan of
///      counts (offsets[V] = T); counts <- 0
///   3. emb_bwd_scatter_kernel    grid ceil(T / 256) x 256: slots[offsets[id]
///      + atomicAdd(counts[id])] = t (positions grouped by id, any order)
///   4. emb_bwd_rank_kernel       grid ceil(T / 256) x 256: order = slots with
///      each id's positions ascending; counts <- 0 again
///   5. emb_bwd_chunk_kernel<D, Threads> grid ceil(T / embBwdChunk) x Threads:
///      block j sums the rows of order[j * 32, j * 32 + 32) by runs of equal
///      id; an id entirely inside the piece is written to dtable, otherwise
///      the run goes to partial[2 j] (run at the piece's head) or
///      partial[2 j + 1] (run at its tail)
///   6. emb_bwd_finish_kernel<D, Threads> grid ceil(V / embBwdIdsPerBlock) x
///      Threads: zero rows for unused ids; ids spanning several pieces get
///      partial[2 first + 1] + partial[2 (first + 1)] + ... + partial[2 last]
/// Threads = embBwdThreads(D) (one vector of the row per thread up to D 4096).
/// `counts` must be zero before step 1 (zero it once when allocated: the
/// kernels leave it zero). Ids are validated (0 <= id < V) by the caller.
/// Scratch: counts V + offsets (V + 1) + slots T + order T ints, partial
/// 2 * ceil(T / 32) * D floats (4 MB at T 16384, D 1024).
constexpr int embBwdChunk = 32;
constexpr int embBwdIdsPerBlock = 16;
constexpr int embBwdThreads(int D) {
  return rowsMin(1024, rowsMax(32, (D / rowsVecOf(D) + 31) / 32 * 32));
}
struct EmbeddingBwdArgs {
  const int32_t *ids;   // [T]
  const float *dout;    // [T, D]
  float *dtable;        // [V, D] (overwritten)
  int *counts;          // [V] zero on entry, zero on exit
  int *offsets;         // [V + 1]
  int *slots, *order;   // [T] each; slots 16-byte aligned
  float *partial;       // [2 * ceil(T / embBwdChunk), D]
  int T, V;
};

//===----------------------------------------------------------------------===//
// 4. LM head + cross entropy (lm_head_loss and its gradient), by chunks
//===----------------------------------------------------------------------===//

/// Per chunk of rows, after the caller's GEMM logits = scale * x W^T ([rows,
/// V] fp32 at row stride ldl; `scale` the lm_head_loss attribute folded into
/// the GEMM's alpha), one block per row:
///   rowLoss[r] = logsumexp(logits[r]) - logits[r, label]    (0 if label < 0)
///   dlogits[r] = k * (softmax(logits[r]) - onehot(label))   (zeros if label < 0)
/// as bf16 at row stride ldd, with k = *gradScale (or gradScaleValue when
/// gradScale is null) = dloss * scale / count: dlogits is the gradient wrt
/// x W^T, the operand of the dx and dW GEMMs (dx = dlogits W, dW +=
/// dlogits^T x). logits and dlogits must not overlap.
///   ce_rows_kernel<V, Threads, VEC>: the row in registers (read once);
///     needs ceil(V / VEC / Threads) * VEC <= 64; V 32000: Threads 1024,
///     VEC 4 (32 values a thread, one block per SM). Static smem 132 B.
///   ce_rows_any_kernel<Threads, VEC>: any V (a.V), two passes over the row
///     (the second mostly from L2); Threads 512.
/// VEC (4, 2, 1) must divide V, ldl and ldd, pointers aligned to VEC.
/// Grid: rows blocks. labels / rowLoss point at the chunk's first row.
struct CeRowsArgs {
  const float *logits;    // [rows, ldl]
  const int32_t *labels;  // [rows]: < 0 ignored; < V (validated by the caller)
  const float *gradScale; // device scalar (ce_grad_scale_kernel), or null
  float gradScaleValue;   // used when gradScale is null
  float *rowLoss;         // [rows]
  bf16_t *dlogits;        // [rows, ldd]
  int rows, V, ldl, ldd;
};

/// Whole-batch scalars, one block of Threads (256..1024) threads each:
///   ce_grad_scale_kernel<Threads>: *count = #(labels >= 0); *gradScale =
///     count ? dloss * lossScale / count : 0 (dloss = *dloss, 1 when null).
///     Run before the first chunk's ce_rows kernel.
///   ce_loss_mean_kernel<Threads>: *loss = (sum of rowLoss over T rows, in a
///     fixed order, double) / count (0 when count is 0); *count as above.
///     Run after the last chunk.
struct CeLossArgs {
  const int32_t *labels;  // [T]
  const float *rowLoss;   // [T] (ce_loss_mean_kernel)
  const float *dloss;     // device scalar d(loss), or null (1)
  float *loss;            // device scalar (ce_loss_mean_kernel)
  float *gradScale;       // device scalar (ce_grad_scale_kernel)
  int *count;             // device int, or null
  int T;
  float lossScale;        // the lm_head_loss `scale` attribute
};

//===----------------------------------------------------------------------===//
// 5. branch_combine backward: branch_combine_bwd_kernel<DA, DB, GA, GB, Mode,
//    Threads, XT = bf16_t>
//===----------------------------------------------------------------------===//

/// Forward (norms.cuh): out = combine(scaleA * norm_a(a), scaleB *
/// norm_b(b)), norm rms (G = 0) or group norm of G groups, Mode 0 add, 1
/// mean, 2 diff, 3 concat. Backward per row: the upstream gradient of each
/// branch up = f * scale * dout (f: 1, 0.5 (mean), -1 (diff, b)), g = up * w,
///   rms:   dx = r g - r^3 x (g . x) / D;           dw += up * x * r
///   group: dx = r (g - mean(g) - xh mean(g xh));   dw += up * xh,
/// xh = (x - mean) r, statistics per group. Grid: branchBwdBlocks(T, SMs)
/// blocks (any >= 1; block i takes rows i, i + gridDim.x, ...); Threads
/// threads (a multiple of 32); static shared memory 8 * (DA [GA > 1] + DB
/// [GB > 1]) + 16 * (GA + GB) + 132 bytes (<= 48 KB). partialA [gridDim.x,
/// DA] and partialB [gridDim.x, DB]: every block writes its whole rows;
/// reduce each with rows_colsum_kernel into dwa / dwb.
struct BranchCombineBwdArgs {
  const void *a, *b;            // [T, lda], [T, ldb] (XT)
  const float *wa, *wb;         // [DA], [DB]
  const float *dout;            // [T, DA + DB] (concat) or [T, DA]
  float *da, *db;               // [T, DA], [T, DB], or null
  float *partialA, *partialB;   // per-block dwa / dwb, or null
  int T, lda, ldb;
  float eps, scaleA, scaleB;
};
constexpr int branchBwdBlocks(int T, int numSMs) {
  return T < 4 * numSMs ? (T > 0 ? T : 1) : 4 * numSMs;
}

//===----------------------------------------------------------------------===//
// 6. Utilities
//===----------------------------------------------------------------------===//

/// rows_colsum_kernel<Threads>: out[n] (= or +=) sum over p = 0..P-1 of
/// partial[p, n], in a fixed order (the same bits on every run). Grid:
/// ceil(N / 32) blocks of Threads (a multiple of 32, <= 1024; 1024 for large
/// P) threads; static shared memory 4 * 33 * Threads / 32 bytes.
struct RowsColSumArgs {
  const float *partial;   // [P, ldp]
  float *out;             // [N]
  int P, N, ldp;
  int accumulate;         // 1: out += sum; 0: out = sum
};

/// rows_cast_kernel<VEC, OutT>: dst[t, c] = OutT(src[t, c]) for c < width:
/// the bf16 GEMM operand copy of an fp32 gradient, or a strided fp32 column
/// copy. Grid: rowsElemBlocks(T * width / VEC, SMs) x 256. VEC divides
/// width, lds, ldd; pointers aligned to VEC elements.
struct RowsCastArgs {
  const float *src;       // [T, lds]
  void *dst;              // [T, ldd], OutT
  int T, width, lds, ldd;
};

/// f32_add_kernel<VEC>: out = a + b; f32_scale_kernel<VEC>: out = f * a;
/// each also writes bf16(out) to outBf when not null (out may then be null).
/// out may alias a or b. Grid: rowsElemBlocks(n / VEC, SMs) x 256; VEC
/// divides n, pointers aligned to VEC elements.
struct RowsF32Args {
  const float *a, *b;
  float *out;
  bf16_t *outBf;
  int64_t n;
  float f;
};

} // namespace hyb

#endif // HYBRID_CODEGEN_KERNELS_ROWSBWDARGS_H
