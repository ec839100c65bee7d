// RUN: hybrid-opt %s --load-pass-plugin=%hybridc_lib/HybridExamplePlugin.so --pass-pipeline="builtin.module(hybrid-example-fuse-silu-mul)" | FileCheck %s

// An out-of-tree pass (tests/plugin/SiluMulFusion.cpp), loaded at run time,
// fuses silu + mul into swiglu.

// CHECK-LABEL: func.func @fuse
// CHECK-SAME: (%[[G:.*]]: tensor<?x?x64xf32>, %[[U:.*]]: tensor<?x?x64xf32>)
// CHECK-NEXT: %[[Y:.*]] = hybrid.swiglu %[[G]], %[[U]]
// CHECK-NEXT: return %[[Y]]
func.func @fuse(%g: tensor<?x?x64xf32>, %u: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %s = hybrid.silu %g : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  %y = hybrid.mul %s, %u : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  return %y : tensor<?x?x64xf32>
}

// The silu is used twice: fusing would compute it twice, so nothing changes.
// CHECK-LABEL: func.func @shared_silu
// CHECK: hybrid.silu
// CHECK: hybrid.mul
// CHECK-NOT: hybrid.swiglu
func.func @shared_silu(%g: tensor<?x?x64xf32>, %u: tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  %s = hybrid.silu %g : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  %y = hybrid.mul %s, %u : (tensor<?x?x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  return %y, %s : tensor<?x?x64xf32>, tensor<?x?x64xf32>
}

// A broadcasting mul is not a swiglu: nothing changes.
// CHECK-LABEL: func.func @broadcast
// CHECK: hybrid.mul
// CHECK-NOT: hybrid.swiglu
func.func @broadcast(%g: tensor<?x?x64xf32>, %u: tensor<64xf32>) -> tensor<?x?x64xf32> {
  %s = hybrid.silu %g : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  %y = hybrid.mul %s, %u : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  return %y : tensor<?x?x64xf32>
}
