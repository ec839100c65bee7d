// RUN: hybrid-opt %s | hybrid-opt | FileCheck %s
// RUN: hybrid-opt %s --mlir-print-op-generic | hybrid-opt | FileCheck %s

// Every tensor-level op round-trips, with dynamic batch and sequence dims.

// CHECK-LABEL: func.func @all_ops
func.func @all_ops(%ids: tensor<?x?xi32>, %labels: tensor<?x?xi32>) -> tensor<f32> {
  // CHECK: %[[E:.*]] = hybrid.param "embed" : tensor<256x64xf32>
  %e = hybrid.param "embed" : tensor<256x64xf32>
  // CHECK: %[[H:.*]] = hybrid.embedding %[[E]], %{{.*}} : (tensor<256x64xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
  %h = hybrid.embedding %e, %ids : (tensor<256x64xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
  %w = hybrid.param "norm" : tensor<64xf32>
  // CHECK: hybrid.rmsnorm %[[H]], %{{.*}} {eps = 1.000000e-05 : f64}
  %n = hybrid.rmsnorm %h, %w {eps = 1.0e-5 : f64} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  // CHECK: hybrid.group_norm {{.*}} {eps = 1.000000e-05 : f64, groups = 4 : i64}
  %gn = hybrid.group_norm %n, %w {groups = 4 : i64, eps = 1.0e-5 : f64} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %wp = hybrid.param "proj" : tensor<168x64xf32>
  %bp = hybrid.param "proj_bias" : tensor<168xf32>
  // CHECK: hybrid.linear %{{.*}}, %{{.*}}, %{{.*}} : (tensor<?x?x64xf32>, tensor<168x64xf32>, tensor<168xf32>) -> tensor<?x?x168xf32>
  %p = hybrid.linear %gn, %wp, %bp : (tensor<?x?x64xf32>, tensor<168x64xf32>, tensor<168xf32>) -> tensor<?x?x168xf32>
  // CHECK: hybrid.split %{{.*}} {sizes = array<i64: 64, 96, 8>}
  %z, %xbc, %dt = hybrid.split %p {sizes = array<i64: 64, 96, 8>} : (tensor<?x?x168xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x96xf32>, tensor<?x?x8xf32>)
  %cw = hybrid.param "conv" : tensor<96x1x4xf32>
  // CHECK: hybrid.conv1d_causal
  %c = hybrid.conv1d_causal %xbc, %cw : (tensor<?x?x96xf32>, tensor<96x1x4xf32>) -> tensor<?x?x96xf32>
  // CHECK: hybrid.silu
  %cs = hybrid.silu %c : (tensor<?x?x96xf32>) -> tensor<?x?x96xf32>
  %x, %bm, %cm = hybrid.split %cs {sizes = array<i64: 64, 16, 16>} : (tensor<?x?x96xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>)
  // CHECK: hybrid.softplus
  %dts = hybrid.softplus %dt : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  // CHECK: hybrid.clamp %{{.*}} {max = 1.000000e+01 : f64, min = 1.000000e-03 : f64}
  %dtc = hybrid.clamp %dts {min = 1.0e-3 : f64, max = 10.0 : f64} : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  // CHECK: hybrid.reshape %{{.*}} : (tensor<?x?x64xf32>) -> tensor<?x?x8x8xf32>
  %x4 = hybrid.reshape %x : (tensor<?x?x64xf32>) -> tensor<?x?x8x8xf32>
  %b4 = hybrid.reshape %bm : (tensor<?x?x16xf32>) -> tensor<?x?x2x8xf32>
  %c4 = hybrid.reshape %cm : (tensor<?x?x16xf32>) -> tensor<?x?x2x8xf32>
  %alog = hybrid.param "A_log" : tensor<8xf32>
  %d = hybrid.param "D" : tensor<8xf32>
  // CHECK: hybrid.ssd_scan {{.*}} {chunk = 16 : i64}
  %y = hybrid.ssd_scan %x4, %dtc, %alog, %b4, %c4, %d {chunk = 16 : i64} : (tensor<?x?x8x8xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>, tensor<8xf32>) -> tensor<?x?x8x8xf32>
  // CHECK: hybrid.ssd_scan {{.*}} {chunk = 7 : i64} : (tensor<?x?x8x8xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>) -> tensor<?x?x8x8xf32>
  %y2 = hybrid.ssd_scan %x4, %dtc, %alog, %b4, %c4 {chunk = 7 : i64} : (tensor<?x?x8x8xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>) -> tensor<?x?x8x8xf32>
  %y3 = hybrid.reshape %y : (tensor<?x?x8x8xf32>) -> tensor<?x?x64xf32>
  // CHECK: hybrid.gated_rmsnorm {{.*}} {eps = 1.000000e-05 : f64, groups = 2 : i64, norm_before_gate}
  %g = hybrid.gated_rmsnorm %y3, %z, %w {groups = 2 : i64, eps = 1.0e-5 : f64, norm_before_gate} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %q = hybrid.reshape %g : (tensor<?x?x64xf32>) -> tensor<?x?x4x16xf32>
  %k = hybrid.reshape %n : (tensor<?x?x64xf32>) -> tensor<?x?x4x16xf32>
  // CHECK: hybrid.rope %{{.*}} {scaling = #hybrid.rope_scaling<type = "llama3", factor = 8.0>, theta = 5.000000e+05 : f64}
  %qr = hybrid.rope %q {theta = 500000.0 : f64, scaling = #hybrid.rope_scaling<type = "llama3", factor = 8.0>} : (tensor<?x?x4x16xf32>) -> tensor<?x?x4x16xf32>
  %kv = hybrid.reshape %bm : (tensor<?x?x16xf32>) -> tensor<?x?x1x16xf32>
  // CHECK: hybrid.attention {{.*}} {scale = 1.250000e-01 : f64, window = 32 : i64}
  %o = hybrid.attention %qr, %kv, %kv {window = 32 : i64, scale = 0.125 : f64} : (tensor<?x?x4x16xf32>, tensor<?x?x1x16xf32>, tensor<?x?x1x16xf32>) -> tensor<?x?x4x16xf32>
  %o2 = hybrid.reshape %o : (tensor<?x?x4x16xf32>) -> tensor<?x?x64xf32>
  // CHECK: hybrid.scale %{{.*}} {factor = 5.000000e-01 : f64}
  %s = hybrid.scale %o2 {factor = 0.5 : f64} : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  // CHECK: hybrid.combine <diff>
  %cmb = hybrid.combine <diff> %s, %g : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  // CHECK: hybrid.combine <concat> {{.*}} -> tensor<?x?x128xf32>
  %cat = hybrid.combine <concat> %s, %g : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x128xf32>
  %wd = hybrid.param "down" : tensor<64x128xf32>
  %down = hybrid.linear %cat, %wd : (tensor<?x?x128xf32>, tensor<64x128xf32>) -> tensor<?x?x64xf32>
  // CHECK: hybrid.swiglu
  %sw = hybrid.swiglu %cmb, %down : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  // CHECK: hybrid.relu2
  %r2 = hybrid.relu2 %sw : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  // CHECK: hybrid.mul %{{.*}}, %{{.*}} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %m = hybrid.mul %r2, %w : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  // CHECK: hybrid.add
  %a = hybrid.add %m, %h : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  // CHECK: hybrid.lm_head
  %logits = hybrid.lm_head %a, %e : (tensor<?x?x64xf32>, tensor<256x64xf32>) -> tensor<?x?x256xf32>
  // CHECK: hybrid.custom_call "softplus_clamp"(%{{.*}}) {max = 1.000000e+01 : f64, min = 1.000000e-03 : f64} : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  %cc = hybrid.custom_call "softplus_clamp"(%dt) {min = 1.0e-3 : f64, max = 10.0 : f64} : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  // CHECK: hybrid.cross_entropy {{.*}} -> tensor<f32>
  %loss = hybrid.cross_entropy %logits, %labels : (tensor<?x?x256xf32>, tensor<?x?xi32>) -> tensor<f32>
  return %loss : tensor<f32>
}
