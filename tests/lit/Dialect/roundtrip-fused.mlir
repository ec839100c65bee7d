// RUN: hybrid-opt %s | hybrid-opt | FileCheck %s
// RUN: hybrid-opt %s --mlir-print-op-generic | hybrid-opt | FileCheck %s

// Every fused op round-trips, optional operands present and absent.

// CHECK-LABEL: func.func @fused
func.func @fused(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>, %v: tensor<?x?x2x16xf32>,
                 %x: tensor<?x?x64xf32>, %h: tensor<?x?x64xf32>, %p: tensor<?x?x164xf32>,
                 %z: tensor<?x?x64xf32>, %xbc: tensor<?x?x96xf32>, %dt: tensor<?x?x4xf32>) {
  // CHECK: hybrid.rope_attention %{{.*}}, %{{.*}}, %{{.*}} {rotary_dim = 8 : i64, scale = 2.500000e-01 : f64, scaling = #hybrid.rope_scaling<type = "linear", factor = 2.0>, theta = 1.000000e+04 : f64, window = 4 : i64} : (tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>) -> tensor<?x?x4x16xf32>
  %o = hybrid.rope_attention %q, %k, %v {theta = 1.0e4 : f64, rotary_dim = 8 : i64, window = 4 : i64, scale = 0.25 : f64,
                                         scaling = #hybrid.rope_scaling<type = "linear", factor = 2.0>}
      : (tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>) -> tensor<?x?x4x16xf32>

  %cw = hybrid.param "conv" : tensor<96x1x4xf32>
  %cb = hybrid.param "conv_bias" : tensor<96xf32>
  %h4 = hybrid.param "h4" : tensor<4xf32>
  %nw = hybrid.param "norm" : tensor<64xf32>
  // CHECK: hybrid.mamba2_core(%{{.*}}) conv(%{{.*}}, %{{.*}}) dt_bias(%{{.*}}) a_log(%{{.*}}) d(%{{.*}}) norm(%{{.*}}) {chunk = 16 : i64, dt_limit = array<f64: 1.000000e-03, 1.000000e+02>, eps = 1.250000e-01 : f64, groups = 2 : i64, head_dim = 16 : i64, heads = 4 : i64, norm_before_gate, norm_groups = 2 : i64, state = 8 : i64} : (tensor<?x?x164xf32>, tensor<96x1x4xf32>, tensor<96xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %m1 = hybrid.mamba2_core (%p) conv(%cw, %cb) dt_bias(%h4) a_log(%h4) d(%h4) norm(%nw)
      {heads = 4 : i64, head_dim = 16 : i64, groups = 2 : i64, state = 8 : i64, chunk = 16 : i64,
       dt_limit = array<f64: 0.001, 100.0>, norm_groups = 2 : i64, eps = 0.125 : f64, norm_before_gate}
      : (tensor<?x?x164xf32>, tensor<96x1x4xf32>, tensor<96xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  // CHECK: hybrid.mamba2_core(%{{.*}}, %{{.*}}, %{{.*}}) conv(%{{.*}}) dt_bias(%{{.*}}) a_log(%{{.*}}) {chunk = 16 : i64, groups = 2 : i64, head_dim = 16 : i64, heads = 4 : i64, state = 8 : i64} : (tensor<?x?x64xf32>, tensor<?x?x96xf32>, tensor<?x?x4xf32>, tensor<96x1x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<?x?x64xf32>
  %m3 = hybrid.mamba2_core (%z, %xbc, %dt) conv(%cw) dt_bias(%h4) a_log(%h4)
      {heads = 4 : i64, head_dim = 16 : i64, groups = 2 : i64, state = 8 : i64, chunk = 16 : i64}
      : (tensor<?x?x64xf32>, tensor<?x?x96xf32>, tensor<?x?x4xf32>, tensor<96x1x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<?x?x64xf32>

  %wq = hybrid.param "q" : tensor<64x64xf32>
  %wk = hybrid.param "k" : tensor<32x64xf32>
  %bq = hybrid.param "bq" : tensor<64xf32>
  %bk = hybrid.param "bk" : tensor<32xf32>
  // CHECK: %{{.*}}:2 = hybrid.linear_group %{{.*}}[%{{.*}}, %{{.*}}] {scales = array<f64: 5.000000e-01, 2.500000e-01>} : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<32x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x32xf32>)
  %g:2 = hybrid.linear_group %x [%wq, %wk] {scales = array<f64: 0.5, 0.25>}
      : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<32x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x32xf32>)
  // CHECK: hybrid.linear_group %{{.*}}[%{{.*}}, %{{.*}}] bias[%{{.*}}, %{{.*}}] : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<32x64xf32>, tensor<64xf32>, tensor<32xf32>)
  %gb:2 = hybrid.linear_group %x [%wq, %wk] bias [%bq, %bk]
      : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<32x64xf32>, tensor<64xf32>, tensor<32xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x32xf32>)

  // CHECK: hybrid.linear_sum(%{{.*}}, %{{.*}}) [%{{.*}}, %{{.*}}] {scales = array<f64: 1.000000e+00, -1.000000e+00>} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
  %s = hybrid.linear_sum (%x, %h) [%wq, %wq] {scales = array<f64: 1.0, -1.0>}
      : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>

  // CHECK: hybrid.branch_combine <concat> %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {eps = 1.000000e-05 : f64, norm = #hybrid.branch_norm<rms>, scale_b = 5.000000e-01 : f64} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x128xf32>
  %c = hybrid.branch_combine <concat> %x, %h, %bq, %bq {norm = #hybrid.branch_norm<rms>, eps = 1.0e-5 : f64, scale_b = 0.5 : f64}
      : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x128xf32>
  // CHECK: hybrid.branch_combine <mean> {{.*}} {eps = 1.000000e-05 : f64, groups_a = 4 : i64, groups_b = 2 : i64, norm = #hybrid.branch_norm<group>}
  %c2 = hybrid.branch_combine <mean> %x, %h, %bq, %bq {norm = #hybrid.branch_norm<group>, groups_a = 4 : i64, groups_b = 2 : i64, eps = 1.0e-5 : f64}
      : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>

  // CHECK: %{{.*}}, %{{.*}} = hybrid.add_rmsnorm %{{.*}}, %{{.*}}, %{{.*}} {eps = 1.000000e-05 : f64} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>)
  %sum, %n = hybrid.add_rmsnorm %x, %h, %bq {eps = 1.0e-5 : f64}
      : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>)

  // CHECK: hybrid.fused_linear %{{.*}}, %{{.*}} bias(%{{.*}}) residual(%{{.*}}) {scale = 2.000000e+00 : f64} : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  %f1 = hybrid.fused_linear %x, %wq bias(%bq) residual(%h) {scale = 2.0 : f64}
      : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  // CHECK: hybrid.fused_linear %{{.*}}, %{{.*}} residual(%{{.*}}) : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  %f2 = hybrid.fused_linear %x, %wq residual(%h)
      : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  // CHECK: hybrid.fused_linear %{{.*}}, %{{.*}} {scale = 5.000000e-01 : f64} : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
  %f3 = hybrid.fused_linear %x, %wk {scale = 0.5 : f64} : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>

  // CHECK: hybrid.swiglu_linear %{{.*}}, %{{.*}}, %{{.*}} {gate_scale = 2.000000e+00 : f64} : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
  %sw = hybrid.swiglu_linear %x, %wq, %wq {gate_scale = 2.0 : f64}
      : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
  // CHECK: hybrid.swiglu_linear %{{.*}}, %{{.*}}, %{{.*}} bias(%{{.*}}, %{{.*}}) : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %sw2 = hybrid.swiglu_linear %x, %wq, %wq bias(%bq, %bq)
      : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  return
}
