// RUN: hybrid-opt %s -split-input-file --hybrid-fuse-add-rmsnorm | FileCheck %s

// A residual add whose sum is normed: one op, two results; the sum keeps
// feeding the add's other user (the next residual). The norm weight, defined
// after the add, is moved up.

// CHECK-LABEL: func.func @fuse
// CHECK-SAME:  (%[[H:.*]]: tensor<?x?x64xf32>, %[[D:.*]]: tensor<?x?x64xf32>)
// CHECK:       %[[W:.*]] = hybrid.param "n" : tensor<64xf32>
// CHECK-NEXT:  %[[S:.*]], %[[N:.*]] = hybrid.add_rmsnorm %[[H]], %[[D]], %[[W]] {eps = 1.250000e-01 : f64} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>)
// CHECK-NOT:   hybrid.rmsnorm
// CHECK:       %[[R:.*]] = hybrid.add %[[S]], %[[N]]
// CHECK-NEXT:  return %[[R]]
func.func @fuse(%h: tensor<?x?x64xf32>, %d: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %s = hybrid.add %h, %d : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  %w = hybrid.param "n" : tensor<64xf32>
  %n = hybrid.rmsnorm %s, %w {eps = 0.125 : f64} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %r = hybrid.add %s, %n : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  return %r : tensor<?x?x64xf32>
}

// -----

// Negative: a broadcasting add (a bias, not a residual) is not fused: the
// fused kernel adds two same-shape streams.
// CHECK-LABEL: func.func @broadcast
// CHECK:       hybrid.add
// CHECK:       hybrid.rmsnorm
// CHECK-NOT:   hybrid.add_rmsnorm
func.func @broadcast(%h: tensor<?x?x64xf32>, %b: tensor<64xf32>) -> tensor<?x?x64xf32> {
  %s = hybrid.add %h, %b : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %n = hybrid.rmsnorm %s, %b {eps = 1.0e-6 : f64} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  return %n : tensor<?x?x64xf32>
}
