// RUN: hybrid-opt %s -split-input-file --hybrid-decompose -verify-diagnostics | FileCheck %s

// Llama block: pre-RMSNorm, q/k/v projections, RoPE (with llama3 scaling) on
// q and k only, causal GQA attention with the window, o_proj, residual; then
// RMSNorm, SwiGLU FFN, residual; final norm; untied LM head.

// CHECK-LABEL: func.func @llama(
// CHECK-SAME: %[[IDS:.*]]: tensor<?x?xi32>) -> tensor<?x?x32xf32> attributes {hybrid.model = "llama"}
// CHECK:      %[[E:.*]] = hybrid.param "embed" : tensor<32x64xf32>
// CHECK:      %[[H0:.*]] = hybrid.embedding %[[E]], %[[IDS]]
// CHECK:      %[[N0W:.*]] = hybrid.param "layers.0.mixer_norm" : tensor<64xf32>
// CHECK:      %[[N0:.*]] = hybrid.rmsnorm %[[H0]], %[[N0W]] {eps = 9.{{9+}}{{[0-9]*}}E-7 : f64}
// CHECK:      %[[Q:.*]] = hybrid.linear %[[N0]], %{{.*}} : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
// CHECK:      %[[K:.*]] = hybrid.linear %[[N0]], %{{.*}} : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
// CHECK:      %[[V:.*]] = hybrid.linear %[[N0]], %{{.*}} : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
// CHECK:      %[[Q4:.*]] = hybrid.reshape %[[Q]] : (tensor<?x?x64xf32>) -> tensor<?x?x4x16xf32>
// CHECK:      %[[K4:.*]] = hybrid.reshape %[[K]] : (tensor<?x?x32xf32>) -> tensor<?x?x2x16xf32>
// CHECK:      %[[V4:.*]] = hybrid.reshape %[[V]]
// CHECK:      %[[QR:.*]] = hybrid.rope %[[Q4]] {scaling = #hybrid.rope_scaling<type = "llama3", factor = 32.0>, theta = 5.000000e+05 : f64}
// CHECK:      %[[KR:.*]] = hybrid.rope %[[K4]]
// CHECK:      %[[O:.*]] = hybrid.attention %[[QR]], %[[KR]], %[[V4]] {window = 8 : i64}
// CHECK:      %[[O2:.*]] = hybrid.reshape %[[O]] : (tensor<?x?x4x16xf32>) -> tensor<?x?x64xf32>
// CHECK:      %[[WO:.*]] = hybrid.param "layers.0.attn.o"
// CHECK:      %[[AO:.*]] = hybrid.linear %[[O2]], %[[WO]]
// CHECK:      %[[H1:.*]] = hybrid.add %[[H0]], %[[AO]]
// CHECK:      %[[N1:.*]] = hybrid.rmsnorm %[[H1]], %{{.*}}
// CHECK:      %[[G:.*]] = hybrid.linear %[[N1]], %{{.*}} : (tensor<?x?x64xf32>, tensor<96x64xf32>) -> tensor<?x?x96xf32>
// CHECK:      %[[U:.*]] = hybrid.linear %[[N1]]
// CHECK:      %[[S:.*]] = hybrid.swiglu %[[G]], %[[U]]
// CHECK:      %[[D:.*]] = hybrid.linear %[[S]], %{{.*}} : (tensor<?x?x96xf32>, tensor<64x96xf32>) -> tensor<?x?x64xf32>
// CHECK:      %[[H2:.*]] = hybrid.add %[[H1]], %[[D]]
// CHECK:      %[[F:.*]] = hybrid.rmsnorm %[[H2]], %{{.*}}
// CHECK:      %[[HEAD:.*]] = hybrid.param "lm_head" : tensor<32x64xf32>
// CHECK:      %[[L:.*]] = hybrid.lm_head %[[F]], %[[HEAD]]
// CHECK-NEXT: return %[[L]]
hybrid.model @llama attributes {vocab = 32, d_model = 64, norm_eps = 1.0e-6} {
  hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16, rope_theta = 500000.0,
                       rope_scaling = #hybrid.rope_scaling<type = "llama3", factor = 32.0>, window = 8>)
               ffn(#hybrid.ffn<kind = swiglu, hidden = 96>)
}

// -----

// Mamba-2 mixer as in mamba_ssm: in_proj -> z | xBC | dt; causal conv + SiLU
// over xBC; x | B | C; dt = clamp(softplus(dt + dt_bias)); SSD with D skip;
// gated RMSNorm in n_groups groups; out_proj. Tied LM head reuses "embed".

// CHECK-LABEL: func.func @mamba
// CHECK:      %[[E:.*]] = hybrid.param "embed" : tensor<32x64xf32>
// CHECK:      %[[N:.*]] = hybrid.rmsnorm
// CHECK:      %[[P:.*]] = hybrid.linear %[[N]], %{{.*}} : (tensor<?x?x64xf32>, tensor<328x64xf32>) -> tensor<?x?x328xf32>
// CHECK:      %[[SPL:.*]]:3 = hybrid.split %[[P]] {sizes = array<i64: 128, 192, 8>}
// CHECK:      %[[CW:.*]] = hybrid.param "layers.0.mamba.conv1d.weight" : tensor<192x1x4xf32>
// CHECK:      %[[CB:.*]] = hybrid.param "layers.0.mamba.conv1d.bias" : tensor<192xf32>
// CHECK:      %[[C:.*]] = hybrid.conv1d_causal %[[SPL]]#1, %[[CW]], %[[CB]]
// CHECK:      %[[CS:.*]] = hybrid.silu %[[C]]
// CHECK:      %[[XBC:.*]]:3 = hybrid.split %[[CS]] {sizes = array<i64: 128, 32, 32>}
// CHECK:      %[[DTB:.*]] = hybrid.param "layers.0.mamba.dt_bias" : tensor<8xf32>
// CHECK:      %[[AL:.*]] = hybrid.param "layers.0.mamba.A_log" : tensor<8xf32>
// CHECK:      %[[DD:.*]] = hybrid.param "layers.0.mamba.D" : tensor<8xf32>
// CHECK:      %[[DT0:.*]] = hybrid.add %[[SPL]]#2, %[[DTB]] : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
// CHECK:      %[[DT1:.*]] = hybrid.softplus %[[DT0]]
// CHECK:      %[[DT2:.*]] = hybrid.clamp %[[DT1]] {max = 1.000000e+02 : f64, min = 0.000000e+00 : f64}
// CHECK:      %[[X:.*]] = hybrid.reshape %[[XBC]]#0 : (tensor<?x?x128xf32>) -> tensor<?x?x8x16xf32>
// CHECK:      %[[B:.*]] = hybrid.reshape %[[XBC]]#1 : (tensor<?x?x32xf32>) -> tensor<?x?x2x16xf32>
// CHECK:      %[[CC:.*]] = hybrid.reshape %[[XBC]]#2 : (tensor<?x?x32xf32>) -> tensor<?x?x2x16xf32>
// CHECK:      %[[Y:.*]] = hybrid.ssd_scan %[[X]], %[[DT2]], %[[AL]], %[[B]], %[[CC]], %[[DD]] {chunk = 16 : i64}
// CHECK:      %[[Y2:.*]] = hybrid.reshape %[[Y]] : (tensor<?x?x8x16xf32>) -> tensor<?x?x128xf32>
// CHECK:      %[[GN:.*]] = hybrid.gated_rmsnorm %[[Y2]], %[[SPL]]#0, %{{.*}} {eps = 1.000000e-05 : f64, groups = 2 : i64}
// CHECK:      %[[OUT:.*]] = hybrid.linear %[[GN]], %{{.*}} : (tensor<?x?x128xf32>, tensor<64x128xf32>) -> tensor<?x?x64xf32>
// CHECK:      hybrid.add %{{.*}}, %[[OUT]]
// CHECK-NOT:  hybrid.param "lm_head"
// CHECK:      hybrid.lm_head %{{.*}}, %[[E]]
hybrid.model @mamba attributes {vocab = 32, d_model = 64, tie_embeddings} {
  hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16, groups = 2, chunk = 16,
                                    dt_limit_hi = 100.0>)
}

// -----

// Intra-layer block (Hymba-like): both branches read one normed input, each
// branch is group-normed per head, then diff = attention - mamba, then one
// shared out projection; the ReLU^2 FFN follows.

// CHECK-LABEL: func.func @parallel_diff
// CHECK:      %[[N:.*]] = hybrid.rmsnorm
// CHECK:      hybrid.linear %[[N]], %{{.*}} : (tensor<?x?x64xf32>, tensor<64x64xf32>)
// CHECK:      %[[A:.*]] = hybrid.attention
// CHECK:      %[[A2:.*]] = hybrid.reshape %[[A]]
// CHECK:      hybrid.linear %[[N]], %{{.*}} : (tensor<?x?x64xf32>, tensor<164x64xf32>)
// CHECK:      %[[M:.*]] = hybrid.gated_rmsnorm
// CHECK:      %[[AN:.*]] = hybrid.group_norm %[[A2]], %{{.*}} {eps = 1.000000e-05 : f64, groups = 4 : i64}
// CHECK:      %[[MN:.*]] = hybrid.group_norm %[[M]], %{{.*}} {eps = 1.000000e-05 : f64, groups = 4 : i64}
// CHECK:      %[[CMB:.*]] = hybrid.combine <diff> %[[AN]], %[[MN]]
// CHECK:      %[[WO:.*]] = hybrid.param "layers.0.mix.out_proj" : tensor<64x64xf32>
// CHECK:      %[[O:.*]] = hybrid.linear %[[CMB]], %[[WO]]
// CHECK:      %[[H:.*]] = hybrid.add %{{.*}}, %[[O]]
// CHECK:      %[[UP:.*]] = hybrid.linear
// CHECK:      %[[R:.*]] = hybrid.relu2 %[[UP]]
// CHECK:      hybrid.linear %[[R]]
hybrid.model @parallel_diff attributes {vocab = 32, d_model = 64} {
  hybrid.block mixer(#hybrid.parallel<attention = #hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>,
                                      mamba = #hybrid.mamba2<heads = 4, head_dim = 16, state = 16>,
                                      fuse = #hybrid.fuse<norm = group, combine = diff>>)
               ffn(#hybrid.ffn<kind = relu2, hidden = 128>)
}

// -----

// concat of an attention branch (64 wide) and a mamba branch (128 wide): the
// shared out projection reads the 192 wide concatenation; RMS branch norms.

// CHECK-LABEL: func.func @parallel_concat
// CHECK:      hybrid.gated_rmsnorm
// CHECK:      %[[AN:.*]] = hybrid.rmsnorm %{{.*}}, %{{.*}} {{.*}} -> tensor<?x?x64xf32>
// CHECK:      %[[MN:.*]] = hybrid.rmsnorm %{{.*}}, %{{.*}} {{.*}} -> tensor<?x?x128xf32>
// CHECK:      %[[C:.*]] = hybrid.combine <concat> %[[AN]], %[[MN]] : (tensor<?x?x64xf32>, tensor<?x?x128xf32>) -> tensor<?x?x192xf32>
// CHECK:      hybrid.linear %[[C]], %{{.*}} : (tensor<?x?x192xf32>, tensor<64x192xf32>) -> tensor<?x?x64xf32>
hybrid.model @parallel_concat attributes {vocab = 32, d_model = 64} {
  hybrid.block mixer(#hybrid.parallel<attention = #hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>,
                                      mamba = #hybrid.mamba2<heads = 8, head_dim = 16, state = 16>,
                                      fuse = #hybrid.fuse<norm = rms, combine = concat>>)
}

// -----

// Falcon-H1: embedding x embedding_multiplier; the attention branch reads
// input x attention_in_multiplier and scales k by key_multiplier; the mamba
// branch reads input x ssm_in_multiplier and scales the five in_proj segments
// by ssm_multipliers; no gated norm (y * silu(z)); separate out projections,
// each scaled by its out multiplier, added; SwiGLU with gate and down
// multipliers; logits x lm_head_multiplier.

// CHECK-LABEL: func.func @falcon
// CHECK:      %[[EM:.*]] = hybrid.scale %{{.*}} {factor = 8.000000e+00 : f64}
// CHECK:      %[[N:.*]] = hybrid.rmsnorm %[[EM]]
// CHECK:      %[[AI:.*]] = hybrid.scale %[[N]] {factor = 5.000000e-01 : f64}
// CHECK:      %[[K:.*]] = hybrid.linear %[[AI]], %{{.*}} : (tensor<?x?x64xf32>, tensor<32x64xf32>)
// CHECK:      hybrid.scale %[[K]] {factor = 2.500000e-01 : f64}
// CHECK:      %[[A:.*]] = hybrid.attention
// CHECK:      %[[SI:.*]] = hybrid.scale %[[N]] {factor = 1.500000e+00 : f64}
// CHECK:      %[[P:.*]] = hybrid.linear %[[SI]]
// CHECK:      %[[SEG:.*]]:5 = hybrid.split %[[P]] {sizes = array<i64: 64, 64, 16, 16, 4>}
// CHECK:      %[[Z:.*]] = hybrid.scale %[[SEG]]#0 {factor = 2.000000e+00 : f64}
// CHECK:      %[[XS:.*]] = hybrid.scale %[[SEG]]#1 {factor = 3.000000e+00 : f64}
// CHECK:      %[[XB:.*]] = hybrid.combine <concat> %[[XS]], %[[SEG]]#2
// CHECK:      %[[XBC:.*]] = hybrid.combine <concat> %[[XB]], %[[SEG]]#3 {{.*}} -> tensor<?x?x96xf32>
// CHECK:      %[[DT:.*]] = hybrid.scale %[[SEG]]#4 {factor = 5.000000e-01 : f64}
// CHECK:      hybrid.conv1d_causal %[[XBC]]
// CHECK:      hybrid.add %[[DT]]
// CHECK:      %[[Y:.*]] = hybrid.reshape %{{.*}} : (tensor<?x?x4x16xf32>) -> tensor<?x?x64xf32>
// CHECK:      %[[SZ:.*]] = hybrid.silu %[[Z]]
// CHECK:      %[[YG:.*]] = hybrid.mul %[[Y]], %[[SZ]]
// CHECK:      %[[AO:.*]] = hybrid.linear %{{.*}}, %{{.*}} : (tensor<?x?x64xf32>, tensor<64x64xf32>)
// CHECK:      %[[AOS:.*]] = hybrid.scale %[[AO]] {factor = 7.500000e-01 : f64}
// CHECK:      %[[MO:.*]] = hybrid.linear %[[YG]]
// CHECK:      %[[MOS:.*]] = hybrid.scale %[[MO]] {factor = 1.250000e+00 : f64}
// CHECK:      %[[SUM:.*]] = hybrid.combine <add> %[[AOS]], %[[MOS]]
// CHECK:      hybrid.add %[[EM]], %[[SUM]]
// CHECK:      %[[G:.*]] = hybrid.linear
// CHECK:      %[[GS:.*]] = hybrid.scale %[[G]] {factor = 2.000000e+00 : f64}
// CHECK:      %[[U:.*]] = hybrid.linear
// CHECK:      %[[SW:.*]] = hybrid.swiglu %[[GS]], %[[U]]
// CHECK:      %[[DN:.*]] = hybrid.linear %[[SW]]
// CHECK:      hybrid.scale %[[DN]] {factor = 5.000000e-01 : f64}
// CHECK:      %[[L:.*]] = hybrid.lm_head
// CHECK:      %[[LS:.*]] = hybrid.scale %[[L]] {factor = 1.250000e-01 : f64}
// CHECK-NEXT: return %[[LS]]
hybrid.model @falcon attributes {vocab = 32, d_model = 64, family = "falcon_h1",
    multipliers = #hybrid.multipliers<embedding = 8.0, lm_head = 0.125, attention_in = 0.5, attention_out = 0.75,
                                      key = 0.25, ssm_in = 1.5, ssm_out = 1.25, mlp_gate = 2.0, mlp_down = 0.5,
                                      ssm_z = 2.0, ssm_x = 3.0, ssm_dt = 0.5>} {
  hybrid.block mixer(#hybrid.parallel<attention = #hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>,
                                      mamba = #hybrid.mamba2<heads = 4, head_dim = 16, state = 16, gated_norm = false>,
                                      fuse = #hybrid.fuse<norm = none, combine = add, out_proj = separate>>)
               ffn(#hybrid.ffn<kind = swiglu, hidden = 128>)
}

// -----

// Nemotron-H: attention without RoPE, and an MLP-only layer (one norm, ReLU^2).

// CHECK-LABEL: func.func @nemotron
// CHECK-NOT:  hybrid.rope
// CHECK:      hybrid.attention
// CHECK:      hybrid.param "layers.1.ffn_norm"
// CHECK-NOT:  hybrid.param "layers.1.mixer_norm"
// CHECK:      %[[UP:.*]] = hybrid.linear
// CHECK:      hybrid.relu2 %[[UP]]
hybrid.model @nemotron attributes {vocab = 32, d_model = 64, family = "nemotron_h"} {
  hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16, rope = false>)
  hybrid.block ffn(#hybrid.ffn<kind = relu2, hidden = 128>)
}

// -----

// Bamba rotates half of each head: rope carries rotary_dim.
// CHECK-LABEL: func.func @partial_rope
// CHECK: hybrid.rope %{{.*}} {rotary_dim = 8 : i64, theta = 1.000000e+04 : f64}
hybrid.model @partial_rope attributes {vocab = 32, d_model = 64} {
  hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16, rope_dim = 8>)
}

// -----

// An unresolved layout cannot be lowered.
hybrid.model @auto attributes {vocab = 32, d_model = 64} {
  // expected-error @+1 {{'hybrid.auto' op must be resolved first (run --hybrid-select-layout)}}
  hybrid.auto layers 4 {
    hybrid.block "A" mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 4, head_dim = 16, state = 16>)
  }
}
