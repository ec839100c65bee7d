//===- HybridOps.td - Ops of the hybrid dialect ------------*- tablegen -*-===//
#ifndef HYBRID_OPS
#define HYBRID_OPS

include "dialects/hybrid/HybridDialect.td"
include "dialects/hybrid/HybridAttrs.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/IR/RegionKindInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

//===----------------------------------------------------------------------===//
// Architecture level
//===----------------------------------------------------------------------===//

def Hybrid_ModelOp : Hybrid_Op<"model", [
    Symbol, SymbolTable, NoTerminator, SingleBlock, NoRegionArguments,
    IsolatedFromAbove, RegionKindInterface]> {
  let summary = "a language model: embedding, blocks, final norm, LM head";
  let description = [{
    The body lists the model's blocks in order: `hybrid.block`,
    `hybrid.pattern` (a compact repeat, unrolled by `--hybrid-expand`) or one
    `hybrid.auto` (resolved by `--hybrid-select-layout`).

    ```mlir
    hybrid.model @tiny attributes {vocab = 256 : i64, d_model = 64 : i64,
                                   norm_eps = 1.0e-05 : f64, tie_embeddings} {
      hybrid.block mixer(#hybrid.mamba2<heads = 4, head_dim = 32, state = 16>)
      hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>)
                   ffn(#hybrid.ffn<kind = swiglu, hidden = 128>)
    }
    ```
  }];
  let arguments = (ins
    SymbolNameAttr:$sym_name,
    ConfinedAttr<I64Attr, [IntPositive]>:$vocab,
    ConfinedAttr<I64Attr, [IntPositive]>:$d_model,
    DefaultValuedAttr<F64Attr, "1.0e-5">:$norm_eps,
    UnitAttr:$tie_embeddings,
    OptionalAttr<StrAttr>:$family,
    OptionalAttr<I64Attr>:$max_position,
    OptionalAttr<Hybrid_MultipliersAttr>:$multipliers);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$sym_name attr-dict-with-keyword $body";
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    static ::mlir::RegionKind getRegionKind(unsigned) {
      return ::mlir::RegionKind::Graph;
    }
  }];
}

def Hybrid_BlockOp : Hybrid_Op<"block"> {
  let summary = "one layer: a sequence mixer and/or an FFN, each pre-normed";
  let description = [{
    A Llama-style block has both: `x += mixer(norm(x)); x += ffn(norm(x))`.
    A block with only one of them (Mamba-2 layers, Nemotron-H's MLP layers)
    has one norm and one residual. Inside a `hybrid.pattern` or
    `hybrid.auto`, the leading string labels the block as a template.

    ```mlir
    hybrid.block mixer(#hybrid.attention<heads = 8, kv_heads = 2, head_dim = 64>)
                 ffn(#hybrid.ffn<kind = swiglu, hidden = 1408>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 16, head_dim = 64, state = 128>)
    ```
  }];
  let arguments = (ins
    OptionalAttr<StrAttr>:$label,
    OptionalAttr<Hybrid_MixerAttr>:$mixer,
    OptionalAttr<Hybrid_FfnAttr>:$ffn);
  let assemblyFormat = [{
    ($label^)? (`mixer` `(` $mixer^ `)`)? (`ffn` `(` $ffn^ `)`)? attr-dict
  }];
  let hasVerifier = 1;
}

def Hybrid_PatternOp : Hybrid_Op<"pattern", [
    NoTerminator, SingleBlock, NoRegionArguments]> {
  let summary = "a repeated layer pattern, e.g. \"MMMMMA\" x 4";
  let description = [{
    Each character of `pattern` names a labelled template block of the body;
    the pattern is repeated `count` times. `--hybrid-expand` unrolls it.

    ```mlir
    hybrid.pattern "MMMMMA" x 4 {
      hybrid.block "M" mixer(#hybrid.mamba2<heads = 32, head_dim = 64, state = 128>)
      hybrid.block "A" mixer(#hybrid.attention<heads = 16, kv_heads = 4, head_dim = 64>)
                       ffn(#hybrid.ffn<kind = swiglu, hidden = 2816>)
    }
    ```
  }];
  let arguments = (ins StrAttr:$pattern, ConfinedAttr<I64Attr, [IntPositive]>:$count);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$pattern `x` $count attr-dict-with-keyword $body";
  let hasRegionVerifier = 1;
}

def Hybrid_AutoOp : Hybrid_Op<"auto", [
    NoTerminator, SingleBlock, NoRegionArguments]> {
  let summary = "layout-agnostic stack, resolved by --hybrid-select-layout";
  let description = [{
    Names the layer budget, the wanted attention fraction and an objective;
    the body holds the templates: an attention block "A", a Mamba block "M"
    and optionally a parallel block "P" (intra-layer candidates need it).
    `--hybrid-select-layout` replaces the op with concrete blocks and explains
    its choice as a remark.

    ```mlir
    hybrid.auto layers 24 {attention_fraction = 0.25 : f64, objective = throughput,
                           context_length = 8192 : i64, batch = 1 : i64} {
      hybrid.block "A" mixer(#hybrid.attention<heads = 16, kv_heads = 4, head_dim = 64>)
                       ffn(#hybrid.ffn<kind = swiglu, hidden = 2816>)
      hybrid.block "M" mixer(#hybrid.mamba2<heads = 32, head_dim = 64, state = 128>)
    }
    ```
  }];
  let arguments = (ins
    ConfinedAttr<I64Attr, [IntPositive]>:$layers,
    DefaultValuedAttr<F64Attr, "0.0">:$attention_fraction,
    DefaultValuedAttr<Hybrid_ObjectiveAttr, "::mlir::hybrid::Objective::quality">:$objective,
    DefaultValuedAttr<Hybrid_LayoutAttr, "::mlir::hybrid::Layout::any">:$layout,
    DefaultValuedAttr<I64Attr, "8192">:$context_length,
    DefaultValuedAttr<I64Attr, "1">:$batch,
    DefaultValuedAttr<I64Attr, "0">:$cache_budget);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "`layers` $layers attr-dict-with-keyword $body";
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Tensor level
//===----------------------------------------------------------------------===//

def Hybrid_FloatTensor : RankedTensorOf<[AnyFloat]>;
def Hybrid_IdTensor : RankedTensorOf<[AnySignlessInteger]>;

class Hybrid_TensorOp<string mnemonic, list<Trait> traits = []>
    : Hybrid_Op<mnemonic, !listconcat(traits, [Pure])> {
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Hybrid_ParamOp : Hybrid_TensorOp<"param"> {
  let summary = "a weight of the model, by name";
  let description = [{
    ```mlir
    %w = hybrid.param "layers.0.attn.q" : tensor<2048x2048xf32>
    ```
  }];
  let arguments = (ins StrAttr:$name);
  let results = (outs Hybrid_FloatTensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
}

def Hybrid_EmbeddingOp : Hybrid_TensorOp<"embedding"> {
  let summary = "row gather: out[b, l] = table[ids[b, l]]";
  let description = [{
    ```mlir
    %h = hybrid.embedding %table, %ids : (tensor<256x64xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
    ```
  }];
  let arguments = (ins Hybrid_FloatTensor:$table, Hybrid_IdTensor:$ids);
  let results = (outs Hybrid_FloatTensor:$result);
  let hasVerifier = 1;
}

def Hybrid_RMSNormOp : Hybrid_TensorOp<"rmsnorm"> {
  let summary = "x / rms(x) * weight over the last dim";
  let description = [{
    ```mlir
    %n = hybrid.rmsnorm %x, %w {eps = 1.0e-05 : f64} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    ```
  }];
  let arguments = (ins Hybrid_FloatTensor:$input, Hybrid_FloatTensor:$weight, F64Attr:$eps);
  let results = (outs Hybrid_FloatTensor:$result);
  let hasVerifier = 1;
}

def Hybrid_GroupNormOp : Hybrid_TensorOp<"group_norm"> {
  let summary = "mean/variance normalisation in `groups` groups of the last dim, times weight";
  let description = [{
    ```mlir
    %n = hybrid.group_norm %x, %w {groups = 8 : i64, eps = 1.0e-05 : f64} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    ```
  }];
  let arguments = (ins Hybrid_FloatTensor:$input, Hybrid_FloatTensor:$weight,
                       ConfinedAttr<I64Attr, [IntPositive]>:$groups, F64Attr:$eps);
  let results = (outs Hybrid_FloatTensor:$result);
  let hasVerifier = 1;
}

def Hybrid_GatedRMSNormOp : Hybrid_TensorOp<"gated_rmsnorm"> {
  let summary = "Mamba-2 output norm: rmsnorm_per_group(y * silu(z)) * weight";
  let description = [{
    With `norm_before_gate`, computes rmsnorm_per_group(y) * weight * silu(z).

    ```mlir
    %o = hybrid.gated_rmsnorm %y, %z, %w {groups = 1 : i64, eps = 1.0e-05 : f64}
        : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    ```
  }];
  let arguments = (ins Hybrid_FloatTensor:$input, Hybrid_FloatTensor:$gate,
                       Hybrid_FloatTensor:$weight,
                       ConfinedAttr<I64Attr, [IntPositive]>:$groups, F64Attr:$eps,
                       UnitAttr:$norm_before_gate);
  let results = (outs Hybrid_FloatTensor:$result);
  let hasVerifier = 1;
}

def Hybrid_LinearOp : Hybrid_TensorOp<"linear"> {
  let summary = "x @ weight^T (+ bias); weight is [out, in] as in PyTorch";
  let description = [{
    ```mlir
    %y = hybrid.linear %x, %w : (tensor<?x?x64xf32>, tensor<128x64xf32>) -> tensor<?x?x128xf32>
    ```
  }];
  let arguments = (ins Hybrid_FloatTensor:$input, Hybrid_FloatTensor:$weight,
                       Optional<Hybrid_FloatTensor>:$bias);
  let results = (outs Hybrid_FloatTensor:$result);
  let hasVerifier = 1;
}

def Hybrid_Conv1dCausalOp : Hybrid_TensorOp<"conv1d_causal"> {
  let summary = "depthwise causal conv over the sequence: x [B, L, C], weight [C, 1, K]";
  let description = [{
    out[b, l, c] = bias[c] + sum_k weight[c, 0, k] * x[b, l - K + 1 + k, c],
    with x zero before the start of the sequence.

    ```mlir
    %c = hybrid.conv1d_causal %x, %w, %b : (tensor<?x?x96xf32>, tensor<96x1x4xf32>, tensor<96xf32>) -> tensor<?x?x96xf32>
    ```
  }];
  let arguments = (ins Hybrid_FloatTensor:$input, Hybrid_FloatTensor:$weight,
                       Optional<Hybrid_FloatTensor>:$bias);
  let results = (outs Hybrid_FloatTensor:$result);
  let hasVerifier = 1;
}

def Hybrid_SSDScanOp : Hybrid_TensorOp<"ssd_scan"> {
  let summary = "Mamba-2 state-space scan (SSD), computed in chunks";
  let description = [{
    x [B, L, H, P], dt [B, L, H] (after softplus), A_log [H] (A = -exp(A_log)),
    Bm and Cm [B, L, G, N] with G dividing H; optional D [H] adds D * x.
    h_t = exp(dt_t A) h_{t-1} + dt_t x_t B_t^T;  y_t = C_t h_t (+ D x_t).
    `chunk` is the block length of the chunked algorithm; the result does not
    depend on it.

    ```mlir
    %y = hybrid.ssd_scan %x, %dt, %alog, %bm, %cm, %d {chunk = 256 : i64}
        : (tensor<?x?x4x32xf32>, tensor<?x?x4xf32>, tensor<4xf32>, tensor<?x?x1x16xf32>,
           tensor<?x?x1x16xf32>, tensor<4xf32>) -> tensor<?x?x4x32xf32>
    ```
  }];
  let arguments = (ins Hybrid_FloatTensor:$x, Hybrid_FloatTensor:$dt,
                       Hybrid_FloatTensor:$a_log, Hybrid_FloatTensor:$b,
                       Hybrid_FloatTensor:$c, Optional<Hybrid_FloatTensor>:$d,
                       ConfinedAttr<I64Attr, [IntPositive]>:$chunk);
  let results = (outs Hybrid_FloatTensor:$result);
  let hasVerifier = 1;
}

def Hybrid_RopeOp : Hybrid_TensorOp<"rope"> {
  let summary = "rotary position embedding on [B, L, H, D] (half-split pairs)";
  let description = [{
    Rotates pairs (i, i + D/2) by position * inv_freq[i], inv_freq[i] =
    theta^(-2i/D), rescaled by `scaling` when present. Positions start at the
    cache offset of the program (0 for a prefill). With `rotary_dim` > 0
    only the first `rotary_dim` channels rotate (pairs (i, i + rotary_dim/2)).

    ```mlir
    %q2 = hybrid.rope %q {theta = 10000.0 : f64} : (tensor<?x?x4x16xf32>) -> tensor<?x?x4x16xf32>
    ```
  }];
  let arguments = (ins Hybrid_FloatTensor:$input, F64Attr:$theta,
                       OptionalAttr<Hybrid_RopeScalingAttr>:$scaling,
                       DefaultValuedAttr<I64Attr, "0">:$rotary_dim);
  let results = (outs Hybrid_FloatTensor:$result);
  let hasVerifier = 1;
}

def Hybrid_AttentionOp : Hybrid_TensorOp<"attention"> {
  let summary = "causal scaled dot-product attention with GQA";
  let description = [{
    q [B, L, Hq, D], k and v [B, L, Hkv, D] with Hkv dividing Hq; `window` > 0
    keeps only the last `window` keys of each query. `scale` defaults to
    1/sqrt(D) when absent.

    ```mlir
    %o = hybrid.attention %q, %k, %v {window = 0 : i64}
        : (tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>) -> tensor<?x?x4x16xf32>
    ```
  }];
  let arguments = (ins Hybrid_FloatTensor:$q, Hybrid_FloatTensor:$k, Hybrid_FloatTensor:$v,
                       DefaultValuedAttr<I64Attr, "0">:$window,
                       OptionalAttr<F64Attr>:$scale);
  let results = (outs Hybrid_FloatTensor:$result);
  let hasVerifier = 1;
}

class Hybrid_UnaryOp<string mnemonic, string what>
    : Hybrid_TensorOp<mnemonic, [SameOperandsAndResultType]> {
  let summary = what;
  let description = "Element-wise; same type in and out.";
  let arguments = (ins Hybrid_FloatTensor:$input);
  let results = (outs Hybrid_FloatTensor:$result);
}
def Hybrid_SiluOp : Hybrid_UnaryOp<"silu", "x * sigmoid(x), element-wise">;
def Hybrid_SoftplusOp : Hybrid_UnaryOp<"softplus", "log(1 + exp(x)), element-wise">;
def Hybrid_Relu2Op : Hybrid_UnaryOp<"relu2", "max(x, 0)^2, element-wise">;

def Hybrid_ClampOp : Hybrid_TensorOp<"clamp", [SameOperandsAndResultType]> {
  let summary = "min(max(x, min), max), element-wise";
  let description = "Clamps dt to the Mamba-2 dt limits.";
  let arguments = (ins Hybrid_FloatTensor:$input, F64Attr:$min, F64Attr:$max);
  let results = (outs Hybrid_FloatTensor:$result);
}

def Hybrid_ScaleOp : Hybrid_TensorOp<"scale", [SameOperandsAndResultType]> {
  let summary = "x * factor for a compile-time scalar factor (multipliers)";
  let description = "Carries the muP multipliers of Falcon-H1-like models.";
  let arguments = (ins Hybrid_FloatTensor:$input, F64Attr:$factor);
  let results = (outs Hybrid_FloatTensor:$result);
}

class Hybrid_BinaryOp<string mnemonic, string what> : Hybrid_TensorOp<mnemonic> {
  let summary = what;
  let description = [{
    `rhs` broadcasts against the trailing dims of `lhs` (dims of `rhs` equal
    those of `lhs` or are 1); the result has the type of `lhs`.
  }];
  let arguments = (ins Hybrid_FloatTensor:$lhs, Hybrid_FloatTensor:$rhs);
  let results = (outs Hybrid_FloatTensor:$result);
  let hasVerifier = 1;
}
def Hybrid_AddOp : Hybrid_BinaryOp<"add", "lhs + rhs, element-wise with trailing broadcast">;
def Hybrid_MulOp : Hybrid_BinaryOp<"mul", "lhs * rhs, element-wise with trailing broadcast">;

def Hybrid_SwigluOp : Hybrid_TensorOp<"swiglu", [SameOperandsAndResultType]> {
  let summary = "silu(gate) * up, element-wise";
  let description = [{
    ```mlir
    %h = hybrid.swiglu %g, %u : (tensor<?x?x128xf32>, tensor<?x?x128xf32>) -> tensor<?x?x128xf32>
    ```
  }];
  let arguments = (ins Hybrid_FloatTensor:$gate, Hybrid_FloatTensor:$up);
  let results = (outs Hybrid_FloatTensor:$result);
}

def Hybrid_CombineOp : Hybrid_TensorOp<"combine"> {
  let summary = "combine the two branches of a parallel mixer";
  let description = [{
    add: a + b; mean: (a + b) / 2; diff: a - b; concat: [a, b] along the last
    dim. `a` is the attention branch, `b` the Mamba branch.

    ```mlir
    %o = hybrid.combine <mean> %a, %b : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
    ```
  }];
  let arguments = (ins Hybrid_FloatTensor:$a, Hybrid_FloatTensor:$b, Hybrid_CombineAttr:$mode);
  let results = (outs Hybrid_FloatTensor:$result);
  let assemblyFormat = "$mode $a `,` $b attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Hybrid_SplitOp : Hybrid_TensorOp<"split"> {
  let summary = "split the last dim into consecutive pieces";
  let description = [{
    ```mlir
    %z, %xbc, %dt = hybrid.split %p {sizes = array<i64: 128, 160, 4>}
        : (tensor<?x?x292xf32>) -> (tensor<?x?x128xf32>, tensor<?x?x160xf32>, tensor<?x?x4xf32>)
    ```
  }];
  let arguments = (ins Hybrid_FloatTensor:$input, DenseI64ArrayAttr:$sizes);
  let results = (outs Variadic<Hybrid_FloatTensor>:$results);
  let hasVerifier = 1;
}

def Hybrid_ReshapeOp : Hybrid_TensorOp<"reshape"> {
  let summary = "split or merge the trailing (head) dims; leading dims are kept";
  let description = [{
    [B, L, H*D] <-> [B, L, H, D]: the element count of the trailing dims must
    match; the leading two dims pass through.

    ```mlir
    %h = hybrid.reshape %x : (tensor<?x?x64xf32>) -> tensor<?x?x4x16xf32>
    ```
  }];
  let arguments = (ins Hybrid_FloatTensor:$input);
  let results = (outs Hybrid_FloatTensor:$result);
  let hasVerifier = 1;
}

def Hybrid_LMHeadOp : Hybrid_TensorOp<"lm_head"> {
  let summary = "logits = x @ weight^T, weight [vocab, d_model]";
  let description = [{
    Kept apart from `linear` so that training can fuse it with the loss.

    ```mlir
    %l = hybrid.lm_head %x, %w : (tensor<?x?x64xf32>, tensor<256x64xf32>) -> tensor<?x?x256xf32>
    ```
  }];
  let arguments = (ins Hybrid_FloatTensor:$input, Hybrid_FloatTensor:$weight);
  let results = (outs Hybrid_FloatTensor:$result);
  let hasVerifier = 1;
}

def Hybrid_CrossEntropyOp : Hybrid_TensorOp<"cross_entropy"> {
  let summary = "mean next-token cross entropy of logits [B, L, V] against labels [B, L]";
  let description = [{
    Labels < 0 are ignored.

    ```mlir
    %loss = hybrid.cross_entropy %logits, %labels : (tensor<?x?x256xf32>, tensor<?x?xi32>) -> tensor<f32>
    ```
  }];
  let arguments = (ins Hybrid_FloatTensor:$logits, Hybrid_IdTensor:$labels);
  let results = (outs 0DTensorOf<[F32]>:$result);
  let hasVerifier = 1;
}

def Hybrid_LMHeadLossOp : Hybrid_Op<"lm_head_loss", [Pure]> {
  let summary = "LM head and mean cross entropy computed in chunks of tokens";
  let description = [{
    loss = cross_entropy(scale * (input @ weight^T), labels), computed
    `chunk` tokens at a time so that the [tokens, vocab] logits never exist
    whole (training builds it: --hybrid-autodiff). Labels < 0 are ignored.

    ```mlir
    %loss = hybrid.lm_head_loss %x, %w, %labels {chunk = 1024 : i64, scale = 1.0 : f64}
        : (tensor<?x?x64xf32>, tensor<256x64xf32>, tensor<?x?xi32>) -> tensor<f32>
    ```
  }];
  let arguments = (ins Hybrid_FloatTensor:$input, Hybrid_FloatTensor:$weight,
                       Hybrid_IdTensor:$labels,
                       DefaultValuedAttr<ConfinedAttr<I64Attr, [IntPositive]>, "1024">:$chunk,
                       DefaultValuedAttr<F64Attr, "1.0">:$scale);
  let results = (outs 0DTensorOf<[F32]>:$loss);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Hybrid_CustomCallOp : Hybrid_Op<"custom_call", [Pure]> {
  let summary = "an op defined outside the dialect, run by the kernel registered under `kernel`";
  let description = [{
    The extension point for fusions written out of tree (pass plugins): the
    op carries the name of its kernel and any attributes the kernel reads;
    the artifact keeps both, and the runtime runs the kernel registered under
    that name (runtime/cpu/CpuOps.cpp). It must compute exactly what the ops
    it replaced computed.

    ```mlir
    %dt = hybrid.custom_call "softplus_clamp"(%x) {min = 1.0e-3 : f64, max = 1.0e2 : f64}
        : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    ```
  }];
  let arguments = (ins StrAttr:$kernel, Variadic<AnyRankedTensor>:$inputs);
  let results = (outs Variadic<Hybrid_FloatTensor>:$results);
  let assemblyFormat = "$kernel `(` $inputs `)` attr-dict `:` functional-type($inputs, results)";
  let hasVerifier = 1;
}

def Hybrid_VjpOp : Hybrid_Op<"vjp", [Pure]> {
  let summary = "the backward of one forward op (built by --hybrid-autodiff)";
  let description = [{
    Operands: the forward op's `num_inputs` inputs, its `num_outputs`
    results, then the gradients of those results (none for the loss: its
    gradient is 1). Results: the gradients of the forward inputs whose entry
    in `grad_mask` is true, in order. The other attributes are the forward
    op's; the runtime runs the kernel registered as "<op>.grad".

    ```mlir
    %dx, %dw = hybrid.vjp "rmsnorm"(%x, %w, %y, %dy)
        {num_inputs = 2 : i64, num_outputs = 1 : i64, grad_mask = array<i1: true, true>,
         eps = 1.0e-5 : f64}
        : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>)
        -> (tensor<?x?x64xf32>, tensor<64xf32>)
    ```
  }];
  let arguments = (ins StrAttr:$op, Variadic<AnyRankedTensor>:$operands,
                       ConfinedAttr<I64Attr, [IntNonNegative]>:$num_inputs,
                       ConfinedAttr<I64Attr, [IntPositive]>:$num_outputs,
                       DenseBoolArrayAttr:$grad_mask);
  let results = (outs Variadic<Hybrid_FloatTensor>:$grads);
  let assemblyFormat = "$op `(` $operands `)` attr-dict `:` functional-type($operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Fused ops (produced by the --hybrid-fuse-* passes)
//===----------------------------------------------------------------------===//

include "dialects/hybrid/HybridFusedOps.td"

#endif // HYBRID_OPS
