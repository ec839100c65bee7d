//===- KernelArgs.h - Parameter blocks of the generated CUDA kernels ------===//
//
// Every generated kernel takes ONE of these structs by value, so the wrapper
// signatures the emitter writes stay trivial and the runtime (plain C++, no
// CUDA headers) fills the same struct and passes its address to
// cuLaunchKernel. bf16 tensors are `uint16_t *` here (reinterpreted as
// __nv_bfloat16 in device code). Row strides (`ld*`) are in elements.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_CODEGEN_KERNELS_KERNELARGS_H
#define HYBRID_CODEGEN_KERNELS_KERNELARGS_H

#include <cstdint>

namespace hyb {

using bf16_t = uint16_t;

struct EmbeddingArgs {
  const int32_t *ids;   // [T]
  const bf16_t *table;  // [V, D]
  bf16_t *out;          // [T, D]
  int T;
};

/// rmsnorm / add_rmsnorm: sum = x (+ r); out = sum / rms * w.
struct RowNormArgs {
  const void *x, *r;    // r null for plain rmsnorm; bf16 or fp32 (template)
  const float *w;       // [D]
  void *sum;            // null for plain rmsnorm; bf16 or fp32 (template)
  bf16_t *out;
  int T;
  float eps;
};

/// group_norm (x -> out) and gated_rmsnorm (y, z -> out); y may be fp32.
struct GroupNormArgs {
  const void *x;        // bf16 or fp32 (template parameter)
  const void *z;        // gate, gated_rmsnorm only (bf16 or fp32)
  const float *w;
  bf16_t *out;
  int T, ldx, ldz;
  float eps;
};

/// branch_combine: combine(scale_a * norm(a), scale_b * norm(b)).
struct BranchCombineArgs {
  const bf16_t *a, *b;
  const float *wa, *wb;
  bf16_t *out;
  int T, lda, ldb;
  float eps, scaleA, scaleB;
};

/// Element-wise unary over n values (silu, softplus, relu2, clamp, scale).
struct UnaryArgs {
  const void *x;
  void *out;
  int64_t n;
  float p0, p1;         // clamp lo/hi, scale factor
};

/// lhs (+|*) rhs[i % rhsN]; swiglu: silu(gs * (g + bg)) * (u + bu).
struct BinaryArgs {
  const bf16_t *a;
  const void *b;        // bf16 activation or fp32 weight
  const float *biasA, *biasB;  // swiglu biases (may be null)
  bf16_t *out;
  int64_t n, bN;
  int ldA, ldB, width;  // swiglu: strided rows of `width` values
  float gateScale;
};

/// Copies `width` columns: dst[t, dcol + i] = src[t, scol + i]; or, for
/// combine add/mean/diff, out = a (op) b.
struct ColsArgs {
  const bf16_t *src, *src2;
  bf16_t *dst;
  int T, width, lds, lds2, ldd;
  int mode;             // 0 copy, 1 add, 2 mean, 3 diff
};

/// out[t, n] += scale * bias[n] (bias of a GEMM, applied after alpha).
struct BiasArgs {
  bf16_t *out;
  const float *bias;
  int T, N, ldo;
  float scale;
};

/// Depthwise causal conv1d (+ optional SiLU) with a K-1 row state.
struct ConvArgs {
  const void *x;        // [B, L, C] rows of stride ldx (bf16 or fp32)
  const float *w, *bias;  // [C, K], [C] or null
  float *state;         // [B, K-1, C] or null
  void *out;            // [B, L, C] fp32 (mamba2_core) or bf16 (conv1d_causal)
  int B, L, C, ldx;
  int silu;
};

/// The chunked scan (ssd_chunk.cuh): tokens per chunk, threads per block,
/// and the dynamic shared memory of one block for state size n and a slice
/// of ps channels.
constexpr int ssdChunkLen = 32;
constexpr int ssdChunkThreads = 256;
constexpr int ssdChunkSmemBytes(int n, int ps) {
  return 4 * (2 * ssdChunkLen * (n + 4) + 2 * ssdChunkLen * (ps + 8) + ssdChunkLen * (n + 8) +
              ps * (n + 4) + ssdChunkLen * (ssdChunkLen + 4) + 3 * ssdChunkLen);
}

/// Gradients of the scan by chunks (ssd_chunk_bwd.cuh, training): fp32.
/// Three launches (state, chunk, param passes); every output is overwritten
/// (nothing to zero), no float atomics. ldx, ldbc multiples of 4 (16-byte copies).
struct ScanGradArgs {
  const float *x, *dt;  // x [T, ldx] (head h at column h * P), dt [T, lddt] (after softplus)
  const float *bm, *cm; // [T, ldbc] (group g at column g * N)
  const float *dy;      // [T, H * P]
  const float *aLog, *d;      // [H]; d may be null
  const float *chunkStates;   // [B, H, ceil(L / ssdChunkLen), P, N]: state entering each chunk
  float *dx;                  // [T, H * P]
  float *ddt;                 // [T, lddt]
  float *dbm, *dcm;           // [T, ldbc] (group columns written, summed over its heads)
  float *daLog, *dd;          // [H]; dd null with d
  float *dStates;             // scratch [B, H, nChunks, P, N]: state pass -> chunk pass
  float *paramPart;           // scratch [2, H, B * nChunks]: chunk pass -> param pass
  int B, L, H, P, G, ldx, lddt, ldbc;
};
/// Dynamic shared memory of ssd_chunk_bwd_simple_kernel<N, P>.
constexpr int ssdChunkBwdSimpleSmemBytes(int n, int p) {
  return 4 * (2 * ssdChunkLen * n + 2 * p * n + 4 * ssdChunkLen * p +
              3 * ssdChunkLen * ssdChunkLen + 6 * ssdChunkLen + 36);
}
/// Dynamic shared memory of the backward's pass 0 (state: p = the channel
/// slice PS), 1 (chunk: p = P; hdStages h, dh' buffers) and 2 (param: none).
constexpr int ssdChunkBwdSmemBytes(int pass, int n, int p, int hdStages = 2) {
  return pass == 0   ? 4 * 2 * ssdChunkLen * (p + n)
         : pass == 1 ? 4 * (2 * ssdChunkLen * n + 2 * ssdChunkLen * ssdChunkLen +
                            4 * ssdChunkLen * p + hdStages * 2 * p * n + 14 * ssdChunkLen + 16)
                     : 0;
}

/// Tokens per thread of the prefill conv (conv_prefill_kernel).
constexpr int kConvRun = 8;

/// Mamba-2 scan by the per-token recurrence, fp32 state:
///   dt = clamp(softplus(dtRaw + dtBias)) (when dtBias) else dtRaw;
///   h = exp(dt A) h + dt x B^T;  y = C h + D x.
struct ScanArgs {
  const void *x;        // [T, H*P] at stride ldx (fp32 or bf16)
  const void *dt;       // [T, H] at stride lddt (bf16 or fp32)
  const float *dtBias, *aLog, *d;
  const void *bm, *cm;  // [T, G*N] at stride ldbc
  float *state;         // [B, H, P, N] or null
  void *y;              // [T, H*P] contiguous (fp32 or bf16)
  int B, L, H, P, G, ldx, lddt, ldbc;
  float dtLo, dtHi;
  // Training (ssd_chunk_kernel<..., true>): the state entering every chunk of
  // ssdChunkLen tokens, [B, H, ceil(L / ssdChunkLen), P, N], for the backward.
  // Last, so that kernels built before it read the same prefix.
  float *chunkStates;
};

/// One rope/copy job: out[b, off + l, h, :] = rope(in[b, l, h, :]).
struct RopeJob {
  const bf16_t *in;
  bf16_t *out;
  int H, ldIn, outLen;  // outLen: positions per batch row of `out`
  int toCache;          // 1: positions start at *pos (KV cache); 0: at 0
  int rotate;           // 0: plain copy (v, or no rope)
};

struct RopeArgs {
  RopeJob job[3];
  const int32_t *pos;   // [1] tokens already in the caches
  const float *invFreq; // [rd / 2]
  int B, L, rd, posFromDevice;  // posFromDevice 0: the positions start at 0
};

/// Causal GQA attention over a KV cache: queries of this call sit at
/// positions *pos + l; keys [max(0, p - window + 1), p].
struct AttnArgs {
  const bf16_t *q;      // [B, L, Hq, Dh]
  const bf16_t *k, *v;  // [B, ctx, Hkv, Dh]
  bf16_t *out;          // [B, L, Hq, Dh]
  const int32_t *pos;
  int B, L, Hq, Hkv, ctx, window;
  float scale;
  // Decode split over keys (flash-decoding): splits blocks per query row
  // each write (max, sum, acc[Dh]) to part; the last to finish (counter,
  // zero between launches) combines them. splits <= 1: one block per row.
  int splits;
  float *part;   // [B * L * Hq][splits][Dh + 2]
  int *counter;  // [B * L * Hq]
  float *lse;  // [B, Hq, L] natural-log sum of exp(scale*s) per query row, or null
};

/// Decode GEMV: out[t, n] (ldo) = alpha * x[t, :] (ldx) . w[n, :] + beta * out;
/// with w2: out = silu(gateScale * (x.w + bias)) * (x.w2 + bias2).
struct GemvArgs {
  const bf16_t *x, *w, *w2;
  void *out;
  const float *bias, *bias2;
  int T, K, N, ldx, ldo;
  float alpha, beta, gateScale;
  int split;  // warps per output row (1, 2, 4 or 8)
};

/// The optimizer step over every tensor of a model (optim.cuh): a table of
/// blocks, each updating up to optimBlockElems elements of one tensor.
constexpr int optimBlockElems = 4096;
struct OptimTensor {
  float *p;             // fp32 master weight
  const float *g;       // fp32 gradient
  float *m, *v;         // fp32 moments
  bf16_t *copy;         // the bf16 copy the GEMMs read, or null
  int64_t n;
  int32_t decay;        // 1: weight-decay group
};
struct OptimBlock {
  int32_t tensor, chunk;  // elements [chunk * optimBlockElems, ...) of tensor
};
struct OptimArgs {
  const OptimTensor *tensors;
  const OptimBlock *blocks;
  double *partial;      // [numBlocks] sums of g^2 (grad_sq_partial_kernel)
  float *scale, *norm;  // device scalars: the clip scale read by adamw_kernel (null: 1)
  int numBlocks;
  float lr, beta1, beta2, eps, weightDecay;
  float biasCorr1, biasCorr2;  // 1 - beta1^t, 1 - beta2^t (t counts from 1)
  float maxNorm;               // <= 0: no clipping
};

} // namespace hyb

#endif // HYBRID_CODEGEN_KERNELS_KERNELARGS_H
