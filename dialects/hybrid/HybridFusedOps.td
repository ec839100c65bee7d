//===- HybridFusedOps.td - Fused tensor-level ops ----------*- tablegen -*-===//
//
// Ops that the --hybrid-fuse-* passes create from groups of tensor-level ops.
// Each one computes exactly what the group computed (the CPU executor checks
// fused == unfused logits); codegen gives each a kernel. The runtime sees an
// instruction per op: its operands in ODS order (an absent optional operand
// is -1, a variadic one contributes its values) and its attributes.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_FUSED_OPS
#define HYBRID_FUSED_OPS

def Hybrid_BranchNormAttr : EnumAttr<Hybrid_Dialect, Hybrid_BranchNorm, "branch_norm"> {
  let assemblyFormat = "`<` $value `>`";
}

class Hybrid_FusedOp<string mnemonic, list<Trait> traits = []>
    : Hybrid_Op<mnemonic, !listconcat(traits, [Pure])> {
  let hasVerifier = 1;
}

def Hybrid_RopeAttentionOp : Hybrid_FusedOp<"rope_attention"> {
  let summary = "RoPE on q and k, then causal GQA attention (--hybrid-fuse-rope-attention)";
  let description = [{
    Equals `hybrid.attention(hybrid.rope(q), hybrid.rope(k), v)` with the
    rope attributes (`theta`, `scaling`, `rotary_dim`) shared by q and k and
    the attention attributes (`window`, `scale`). q [B, L, Hq, D], k and v
    [B, L, Hkv, D]; the rotation never reaches memory.

    ```mlir
    %o = hybrid.rope_attention %q, %k, %v {theta = 1.0e4 : f64, window = 0 : i64}
        : (tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>) -> tensor<?x?x4x16xf32>
    ```
  }];
  let arguments = (ins Hybrid_FloatTensor:$q, Hybrid_FloatTensor:$k, Hybrid_FloatTensor:$v,
                       F64Attr:$theta,
                       OptionalAttr<Hybrid_RopeScalingAttr>:$scaling,
                       DefaultValuedAttr<I64Attr, "0">:$rotary_dim,
                       DefaultValuedAttr<I64Attr, "0">:$window,
                       OptionalAttr<F64Attr>:$scale);
  let results = (outs Hybrid_FloatTensor:$result);
  let assemblyFormat = "$q `,` $k `,` $v attr-dict `:` functional-type(operands, results)";
}

def Hybrid_Mamba2CoreOp : Hybrid_FusedOp<"mamba2_core", [AttrSizedOperandSegments]> {
  let summary = "the Mamba-2 mixer between in_proj and out_proj (--hybrid-fuse-mamba)";
  let description = [{
    `parts` is either the whole in_proj output zxbcdt [B, L, inner + conv_dim
    + heads] or its three pieces z [B, L, inner], xBC [B, L, conv_dim], dt
    [B, L, heads] (conv_dim = inner + 2 groups state, inner = heads head_dim).
    Computes, as the unfused ops did:
    xBC = silu(conv1d_causal(xBC, conv_weight, conv_bias)); x | B | C = xBC;
    dt = softplus(dt + dt_bias), clamped to `dt_limit` = [lo, hi] when given;
    y = ssd_scan(x, dt, a_log, B, C, d) in chunks of `chunk`; then
    gated_rmsnorm(y, z, norm_weight) with `norm_groups`, `eps`,
    `norm_before_gate` when `norm_weight` is present, else y * silu(z).
    The result [B, L, inner] is the input of out_proj.

    ```mlir
    %y = hybrid.mamba2_core (%zxbcdt) conv(%cw, %cb) dt_bias(%dtb) a_log(%al) d(%d) norm(%nw)
        {heads = 8 : i64, head_dim = 16 : i64, groups = 1 : i64, state = 16 : i64,
         chunk = 16 : i64, norm_groups = 1 : i64, eps = 1.0e-5 : f64}
        : (tensor<?x?x296xf32>, tensor<160x1x4xf32>, tensor<160xf32>, tensor<8xf32>,
           tensor<8xf32>, tensor<8xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    ```
  }];
  let arguments = (ins Variadic<Hybrid_FloatTensor>:$parts,
                       Hybrid_FloatTensor:$conv_weight, Optional<Hybrid_FloatTensor>:$conv_bias,
                       Hybrid_FloatTensor:$dt_bias, Hybrid_FloatTensor:$a_log,
                       Optional<Hybrid_FloatTensor>:$d, Optional<Hybrid_FloatTensor>:$norm_weight,
                       ConfinedAttr<I64Attr, [IntPositive]>:$heads,
                       ConfinedAttr<I64Attr, [IntPositive]>:$head_dim,
                       ConfinedAttr<I64Attr, [IntPositive]>:$groups,
                       ConfinedAttr<I64Attr, [IntPositive]>:$state,
                       ConfinedAttr<I64Attr, [IntPositive]>:$chunk,
                       OptionalAttr<DenseF64ArrayAttr>:$dt_limit,
                       DefaultValuedAttr<I64Attr, "1">:$norm_groups,
                       DefaultValuedAttr<F64Attr, "1.0e-5">:$eps,
                       UnitAttr:$norm_before_gate);
  let results = (outs Hybrid_FloatTensor:$result);
  let assemblyFormat = [{
    `(` $parts `)` `conv` `(` $conv_weight (`,` $conv_bias^)? `)` `dt_bias` `(` $dt_bias `)`
    `a_log` `(` $a_log `)` (`d` `(` $d^ `)`)? (`norm` `(` $norm_weight^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
}

def Hybrid_LinearGroupOp : Hybrid_FusedOp<"linear_group", [AttrSizedOperandSegments]> {
  let summary = "several projections of one input as one GEMM (--hybrid-fuse-parallel)";
  let description = [{
    results[i] = scales[i] * (input @ weights[i]^T + biases[i]): one GEMM
    against the row-concatenation of the weights (the runtime may
    concatenate them once at load). `biases` is empty or has one per weight;
    `scales` defaults to all 1 (it carries input and output multipliers
    folded in by the fusion).

    ```mlir
    %q, %k, %v = hybrid.linear_group %x [%wq, %wk, %wv] {scales = array<f64: 1.0, 0.25, 1.0>}
        : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<32x64xf32>, tensor<32x64xf32>)
        -> (tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>)
    ```
  }];
  let arguments = (ins Hybrid_FloatTensor:$input, Variadic<Hybrid_FloatTensor>:$weights,
                       Variadic<Hybrid_FloatTensor>:$biases,
                       OptionalAttr<DenseF64ArrayAttr>:$scales);
  let results = (outs Variadic<Hybrid_FloatTensor>:$results);
  let assemblyFormat = [{
    $input `[` $weights `]` (`bias` `[` $biases^ `]`)? attr-dict `:` functional-type(operands, results)
  }];
}

def Hybrid_LinearSumOp : Hybrid_FusedOp<"linear_sum", [AttrSizedOperandSegments]> {
  let summary = "sum of scaled projections of several inputs as one GEMM (--hybrid-fuse-parallel)";
  let description = [{
    result = sum_i scales[i] * (inputs[i] @ weights[i]^T): one GEMM of the
    concatenated inputs against the column-concatenated weights. Made from the
    separate out projections of a parallel block whose results are scaled
    and added (Falcon-H1); diff and mean become scales -1 and 0.5.

    ```mlir
    %o = hybrid.linear_sum (%a, %m) [%wa, %wm] {scales = array<f64: 0.75, 1.25>}
        : (tensor<?x?x64xf32>, tensor<?x?x128xf32>, tensor<64x64xf32>, tensor<64x128xf32>)
        -> tensor<?x?x64xf32>
    ```
  }];
  let arguments = (ins Variadic<Hybrid_FloatTensor>:$inputs,
                       Variadic<Hybrid_FloatTensor>:$weights,
                       OptionalAttr<DenseF64ArrayAttr>:$scales);
  let results = (outs Hybrid_FloatTensor:$result);
  let assemblyFormat = [{
    `(` $inputs `)` `[` $weights `]` attr-dict `:` functional-type(operands, results)
  }];
}

def Hybrid_BranchCombineOp : Hybrid_FusedOp<"branch_combine"> {
  let summary = "normalise, scale and combine the two branches of a parallel block";
  let description = [{
    result = combine<mode>(scale_a * norm(a, weight_a), scale_b * norm(b, weight_b))
    where norm is `rmsnorm` or `group_norm` (`groups_a` / `groups_b` groups),
    with `eps`. Made by --hybrid-fuse-parallel from the branch norms, their
    multipliers and the combine of a shared-out-projection block.

    ```mlir
    %c = hybrid.branch_combine <diff> %a, %m, %wa, %wm {norm = #hybrid.branch_norm<group>,
        groups_a = 4 : i64, groups_b = 4 : i64, eps = 1.0e-5 : f64}
        : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    ```
  }];
  let arguments = (ins Hybrid_FloatTensor:$a, Hybrid_FloatTensor:$b,
                       Hybrid_FloatTensor:$weight_a, Hybrid_FloatTensor:$weight_b,
                       Hybrid_CombineAttr:$mode, Hybrid_BranchNormAttr:$norm,
                       DefaultValuedAttr<I64Attr, "1">:$groups_a,
                       DefaultValuedAttr<I64Attr, "1">:$groups_b,
                       F64Attr:$eps,
                       DefaultValuedAttr<F64Attr, "1.0">:$scale_a,
                       DefaultValuedAttr<F64Attr, "1.0">:$scale_b);
  let results = (outs Hybrid_FloatTensor:$result);
  let assemblyFormat = [{
    $mode $a `,` $b `,` $weight_a `,` $weight_b attr-dict `:` functional-type(operands, results)
  }];
}

def Hybrid_AddRMSNormOp : Hybrid_FusedOp<"add_rmsnorm"> {
  let summary = "residual add and RMSNorm of the sum (--hybrid-fuse-add-rmsnorm)";
  let description = [{
    sum = lhs + rhs (same shapes); normed = rmsnorm(sum, weight, eps). Both
    results are kept: the sum continues the residual stream.

    ```mlir
    %sum, %n = hybrid.add_rmsnorm %h, %d, %w {eps = 1.0e-5 : f64}
        : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>)
    ```
  }];
  let arguments = (ins Hybrid_FloatTensor:$lhs, Hybrid_FloatTensor:$rhs,
                       Hybrid_FloatTensor:$weight, F64Attr:$eps);
  let results = (outs Hybrid_FloatTensor:$sum, Hybrid_FloatTensor:$normed);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Hybrid_FusedLinearOp : Hybrid_FusedOp<"fused_linear", [AttrSizedOperandSegments]> {
  let summary = "linear with a GEMM epilogue: scale, then residual add (--hybrid-fuse-epilogues)";
  let description = [{
    result = scale * (input @ weight^T + bias) + residual; `bias` and
    `residual` are optional, `scale` defaults to 1. Made from a
    `hybrid.linear` followed by a `hybrid.scale` (muP multipliers) and/or a
    residual `hybrid.add` of the same shape.

    ```mlir
    %y = hybrid.fused_linear %x, %w residual(%h) {scale = 5.0e-1 : f64}
        : (tensor<?x?x128xf32>, tensor<64x128xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
    ```
  }];
  let arguments = (ins Hybrid_FloatTensor:$input, Hybrid_FloatTensor:$weight,
                       Optional<Hybrid_FloatTensor>:$bias,
                       Optional<Hybrid_FloatTensor>:$residual,
                       DefaultValuedAttr<F64Attr, "1.0">:$scale);
  let results = (outs Hybrid_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`bias` `(` $bias^ `)`)? (`residual` `(` $residual^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
}

def Hybrid_SwigluLinearOp : Hybrid_FusedOp<"swiglu_linear"> {
  let summary = "SwiGLU of two projections of one input (--hybrid-fuse-epilogues)";
  let description = [{
    result = silu(gate_scale * (input @ gate^T + biases[0])) * (input @ up^T + biases[1]):
    both GEMMs read the input once and the epilogue applies the gate, so
    neither projection reaches memory. `biases` is empty or [gate bias, up bias].

    ```mlir
    %h = hybrid.swiglu_linear %x, %wg, %wu {gate_scale = 2.0 : f64}
        : (tensor<?x?x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>) -> tensor<?x?x128xf32>
    ```
  }];
  let arguments = (ins Hybrid_FloatTensor:$input, Hybrid_FloatTensor:$gate,
                       Hybrid_FloatTensor:$up, Variadic<Hybrid_FloatTensor>:$biases,
                       DefaultValuedAttr<F64Attr, "1.0">:$gate_scale);
  let results = (outs Hybrid_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $gate `,` $up (`bias` `(` $biases^ `)`)? attr-dict `:` functional-type(operands, results)
  }];
}

#endif // HYBRID_FUSED_OPS
