// RUN: hybrid-opt %s -split-input-file --hybrid-decompose --hybrid-fuse-mamba | FileCheck %s

// mamba_ssm's mixer (2 groups, dt limit, gated norm in 2 groups): everything
// between in_proj and out_proj becomes one mamba2_core reading the in_proj
// output whole (z | xBC | dt were the three results of one split of it).

// CHECK-LABEL: func.func @mamba
// CHECK:      %[[P:.*]] = hybrid.linear %{{.*}}, %{{.*}} : (tensor<?x?x32xf32>, tensor<164x32xf32>) -> tensor<?x?x164xf32>
// CHECK-NOT:  hybrid.split
// CHECK:      %[[CW:.*]] = hybrid.param "layers.0.mamba.conv1d.weight"
// CHECK:      %[[CB:.*]] = hybrid.param "layers.0.mamba.conv1d.bias"
// CHECK:      %[[DTB:.*]] = hybrid.param "layers.0.mamba.dt_bias"
// CHECK:      %[[AL:.*]] = hybrid.param "layers.0.mamba.A_log"
// CHECK:      %[[D:.*]] = hybrid.param "layers.0.mamba.D"
// CHECK:      %[[NW:.*]] = hybrid.param "layers.0.mamba.norm"
// CHECK-NEXT: %[[Y:.*]] = hybrid.mamba2_core(%[[P]]) conv(%[[CW]], %[[CB]]) dt_bias(%[[DTB]]) a_log(%[[AL]]) d(%[[D]]) norm(%[[NW]])
// CHECK-SAME:   {chunk = 16 : i64, dt_limit = array<f64: 0.000000e+00, 1.000000e+02>, groups = 2 : i64, head_dim = 16 : i64, heads = 4 : i64, norm_groups = 2 : i64, state = 8 : i64}
// CHECK-SAME:   : (tensor<?x?x164xf32>, tensor<96x1x4xf32>, tensor<96xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
// CHECK-NOT:  hybrid.conv1d_causal
// CHECK-NOT:  hybrid.ssd_scan
// CHECK-NOT:  hybrid.softplus
// CHECK:      hybrid.param "layers.0.mamba.out_proj"
// CHECK-NEXT: hybrid.linear %[[Y]]
hybrid.model @mamba attributes {vocab = 32, d_model = 32} {
  hybrid.block mixer(#hybrid.mamba2<heads = 4, head_dim = 16, state = 8, groups = 2, chunk = 16, dt_limit_hi = 100.0>)
}

// -----

// Falcon-H1 segment multipliers: z, xBC (re-joined by concat) and dt are
// scaled pieces of in_proj, so the core takes the three pieces and the
// scale/concat ops stay in front; no gated norm: y * silu(z) (no norm operand).

// CHECK-LABEL: func.func @falcon
// CHECK:      %[[SEG:.*]]:5 = hybrid.split
// CHECK:      %[[Z:.*]] = hybrid.scale %[[SEG]]#0 {factor = 2.000000e+00 : f64}
// CHECK:      %[[XBC:.*]] = hybrid.combine <concat> %{{.*}}, %[[SEG]]#3
// CHECK:      %[[DT:.*]] = hybrid.scale %[[SEG]]#4 {factor = 5.000000e-01 : f64}
// CHECK:      %[[Y:.*]] = hybrid.mamba2_core(%[[Z]], %[[XBC]], %[[DT]]) conv(%{{.*}}, %{{.*}}) dt_bias(%{{.*}}) a_log(%{{.*}}) d(%{{.*}}) {chunk = 256 : i64, groups = 1 : i64, head_dim = 16 : i64, heads = 4 : i64, state = 16 : i64}
// CHECK-SAME:   : (tensor<?x?x64xf32>, tensor<?x?x96xf32>, tensor<?x?x4xf32>, tensor<96x1x4xf32>, tensor<96xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<?x?x64xf32>
// CHECK-NOT:  hybrid.silu
// CHECK:      hybrid.linear %[[Y]]
hybrid.model @falcon attributes {vocab = 32, d_model = 32, family = "falcon_h1",
    multipliers = #hybrid.multipliers<ssm_z = 2.0, ssm_x = 3.0, ssm_dt = 0.5>} {
  hybrid.block mixer(#hybrid.mamba2<heads = 4, head_dim = 16, state = 16, gated_norm = false, expand = 2>)
}
