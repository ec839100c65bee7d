// RUN: hybrid-opt %s -split-input-file -verify-diagnostics

// Every tensor-level shape rule, word for word. Each case breaks one rule.

func.func @f(%t: tensor<256x64xf32>, %ids: tensor<?xi32>) {
  // expected-error @+1 {{'hybrid.embedding' op ids must have rank 2, got 1}}
  %0 = hybrid.embedding %t, %ids : (tensor<256x64xf32>, tensor<?xi32>) -> tensor<?x?x64xf32>
  return
}

// -----

func.func @f(%t: tensor<256x64xf32>, %ids: tensor<?x?xi32>) {
  // expected-error @+1 {{'hybrid.embedding' op result dim 2 (32) must be 64}}
  %0 = hybrid.embedding %t, %ids : (tensor<256x64xf32>, tensor<?x?xi32>) -> tensor<?x?x32xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x64xf32>, %w: tensor<32xf32>) {
  // expected-error @+1 {{'hybrid.rmsnorm' op weight size (32) must equal the last input dim (64)}}
  %0 = hybrid.rmsnorm %x, %w {eps = 1.0e-5 : f64} : (tensor<?x?x64xf32>, tensor<32xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{'hybrid.group_norm' op groups (6) must divide the last dim (64)}}
  %0 = hybrid.group_norm %x, %w {groups = 6 : i64, eps = 1.0e-5 : f64} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x64xf32>, %z: tensor<?x?x32xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{'hybrid.gated_rmsnorm' op gate must have the shape of the input}}
  %0 = hybrid.gated_rmsnorm %x, %z, %w {groups = 1 : i64, eps = 1.0e-5 : f64} : (tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x64xf32>, %w: tensor<128x32xf32>) {
  // expected-error @+1 {{'hybrid.linear' op input width (64) must equal weight dim 1 (32)}}
  %0 = hybrid.linear %x, %w : (tensor<?x?x64xf32>, tensor<128x32xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x64xf32>, %w: tensor<128x64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{'hybrid.linear' op bias size (64) must equal weight dim 0 (128)}}
  %0 = hybrid.linear %x, %w, %b : (tensor<?x?x64xf32>, tensor<128x64xf32>, tensor<64xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x64xf32>, %w: tensor<128x64xf32>) {
  // expected-error @+1 {{'hybrid.linear' op result dim 2 (64) must be 128}}
  %0 = hybrid.linear %x, %w : (tensor<?x?x64xf32>, tensor<128x64xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x96xf32>, %w: tensor<64x1x4xf32>) {
  // expected-error @+1 {{'hybrid.conv1d_causal' op weight dim 0 (64) must equal the channel count (96)}}
  %0 = hybrid.conv1d_causal %x, %w : (tensor<?x?x96xf32>, tensor<64x1x4xf32>) -> tensor<?x?x96xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x96xf32>, %w: tensor<96x2x4xf32>) {
  // expected-error @+1 {{'hybrid.conv1d_causal' op weight dim 1 (2) must be 1 (depthwise conv)}}
  %0 = hybrid.conv1d_causal %x, %w : (tensor<?x?x96xf32>, tensor<96x2x4xf32>) -> tensor<?x?x96xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x96xf32>, %w: tensor<96x1x4xf32>, %b: tensor<95xf32>) {
  // expected-error @+1 {{'hybrid.conv1d_causal' op bias size (95) must equal the channel count (96)}}
  %0 = hybrid.conv1d_causal %x, %w, %b : (tensor<?x?x96xf32>, tensor<96x1x4xf32>, tensor<95xf32>) -> tensor<?x?x96xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x8x16xf32>, %dt: tensor<?x?x4xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x16xf32>) {
  // expected-error @+1 {{'hybrid.ssd_scan' op dt heads (4) must equal x heads (8)}}
  %0 = hybrid.ssd_scan %x, %dt, %a, %b, %b {chunk = 16 : i64} : (tensor<?x?x8x16xf32>, tensor<?x?x4xf32>, tensor<8xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>) -> tensor<?x?x8x16xf32>
  return
}

// -----

func.func @f(%x: tensor<2x?x8x16xf32>, %dt: tensor<3x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x16xf32>) {
  // expected-error @+1 {{'hybrid.ssd_scan' op dt batch (3) must equal x batch (2)}}
  %0 = hybrid.ssd_scan %x, %dt, %a, %b, %b {chunk = 16 : i64} : (tensor<2x?x8x16xf32>, tensor<3x?x8xf32>, tensor<8xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>) -> tensor<2x?x8x16xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x8x16xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<4xf32>, %b: tensor<?x?x2x16xf32>) {
  // expected-error @+1 {{'hybrid.ssd_scan' op A_log size (4) must equal x heads (8)}}
  %0 = hybrid.ssd_scan %x, %dt, %a, %b, %b {chunk = 16 : i64} : (tensor<?x?x8x16xf32>, tensor<?x?x8xf32>, tensor<4xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>) -> tensor<?x?x8x16xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x8x16xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x16xf32>, %c: tensor<?x?x2x8xf32>) {
  // expected-error @+1 {{'hybrid.ssd_scan' op B and C must have the same shape}}
  %0 = hybrid.ssd_scan %x, %dt, %a, %b, %c {chunk = 16 : i64} : (tensor<?x?x8x16xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x8xf32>) -> tensor<?x?x8x16xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x8x16xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x3x16xf32>) {
  // expected-error @+1 {{'hybrid.ssd_scan' op groups of B/C (3) must divide heads (8)}}
  %0 = hybrid.ssd_scan %x, %dt, %a, %b, %b {chunk = 16 : i64} : (tensor<?x?x8x16xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x3x16xf32>, tensor<?x?x3x16xf32>) -> tensor<?x?x8x16xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x8x16xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x16xf32>, %d: tensor<2xf32>) {
  // expected-error @+1 {{'hybrid.ssd_scan' op D size (2) must equal x heads (8)}}
  %0 = hybrid.ssd_scan %x, %dt, %a, %b, %b, %d {chunk = 16 : i64} : (tensor<?x?x8x16xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>, tensor<2xf32>) -> tensor<?x?x8x16xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x128xf32>, %dt: tensor<?x?x8xf32>, %a: tensor<8xf32>, %b: tensor<?x?x2x16xf32>) {
  // expected-error @+1 {{'hybrid.ssd_scan' op x must have rank 4, got 3}}
  %0 = hybrid.ssd_scan %x, %dt, %a, %b, %b {chunk = 16 : i64} : (tensor<?x?x128xf32>, tensor<?x?x8xf32>, tensor<8xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>) -> tensor<?x?x128xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x4x15xf32>) {
  // expected-error @+1 {{'hybrid.rope' op head dim (15) must be even}}
  %0 = hybrid.rope %x {theta = 10000.0 : f64} : (tensor<?x?x4x15xf32>) -> tensor<?x?x4x15xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x4x16xf32>) {
  // expected-error @+1 {{'hybrid.rope' op theta must be positive}}
  %0 = hybrid.rope %x {theta = 0.0 : f64} : (tensor<?x?x4x16xf32>) -> tensor<?x?x4x16xf32>
  return
}

// -----

func.func @f(%q: tensor<?x?x8x16xf32>, %k: tensor<?x?x3x16xf32>) {
  // expected-error @+1 {{'hybrid.attention' op kv heads (3) must divide query heads (8)}}
  %0 = hybrid.attention %q, %k, %k : (tensor<?x?x8x16xf32>, tensor<?x?x3x16xf32>, tensor<?x?x3x16xf32>) -> tensor<?x?x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<?x?x8x16xf32>, %k: tensor<?x?x2x16xf32>, %v: tensor<?x?x2x32xf32>) {
  // expected-error @+1 {{'hybrid.attention' op k and v must have the same shape}}
  %0 = hybrid.attention %q, %k, %v : (tensor<?x?x8x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x32xf32>) -> tensor<?x?x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<?x?x8x16xf32>, %k: tensor<?x?x2x32xf32>) {
  // expected-error @+1 {{'hybrid.attention' op k head dim (32) must equal q head dim (16)}}
  %0 = hybrid.attention %q, %k, %k : (tensor<?x?x8x16xf32>, tensor<?x?x2x32xf32>, tensor<?x?x2x32xf32>) -> tensor<?x?x8x16xf32>
  return
}

// -----

func.func @f(%q: tensor<?x?x8x16xf32>, %k: tensor<?x?x2x16xf32>) {
  // expected-error @+1 {{'hybrid.attention' op window must be >= 0}}
  %0 = hybrid.attention %q, %k, %k {window = -1 : i64} : (tensor<?x?x8x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>) -> tensor<?x?x8x16xf32>
  return
}

// -----

func.func @f(%a: tensor<?x?x64xf32>, %b: tensor<32xf32>) {
  // expected-error @+1 {{'hybrid.add' op rhs dim 0 (32) does not broadcast to lhs dim 2 (64)}}
  %0 = hybrid.add %a, %b : (tensor<?x?x64xf32>, tensor<32xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

func.func @f(%a: tensor<64xf32>, %b: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'hybrid.mul' op rhs rank must not exceed lhs rank}}
  %0 = hybrid.mul %a, %b : (tensor<64xf32>, tensor<?x?x64xf32>) -> tensor<64xf32>
  return
}

// -----

func.func @f(%a: tensor<?x?x64xf32>, %b: tensor<?x?x32xf32>) {
  // expected-error @+1 {{'hybrid.combine' op branch widths differ (64 vs 32): only concat combines them}}
  %0 = hybrid.combine <mean> %a, %b : (tensor<?x?x64xf32>, tensor<?x?x32xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

func.func @f(%a: tensor<?x?x64xf32>, %b: tensor<?x?x32xf32>) {
  // expected-error @+1 {{'hybrid.combine' op result dim 2 (64) must be 96}}
  %0 = hybrid.combine <concat> %a, %b : (tensor<?x?x64xf32>, tensor<?x?x32xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'hybrid.split' op sum of sizes (48) must equal the last input dim (64)}}
  %0:2 = hybrid.split %x {sizes = array<i64: 16, 32>} : (tensor<?x?x64xf32>) -> (tensor<?x?x16xf32>, tensor<?x?x32xf32>)
  return
}

// -----

func.func @f(%x: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'hybrid.split' op has 2 results but 3 sizes}}
  %0:2 = hybrid.split %x {sizes = array<i64: 16, 32, 16>} : (tensor<?x?x64xf32>) -> (tensor<?x?x16xf32>, tensor<?x?x32xf32>)
  return
}

// -----

func.func @f(%x: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'hybrid.split' op sizes must be positive}}
  %0:2 = hybrid.split %x {sizes = array<i64: 0, 64>} : (tensor<?x?x64xf32>) -> (tensor<?x?x0xf32>, tensor<?x?x64xf32>)
  return
}

// -----

func.func @f(%x: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'hybrid.reshape' op trailing dims hold 64 elements in the input but 48 in the result}}
  %0 = hybrid.reshape %x : (tensor<?x?x64xf32>) -> tensor<?x?x4x12xf32>
  return
}

// -----

func.func @f(%x: tensor<2x?x64xf32>) {
  // expected-error @+1 {{'hybrid.reshape' op leading dim 0 must pass through unchanged}}
  %0 = hybrid.reshape %x : (tensor<2x?x64xf32>) -> tensor<3x?x4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x64xf32>, %w: tensor<256x32xf32>) {
  // expected-error @+1 {{'hybrid.lm_head' op input width (64) must equal weight dim 1 (32)}}
  %0 = hybrid.lm_head %x, %w : (tensor<?x?x64xf32>, tensor<256x32xf32>) -> tensor<?x?x256xf32>
  return
}

// -----

func.func @f(%l: tensor<2x?x256xf32>, %y: tensor<3x?xi32>) {
  // expected-error @+1 {{'hybrid.cross_entropy' op labels must be [batch, sequence] of the logits}}
  %0 = hybrid.cross_entropy %l, %y : (tensor<2x?x256xf32>, tensor<3x?xi32>) -> tensor<f32>
  return
}

// -----

func.func @f(%x: tensor<?x?x4x16xf32>) {
  // expected-error @+1 {{'hybrid.rope' op rotary_dim (18) must be even and at most the head dim}}
  %0 = hybrid.rope %x {theta = 10000.0 : f64, rotary_dim = 18 : i64} : (tensor<?x?x4x16xf32>) -> tensor<?x?x4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>) {
  // expected-error @+1 {{'hybrid.custom_call' op kernel name must be a non-empty identifier of letters, digits and '_', got 'soft plus'}}
  %0 = hybrid.custom_call "soft plus"(%x) : (tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x8xf32>) {
  // expected-error @+1 {{'hybrid.custom_call' op must have at least one result}}
  hybrid.custom_call "sink"(%x) : (tensor<?x?x8xf32>) -> ()
  return
}

// -----

func.func @f(%x: tensor<?x?x64xf32>, %w: tensor<256x32xf32>, %y: tensor<?x?xi32>) {
  // expected-error @+1 {{'hybrid.lm_head_loss' op input width (64) must equal weight dim 1 (32)}}
  %0 = hybrid.lm_head_loss %x, %w, %y : (tensor<?x?x64xf32>, tensor<256x32xf32>, tensor<?x?xi32>) -> tensor<f32>
  return
}
