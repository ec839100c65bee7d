// RUN: hybrid-opt %s -split-input-file --hybrid-fuse-rope-attention | FileCheck %s

// rope(q), rope(k) with the same attributes feeding attention: one op keeps
// the rope attributes (scaling and partial rotary included) and the
// attention's window and scale.

// CHECK-LABEL: func.func @fuse
// CHECK-SAME:  (%[[Q:.*]]: tensor<?x?x4x16xf32>, %[[K:.*]]: tensor<?x?x2x16xf32>, %[[V:.*]]: tensor<?x?x2x16xf32>)
// CHECK-NOT:   hybrid.rope
// CHECK:       %[[O:.*]] = hybrid.rope_attention %[[Q]], %[[K]], %[[V]] {rotary_dim = 8 : i64, scale = 1.250000e-01 : f64, scaling = #hybrid.rope_scaling<type = "llama3", factor = 32.0>, theta = 5.000000e+05 : f64, window = 8 : i64}
// CHECK-NEXT:  return %[[O]]
func.func @fuse(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>, %v: tensor<?x?x2x16xf32>) -> tensor<?x?x4x16xf32> {
  %qr = hybrid.rope %q {theta = 5.0e5 : f64, rotary_dim = 8 : i64, scaling = #hybrid.rope_scaling<type = "llama3", factor = 32.0>} : (tensor<?x?x4x16xf32>) -> tensor<?x?x4x16xf32>
  %kr = hybrid.rope %k {theta = 5.0e5 : f64, rotary_dim = 8 : i64, scaling = #hybrid.rope_scaling<type = "llama3", factor = 32.0>} : (tensor<?x?x2x16xf32>) -> tensor<?x?x2x16xf32>
  %o = hybrid.attention %qr, %kr, %v {window = 8 : i64, scale = 0.125 : f64} : (tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>) -> tensor<?x?x4x16xf32>
  return %o : tensor<?x?x4x16xf32>
}

// -----

// Negative: RoPE-free attention (Nemotron-H) has nothing to fuse; it must
// stay hybrid.attention.
// CHECK-LABEL: func.func @no_rope
// CHECK:       hybrid.attention
// CHECK-NOT:   hybrid.rope_attention
func.func @no_rope(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>, %v: tensor<?x?x2x16xf32>) -> tensor<?x?x4x16xf32> {
  %o = hybrid.attention %q, %k, %v : (tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>) -> tensor<?x?x4x16xf32>
  return %o : tensor<?x?x4x16xf32>
}

// -----

// Negative: the rotated k is also returned, so it must be materialised; and
// q and k ropes with different theta cannot share one rotation: both stay.
// CHECK-LABEL: func.func @k_escapes
// CHECK-COUNT-2: hybrid.rope
// CHECK:       hybrid.attention
// CHECK-LABEL: func.func @theta_differs
// CHECK-COUNT-2: hybrid.rope
// CHECK:       hybrid.attention
func.func @k_escapes(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>, %v: tensor<?x?x2x16xf32>) -> (tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>) {
  %qr = hybrid.rope %q {theta = 1.0e4 : f64} : (tensor<?x?x4x16xf32>) -> tensor<?x?x4x16xf32>
  %kr = hybrid.rope %k {theta = 1.0e4 : f64} : (tensor<?x?x2x16xf32>) -> tensor<?x?x2x16xf32>
  %o = hybrid.attention %qr, %kr, %v : (tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>) -> tensor<?x?x4x16xf32>
  return %o, %kr : tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>
}
func.func @theta_differs(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>, %v: tensor<?x?x2x16xf32>) -> tensor<?x?x4x16xf32> {
  %qr = hybrid.rope %q {theta = 1.0e4 : f64} : (tensor<?x?x4x16xf32>) -> tensor<?x?x4x16xf32>
  %kr = hybrid.rope %k {theta = 5.0e5 : f64} : (tensor<?x?x2x16xf32>) -> tensor<?x?x2x16xf32>
  %o = hybrid.attention %qr, %kr, %v : (tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>) -> tensor<?x?x4x16xf32>
  return %o : tensor<?x?x4x16xf32>
}
