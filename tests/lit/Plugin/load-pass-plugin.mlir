// RUN: hybrid-opt %s --load-pass-plugin=%hybridc_lib/HybridExamplePlugin.so --pass-pipeline="builtin.module(hybrid-example-fuse-softplus-clamp)" | FileCheck %s

// An out-of-tree pass (tests/plugin/SoftplusClampFusion.cpp), loaded at run
// time, fuses softplus + clamp into a custom_call of a new kernel.

// CHECK-LABEL: func.func @fuse
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x8xf32>)
// CHECK-NEXT: %[[Y:.*]] = hybrid.custom_call "softplus_clamp"(%[[X]]) {max = 1.000000e+02 : f64, min = 1.000000e-03 : f64} : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
// CHECK-NEXT: return %[[Y]]
func.func @fuse(%x: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  %s = hybrid.softplus %x : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  %y = hybrid.clamp %s {min = 1.0e-3 : f64, max = 100.0 : f64} : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}

// The softplus is used twice: fusing would compute it twice, so nothing changes.
// CHECK-LABEL: func.func @shared_softplus
// CHECK: hybrid.softplus
// CHECK: hybrid.clamp
// CHECK-NOT: custom_call
func.func @shared_softplus(%x: tensor<?x?x8xf32>) -> (tensor<?x?x8xf32>, tensor<?x?x8xf32>) {
  %s = hybrid.softplus %x : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  %y = hybrid.clamp %s {min = 1.0e-3 : f64, max = 100.0 : f64} : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  return %y, %s : tensor<?x?x8xf32>, tensor<?x?x8xf32>
}

// A clamp of something else is left alone.
// CHECK-LABEL: func.func @other_input
// CHECK: hybrid.silu
// CHECK: hybrid.clamp
// CHECK-NOT: custom_call
func.func @other_input(%x: tensor<?x?x8xf32>) -> tensor<?x?x8xf32> {
  %s = hybrid.silu %x : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  %y = hybrid.clamp %s {min = 0.0 : f64, max = 1.0 : f64} : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}
