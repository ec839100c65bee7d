// RUN: hybrid-opt %s --hybrid-fuse-mamba | FileCheck %s

// Negative: the conv output is also returned, so the fused core (which keeps
// it in registers) would have to recompute or materialise it: nothing fuses.

// CHECK-LABEL: func.func @conv_escapes
// CHECK:       hybrid.conv1d_causal
// CHECK:       hybrid.ssd_scan
// CHECK:       hybrid.gated_rmsnorm
// CHECK-NOT:   hybrid.mamba2_core
func.func @conv_escapes(%p: tensor<?x?x164xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x96xf32>) {
  %6:3 = hybrid.split %p {sizes = array<i64: 64, 96, 4>} : (tensor<?x?x164xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x96xf32>, tensor<?x?x4xf32>)
  %7 = hybrid.param "conv1d.weight" : tensor<96x1x4xf32>
  %9 = hybrid.conv1d_causal %6#1, %7 : (tensor<?x?x96xf32>, tensor<96x1x4xf32>) -> tensor<?x?x96xf32>
  %10 = hybrid.silu %9 : (tensor<?x?x96xf32>) -> tensor<?x?x96xf32>
  %11:3 = hybrid.split %10 {sizes = array<i64: 64, 16, 16>} : (tensor<?x?x96xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>)
  %12 = hybrid.param "dt_bias" : tensor<4xf32>
  %13 = hybrid.param "A_log" : tensor<4xf32>
  %15 = hybrid.add %6#2, %12 : (tensor<?x?x4xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
  %16 = hybrid.softplus %15 : (tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  %17 = hybrid.reshape %11#0 : (tensor<?x?x64xf32>) -> tensor<?x?x4x16xf32>
  %18 = hybrid.reshape %11#1 : (tensor<?x?x16xf32>) -> tensor<?x?x2x8xf32>
  %19 = hybrid.reshape %11#2 : (tensor<?x?x16xf32>) -> tensor<?x?x2x8xf32>
  %20 = hybrid.ssd_scan %17, %16, %13, %18, %19 {chunk = 16 : i64} : (tensor<?x?x4x16xf32>, tensor<?x?x4xf32>, tensor<4xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>) -> tensor<?x?x4x16xf32>
  %21 = hybrid.reshape %20 : (tensor<?x?x4x16xf32>) -> tensor<?x?x64xf32>
  %22 = hybrid.param "norm" : tensor<64xf32>
  %23 = hybrid.gated_rmsnorm %21, %6#0, %22 {eps = 1.000000e-05 : f64, groups = 1 : i64} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  return %23, %9 : tensor<?x?x64xf32>, tensor<?x?x96xf32>
}

// The same group without the extra user fuses, with no conv bias and no D
// (both optional operands absent).
// CHECK-LABEL: func.func @fuses
// CHECK:       hybrid.mamba2_core(%{{.*}}) conv(%{{.*}}) dt_bias(%{{.*}}) a_log(%{{.*}}) norm(%{{.*}})
func.func @fuses(%p: tensor<?x?x164xf32>) -> tensor<?x?x64xf32> {
  %6:3 = hybrid.split %p {sizes = array<i64: 64, 96, 4>} : (tensor<?x?x164xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x96xf32>, tensor<?x?x4xf32>)
  %7 = hybrid.param "conv1d.weight" : tensor<96x1x4xf32>
  %9 = hybrid.conv1d_causal %6#1, %7 : (tensor<?x?x96xf32>, tensor<96x1x4xf32>) -> tensor<?x?x96xf32>
  %10 = hybrid.silu %9 : (tensor<?x?x96xf32>) -> tensor<?x?x96xf32>
  %11:3 = hybrid.split %10 {sizes = array<i64: 64, 16, 16>} : (tensor<?x?x96xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>)
  %12 = hybrid.param "dt_bias" : tensor<4xf32>
  %13 = hybrid.param "A_log" : tensor<4xf32>
  %15 = hybrid.add %6#2, %12 : (tensor<?x?x4xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
  %16 = hybrid.softplus %15 : (tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  %17 = hybrid.reshape %11#0 : (tensor<?x?x64xf32>) -> tensor<?x?x4x16xf32>
  %18 = hybrid.reshape %11#1 : (tensor<?x?x16xf32>) -> tensor<?x?x2x8xf32>
  %19 = hybrid.reshape %11#2 : (tensor<?x?x16xf32>) -> tensor<?x?x2x8xf32>
  %20 = hybrid.ssd_scan %17, %16, %13, %18, %19 {chunk = 16 : i64} : (tensor<?x?x4x16xf32>, tensor<?x?x4xf32>, tensor<4xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>) -> tensor<?x?x4x16xf32>
  %21 = hybrid.reshape %20 : (tensor<?x?x4x16xf32>) -> tensor<?x?x64xf32>
  %22 = hybrid.param "norm" : tensor<64xf32>
  %23 = hybrid.gated_rmsnorm %21, %6#0, %22 {eps = 1.000000e-05 : f64, groups = 1 : i64} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  return %23 : tensor<?x?x64xf32>
}
