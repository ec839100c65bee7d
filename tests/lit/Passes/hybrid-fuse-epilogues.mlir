// RUN: hybrid-opt %s -split-input-file --hybrid-fuse-epilogues | FileCheck %s

// Falcon-H1 FFN: swiglu(scale(linear(x, Wg), 2), linear(x, Wu)) -> one
// swiglu_linear with gate_scale 2; down projection x mlp_down (0.5) -> a
// fused_linear scale; then the residual add -> its residual operand.

// CHECK-LABEL: func.func @ffn
// CHECK-SAME:  (%[[H:.*]]: tensor<?x?x64xf32>, %[[X:.*]]: tensor<?x?x64xf32>, %[[WG:.*]]: tensor<128x64xf32>, %[[WU:.*]]: tensor<128x64xf32>, %[[WD:.*]]: tensor<64x128xf32>)
// CHECK-NEXT:  %[[S:.*]] = hybrid.swiglu_linear %[[X]], %[[WG]], %[[WU]] {gate_scale = 2.000000e+00 : f64} : (tensor<?x?x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>) -> tensor<?x?x128xf32>
// CHECK-NEXT:  %[[Y:.*]] = hybrid.fused_linear %[[S]], %[[WD]] residual(%[[H]]) {scale = 5.000000e-01 : f64} : (tensor<?x?x128xf32>, tensor<64x128xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
// CHECK-NEXT:  return %[[Y]]
func.func @ffn(%h: tensor<?x?x64xf32>, %x: tensor<?x?x64xf32>, %wg: tensor<128x64xf32>, %wu: tensor<128x64xf32>, %wd: tensor<64x128xf32>) -> tensor<?x?x64xf32> {
  %g = hybrid.linear %x, %wg : (tensor<?x?x64xf32>, tensor<128x64xf32>) -> tensor<?x?x128xf32>
  %gs = hybrid.scale %g {factor = 2.0 : f64} : (tensor<?x?x128xf32>) -> tensor<?x?x128xf32>
  %u = hybrid.linear %x, %wu : (tensor<?x?x64xf32>, tensor<128x64xf32>) -> tensor<?x?x128xf32>
  %s = hybrid.swiglu %gs, %u : (tensor<?x?x128xf32>, tensor<?x?x128xf32>) -> tensor<?x?x128xf32>
  %d = hybrid.linear %s, %wd : (tensor<?x?x128xf32>, tensor<64x128xf32>) -> tensor<?x?x64xf32>
  %ds = hybrid.scale %d {factor = 0.5 : f64} : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  %r = hybrid.add %h, %ds : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  return %r : tensor<?x?x64xf32>
}

// -----

// Biases travel with the GEMM: a biased gate/up pair keeps both biases; two
// scales in a row multiply.
// CHECK-LABEL: func.func @biases
// CHECK:       hybrid.swiglu_linear %{{.*}}, %{{.*}}, %{{.*}} bias(%{{.*}}, %{{.*}})
// CHECK:       hybrid.fused_linear %{{.*}}, %{{.*}} bias(%{{.*}}) {scale = 1.500000e+00 : f64}
func.func @biases(%x: tensor<?x?x64xf32>, %w: tensor<64x64xf32>, %b: tensor<64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  %g = hybrid.linear %x, %w, %b : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %u = hybrid.linear %x, %w, %b : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %s = hybrid.swiglu %g, %u : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  %p = hybrid.linear %x, %w, %b : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %p1 = hybrid.scale %p {factor = 3.0 : f64} : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  %p2 = hybrid.scale %p1 {factor = 0.5 : f64} : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  return %s, %p2 : tensor<?x?x64xf32>, tensor<?x?x64xf32>
}

// -----

// Negative: the projection is also returned unscaled, so folding the scale
// into the GEMM would lose it; a broadcasting add (a bias) is no residual.
// CHECK-LABEL: func.func @escapes
// CHECK:       hybrid.linear
// CHECK:       hybrid.scale
// CHECK:       hybrid.add
// CHECK-NOT:   hybrid.fused_linear
func.func @escapes(%x: tensor<?x?x64xf32>, %w: tensor<64x64xf32>, %b: tensor<64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  %p = hybrid.linear %x, %w : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
  %s = hybrid.scale %p {factor = 3.0 : f64} : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  %q = hybrid.linear %x, %w : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
  %a = hybrid.add %q, %b : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  return %p, %s, %a : tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>
}
