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

#endif // HYBRID_PASSES
