//===- MambaBwdArgs.h - Parameter blocks of the Mamba-2 backward kernels --===//
//
// The element-wise / row-local parts of mamba2_core.grad on the device
// (mamba_bwd.cuh): the gated RMSNorm backward, the dt (softplus + clamp)
// backward and the depthwise causal conv + SiLU backward, plus the fixed-order
// column reduction that turns their per-block partial sums into weight
// gradients (deterministic: no float atomics anywhere). Plain C++ (no CUDA
// headers), like KernelArgs.h. Row strides (`ld*`) are in elements; the
// input gradients are written at a row stride into column ranges of the
// fp32 d(zxbcdt) buffer [T, inner + convDim + H]. Nothing needs zeroing.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_CODEGEN_KERNELS_MAMBABWDARGS_H
#define HYBRID_CODEGEN_KERNELS_MAMBABWDARGS_H

#include "KernelArgs.h"

namespace hyb {

/// gated_norm_bwd_kernel. Forward (per row, per group of D / G values):
///   norm_before_gate false: out = rms(y * silu(z)) * w
///   norm_before_gate true:  out = rms(y) * w * silu(z)
/// and gate_silu_bwd_kernel (no norm weight): out = y * silu(z).
/// Grid: numPartials blocks (any >= 1; block i takes rows i, i + gridDim.x,
/// ...): use gatedNormBwdBlocks, all blocks resident in one wave (every block
/// has the same work, so a second partial wave costs a whole one); Threads
/// (template) threads with D / Threads <= 16 (the row lives in registers:
/// 256 for D 2048, 1024 for D 12288); static shared memory only (D / 2
/// bytes at most). dy may equal dout.
/// `partial` gets one row of D per-block dw sums (every block writes its
/// whole row, zeros when it had no rows); reduce it with
/// col_reduce_kernel(rows = gridDim.x, cols = D, split = D, out0 = dw).
struct GatedNormGradArgs {
  const float *y;        // [T, D] contiguous (the scan output, fp32)
  const void *z;         // [T, ldz] gate (bf16 or fp32: template)
  const float *w;        // [D] norm weight (unused by gate_silu_bwd_kernel)
  const float *dout;     // [T, D] contiguous
  float *dy;             // [T, D] contiguous
  float *dz;             // [T, lddz] (a column range of d(zxbcdt))
  float *partial;        // [gridDim.x, D] scratch (unused by gate_silu_bwd_kernel)
  int T, ldz, lddz;
  float eps;
};
/// Blocks of gated_norm_bwd_kernel: the resident blocks of one wave,
/// blocksPerSM from cuOccupancyMaxActiveBlocksPerMultiprocessor (the partial
/// rows cost 8 * blocks * D bytes of traffic, ~1% at D 2048).
constexpr int gatedNormBwdBlocks(int T, int numSMs, int blocksPerSM) {
  return T < blocksPerSM * numSMs ? (T > 0 ? T : 1) : blocksPerSM * numSMs;
}

/// dt_bwd_kernel. Forward: dt = clamp(softplus(dtRaw + dtBias), dtLo, dtHi)
/// (dtLo = -inf, dtHi = +inf without dt_limit). The bounds pass the gradient
/// (lo <= softplus <= hi, the CPU clampGrad convention), compared in fp32:
/// for bounds not exact in fp32 pass dtLo rounded up and dtHi rounded down
/// to float to reproduce the CPU's double comparison bit for bit.
/// Grid: numPartials blocks (dtBwdBlocks), block i a contiguous range of
/// ceil(T / gridDim.x) rows; Threads (template) >= H threads; static shared
/// memory Threads floats. `partial` [gridDim.x, H] (null: no ddtBias);
/// reduce with col_reduce_kernel(rows = gridDim.x, cols = H, split = H,
/// out0 = ddtBias).
struct DtGradArgs {
  const void *dtRaw;     // [T, lddt] (bf16 or fp32: template)
  const float *dtBias;   // [H]
  const float *ddt;      // [T, ldddt] gradient wrt dt (from the scan backward)
  float *ddtRaw;         // [T, ldddtRaw] (a column range of d(zxbcdt)); may equal ddt
  float *partial;        // [gridDim.x, H] scratch, or null
  int T, H, lddt, ldddt, ldddtRaw;
  float dtLo, dtHi;
};
/// dt_bwd_kernel's grid at `threads` threads: ~4 rows of every head per thread.
constexpr int dtBwdBlocks(int T, int H, int threads) {
  const int64_t perBlock = 4 * (int64_t)(threads / H) * H;  // elements of 4 passes
  const int64_t n = ((int64_t)T * H + perBlock - 1) / perBlock;
  return n > 0 ? (int)n : 1;
}

/// conv_silu_bwd_kernel. Forward: act = silu(pre), pre[b, l, c] = bias[c] +
/// sum_k w[c, k] x[b, l - K + 1 + k, c] (zero before l = 0: no carried state).
/// Each warp walks convBwdSeg tokens of 32 * V channels; a block of
/// convBwdThreads threads is convBwdTokensPerBlock consecutive tokens of one
/// sequence. Grid: (ceil(C / (32 V)), convBwdPartials(B, L)); static shared
/// memory 4 * (convBwdThreads / 32) * 32 * V * (K + 1) bytes (36 KB at K 8, V 4).
/// V = 2 or 4 (vector loads) needs C, ldx and lddx multiples of V and x, dx,
/// dact aligned to V elements; else V = 1.
/// `partial` [convBwdPartials(B, L), C * (K + 1)]: per block dw [C, K] then
/// dbias [C] (zeros without bias); every element is written. Reduce with
/// col_reduce_kernel(rows = convBwdPartials(B, L), cols = C * (K + 1),
/// split = C * K, out0 = dw, out1 = dbias or null).
constexpr int convBwdSeg = 32;            // tokens per warp
constexpr int convBwdThreads = 256;       // 8 warps
constexpr int convBwdTokensPerBlock = convBwdSeg * (convBwdThreads / 32);
constexpr int convBwdPartials(int B, int L) {
  return B * ((L + convBwdTokensPerBlock - 1) / convBwdTokensPerBlock);
}
struct ConvGradArgs {
  const void *x;         // [B * L, ldx] conv input xBC (bf16 or fp32: template)
  const float *w, *bias; // [C, K], [C] or null
  const float *dact;     // [B * L, C] contiguous: gradient wrt the SiLU output
  float *dx;             // [B * L, lddx] (a column range of d(zxbcdt)); not dact, not x
  float *partial;        // [convBwdPartials(B, L), C * (K + 1)] scratch
  int B, L, C, ldx, lddx;
};

/// col_reduce_kernel: out[c] (= or +=) the sum over r = 0..rows-1 of
/// part[r, c], in a fixed order (the same bits on every run). Columns
/// c < split go to out0[c], the rest to out1[c - split]; a null destination
/// is skipped. Grid: ceil(cols / 32) blocks of colReduceThreads threads;
/// static shared memory 4.2 KB. V = 4 (float4 loads) needs cols % 4 == 0 and
/// part 16-byte aligned; else V = 1.
constexpr int colReduceThreads = 256;
struct ColReduceArgs {
  const float *part;     // [rows, cols]
  float *out0, *out1;
  int rows, cols, split;
  int accumulate;        // 1: out += sum (gradient accumulation); 0: out = sum
};

} // namespace hyb

#endif // HYBRID_CODEGEN_KERNELS_MAMBABWDARGS_H
