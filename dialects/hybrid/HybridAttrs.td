//===- HybridAttrs.td - Architecture attributes ------------*- tablegen -*-===//
//
// The configuration of each mixer and FFN is an attribute, so that a block is
// one op whose attributes carry every dimension, and the attributes verify
// themselves (kv_heads divides heads, groups divide heads, ...).
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_ATTRS
#define HYBRID_ATTRS

include "dialects/hybrid/HybridDialect.td"
include "dialects/hybrid/HybridEnums.td"
include "mlir/IR/AttrTypeBase.td"

class Hybrid_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Hybrid_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

// A double printed in its shortest round-tripping form.
class F64Param<string dflt, string desc = ""> : AttrParameter<"::mlir::hybrid::F64", desc> {
  let parser = "::mlir::hybrid::parseF64Param($_parser)";
  let printer = "::mlir::hybrid::printF64Param($_printer, $_self)";
  let defaultValue = dflt;
}
class BoolParam<string dflt, string desc = ""> : AttrParameter<"bool", desc> {
  let parser = "::mlir::hybrid::parseBoolParam($_parser)";
  let printer = "$_printer << ($_self ? \"true\" : \"false\")";
  let defaultValue = dflt;
}
class I64Param<string dflt, string desc = ""> : DefaultValuedParameter<"int64_t", dflt, desc>;
class DefaultEnum<EnumAttrInfo info, string dflt> : EnumParameter<info> {
  let defaultValue = dflt;
}

def Hybrid_RopeScalingAttr : Hybrid_Attr<"RopeScaling", "rope_scaling"> {
  let summary = "RoPE frequency scaling (linear or llama3)";
  let description = [{
    ```mlir
    #hybrid.rope_scaling<type = "llama3", factor = 32.0, low_freq_factor = 1.0,
                         high_freq_factor = 4.0, original_max_position = 8192>
    ```
  }];
  let parameters = (ins
    StringRefParameter<"scaling scheme: linear | llama3">:$type,
    F64Param<"1.0">:$factor,
    F64Param<"1.0">:$low_freq_factor,
    F64Param<"4.0">:$high_freq_factor,
    I64Param<"8192">:$original_max_position);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Hybrid_AttentionAttr : Hybrid_Attr<"Attention", "attention"> {
  let summary = "causal self-attention mixer (GQA, optional RoPE and window)";
  let description = [{
    ```mlir
    #hybrid.attention<heads = 32, kv_heads = 8, head_dim = 64, rope_theta = 500000.0>
    ```
    `rope = false` removes the positional rotation (Nemotron-H); `rope_dim`
    rotates only the first channels of each head (0: all; Bamba uses half); `window`
    limits attention to the last `window` tokens (0: full causal).
  }];
  let parameters = (ins
    "int64_t":$heads, "int64_t":$kv_heads, "int64_t":$head_dim,
    BoolParam<"true">:$rope,
    F64Param<"10000.0">:$rope_theta,
    OptionalParameter<"::mlir::hybrid::RopeScalingAttr">:$rope_scaling,
    I64Param<"0">:$rope_dim,
    I64Param<"0">:$window,
    BoolParam<"false">:$qkv_bias,
    BoolParam<"false">:$out_bias);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Hybrid_Mamba2Attr : Hybrid_Attr<"Mamba2", "mamba2"> {
  let summary = "Mamba-2 (SSD) mixer";
  let description = [{
    ```mlir
    #hybrid.mamba2<heads = 32, head_dim = 64, state = 128, groups = 1, conv = 4, chunk = 256>
    ```
    Inner width is heads x head_dim; `expand`, when given, must make it
    expand x d_model. dt is clamped to [dt_limit_lo, dt_limit_hi] after the
    softplus; dt_min/dt_max only set its initialisation.
  }];
  let parameters = (ins
    "int64_t":$heads, "int64_t":$head_dim, "int64_t":$state,
    I64Param<"1">:$groups,
    I64Param<"4">:$conv,
    I64Param<"256">:$chunk,
    I64Param<"0">:$expand,
    F64Param<"0.001">:$dt_min,
    F64Param<"0.1">:$dt_max,
    F64Param<"0.0">:$dt_limit_lo,
    F64Param<"std::numeric_limits<double>::infinity()">:$dt_limit_hi,
    BoolParam<"true">:$conv_bias,
    BoolParam<"false">:$proj_bias,
    BoolParam<"true">:$gated_norm,
    BoolParam<"false">:$norm_before_gate,
    I64Param<"0">:$norm_groups);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    int64_t getInner() const { return getHeads() * getHeadDim(); }
  }];
}

def Hybrid_FuseAttr : Hybrid_Attr<"Fuse", "fuse"> {
  let summary = "how a parallel mixer combines its two branches";
  let description = [{
    ```mlir
    #hybrid.fuse<norm = group, combine = diff, out_proj = shared>
    ```
    Each branch output is normalised (`norm`), scaled by its multiplier, then
    combined: add, mean, diff (attention - mamba) or concat; `out_proj =
    shared` applies one projection after combining, `separate` projects each
    branch and adds the results (Falcon-H1).
  }];
  let parameters = (ins
    DefaultEnum<Hybrid_BranchNorm, "::mlir::hybrid::BranchNorm::rms">:$norm,
    DefaultEnum<Hybrid_Combine, "::mlir::hybrid::Combine::mean">:$combine,
    DefaultEnum<Hybrid_OutProj, "::mlir::hybrid::OutProj::shared">:$out_proj,
    F64Param<"1.0">:$attn_mult,
    F64Param<"1.0">:$ssm_mult);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Hybrid_ParallelAttr : Hybrid_Attr<"Parallel", "parallel"> {
  let summary = "intra-layer mixer: attention and Mamba-2 side by side";
  let description = [{
    ```mlir
    #hybrid.parallel<attention = #hybrid.attention<heads = 8, kv_heads = 2, head_dim = 64>,
                     mamba = #hybrid.mamba2<heads = 8, head_dim = 64, state = 128>,
                     fuse = #hybrid.fuse<norm = rms, combine = mean>>
    ```
  }];
  let parameters = (ins
    "::mlir::hybrid::AttentionAttr":$attention,
    "::mlir::hybrid::Mamba2Attr":$mamba,
    "::mlir::hybrid::FuseAttr":$fuse);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Hybrid_FfnAttr : Hybrid_Attr<"Ffn", "ffn"> {
  let summary = "feed-forward network of a block (SwiGLU or ReLU^2)";
  let description = [{
    ```mlir
    #hybrid.ffn<kind = swiglu, hidden = 8192>
    ```
  }];
  let parameters = (ins
    EnumParameter<Hybrid_FfnKind>:$kind,
    "int64_t":$hidden,
    BoolParam<"false">:$bias);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Hybrid_MultipliersAttr : Hybrid_Attr<"Multipliers", "multipliers"> {
  let summary = "muP-style multipliers of a model (Falcon-H1)";
  let description = [{
    ```mlir
    #hybrid.multipliers<embedding = 5.656854, lm_head = 0.0390625, key = 0.5>
    ```
    `ssm_z` .. `ssm_dt` scale the five segments of the Mamba in_proj output.
  }];
  let parameters = (ins
    F64Param<"1.0">:$embedding, F64Param<"1.0">:$lm_head,
    F64Param<"1.0">:$attention_in, F64Param<"1.0">:$attention_out,
    F64Param<"1.0">:$key, F64Param<"1.0">:$ssm_in, F64Param<"1.0">:$ssm_out,
    F64Param<"1.0">:$mlp_gate, F64Param<"1.0">:$mlp_down,
    F64Param<"1.0">:$ssm_z, F64Param<"1.0">:$ssm_x, F64Param<"1.0">:$ssm_b,
    F64Param<"1.0">:$ssm_c, F64Param<"1.0">:$ssm_dt);
  let assemblyFormat = "`<` struct(params) `>`";
}

def Hybrid_ObjectiveAttr : EnumAttr<Hybrid_Dialect, Hybrid_Objective, "objective">;
def Hybrid_LayoutAttr : EnumAttr<Hybrid_Dialect, Hybrid_Layout, "layout">;
def Hybrid_CombineAttr : EnumAttr<Hybrid_Dialect, Hybrid_Combine, "combine"> {
  let assemblyFormat = "`<` $value `>`";
}

def Hybrid_MixerAttr : AnyAttrOf<[Hybrid_AttentionAttr, Hybrid_Mamba2Attr,
                                   Hybrid_ParallelAttr]>;

#endif // HYBRID_ATTRS
