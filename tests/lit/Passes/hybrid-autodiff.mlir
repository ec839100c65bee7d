// RUN: hybrid-opt %s --hybrid-autodiff="chunked-loss=false" | FileCheck %s

// The backward of a small tied-embedding model. The loss's vjp is seeded (no
// gradient operand); each op's vjp reads its inputs, results and result
// gradients; reshapes run backwards; values read twice (P, N, the embedding:
// gather and LM head) sum their contributions; the split result nobody reads
// gets a zero gradient; the token ids get none (mask false).

// CHECK-LABEL: func.func @m_train_step(
// CHECK-SAME: %[[IDS:.*]]: tensor<?x?xi32>, %[[LABELS:.*]]: tensor<?x?xi32>) -> (tensor<f32>, tensor<16x8xf32>, tensor<8xf32>, tensor<16x8xf32>)
// CHECK-SAME: hybrid.grad_names = ["embed", "norm", "proj"]
// CHECK-SAME: hybrid.saved_bytes_per_token = 544 : i64, hybrid.train_step = "m"
// CHECK:      %[[E:.*]] = hybrid.param "embed"
// CHECK:      %[[H:.*]] = hybrid.embedding %[[E]], %[[IDS]]
// CHECK:      %[[W:.*]] = hybrid.param "norm"
// CHECK:      %[[N:.*]] = hybrid.rmsnorm %[[H]], %[[W]]
// CHECK:      %[[WP:.*]] = hybrid.param "proj"
// CHECK:      %[[P:.*]] = hybrid.linear %[[N]], %[[WP]]
// CHECK:      %[[R:.*]] = hybrid.reshape %[[P]]
// CHECK:      %[[S:.*]] = hybrid.silu %[[R]]
// CHECK:      %[[R2:.*]] = hybrid.reshape %[[S]]
// CHECK:      %[[A:.*]] = hybrid.add %[[R2]], %[[P]]
// CHECK:      %[[X:.*]]:2 = hybrid.split %[[A]]
// CHECK:      %[[Y:.*]] = hybrid.add %[[X]]#0, %[[N]]
// CHECK:      %[[L:.*]] = hybrid.lm_head %[[Y]], %[[E]]
// CHECK:      %[[LOSS:.*]] = hybrid.cross_entropy %[[L]], %[[LABELS]]
// CHECK:      %[[DL:.*]] = hybrid.vjp "cross_entropy"(%[[L]], %[[LABELS]], %[[LOSS]]) {grad_mask = array<i1: true, false>, num_inputs = 2 : i64, num_outputs = 1 : i64}
// CHECK:      %[[DHEAD:.*]]:2 = hybrid.vjp "lm_head"(%[[Y]], %[[E]], %[[L]], %[[DL]])
// CHECK:      %[[DY:.*]]:2 = hybrid.vjp "add"(%[[X]]#0, %[[N]], %[[Y]], %[[DHEAD]]#0)
// CHECK:      %[[Z:.*]] = hybrid.scale %[[X]]#1 {factor = 0.000000e+00 : f64}
// CHECK:      %[[DA:.*]] = hybrid.vjp "split"(%[[A]], %[[X]]#0, %[[X]]#1, %[[DY]]#0, %[[Z]]) {grad_mask = array<i1: true>, num_inputs = 1 : i64, num_outputs = 2 : i64, sizes = array<i64: 8, 8>}
// CHECK:      %[[DADD:.*]]:2 = hybrid.vjp "add"(%[[R2]], %[[P]], %[[A]], %[[DA]])
// CHECK:      %[[DR2:.*]] = hybrid.reshape %[[DADD]]#0 : (tensor<?x?x16xf32>) -> tensor<?x?x2x8xf32>
// CHECK:      %[[DS:.*]] = hybrid.vjp "silu"(%[[R]], %[[S]], %[[DR2]])
// CHECK:      %[[DR:.*]] = hybrid.reshape %[[DS]] : (tensor<?x?x2x8xf32>) -> tensor<?x?x16xf32>
// CHECK:      %[[DP:.*]] = hybrid.add %[[DADD]]#1, %[[DR]]
// CHECK:      %[[DLIN:.*]]:2 = hybrid.vjp "linear"(%[[N]], %[[WP]], %[[P]], %[[DP]])
// CHECK:      %[[DN:.*]] = hybrid.add %[[DY]]#1, %[[DLIN]]#0
// CHECK:      %[[DNORM:.*]]:2 = hybrid.vjp "rmsnorm"(%[[H]], %[[W]], %[[N]], %[[DN]]) {eps = 1.000000e-05 : f64, grad_mask = array<i1: true, true>
// CHECK:      %[[DEMB:.*]] = hybrid.vjp "embedding"(%[[E]], %[[IDS]], %[[H]], %[[DNORM]]#0) {grad_mask = array<i1: true, false>
// CHECK:      %[[DE:.*]] = hybrid.add %[[DHEAD]]#1, %[[DEMB]]
// CHECK:      return %[[LOSS]], %[[DE]], %[[DNORM]]#1, %[[DLIN]]#1

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
