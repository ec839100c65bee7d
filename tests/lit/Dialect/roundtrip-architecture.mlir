// RUN: hybrid-opt %s | hybrid-opt | FileCheck %s
// RUN: hybrid-opt %s --mlir-print-op-generic | hybrid-opt | FileCheck %s

// Every architecture-level op and attribute prints and parses back unchanged;
// defaults are elided, non-defaults kept.

// CHECK-LABEL: hybrid.model @llama_like
// CHECK-SAME: d_model = 64 : i64, family = "llama"
// CHECK-SAME: tie_embeddings, vocab = 256 : i64
// CHECK: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16, rope_theta = 500000.0, rope_scaling = <type = "llama3", factor = 32.0>, window = 128, qkv_bias = true>) ffn(<kind = swiglu, hidden = 128, bias = true>)
hybrid.model @llama_like attributes {vocab = 256, d_model = 64, norm_eps = 1.0e-5, tie_embeddings, family = "llama"} {
  hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16, rope_theta = 500000.0,
                       rope_scaling = #hybrid.rope_scaling<type = "llama3", factor = 32.0>,
                       window = 128, qkv_bias = true>)
               ffn(#hybrid.ffn<kind = swiglu, hidden = 128, bias = true>)
}

// CHECK-LABEL: hybrid.model @mamba_like
// CHECK: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16, groups = 2, conv = 3, chunk = 64, expand = 2, dt_min = 0.002, dt_max = 0.2, dt_limit_lo = 0.001, dt_limit_hi = 10.0, conv_bias = false, proj_bias = true, gated_norm = false, norm_before_gate = true, norm_groups = 4>)
// CHECK: hybrid.block ffn(<kind = relu2, hidden = 96>)
hybrid.model @mamba_like attributes {vocab = 100, d_model = 64} {
  hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16, groups = 2, conv = 3, chunk = 64,
                       expand = 2, dt_min = 0.002, dt_max = 0.2, dt_limit_lo = 0.001, dt_limit_hi = 10.0,
                       conv_bias = false, proj_bias = true, gated_norm = false, norm_before_gate = true,
                       norm_groups = 4>)
  hybrid.block ffn(#hybrid.ffn<kind = relu2, hidden = 96>)
}

// CHECK-LABEL: hybrid.model @parallel_like
// CHECK-SAME: multipliers = #hybrid.multipliers<embedding = 5.5, lm_head = 0.25, key = 0.5, ssm_z = 2.0, ssm_dt = 0.75>
// CHECK: hybrid.pattern "PMM" x 2 {
// CHECK-NEXT: hybrid.block "P" mixer(#hybrid.parallel<attention = <heads = 4, kv_heads = 4, head_dim = 16, rope = false>, mamba = <heads = 4, head_dim = 16, state = 8>, fuse = <norm = group, combine = concat>>)
// CHECK-NEXT: hybrid.block "M" mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 8>)
// CHECK: hybrid.block mixer(#hybrid.parallel<{{.*}}fuse = <norm = none, combine = add, out_proj = separate, attn_mult = 0.5, ssm_mult = 1.5>>)
hybrid.model @parallel_like attributes {vocab = 64, d_model = 64,
    multipliers = #hybrid.multipliers<embedding = 5.5, lm_head = 0.25, key = 0.5, ssm_z = 2.0, ssm_dt = 0.75>} {
  hybrid.pattern "PMM" x 2 {
    hybrid.block "P" mixer(#hybrid.parallel<attention = #hybrid.attention<heads = 4, kv_heads = 4, head_dim = 16, rope = false>,
                                            mamba = #hybrid.mamba2<heads = 4, head_dim = 16, state = 8>,
                                            fuse = #hybrid.fuse<norm = group, combine = concat>>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 8>)
  }
  hybrid.block mixer(#hybrid.parallel<attention = #hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>,
                                      mamba = #hybrid.mamba2<heads = 8, head_dim = 16, state = 8>,
                                      fuse = #hybrid.fuse<norm = none, combine = add, out_proj = separate,
                                                          attn_mult = 0.5, ssm_mult = 1.5>>)
}

// CHECK-LABEL: hybrid.model @auto_like
// CHECK: hybrid.auto layers 24 attributes {attention_fraction = 2.500000e-01 : f64, batch = 4 : i64, cache_budget = 1048576 : i64, context_length = 4096 : i64, layout = #hybrid<layout inter>, objective = #hybrid<objective throughput>} {
// CHECK-NEXT: hybrid.block "A"
// CHECK-NEXT: hybrid.block "M"
hybrid.model @auto_like attributes {vocab = 64, d_model = 64} {
  hybrid.auto layers 24 attributes {attention_fraction = 0.25 : f64, objective = #hybrid<objective throughput>,
                                    layout = #hybrid<layout inter>, context_length = 4096 : i64,
                                    batch = 4 : i64, cache_budget = 1048576 : i64} {
    hybrid.block "A" mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(#hybrid.ffn<kind = swiglu, hidden = 128>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 8>)
  }
}
