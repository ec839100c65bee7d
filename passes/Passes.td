//===- Passes.td - hybrid passes ---------------------------*- tablegen -*-===//
#ifndef HYBRID_PASSES
#define HYBRID_PASSES

include "mlir/Pass/PassBase.td"

def HybridExpand : Pass<"hybrid-expand", "::mlir::ModuleOp"> {
  let summary = "Unroll hybrid.pattern repeats into plain hybrid.block ops";
  let description = [{
    Each `hybrid.pattern "MMA" x N` becomes N x len(pattern) blocks, each a
    copy of the template its letter names, without the label.
  }];
  let dependentDialects = ["::mlir::hybrid::HybridDialect"];
}

def HybridDecompose : Pass<"hybrid-decompose", "::mlir::ModuleOp"> {
  let summary = "Lower each hybrid.model to a tensor-level forward function";
  let description = [{
    Replaces `hybrid.model @m` with `func.func @m(%ids: tensor<?x?xi32>) ->
    tensor<?x?xVxf32>` computing the logits with tensor-level ops, exactly as
    the reference implementations do: Llama blocks (pre-RMSNorm, RoPE, GQA,
    SwiGLU), the Mamba-2 mixer of mamba_ssm (in_proj -> z, xBC, dt; causal
    conv1d + SiLU; softplus(dt + dt_bias) clamped to the dt limits; chunked SSD
    with D skip; gated RMSNorm; out_proj), parallel blocks per their fuse spec
    and muP multipliers (Falcon-H1), ReLU^2 MLPs and RoPE-free attention
    (Nemotron-H). Weights appear as `hybrid.param` ops named as in the weight
    table (compiler/Weights.h). Patterns must be expanded and `auto` resolved
    first.
  }];
  let dependentDialects = ["::mlir::hybrid::HybridDialect",
                           "::mlir::func::FuncDialect"];
}

def HybridSelectLayout : Pass<"hybrid-select-layout", "::mlir::ModuleOp"> {
  let summary = "Resolve hybrid.auto into concrete blocks by recipe and cost model";
  let description = [{
    Replaces each `hybrid.auto` with unlabelled copies of its templates: an
    inter-layer stack (attention "A" among Mamba "M") or an intra-layer one
    (parallel "P" among "M"). Counts come from `attention_fraction` or the
    objective's recipe (quality 1:1, throughput / memory 1:5; intra 1:5);
    attention never goes first and is spread evenly. With `layout = any` the
    objective picks the family (quality: intra-layer when a "P" template
    exists; throughput: fewest forward FLOPs/token at `context_length`;
    memory: smallest cache for `batch` x `context_length`). A `cache_budget`
    drops attention blocks until the cache fits, or fails. The choice is
    explained as a remark on the auto op.
  }];
  let dependentDialects = ["::mlir::hybrid::HybridDialect"];
}

//===----------------------------------------------------------------------===//
// Fusions (passes/HybridFuse*.cpp; patterns in passes/FusionPatterns.h)
//===----------------------------------------------------------------------===//

def HybridFuseRopeAttention : Pass<"hybrid-fuse-rope-attention", "::mlir::ModuleOp"> {
  let summary = "Fuse rope(q), rope(k) + attention into hybrid.rope_attention";
  let description = [{
    `attention(rope(q), rope(k), v)` becomes `rope_attention(q, k, v)` when
    both ropes carry the same theta, scaling and rotary_dim and feed only the
    attention. RoPE-free attention stays `hybrid.attention`.
  }];
  let dependentDialects = ["::mlir::hybrid::HybridDialect"];
}

def HybridFuseMamba : Pass<"hybrid-fuse-mamba", "::mlir::ModuleOp"> {
  let summary = "Fuse the Mamba-2 mixer core into hybrid.mamba2_core";
  let description = [{
    conv1d_causal + silu + split(x|B|C) + reshapes + add(dt_bias) + softplus
    (+ clamp) + ssd_scan (+ D) + reshape + gated_rmsnorm (or y * silu(z))
    becomes one `mamba2_core` reading the in_proj output (when z, xBC and dt
    are the three results of one split of it) or the three pieces (Falcon-H1,
    whose segment multipliers stay in front as scale/combine ops). Every
    intermediate must have no other user.
  }];
  let dependentDialects = ["::mlir::hybrid::HybridDialect"];
}

def HybridFuseParallel : Pass<"hybrid-fuse-parallel", "::mlir::ModuleOp"> {
  let summary = "One GEMM for the projections of a shared input; fused branch combine";
  let description = [{
    All `hybrid.linear` ops reading one value (directly or through a
    `hybrid.scale`, then bias-free) become one `linear_group` (q, k, v and the
    Mamba in_proj of a parallel block; q, k, v of plain attention); scales
    after a projection fold into the group's `scales`. Projections feeding a
    swiglu are left to --hybrid-fuse-epilogues. Separate out projections
    whose scaled results are combined by add/diff/mean become one
    `linear_sum`; branch norms + multipliers + combine become one
    `branch_combine`.
  }];
  let dependentDialects = ["::mlir::hybrid::HybridDialect"];
}

def HybridFuseAddRMSNorm : Pass<"hybrid-fuse-add-rmsnorm", "::mlir::ModuleOp"> {
  let summary = "Fuse a residual add and the RMSNorm of the sum into hybrid.add_rmsnorm";
  let description = [{
    `rmsnorm(add(a, b))` with a and b of the same shape becomes
    `add_rmsnorm(a, b)` with two results: the sum (the residual stream, for
    the add's other users) and the normed sum.
  }];
  let dependentDialects = ["::mlir::hybrid::HybridDialect"];
}

def HybridFuseEpilogues : Pass<"hybrid-fuse-epilogues", "::mlir::ModuleOp"> {
  let summary = "Fold scales and residual adds into GEMMs; swiglu(linear, linear) into one op";
  let description = [{
    `scale(linear(x))` and `add(r, linear(x))` (same shapes) become
    `fused_linear` with a `scale` and a `residual`; `swiglu(scale?(linear(x,
    Wg)), linear(x, Wu))` becomes `swiglu_linear(x, Wg, Wu)`.
  }];
  let dependentDialects = ["::mlir::hybrid::HybridDialect"];
}

def HybridAutodiff : Pass<"hybrid-autodiff", "::mlir::ModuleOp"> {
  let summary = "Build the train_step function: forward, loss, backward";
  let description = [{
    For each tensor-level forward function `@m` (attribute `hybrid.model`),
    adds `@m_train_step(%ids, %labels) -> (loss, gradients...)`: the forward
    ops, the mean next-token cross entropy of the logits against `%labels`,
    and the backward: one `hybrid.vjp` per forward op that the loss depends
    on (the LM head and the loss as one chunked `hybrid.lm_head_loss`), in reverse order, with `hybrid.add` summing the contributions of
    values used several times (tied embeddings included) and reshapes undone
    by reshapes. The results after the loss are the gradients of the weights,
    named in `hybrid.grad_names`. Recompute policy: with `memory-budget` > 0
    (bytes per token of forward activations kept for the backward), the
    element-wise ops with the largest outputs are recomputed in the backward
    instead of kept, until the saved bytes fit; a remark reports the result.
  }];
  let options = [
    Option<"memoryBudget", "memory-budget", "int64_t", "0",
           "Bytes per token of saved activations (0: keep every activation)">,
    Option<"chunkedLoss", "chunked-loss", "bool", "true",
           "Fuse the LM head with the loss, computed in chunks of tokens, so that the "
           "[tokens, vocab] logits never exist whole">,
    Option<"lossChunk", "loss-chunk", "int64_t", "1024",
           "Tokens per chunk of the fused LM head + loss">
  ];
  let dependentDialects = ["::mlir::hybrid::HybridDialect", "::mlir::func::FuncDialect"];
}

#endif // HYBRID_PASSES
