//===- AttnBwdArgs.h - Parameter blocks of the attention / rope backward ---===//
//
// Plain C++ (no CUDA headers), like KernelArgs.h: the runtime fills these and
// computes grids, block sizes and dynamic shared memory from the constexpr
// functions below (the device templates in attention_bwd.cuh use the same
// ones). Training only: positions start at 0, k / v hold exactly L rows.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_CODEGEN_KERNELS_ATTNBWDARGS_H
#define HYBRID_CODEGEN_KERNELS_ATTNBWDARGS_H

#include "KernelArgs.h"

namespace hyb {

/// Causal GQA attention backward (attention_bwd.cuh). Query head h reads kv
/// head h / (Hq / Hkv); key j is visible to query i iff j <= i and (window <=
/// 0 or j >= i - window + 1). Every pointer is 16-byte aligned.
struct AttnBwdArgs {
  const bf16_t *q;     // [B, L, Hq, Dh] (rotated, as the forward read it)
  const bf16_t *k;     // [B, L, Hkv, Dh] (rotated)
  const bf16_t *v;     // [B, L, Hkv, Dh]
  const bf16_t *o;     // [B, L, Hq, Dh] the forward's output
  const float *lse;    // [B, Hq, L] the forward's log-sum-exp (AttnArgs::lse)
  const float *dout;   // [B, L, Hq, Dh] fp32 gradient of o, contiguous
  float *dq;           // [B, L, Hq, Dh] fp32, overwritten
  float *dk, *dv;      // [B, L, Hkv, Dh] fp32, overwritten (sum over the group's query heads)
  float *rowStats;     // scratch [B, Hq, L, 2]: (lse * log2(e), rowsum(dO * O)), written by prep
  bf16_t *doutBf;      // scratch [B, L, Hq, Dh]: dO in bf16, written by prep; null: not written
  int B, L, Hq, Hkv, window;
  float scale;         // the forward's softmax scale (already resolved, e.g. 1/sqrt(Dh))
};

/// RoPE backward (rope_bwd_kernel): rotates dq and dk in place by -angle,
/// angle = float(l) * invFreq[i] for the pair (i, i + rd / 2), l = 0..L-1.
struct RopeBwdArgs {
  float *dq;              // [B, L, Hq, Dh] rows (tokens) of stride ldq elements, or null
  float *dk;              // [B, L, Hkv, Dh] rows of stride ldk elements, or null
  const float *invFreq;   // [rd / 2]
  int B, L, Hq, Hkv, rd;  // rd: rotary dims (even, <= Dh); channels >= rd untouched
  int ldq, ldk;           // Hq * Dh and Hkv * Dh when contiguous
};

// --- launch geometry -------------------------------------------------------

/// attn_bwd_prep_kernel<Dh>: attnBwdPrepThreads threads, grid
/// ceil(B * L * Hq / attnBwdPrepRows(Dh)), no shared memory.
constexpr int attnBwdPrepThreads = 256;
constexpr int attnBwdPrepLanes(int dh) {  // lanes per (b, l, h) row: pow2 >= dh / 8
  return dh <= 8 ? 1 : dh <= 16 ? 2 : dh <= 32 ? 4 : dh <= 64 ? 8 : dh <= 128 ? 16 : 32;
}
constexpr int attnBwdPrepRows(int dh) { return attnBwdPrepThreads / attnBwdPrepLanes(dh); }

/// Tensor-core dK/dV pass (attn_bwd_dkdv_mma_kernel<Dh>): warps of 16 * mt
/// keys each; a block owns warps * 16 * mt keys of one kv head and walks the
/// group's query heads x query tiles of qt rows (chunks of qc rows).
struct AttnBwdDkdvCfg {
  int warps, mt, qt, qc;
};
constexpr AttnBwdDkdvCfg attnBwdDkdvCfg(int dh) {
  return dh <= 32 ? AttnBwdDkdvCfg{4, 2, 64, 32}
       : dh <= 64 ? AttnBwdDkdvCfg{4, 2, 64, 16}
                  : AttnBwdDkdvCfg{4, 1, 32, 16};
}
constexpr int attnBwdDkdvThreads(int dh) { return attnBwdDkdvCfg(dh).warps * 32; }
constexpr int attnBwdDkdvKeys(int dh) {  // keys per block: grid (ceil(L / this), Hkv, B)
  return attnBwdDkdvCfg(dh).warps * 16 * attnBwdDkdvCfg(dh).mt;
}
/// Dynamic shared memory: 2 buffers x (Q tile + dO tile (bf16, rows padded to
/// dh + 8) + qt (lse2, D) pairs).
constexpr int attnBwdDkdvSmemBytesFor(int dh, int qt) {
  return 2 * (2 * qt * (dh + 8) * 2 + qt * 8);
}
constexpr int attnBwdDkdvSmemBytes(int dh) {
  return attnBwdDkdvSmemBytesFor(dh, attnBwdDkdvCfg(dh).qt);
}

/// Tensor-core dQ pass (attn_bwd_dq_mma_kernel<Dh>): warps of 16 * mt query
/// rows; K / V tiles of kt keys (steps of kc keys).
struct AttnBwdDqCfg {
  int warps, mt, kt, kc;
};
constexpr AttnBwdDqCfg attnBwdDqCfg(int dh) {
  return dh <= 32 ? AttnBwdDqCfg{4, 2, 64, 32}
       : dh <= 64 ? AttnBwdDqCfg{4, 2, 64, 16}
                  : AttnBwdDqCfg{4, 1, 32, 16};
}
constexpr int attnBwdDqThreads(int dh) { return attnBwdDqCfg(dh).warps * 32; }
constexpr int attnBwdDqRows(int dh) {  // query rows per block: grid (ceil(L / this), Hq, B)
  return attnBwdDqCfg(dh).warps * 16 * attnBwdDqCfg(dh).mt;
}
/// Dynamic shared memory: 2 buffers x (K tile + V tile), rows padded to dh + 8.
constexpr int attnBwdDqSmemBytesFor(int dh, int kt) { return 2 * 2 * kt * (dh + 8) * 2; }
constexpr int attnBwdDqSmemBytes(int dh) { return attnBwdDqSmemBytesFor(dh, attnBwdDqCfg(dh).kt); }

/// CUDA-core fallback (attn_bwd_dq_kernel, attn_bwd_dkdv_kernel): one warp
/// per query row (dq) or key row (dk, dv); attnBwdFbThreads threads, grid
/// (ceil(L / attnBwdFbRows), Hq or Hkv, B), no shared memory.
constexpr int attnBwdFbThreads = 128;
constexpr int attnBwdFbRows = attnBwdFbThreads / 32;

/// rope_bwd_kernel: grid (B * L, 2) (y: 0 = dq, 1 = dk), any block size
/// (ropeBwdThreads suggested), no shared memory.
constexpr int ropeBwdThreads = 128;

} // namespace hyb

#endif // HYBRID_CODEGEN_KERNELS_ATTNBWDARGS_H
