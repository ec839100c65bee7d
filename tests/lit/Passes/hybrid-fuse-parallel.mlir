// RUN: hybrid-opt %s -split-input-file --hybrid-decompose --hybrid-fuse-parallel | FileCheck %s

// Plain attention: q, k, v read the same normed input -> one linear_group.
// The FFN's gate and up also share an input but feed a swiglu: they are left
// for swiglu_linear (--hybrid-fuse-epilogues), which also reads x once and
// keeps both projections out of memory.

// CHECK-LABEL: func.func @llama
// CHECK:      %[[N:.*]] = hybrid.rmsnorm
// CHECK:      %[[WQ:.*]] = hybrid.param "layers.0.attn.q"
// CHECK-NEXT: %[[WK:.*]] = hybrid.param "layers.0.attn.k"
// CHECK-NEXT: %[[WV:.*]] = hybrid.param "layers.0.attn.v"
// CHECK-NEXT: %[[G:.*]]:3 = hybrid.linear_group %[[N]][%[[WQ]], %[[WK]], %[[WV]]] : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<32x64xf32>, tensor<32x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>)
// CHECK-NEXT: hybrid.reshape %[[G]]#0 : (tensor<?x?x64xf32>) -> tensor<?x?x4x16xf32>
// CHECK-NEXT: hybrid.reshape %[[G]]#1
// CHECK-NEXT: hybrid.reshape %[[G]]#2
// CHECK:      hybrid.param "layers.0.ffn.gate"
// CHECK-NEXT: %[[GATE:.*]] = hybrid.linear
// CHECK-NEXT: hybrid.param "layers.0.ffn.up"
// CHECK-NEXT: %[[UP:.*]] = hybrid.linear
// CHECK:      hybrid.swiglu %[[GATE]], %[[UP]]
hybrid.model @llama attributes {vocab = 32, d_model = 64} {
  hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>)
               ffn(#hybrid.ffn<kind = swiglu, hidden = 96>)
}

// -----

// Hymba-like parallel block: q, k, v and the Mamba in_proj -> one GEMM; the
// group norms of both branches and the diff -> branch_combine; the shared
// out projection stays one linear.

// CHECK-LABEL: func.func @parallel_diff
// CHECK:      %[[N:.*]] = hybrid.rmsnorm
// CHECK:      %[[G:.*]]:4 = hybrid.linear_group %[[N]][%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<32x64xf32>, tensor<32x64xf32>, tensor<164x64xf32>)
// CHECK:      hybrid.split %[[G]]#3
// CHECK:      %[[AW:.*]] = hybrid.param "layers.0.attn_branch_norm"
// CHECK:      %[[MW:.*]] = hybrid.param "layers.0.mamba_branch_norm"
// CHECK-NOT:  hybrid.group_norm
// CHECK:      %[[C:.*]] = hybrid.branch_combine <diff> %{{.*}}, %{{.*}}, %[[AW]], %[[MW]] {eps = 1.000000e-05 : f64, groups_a = 4 : i64, groups_b = 4 : i64, norm = #hybrid.branch_norm<group>}
// CHECK:      hybrid.linear %[[C]]
hybrid.model @parallel_diff attributes {vocab = 32, d_model = 64} {
  hybrid.block mixer(#hybrid.parallel<attention = #hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>,
                                      mamba = #hybrid.mamba2<heads = 4, head_dim = 16, state = 16>,
                                      fuse = #hybrid.fuse<norm = group, combine = diff>>)
}

// -----

// Falcon-H1: the attention input multiplier (0.5), the key multiplier (0.25)
// and the SSM input multiplier (1.5) fold into the group's scales, so all
// four projections read the normed input once; the separate out projections,
// scaled by attention_out x attn_mult and ssm_out, then added, become one
// linear_sum (one GEMM of [a | m] against [Wo | Wm]).

// CHECK-LABEL: func.func @falcon
// CHECK:      %[[N:.*]] = hybrid.rmsnorm
// CHECK-NOT:  hybrid.scale %[[N]]
// CHECK:      %[[G:.*]]:4 = hybrid.linear_group %[[N]][{{.*}}] {scales = array<f64: 5.000000e-01, 1.250000e-01, 5.000000e-01, 1.500000e+00>}
// CHECK:      %[[A:.*]] = hybrid.reshape %{{.*}} : (tensor<?x?x4x16xf32>) -> tensor<?x?x64xf32>
// CHECK:      %[[M:.*]] = hybrid.mul
// CHECK:      %[[WO:.*]] = hybrid.param "layers.0.attn.o"
// CHECK:      %[[WM:.*]] = hybrid.param "layers.0.mamba.out_proj"
// CHECK:      %[[S:.*]] = hybrid.linear_sum(%[[A]], %[[M]]) [%[[WO]], %[[WM]]] {scales = array<f64: 1.500000e+00, 1.250000e+00>} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
// CHECK-NOT:  hybrid.combine <add>
// CHECK:      hybrid.add %{{.*}}, %[[S]]
hybrid.model @falcon attributes {vocab = 32, d_model = 64, family = "falcon_h1",
    multipliers = #hybrid.multipliers<attention_in = 0.5, attention_out = 0.75, key = 0.25, ssm_in = 1.5, ssm_out = 1.25>} {
  hybrid.block mixer(#hybrid.parallel<attention = #hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>,
                                      mamba = #hybrid.mamba2<heads = 4, head_dim = 16, state = 16, gated_norm = false>,
                                      fuse = #hybrid.fuse<norm = none, combine = add, out_proj = separate, attn_mult = 2.0>>)
}
