// RUN: hybrid-opt %s --hybrid-autodiff="memory-budget=100 chunked-loss=false" -verify-diagnostics | FileCheck %s

// The recompute policy on the model of hybrid-autodiff.mlir.
// With a budget of 100 bytes/token the element-wise ops are recomputed right
// before their backward use (the silu here), and the remark says what is
// still kept: matmul outputs cannot be recomputed by this policy.
// CHECK-LABEL: func.func @m_train_step(
// CHECK: %[[R:.*]] = hybrid.reshape %{{.*}} : (tensor<?x?x16xf32>) -> tensor<?x?x2x8xf32>
// CHECK: hybrid.vjp "add"
// CHECK: hybrid.reshape
// CHECK-NEXT: %[[S2:.*]] = hybrid.silu %[[R]]
// CHECK-NEXT: hybrid.vjp "silu"(%[[R]], %[[S2]],

// expected-remark @+1 {{autodiff: activations kept for the backward: 384 bytes/token (budget 100, 544 when keeping all); 3 op(s) recomputed; the budget cannot be met by recomputing element-wise ops}}
func.func @m(%ids: tensor<?x?xi32>) -> tensor<?x?x16xf32> attributes {hybrid.model = "m"} {
  %e = hybrid.param "embed" : tensor<16x8xf32>
  %h = hybrid.embedding %e, %ids : (tensor<16x8xf32>, tensor<?x?xi32>) -> tensor<?x?x8xf32>
  %w = hybrid.param "norm" : tensor<8xf32>
  %n = hybrid.rmsnorm %h, %w {eps = 1.0e-5 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %wp = hybrid.param "proj" : tensor<16x8xf32>
  %p = hybrid.linear %n, %wp : (tensor<?x?x8xf32>, tensor<16x8xf32>) -> tensor<?x?x16xf32>
  %r = hybrid.reshape %p : (tensor<?x?x16xf32>) -> tensor<?x?x2x8xf32>
  %s = hybrid.silu %r : (tensor<?x?x2x8xf32>) -> tensor<?x?x2x8xf32>
  %r2 = hybrid.reshape %s : (tensor<?x?x2x8xf32>) -> tensor<?x?x16xf32>
  %a = hybrid.add %r2, %p : (tensor<?x?x16xf32>, tensor<?x?x16xf32>) -> tensor<?x?x16xf32>
  %x1, %x2 = hybrid.split %a {sizes = array<i64: 8, 8>} : (tensor<?x?x16xf32>) -> (tensor<?x?x8xf32>, tensor<?x?x8xf32>)
  %y = hybrid.add %x1, %n : (tensor<?x?x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  %l = hybrid.lm_head %y, %e : (tensor<?x?x8xf32>, tensor<16x8xf32>) -> tensor<?x?x16xf32>
  return %l : tensor<?x?x16xf32>
}
