// RUN: hybrid-opt %s -split-input-file --hybrid-autodiff="loss-chunk=256" | FileCheck %s

// By default the LM head and the loss become one chunked op, so the
// [tokens, vocab] logits never exist; its vjp gives the gradients of the
// hidden states and of the (tied) head weight. The LM head multiplier
// (Falcon-H1's lm_head_multiplier) folds into it.

// CHECK-LABEL: func.func @m_train_step(
// CHECK-SAME: %[[IDS:.*]]: tensor<?x?xi32>, %[[LABELS:.*]]: tensor<?x?xi32>)
// CHECK-NOT:  hybrid.lm_head %
// CHECK:      %[[LOSS:.*]] = hybrid.lm_head_loss %[[X:.*]], %[[E:.*]], %[[LABELS]] {chunk = 256 : i64, scale = 1.250000e-01 : f64} : (tensor<?x?x8xf32>, tensor<16x8xf32>, tensor<?x?xi32>) -> tensor<f32>
// CHECK-NEXT: %[[G:.*]]:2 = hybrid.vjp "lm_head_loss"(%[[X]], %[[E]], %[[LABELS]], %[[LOSS]]) {chunk = 256 : i64, grad_mask = array<i1: true, true, false>, num_inputs = 3 : i64, num_outputs = 1 : i64, scale = 1.250000e-01 : f64}
// CHECK-NOT:  hybrid.cross_entropy
// CHECK:      %[[DE:.*]] = hybrid.add %[[G]]#1, %{{.*}} : (tensor<16x8xf32>, tensor<16x8xf32>) -> tensor<16x8xf32>
// CHECK:      return %[[LOSS]], %[[DE]]
func.func @m(%ids: tensor<?x?xi32>) -> tensor<?x?x16xf32> attributes {hybrid.model = "m"} {
  %e = hybrid.param "embed" : tensor<16x8xf32>
  %h = hybrid.embedding %e, %ids : (tensor<16x8xf32>, tensor<?x?xi32>) -> tensor<?x?x8xf32>
  %w = hybrid.param "norm" : tensor<8xf32>
  %n = hybrid.rmsnorm %h, %w {eps = 1.0e-5 : f64} : (tensor<?x?x8xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
  %l = hybrid.lm_head %n, %e : (tensor<?x?x8xf32>, tensor<16x8xf32>) -> tensor<?x?x16xf32>
  %s = hybrid.scale %l {factor = 0.125 : f64} : (tensor<?x?x16xf32>) -> tensor<?x?x16xf32>
  return %s : tensor<?x?x16xf32>
}

// -----

// Logits that are not a plain LM head output keep the unfused loss.
// CHECK-LABEL: func.func @k_train_step(
// CHECK: hybrid.lm_head %
// CHECK: hybrid.relu2
// CHECK: hybrid.cross_entropy
// CHECK: hybrid.vjp "cross_entropy"
func.func @k(%ids: tensor<?x?xi32>) -> tensor<?x?x16xf32> attributes {hybrid.model = "k"} {
  %e = hybrid.param "embed" : tensor<16x8xf32>
  %h = hybrid.embedding %e, %ids : (tensor<16x8xf32>, tensor<?x?xi32>) -> tensor<?x?x8xf32>
  %l = hybrid.lm_head %h, %e : (tensor<?x?x8xf32>, tensor<16x8xf32>) -> tensor<?x?x16xf32>
  %r = hybrid.relu2 %l : (tensor<?x?x16xf32>) -> tensor<?x?x16xf32>
  return %r : tensor<?x?x16xf32>
}
