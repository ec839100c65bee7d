// RUN: hybrid-opt %s -split-input-file --hybrid-fuse-parallel | FileCheck %s

// Negative: a scaled input with a biased projection cannot fold the input
// scale (a * (x W^T) + b is not a scale of x W^T + b), so that projection
// stays apart; one remaining projection of x is not a group either.
// CHECK-LABEL: func.func @biased_scaled
// CHECK-COUNT-2: hybrid.linear
// CHECK-NOT:   hybrid.linear_group
func.func @biased_scaled(%x: tensor<?x?x64xf32>, %w: tensor<32x64xf32>, %b: tensor<32xf32>) -> (tensor<?x?x32xf32>, tensor<?x?x32xf32>) {
  %xs = hybrid.scale %x {factor = 2.0 : f64} : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  %a = hybrid.linear %x, %w : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
  %c = hybrid.linear %xs, %w, %b : (tensor<?x?x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
  return %a, %c : tensor<?x?x32xf32>, tensor<?x?x32xf32>
}

// -----

// Negative: a concat of un-normed branches is neither a sum of projections
// nor a branch-norm group: the combine stays.
// CHECK-LABEL: func.func @concat_plain
// CHECK:       hybrid.combine <concat>
// CHECK-NOT:   hybrid.linear_sum
// CHECK-NOT:   hybrid.branch_combine
func.func @concat_plain(%a: tensor<?x?x64xf32>, %m: tensor<?x?x64xf32>, %w: tensor<64x64xf32>) -> tensor<?x?x128xf32> {
  %pa = hybrid.linear %a, %w : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
  %pm = hybrid.linear %m, %w : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
  %c = hybrid.combine <concat> %pa, %pm : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x128xf32>
  return %c : tensor<?x?x128xf32>
}

// -----

// Negative: branch norms of different kinds (rms vs group) have no single
// branch_combine form.
// CHECK-LABEL: func.func @mixed_norms
// CHECK:       hybrid.rmsnorm
// CHECK:       hybrid.group_norm
// CHECK:       hybrid.combine <mean>
func.func @mixed_norms(%a: tensor<?x?x64xf32>, %m: tensor<?x?x64xf32>, %w: tensor<64xf32>) -> tensor<?x?x64xf32> {
  %na = hybrid.rmsnorm %a, %w {eps = 1.0e-5 : f64} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %nm = hybrid.group_norm %m, %w {groups = 4 : i64, eps = 1.0e-5 : f64} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %c = hybrid.combine <mean> %na, %nm : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  return %c : tensor<?x?x64xf32>
}
