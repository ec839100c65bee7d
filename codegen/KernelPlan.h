//===- KernelPlan.h - Which generated kernels each op needs ---------------===//
//
// The ONE registration point between codegen and the CUDA executor: for an
// instruction of a .hyb program, kernelsFor() names every kernel instance it
// launches (a generated `extern "C" __global__` symbol), the kernel template
// it instantiates and its parameter block — or says why the op has no CUDA
// kernel (supports()). The emitter (codegen/Emitter.cpp) instantiates
// exactly these; the runtime (runtime/cuda/) looks up the same names in the
// fatbin, so both sides can never disagree on a name.
//
// Header-only, plain C++ over the FlatBuffers accessors: no MLIR, no CUDA.
// A new fused op registers its CUDA kernels by adding a case here plus a
// launcher in runtime/cuda/CudaOps.cpp; GEMMs run through cuBLASLt and
// need no kernel.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_CODEGEN_KERNELPLAN_H
#define HYBRID_CODEGEN_KERNELPLAN_H

#include "codegen/kernels/AttnBwdArgs.h"
#include "runtime/hyb/hyb_generated.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace hybrid::codegen {

/// One kernel instance: `extern "C" __global__ void <name>(const hyb::<args> a)
/// { <body>(a); }` launched with `threads` threads per block.
struct KernelInst {
  std::string name, args, body;
  int threads = 128;
  int minBlocks = 0;  // > 0: __launch_bounds__(threads, minBlocks) (caps registers)
  /// The body calls pdlWait itself (after prefetching weights); otherwise the
  /// emitted wrapper waits before the body (common.cuh).
  bool ownsPdlWait = false;
};

namespace kn {
inline std::string s(int64_t v) { return std::to_string(v); }
inline int rowThreads(int64_t d) { return d <= 1024 ? 128 : d <= 4096 ? 256 : 512; }
inline const char *ty(bool f32) { return f32 ? "float" : "hyb::bf16_t"; }
inline const char *tn(bool f32) { return f32 ? "f32" : "bf"; }

inline KernelInst embedding(int64_t d) {
  return {"hyb_embedding_" + s(d), "EmbeddingArgs", "hyb::embedding_kernel<" + s(d) + ">", 128};
}
/// xf/rf/sf: lhs, rhs and sum in fp32 (the residual stream) instead of bf16.
inline KernelInst rmsnorm(int64_t d, bool add, bool xf, bool rf, bool sf) {
  int t = rowThreads(d);
  return {std::string("hyb_") + (add ? "add_rmsnorm_" : "rmsnorm_") + s(d) + "_" + tn(xf) +
              (add ? std::string("_") + tn(rf) + "_" + tn(sf) : ""),
          "RowNormArgs",
          "hyb::rmsnorm_kernel<" + s(d) + ", " + (add ? "true" : "false") + ", " + s(t) + ", " +
              ty(xf) + ", " + ty(rf) + ", " + ty(sf) + ">",
          t};
}
inline KernelInst groupnorm(int64_t d, int64_t g, bool gated, bool nbg, bool xf32,
                            bool zf32 = false) {
  int t = rowThreads(d);
  std::string n = std::string("hyb_") + (gated ? (nbg ? "gatednorm_nbg_" : "gatednorm_") : "groupnorm_") +
                  s(d) + "_g" + s(g) + "_" + tn(xf32) + (zf32 ? "_zf32" : "");
  return {n, "GroupNormArgs",
          "hyb::groupnorm_kernel<" + s(d) + ", " + s(g) + ", " + (gated ? "true" : "false") + ", " +
              (nbg ? "true" : "false") + ", " + ty(xf32) + ", " + s(t) + ", " + ty(zf32) + ">",
          t};
}
inline KernelInst branchCombine(int64_t da, int64_t db, int64_t ga, int64_t gb, int mode) {
  int t = rowThreads(std::max(da, db));
  return {"hyb_branch_combine_" + s(da) + "_" + s(db) + "_g" + s(ga) + "_" + s(gb) + "_m" + s(mode),
          "BranchCombineArgs",
          "hyb::branch_combine_kernel<" + s(da) + ", " + s(db) + ", " + s(ga) + ", " + s(gb) + ", " +
              s(mode) + ", " + s(t) + ">",
          t};
}
/// op: 0 silu, 1 softplus, 2 relu2, 3 clamp, 4 scale.
inline KernelInst unary(int op, bool inF32, bool outF32) {
  static const char *names[] = {"silu", "softplus", "relu2", "clamp", "scale"};
  return {std::string("hyb_") + names[op] + "_" + tn(inF32) + "_" + tn(outF32), "UnaryArgs",
          "hyb::unary_kernel<" + s(op) + ", " + ty(inF32) + ", " + ty(outF32) + ">", 256};
}
inline KernelInst binary(bool mul, bool rhsF32) {
  return {std::string("hyb_") + (mul ? "mul_" : "add_") + tn(rhsF32), "BinaryArgs",
          std::string("hyb::binary_kernel<") + (mul ? "1" : "0") + ", " + ty(rhsF32) + ">", 256};
}
/// Decode GEMMs (<= 8 token rows): plain (bf16 or fp32 out) and swiglu.
/// t1: the batch-1 instance (one token row: fewer registers, more warps).
inline KernelInst gemv(bool outF32, bool swiglu, bool t1 = false) {
  return {std::string("hyb_gemv_") + (swiglu ? "swiglu" : tn(outF32)) + (t1 ? "_t1" : ""),
          "GemvArgs",
          std::string("hyb::gemv_kernel<") + (t1 ? "1, " : "8, ") + (outF32 ? "true" : "false") +
              ", " +
              (swiglu ? "true" : "false") + ">",
          256, 0, true};
}
inline KernelInst swiglu() { return {"hyb_swiglu", "BinaryArgs", "hyb::swiglu_kernel", 256}; }
inline KernelInst cols() { return {"hyb_cols", "ColsArgs", "hyb::cols_kernel", 256}; }
inline KernelInst bias() { return {"hyb_bias", "BiasArgs", "hyb::bias_kernel", 256}; }
/// mode: 0 sequential with state (decode), 1 parallel outputs, 2 state update.
inline KernelInst conv(int64_t k, int mode, bool outF32, bool inF32 = false) {
  static const char *m[] = {"seq", "par", "state"};
  return {"hyb_conv_k" + s(k) + "_" + m[mode] + "_" + tn(outF32) + (inF32 ? "_inf32" : ""),
          "ConvArgs",
          "hyb::conv_kernel<" + s(k) + ", " + s(mode) + ", " + ty(outF32) + ", " + ty(inF32) + ">",
          256};
}
/// Prefill conv: runs of tokens of 4 channels per thread (conv.cuh).
inline KernelInst convPrefill(int64_t k, bool outF32, bool inF32) {
  return {"hyb_conv_k" + s(k) + "_prefill_" + tn(outF32) + (inF32 ? "_inf32" : ""), "ConvArgs",
          "hyb::conv_prefill_kernel<" + s(k) + ", " + ty(outF32) + ", " + ty(inF32) + ">", 256};
}
/// Lanes per state row: 4 for prefill (more rows per block), up to 32 for
/// decode (more blocks when L = 1).
inline int scanSplit(int64_t n, bool decode) {
  int sp = decode ? 32 : 4;
  while (sp > 1 && n % sp)
    sp /= 2;
  return sp;
}
inline KernelInst scan(int64_t n, int split, bool f32, bool dtF32 = false) {
  return {"hyb_scan_n" + s(n) + "_s" + s(split) + "_" + tn(f32) + (dtF32 ? "_dtf32" : ""),
          "ScanArgs",
          "hyb::scan_kernel<" + s(n) + ", " + s(split) + ", " + ty(f32) + ", " + ty(f32) + ", " +
              ty(dtF32) + ">",
          128};
}
/// The chunked tensor-core scan (prefill): state n, channel slice ps.
/// Needs n and the head dim to be multiples of 16 (ssdChunkSupports).
inline bool ssdChunkSupports(int64_t n, int64_t p) {
  return n % 16 == 0 && n <= 256 && p % 16 == 0;
}
/// Slices per head: the widest of 64/32/16 channels dividing p (few blocks
/// of much work), and 16 (more blocks, for batch 1).
inline int ssdChunkSliceWide(int64_t p) { return p % 64 == 0 ? 64 : p % 32 == 0 ? 32 : 16; }
inline KernelInst ssdChunk(int64_t n, int ps, bool f32, bool dtF32) {
  return {"hyb_ssd_chunk_n" + s(n) + "_p" + s(ps) + "_" + tn(f32) + (dtF32 ? "_dtf32" : ""),
          "ScanArgs",
          "hyb::ssd_chunk_kernel<" + s(n) + ", " + s(ps) + ", " + ty(f32) + ", " + ty(f32) + ", " +
              ty(dtF32) + ">",
          256, 2};
}
inline KernelInst rope(int64_t dh) {
  return {"hyb_rope_" + s(dh), "RopeArgs", "hyb::rope_kernel<" + s(dh) + ">", 128};
}
inline KernelInst attnDecode(int64_t dh) {
  return {"hyb_attn_decode_" + s(dh), "AttnArgs", "hyb::attn_decode_kernel<" + s(dh) + ">", 128};
}
/// Prefill attention: the tensor-core kernel (attention_mma.cuh) for head
/// dims that are multiples of 16 up to 128, else the CUDA-core one.
inline KernelInst attnPrefill(int64_t dh) {
  if (dh % 16 == 0 && dh <= 128)
    return {"hyb_attn_prefill_mma_" + s(dh), "AttnArgs",
            "hyb::attn_prefill_mma_kernel<" + s(dh) + ">", 128};
  return {"hyb_attn_prefill_" + s(dh), "AttnArgs", "hyb::attn_prefill_kernel<" + s(dh) + ">", 64};
}
// --- Training glue (rows_bwd.cuh vector kernels, train.cuh) ---
/// fp32 rows -> bf16 GEMM operand copy (bf) or strided fp32 copy; vec 4 or 1.
inline KernelInst rowsCast(int vec, bool toBf16) {
  return {"hyb_rows_cast_" + std::string(tn(!toBf16)) + "_v" + s(vec), "RowsCastArgs",
          "hyb::rows_cast_kernel<" + s(vec) + ", " + ty(!toBf16) + ">", 256};
}
/// out = a + b, out = f * a over fp32 vectors; vec 4 or 1.
inline KernelInst f32Add(int vec) {
  return {"hyb_f32_add_v" + s(vec), "RowsF32Args", "hyb::f32_add_kernel<" + s(vec) + ">", 256};
}
inline KernelInst f32Scale(int vec) {
  return {"hyb_f32_scale_v" + s(vec), "RowsF32Args", "hyb::f32_scale_kernel<" + s(vec) + ">", 256};
}
inline KernelInst dtForward(bool rawF32) {
  return {std::string("hyb_dt_forward_") + tn(rawF32), "DtArgs",
          std::string("hyb::dt_forward_kernel<") + ty(rawF32) + ">", 256};
}
/// The chunked scan that also stores the state entering every chunk
/// (the backward's recompute): fp32 x, y and dt.
inline KernelInst ssdChunkTrain(int64_t n, int ps) {
  return {"hyb_ssd_chunk_train_n" + s(n) + "_p" + s(ps), "ScanArgs",
          "hyb::ssd_chunk_kernel<" + s(n) + ", " + s(ps) + ", float, float, float, true>", 256, 2};
}
// --- Mamba-2 backward (mamba_bwd.cuh, ssd_chunk_bwd.cuh) ---
inline int gatedNormBwdThreads(int64_t d) {
  int t = (int)((d + 15) / 16 + 31) / 32 * 32;
  return std::min(1024, std::max(256, t));
}
inline KernelInst gatedNormBwd(int64_t d, int64_t g, bool nbg, bool zF32) {
  int t = gatedNormBwdThreads(d);
  return {"hyb_gnorm_bwd_" + s(d) + "_g" + s(g) + (nbg ? "_nbg_" : "_") + tn(zF32),
          "GatedNormGradArgs",
          "hyb::gated_norm_bwd_kernel<" + s(d) + ", " + s(g) + ", " + (nbg ? "true" : "false") +
              ", " + s(t) + ", " + ty(zF32) + ">",
          t};
}
inline KernelInst dtBwd(bool rawF32) {
  return {std::string("hyb_dt_bwd_") + tn(rawF32), "DtGradArgs",
          std::string("hyb::dt_bwd_kernel<") + ty(rawF32) + ", 256>", 256};
}
/// v channels per lane: 4, 2 or 1 by the alignment of the rows (chosen at run time).
inline KernelInst convSiluBwd(int64_t k, int v, bool xF32) {
  return {"hyb_conv_bwd_k" + s(k) + "_v" + s(v) + "_" + tn(xF32), "ConvGradArgs",
          "hyb::conv_silu_bwd_kernel<" + s(k) + ", " + s(v) + ", " + ty(xF32) + ">", 256};
}
inline KernelInst colReduce(int v) {
  return {"hyb_col_reduce_v" + s(v), "ColReduceArgs", "hyb::col_reduce_kernel<" + s(v) + ">", 256};
}
/// The scan backward (ssd_chunk_bwd.cuh) for state and head dims that are
/// multiples of 32: state pass, chunk pass (hds: 2 buffers, 202 KB of shared
/// memory at N128 P64; 1 where the device has less), parameter pass.
inline bool ssdChunkBwdFast(int64_t n, int64_t p) { return n % 32 == 0 && p % 32 == 0; }
inline std::vector<KernelInst> ssdChunkBwd(int64_t n, int64_t p) {
  std::string np = s(n) + ", " + s(p);
  return {{"hyb_ssd_bwd_state_n" + s(n) + "_p" + s(p), "ScanGradArgs",
           "hyb::ssd_chunk_bwd_state_kernel<" + np + ", 32>", 256, 4},
          {"hyb_ssd_bwd_chunk_n" + s(n) + "_p" + s(p), "ScanGradArgs",
           "hyb::ssd_chunk_bwd_chunk_kernel<" + np + ", 2>", 256, 1},
          {"hyb_ssd_bwd_chunk1_n" + s(n) + "_p" + s(p), "ScanGradArgs",
           "hyb::ssd_chunk_bwd_chunk_kernel<" + np + ", 1>", 256, 1},
          {"hyb_ssd_bwd_param_n" + s(n) + "_p" + s(p), "ScanGradArgs",
           "hyb::ssd_chunk_bwd_param_kernel<" + np + ">", 256}};
}
/// Any state / head dim (ssd_chunk_bwd_simple.cuh; atomics into zeroed outputs).
inline KernelInst ssdChunkBwdSimple(int64_t n, int64_t p) {
  return {"hyb_ssd_bwd_simple_n" + s(n) + "_p" + s(p), "ScanGradArgs",
          "hyb::ssd_chunk_bwd_simple_kernel<" + s(n) + ", " + s(p) + ">", 256};
}

// --- Norm, SwiGLU, embedding, loss backward (rows_bwd.cuh) ---
inline int rmsNormBwdThreads(int64_t d) {
  int v = d % 4 == 0 ? 4 : d % 2 == 0 ? 2 : 1;
  return (int)std::min<int64_t>(1024, std::max<int64_t>(32, (d / v / 2 + 31) / 32 * 32));
}
inline KernelInst rmsnormBwd(int64_t d, bool xF32) {
  int t = rmsNormBwdThreads(d);
  return {"hyb_rmsnorm_bwd_" + s(d) + "_" + tn(xF32), "RmsNormBwdArgs",
          "hyb::rmsnorm_bwd_kernel<" + s(d) + ", " + s(t) + ", " + ty(xF32) + ">", t};
}
inline KernelInst rowsColsum() {
  return {"hyb_rows_colsum", "RowsColSumArgs", "hyb::rows_colsum_kernel<1024>", 1024};
}
inline KernelInst swigluBwd(bool gF32, int vec) {
  return {"hyb_swiglu_bwd_" + std::string(tn(gF32)) + "_v" + s(vec), "SwigluBwdArgs",
          "hyb::swiglu_bwd_kernel<" + std::string(ty(gF32)) + ", " + s(vec) + ">", 256};
}
inline int embBwdThreads(int64_t d) {
  int v = d % 4 == 0 ? 4 : d % 2 == 0 ? 2 : 1;
  return (int)std::min<int64_t>(1024, std::max<int64_t>(32, (d / v + 31) / 32 * 32));
}
/// The embedding backward's six launches, in order.
inline std::vector<KernelInst> embeddingBwd(int64_t d) {
  int t = embBwdThreads(d);
  return {{"hyb_emb_bwd_count", "EmbeddingBwdArgs", "hyb::emb_bwd_count_kernel", 256},
          {"hyb_emb_bwd_scan", "EmbeddingBwdArgs", "hyb::emb_bwd_scan_kernel<1024>", 1024},
          {"hyb_emb_bwd_scatter", "EmbeddingBwdArgs", "hyb::emb_bwd_scatter_kernel", 256},
          {"hyb_emb_bwd_rank", "EmbeddingBwdArgs", "hyb::emb_bwd_rank_kernel", 256},
          {"hyb_emb_bwd_chunk_" + s(d), "EmbeddingBwdArgs",
           "hyb::emb_bwd_chunk_kernel<" + s(d) + ", " + s(t) + ">", t},
          {"hyb_emb_bwd_finish_" + s(d), "EmbeddingBwdArgs",
           "hyb::emb_bwd_finish_kernel<" + s(d) + ", " + s(t) + ">", t}};
}
/// Cross entropy over a row of V logits held in registers (<= 64 a thread).
inline int ceRowsThreads(int64_t v) {
  int vec = v % 4 == 0 ? 4 : v % 2 == 0 ? 2 : 1;
  int64_t nv = v / vec;
  int t = 32;
  while (t < 1024 && (nv + t - 1) / t * vec > 16)
    t *= 2;
  return t;
}
inline KernelInst ceRows(int64_t v) {
  int vec = v % 4 == 0 ? 4 : v % 2 == 0 ? 2 : 1, t = ceRowsThreads(v);
  if ((v / vec + t - 1) / t * vec > 64)
    return {"hyb_ce_rows_any", "CeRowsArgs", "hyb::ce_rows_any_kernel<512, 1>", 512};
  return {"hyb_ce_rows_" + s(v), "CeRowsArgs",
          "hyb::ce_rows_kernel<" + s(v) + ", " + s(t) + ", " + s(vec) + ">", t};
}
inline KernelInst ceGradScale() {
  return {"hyb_ce_grad_scale", "CeLossArgs", "hyb::ce_grad_scale_kernel<1024>", 1024};
}
inline KernelInst ceLossMean() {
  return {"hyb_ce_loss_mean", "CeLossArgs", "hyb::ce_loss_mean_kernel<1024>", 1024};
}
inline KernelInst branchCombineBwd(int64_t da, int64_t db, int64_t ga, int64_t gb, int mode) {
  int t = rowThreads(std::max(da, db));
  return {"hyb_branch_combine_bwd_" + s(da) + "_" + s(db) + "_g" + s(ga) + "_" + s(gb) + "_m" +
              s(mode),
          "BranchCombineBwdArgs",
          "hyb::branch_combine_bwd_kernel<" + s(da) + ", " + s(db) + ", " + s(ga) + ", " + s(gb) +
              ", " + s(mode) + ", " + s(t) + ">",
          t};
}

// --- Attention backward (attention_bwd.cuh): prep (D_i, dO in bf16), then
// the dK/dV and dQ passes (tensor cores for head dims % 16 <= 128, else
// CUDA cores), then the RoPE backward on dq and dk. ---
inline std::vector<KernelInst> attnBwd(int64_t dh) {
  std::string d = s(dh);
  std::vector<KernelInst> ks = {
      {"hyb_attn_bwd_prep_" + d, "AttnBwdArgs", "hyb::attn_bwd_prep_kernel<" + d + ">", 256},
      {"hyb_rope_bwd_" + d, "RopeBwdArgs", "hyb::rope_bwd_kernel<" + d + ">",
       ::hyb::ropeBwdThreads}};
  if (dh % 16 == 0 && dh <= 128) {
    ks.push_back({"hyb_attn_bwd_dkdv_mma_" + d, "AttnBwdArgs",
                  "hyb::attn_bwd_dkdv_mma_kernel<" + d + ">", ::hyb::attnBwdDkdvThreads((int)dh)});
    ks.push_back({"hyb_attn_bwd_dq_mma_" + d, "AttnBwdArgs",
                  "hyb::attn_bwd_dq_mma_kernel<" + d + ">", ::hyb::attnBwdDqThreads((int)dh)});
  } else {
    ks.push_back({"hyb_attn_bwd_dkdv_" + d, "AttnBwdArgs", "hyb::attn_bwd_dkdv_kernel<" + d + ">",
                  ::hyb::attnBwdFbThreads});
    ks.push_back({"hyb_attn_bwd_dq_" + d, "AttnBwdArgs", "hyb::attn_bwd_dq_kernel<" + d + ">",
                  ::hyb::attnBwdFbThreads});
  }
  return ks;
}

/// AdamW and the global gradient norm (optim.cuh), one set per artifact with train_step.
inline std::vector<KernelInst> optimizer() {
  return {{"hyb_adamw", "OptimArgs", "hyb::adamw_kernel", 256},
          {"hyb_grad_sq_partial", "OptimArgs", "hyb::grad_sq_partial_kernel", 256},
          {"hyb_grad_clip_scale", "OptimArgs", "hyb::grad_clip_scale_kernel", 1024}};
}
} // namespace kn

/// Views of a program's values for planning: trailing shapes, weights,
/// and which activations the CUDA executor keeps in fp32 (logits: the
/// lm_head output and element-wise ops applied to it); the rest are bf16.
class ProgramView {
public:
  ProgramView(const hyb::Artifact &a, const hyb::Program &p) : a_(a), p_(p) {
    f32_.assign(p.values()->size(), false);
    // train_step: the instructions from the first `<op>.grad` on are the
    // backward. Their results (gradients) are fp32, and the forward values
    // get the precision they have in prefill (backward reads do not count).
    bool inBackward = false;
    for (const hyb::Instr *in : *p.instrs()) {
      inBackward = inBackward || isGrad(in->op()->str());
      if (inBackward)
        backward_.insert(in);
    }
    // The residual stream (add_rmsnorm's sum) stays fp32 when only norms read
    // it: rounding it to bf16 every layer is the largest error source.
    std::vector<int> okUses(f32_.size(), 0), uses(f32_.size(), 0);
    for (const hyb::Instr *in : *p.instrs()) {
      std::string op = in->op()->str();
      if (backward_.count(in))
        continue;
      for (size_t i = 0; i < in->inputs()->size(); ++i) {
        int id = in->inputs()->Get(i);
        if (id < 0)
          continue;
        id = root(id);
        uses[id]++;
        if ((op == "add_rmsnorm" && i < 2) || (op == "rmsnorm" && i == 0))
          okUses[id]++;
      }
    }
    // Likewise the in_proj output (z, xBC, dt) when only mamba2_core reads it:
    // dt goes through softplus and exp, where bf16 rounding shows.
    std::vector<int> mambaUses(f32_.size(), 0);
    for (const hyb::Instr *in : *p.instrs())
      if (in->op()->str() == "mamba2_core")
        for (size_t i = 0; i + 6 < in->inputs()->size(); ++i)
          if (in->inputs()->Get(i) >= 0)
            mambaUses[root(in->inputs()->Get(i))]++;
    for (const hyb::Instr *in : *p.instrs()) {
      std::string op = in->op()->str();
      bool plainGemm = (op == "linear" && in->inputs()->size() == 2) ||
                       (op == "linear_group" && in->inputs()->size() == 1 + in->outputs()->size());
      if (plainGemm)
        for (int32_t o : *in->outputs())
          if (uses[o] > 0 && uses[o] == mambaUses[o])
            f32_[o] = true;
    }
    // And a branch's last GEMM (a plain linear: out_proj, o_proj, the FFN's
    // down projection) when only the residual add + norm reads it: one bf16
    // rounding fewer per branch, for 2 extra bytes per value.
    for (const hyb::Instr *in : *p.instrs())
      if (in->op()->str() == "linear" && in->inputs()->size() == 2) {
        int o = in->outputs()->Get(0);
        if (uses[o] > 0 && uses[o] == okUses[o])
          f32_[o] = true;
      }
    for (const hyb::Instr *in : *p.instrs())
      if (in->op()->str() == "add_rmsnorm" && in->outputs()->size() == 2) {
        int sum = in->outputs()->Get(0);
        f32_[sum] = uses[sum] == okUses[sum];
      }
    for (const hyb::Instr *in : *p.instrs()) {
      std::string op = in->op()->str();
      bool out = false;
      if (op == "lm_head")
        out = true;
      else if (isUnary(op) && in->inputs()->size() == 1 && in->inputs()->Get(0) >= 0)
        out = f32_[root(in->inputs()->Get(0))];
      if (out)
        for (int32_t o : *in->outputs())
          f32_[o] = true;
    }
    for (const hyb::Instr *in : *p.instrs())
      if (backward_.count(in) || in->op()->str() == "lm_head_loss")
        for (int32_t o : *in->outputs())
          if (o >= 0)
            f32_[root(o)] = true;
  }
  static bool isGrad(const std::string &op) {
    return op.size() > 5 && op.compare(op.size() - 5, 5, ".grad") == 0;
  }
  /// train_step's backward part (gradients, fp32); false for inference.
  bool isBackward(const hyb::Instr &in) const { return backward_.count(&in) != 0; }
  bool training() const { return p_.name() && p_.name()->str() == "train_step"; }
  static bool isUnary(const std::string &op) {
    return op == "silu" || op == "softplus" || op == "relu2" || op == "clamp" || op == "scale" ||
           op == "softplus_clamp";
  }
  int root(int id) const {
    while (val(id)->kind() == hyb::ValueKind::Alias)
      id = val(id)->alias_of();
    return id;
  }
  const hyb::Value *val(int id) const { return p_.values()->Get(id); }
  bool isWeight(int id) const { return id >= 0 && val(root(id))->kind() == hyb::ValueKind::Weight; }
  bool isF32(int id) const { return id >= 0 && f32_[root(id)]; }
  /// The trailing dims (activations) or the weight shape.
  std::vector<int64_t> shape(int id) const {
    const hyb::Value *v = val(id);
    if (isWeight(id)) {
      const auto *w = a_.weights()->Get(val(root(id))->weight())->shape();
      return std::vector<int64_t>(w->begin(), w->end());
    }
    if (!v->trailing())
      return {};
    return std::vector<int64_t>(v->trailing()->begin(), v->trailing()->end());
  }
  int64_t last(int id) const {
    auto s = shape(id);
    return s.empty() ? 1 : s.back();
  }
  int64_t numelTrailing(int id) const {
    int64_t n = 1;
    for (int64_t d : shape(id))
      n *= d;
    return n;
  }

private:
  const hyb::Artifact &a_;
  const hyb::Program &p_;
  std::vector<bool> f32_;
  std::set<const hyb::Instr *> backward_;
};

/// Attribute readers over the FlatBuffers attrs of an instruction.
struct InstrAttrs {
  const hyb::Instr &in;
  const hyb::Attr *find(const char *k) const {
    if (!in.attrs())
      return nullptr;
    for (const hyb::Attr *a : *in.attrs())
      if (a->key()->str() == k)
        return a;
    return nullptr;
  }
  int64_t i(const char *k, int64_t d) const {
    const hyb::Attr *a = find(k);
    return !a ? d : a->kind() == hyb::AttrKind::Float ? (int64_t)a->f() : a->i();
  }
  double f(const char *k, double d) const {
    const hyb::Attr *a = find(k);
    return !a ? d : a->kind() == hyb::AttrKind::Int ? (double)a->i() : a->f();
  }
  std::string str(const char *k) const {
    const hyb::Attr *a = find(k);
    return a && a->s() ? a->s()->str() : "";
  }
  std::vector<double> nums(const char *k) const {
    std::vector<double> out;
    const hyb::Attr *a = find(k);
    if (!a)
      return out;
    if (a->floats())
      for (double v : *a->floats())
        out.push_back(v);
    if (a->ints())
      for (int64_t v : *a->ints())
        out.push_back((double)v);
    return out;
  }
  bool has(const char *k) const { return find(k) != nullptr; }
};

inline int combineMode(const std::string &m) {
  return m == "add" ? 0 : m == "mean" ? 1 : m == "diff" ? 2 : m == "concat" ? 3 : -1;
}

/// train_step's backward ops and the loss (runtime/cuda/CudaTrain.cpp):
/// GEMM gradients go to cuBLASLt (bf16 operand copies of the fp32
/// gradients), the rest to the backward kernels named here.
inline bool trainKernelsFor(const ProgramView &pv, const hyb::Instr &in,
                            std::vector<KernelInst> &out, std::string &why) {
  const std::string op = in.op()->str();
  const std::string base = ProgramView::isGrad(op) ? op.substr(0, op.size() - 5) : op;
  InstrAttrs at{in};
  auto input = [&](size_t i) { return i < in.inputs()->size() ? in.inputs()->Get(i) : -1; };
  auto refuse = [&](const std::string &m) {
    why = "no CUDA backward for op '" + op + "': " + m;
    return false;
  };
  for (int vec : {4, 1}) {
    out.push_back(kn::rowsCast(vec, true));
    out.push_back(kn::rowsCast(vec, false));
    out.push_back(kn::f32Add(vec));
    out.push_back(kn::f32Scale(vec));
  }
  const size_t nOut = in.outputs()->size();
  if (op == "add") {  // gradients of a value used twice
    if (pv.shape(input(0)) != pv.shape(input(1)))
      return refuse("operands of different shapes");
    return true;
  }
  if (op == "scale") {  // a zero gradient (factor 0) or a scaled one
    bool f = pv.isF32(input(0));
    out.push_back(kn::unary(4, f, true));
    return true;
  }
  if (base == "linear") {
    if (in.inputs()->size() > 4 && input(2) >= 0)  // x, w, bias?, y, dy
      return refuse("a bias (not implemented on the GPU yet)");
    return true;
  }
  if (base == "linear_group") {
    // x, w_1..w_n, [b_1..b_n], y_1..y_n, dy_1..dy_n; grads: x, w_i, [b_i].
    size_t n = 0;
    for (size_t i = 1; i < nOut; ++i)
      n += pv.isWeight(input(i)) && pv.shape(input(i)).size() == 2;
    if (nOut != 1 + n)
      return refuse("biases (not implemented on the GPU yet)");
    return true;
  }
  if (base == "linear_sum")
    return true;
  if (base == "rmsnorm" || base == "add_rmsnorm") {
    // rmsnorm: x, w, out, dout; add_rmsnorm: a, b, w, sum, normed, dsum, dnormed.
    const bool add = base == "add_rmsnorm";
    int64_t d = pv.last(input(0));
    if (d > 16384)
      return refuse("row width " + std::to_string(d) + " > 16384");
    out.push_back(kn::rmsnormBwd(d, pv.isF32(input(add ? 3 : 0))));
    out.push_back(kn::rowsColsum());
    return true;
  }
  if (base == "swiglu_linear") {
    if (nOut != 3)
      return refuse("biases (not implemented on the GPU yet)");
    int64_t f = pv.shape(input(1))[0];
    out.push_back(kn::swigluBwd(false, f % 4 == 0 ? 4 : f % 2 == 0 ? 2 : 1));
    return true;
  }
  if (base == "embedding") {
    for (KernelInst &k : kn::embeddingBwd(pv.shape(input(0)).back()))
      out.push_back(k);
    return true;
  }
  if (op == "lm_head_loss" || base == "lm_head_loss") {
    out.push_back(kn::ceRows(pv.shape(input(1))[0]));
    out.push_back(kn::ceGradScale());
    out.push_back(kn::ceLossMean());
    return true;
  }
  if (base == "branch_combine") {
    int64_t da = pv.last(input(0)), db = pv.last(input(1));
    bool group = at.str("norm") == "group";
    int mode = combineMode(at.str("mode"));
    if (mode < 0 || (mode != 3 && da != db) || da + db > 12288 || pv.isF32(input(0)) ||
        pv.isF32(input(1)))
      return refuse("mode '" + at.str("mode") + "' on widths " + std::to_string(da) + ", " +
                    std::to_string(db));
    out.push_back(kn::branchCombineBwd(da, db, group ? at.i("groups_a", 1) : 0,
                                       group ? at.i("groups_b", 1) : 0, mode));
    out.push_back(kn::rowsColsum());
    return true;
  }
  if (base == "rope_attention") {  // q, k, v, o, do -> dq, dk, dv
    auto q = pv.shape(input(0));
    if (q.size() != 2)
      return refuse("q must be [B, L, heads, head_dim]");
    int64_t dh = q[1];
    if (dh % 16 || dh > 128)
      return refuse("head dim " + std::to_string(dh) +
                    " (the backward needs the tensor-core forward's log-sum-exp: a multiple of "
                    "16, <= 128)");
    std::string st = at.str("scaling.type");
    if (!st.empty() && st != "linear" && st != "llama3")
      return refuse("rope scaling '" + st + "'");
    out.push_back(kn::rope(dh));
    out.push_back(kn::attnPrefill(dh));
    for (KernelInst &k : kn::attnBwd(dh))
      out.push_back(k);
    return true;
  }
  if (base == "mamba2_core") {
    // Forward operands: parts (zxbcdt, or z, xBC, dt), conv weight, conv bias,
    // dt_bias, A_log, D, norm weight; the same checks as the forward's.
    const size_t nParts = nOut - 6;
    int64_t n = at.i("state", 0), hp = at.i("head_dim", 0), heads = at.i("heads", 0);
    int64_t inner = heads * hp, ng = at.i("norm_groups", 1);
    int64_t k = pv.shape(input(nParts)).back();
    if (input(nParts + 5) < 0)
      return refuse("mamba2_core without a norm weight");
    if (!kn::ssdChunkSupports(n, hp))
      return refuse("state and head dim must be multiples of 16 (the chunked scan)");
    if (k < 1 || k > 8 || ng <= 0 || inner % ng || inner > 12288)
      return refuse("conv width " + std::to_string(k) + ", gated norm width " +
                    std::to_string(inner));
    bool zf = pv.isF32(input(0)), xf = pv.isF32(input(nParts == 1 ? 0 : 1)),
         df = pv.isF32(input(nParts == 1 ? 0 : 2));
    out.push_back(kn::convPrefill(k, true, xf));
    out.push_back(kn::conv(k, 1, true, xf));
    out.push_back(kn::dtForward(df));
    out.push_back(kn::ssdChunkTrain(n, kn::ssdChunkSliceWide(hp)));
    out.push_back(kn::ssdChunkTrain(n, 16));
    out.push_back(kn::gatedNormBwd(inner, ng, at.i("norm_before_gate", 0) != 0, zf));
    if (kn::ssdChunkBwdFast(n, hp))
      for (KernelInst &k : kn::ssdChunkBwd(n, hp))
        out.push_back(k);
    else
      out.push_back(kn::ssdChunkBwdSimple(n, hp));
    out.push_back(kn::dtBwd(df));
    for (int v : {1, 2, 4})
      out.push_back(kn::convSiluBwd(k, v, xf));
    out.push_back(kn::colReduce(1));
    out.push_back(kn::colReduce(4));
    return true;
  }
  return refuse("not registered in codegen/KernelPlan.h");
}

/// The kernels `in` launches; false (with `why` naming the op and the shape
/// it refuses) when the CUDA executor has no kernel for it.
inline bool kernelsFor(const ProgramView &pv, const hyb::Instr &in, std::vector<KernelInst> &out,
                       std::string &why) {
  const std::string op = in.op()->str();
  InstrAttrs at{in};
  auto input = [&](size_t i) { return i < in.inputs()->size() ? in.inputs()->Get(i) : -1; };
  auto refuse = [&](const std::string &m) {
    why = "no CUDA kernel for op '" + op + "': " + m;
    return false;
  };
  auto f32In = [&]() {
    for (int32_t id : *in.inputs())
      if (pv.isF32(id))
        return true;
    return false;
  };
  if (pv.isBackward(in) || op == "lm_head_loss")
    return trainKernelsFor(pv, in, out, why);
  if (op != "scale" && op != "clamp" && op != "silu" && op != "softplus" && op != "relu2" &&
      op != "softplus_clamp" && op != "rmsnorm" && op != "add_rmsnorm" && op != "mamba2_core" &&
      f32In())
    return refuse("reads an fp32 value (logits); only element-wise ops may follow lm_head");
  if (op == "linear" || op == "lm_head" || op == "linear_group" || op == "linear_sum" ||
      op == "fused_linear") {
    if (op == "lm_head" && at.has("scale"))
      return refuse("lm_head with a scale attribute");
    for (bool t1 : {false, true}) {  // GEMM outputs are bf16 or fp32 (ProgramView)
      out.push_back(kn::gemv(false, false, t1));
      out.push_back(kn::gemv(true, false, t1));
    }
    if (op == "fused_linear" && in.inputs()->size() > 2)
      out.push_back(kn::bias());
    if ((op == "linear" && in.inputs()->size() == 3 && input(2) >= 0) ||
        (op == "linear_group" && in.inputs()->size() == 1 + 2 * in.outputs()->size()))
      out.push_back(kn::bias());
    return true;  // GEMMs: cuBLASLt
  }
  if (op == "swiglu_linear") {
    out.push_back(kn::gemv(false, true));
    out.push_back(kn::gemv(false, true, true));
    out.push_back(kn::swiglu());
    return true;
  }
  if (op == "embedding") {
    int64_t d = pv.shape(input(0)).back();
    if (d % 2)
      return refuse("embedding width " + std::to_string(d) + " is odd");
    out.push_back(kn::embedding(d));
    return true;
  }
  if (op == "rmsnorm" || op == "add_rmsnorm") {
    int64_t d = pv.last(input(0));
    if (d > 16384)
      return refuse("row width " + std::to_string(d) + " > 16384");
    bool add = op == "add_rmsnorm";
    out.push_back(kn::rmsnorm(d, add, pv.isF32(input(0)), add && pv.isF32(input(1)),
                              add && pv.isF32(in.outputs()->Get(0))));
    return true;
  }
  if (op == "group_norm" || op == "gated_rmsnorm") {
    int64_t d = pv.last(input(0)), g = at.i("groups", 1);
    if (d > 12288 || g <= 0 || d % g)
      return refuse("width " + std::to_string(d) + " with " + std::to_string(g) +
                    " groups (needs groups | width <= 12288)");
    bool gated = op == "gated_rmsnorm";
    out.push_back(kn::groupnorm(d, g, gated, gated && at.i("norm_before_gate", 0) != 0, false));
    return true;
  }
  if (op == "branch_combine") {
    int64_t da = pv.last(input(0)), db = pv.last(input(1));
    bool group = at.str("norm") == "group";
    int mode = combineMode(at.str("mode"));
    if (mode < 0 || (mode != 3 && da != db) || da + db > 12288)
      return refuse("mode '" + at.str("mode") + "' on widths " + std::to_string(da) + ", " +
                    std::to_string(db));
    int64_t ga = group ? at.i("groups_a", 1) : 0, gb = group ? at.i("groups_b", 1) : 0;
    if ((ga && da % ga) || (gb && db % gb))
      return refuse("groups do not divide the branch widths");
    out.push_back(kn::branchCombine(da, db, ga, gb, mode));
    return true;
  }
  if (op == "silu" || op == "softplus" || op == "relu2" || op == "clamp" || op == "scale") {
    int code = op == "silu" ? 0 : op == "softplus" ? 1 : op == "relu2" ? 2 : op == "clamp" ? 3 : 4;
    bool f = pv.isF32(input(0));
    out.push_back(kn::unary(code, f, f));
    return true;
  }
  if (op == "softplus_clamp") {
    bool f = pv.isF32(input(0));
    out.push_back(kn::unary(1, f, f));
    out.push_back(kn::unary(3, f, f));
    return true;
  }
  if (op == "add" || op == "mul") {
    auto l = pv.shape(input(0)), r = pv.shape(input(1));
    bool w = pv.isWeight(input(1));
    bool ok = w ? r.size() <= l.size() && std::equal(r.begin(), r.end(), l.end() - r.size())
                : r == l;
    if (pv.numelTrailing(input(1)) == 1 && w)
      ok = true;
    if (!ok || pv.isWeight(input(0)))
      return refuse("only rhs equal to lhs or a weight equal to lhs's trailing dims broadcasts");
    out.push_back(kn::binary(op == "mul", w));
    return true;
  }
  if (op == "swiglu") {
    out.push_back(kn::swiglu());
    return true;
  }
  if (op == "combine" || op == "split") {
    if (op == "combine" && combineMode(at.str("mode")) < 0)
      return refuse("unknown mode '" + at.str("mode") + "'");
    out.push_back(kn::cols());
    return true;
  }
  if (op == "conv1d_causal") {
    int64_t k = pv.shape(input(1)).back();
    if (k < 1 || k > 8)
      return refuse("conv width " + std::to_string(k) + " (1..8)");
    for (int m = 0; m < 3; ++m)
      out.push_back(kn::conv(k, m, false));
    out.push_back(kn::convPrefill(k, false, false));
    return true;
  }
  if (op == "ssd_scan") {
    int64_t n = pv.shape(input(3)).back();
    if (n % 4 || n > 256)
      return refuse("state size " + std::to_string(n) + " (multiple of 4, <= 256)");
    out.push_back(kn::scan(n, kn::scanSplit(n, false), false));
    out.push_back(kn::scan(n, kn::scanSplit(n, true), false));
    int64_t p = pv.shape(input(0)).back();
    if (kn::ssdChunkSupports(n, p)) {
      out.push_back(kn::ssdChunk(n, kn::ssdChunkSliceWide(p), false, false));
      out.push_back(kn::ssdChunk(n, 16, false, false));
    }
    return true;
  }
  if (op == "mamba2_core") {
    int64_t n = at.i("state", 0), heads = at.i("heads", 0), hp = at.i("head_dim", 0);
    int64_t inner = heads * hp, ng = at.i("norm_groups", 1);
    size_t nParts = in.inputs()->size() - 6;
    if (nParts != 1 && nParts != 3)
      return refuse("needs 1 or 3 input parts");
    int64_t k = pv.shape(input(nParts)).back();
    if (n % 4 || n > 256 || k < 1 || k > 8)
      return refuse("state " + std::to_string(n) + ", conv width " + std::to_string(k));
    if (input(nParts + 5) < 0)
      return refuse("mamba2_core without a norm weight");
    if (ng <= 0 || inner % ng || inner > 12288)
      return refuse("gated norm of width " + std::to_string(inner));
    if (in.cache() < 0 && !pv.training())
      return refuse("mamba2_core without a cache slot");
    if (pv.training() && !kn::ssdChunkSupports(n, hp))
      return refuse("training needs the chunked scan: state and head dim multiples of 16");
    // Parts: zxbcdt, or z, xBC, dt; each bf16 or fp32 (ProgramView).
    bool zf = pv.isF32(input(0)), xf = pv.isF32(input(nParts == 1 ? 0 : 1)),
         df = pv.isF32(input(nParts == 1 ? 0 : 2));
    for (int m = 0; m < 3; ++m)
      out.push_back(kn::conv(k, m, true, xf));
    out.push_back(kn::convPrefill(k, true, xf));
    out.push_back(kn::scan(n, kn::scanSplit(n, false), true, df));
    out.push_back(kn::scan(n, kn::scanSplit(n, true), true, df));
    if (kn::ssdChunkSupports(n, hp)) {
      out.push_back(kn::ssdChunk(n, kn::ssdChunkSliceWide(hp), true, df));
      out.push_back(kn::ssdChunk(n, 16, true, df));
    }
    out.push_back(kn::groupnorm(inner, ng, true, at.i("norm_before_gate", 0) != 0, true, zf));
    return true;
  }
  if (op == "rope" || op == "rope_attention" || op == "attention") {
    auto q = pv.shape(input(0));
    if (q.size() != 2)
      return refuse("q must be [B, L, heads, head_dim]");
    int64_t dh = q[1];
    if (dh % 8 || dh > 256)
      return refuse("head dim " + std::to_string(dh) + " (multiple of 8, <= 256)");
    std::string st = at.str("scaling.type");
    if (!st.empty() && st != "linear" && st != "llama3")
      return refuse("rope scaling '" + st + "'");
    out.push_back(kn::rope(dh));
    if (op != "rope") {
      if (in.cache() < 0 && !pv.training())
        return refuse("attention without a KV cache slot");
      out.push_back(kn::attnDecode(dh));
      out.push_back(kn::attnPrefill(dh));
    }
    return true;
  }
  return refuse("not registered in codegen/KernelPlan.h");
}

/// Every kernel of every program, by name (the emitter's work list).
inline bool planArtifact(const hyb::Artifact &a, std::map<std::string, KernelInst> &kernels,
                         std::string &why) {
  for (const hyb::Program *p : *a.programs()) {
    ProgramView pv(a, *p);
    for (const hyb::Instr *in : *p->instrs()) {
      std::vector<KernelInst> ks;
      if (!kernelsFor(pv, *in, ks, why)) {
        why += " (program '" + p->name()->str() + "')";
        return false;
      }
      for (KernelInst &k : ks)
        kernels.emplace(k.name, k);
    }
    if (pv.training())
      for (KernelInst &k : kn::optimizer())
        kernels.emplace(k.name, k);
  }
  return true;
}

} // namespace hybrid::codegen

#endif // HYBRID_CODEGEN_KERNELPLAN_H
