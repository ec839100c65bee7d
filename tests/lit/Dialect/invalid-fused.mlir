// RUN: hybrid-opt %s -split-input-file -verify-diagnostics

// Every fused-op verifier message, word for word. Each case breaks one rule.
func.func @f(%q: tensor<?x4x16xf32>, %k: tensor<?x?x2x16xf32>, %v: tensor<?x?x2x16xf32>) {
  // expected-error @+1 {{'hybrid.rope_attention' op q must have rank 4, got 3}}
  %0 = hybrid.rope_attention %q, %k, %v {theta = 1.0e4 : f64} : (tensor<?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>) -> tensor<?x?x4x16xf32>
  return
}

// -----

func.func @f(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>, %v: tensor<?x?x1x16xf32>) {
  // expected-error @+1 {{'hybrid.rope_attention' op k and v must have the same shape}}
  %0 = hybrid.rope_attention %q, %k, %v {theta = 1.0e4 : f64} : (tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x1x16xf32>) -> tensor<?x?x4x16xf32>
  return
}

// -----

func.func @f(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x8xf32>, %v: tensor<?x?x2x8xf32>) {
  // expected-error @+1 {{'hybrid.rope_attention' op k head dim (8) must equal q head dim (16)}}
  %0 = hybrid.rope_attention %q, %k, %v {theta = 1.0e4 : f64} : (tensor<?x?x4x16xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>) -> tensor<?x?x4x16xf32>
  return
}

// -----

func.func @f(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x3x16xf32>, %v: tensor<?x?x3x16xf32>) {
  // expected-error @+1 {{'hybrid.rope_attention' op kv heads (3) must divide query heads (4)}}
  %0 = hybrid.rope_attention %q, %k, %v {theta = 1.0e4 : f64} : (tensor<?x?x4x16xf32>, tensor<?x?x3x16xf32>, tensor<?x?x3x16xf32>) -> tensor<?x?x4x16xf32>
  return
}

// -----

func.func @f(%q: tensor<?x?x4x15xf32>, %k: tensor<?x?x2x15xf32>, %v: tensor<?x?x2x15xf32>) {
  // expected-error @+1 {{'hybrid.rope_attention' op head dim (15) must be even}}
  %0 = hybrid.rope_attention %q, %k, %v {theta = 1.0e4 : f64} : (tensor<?x?x4x15xf32>, tensor<?x?x2x15xf32>, tensor<?x?x2x15xf32>) -> tensor<?x?x4x15xf32>
  return
}

// -----

func.func @f(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>, %v: tensor<?x?x2x16xf32>) {
  // expected-error @+1 {{'hybrid.rope_attention' op theta must be positive}}
  %0 = hybrid.rope_attention %q, %k, %v {theta = 0.0 : f64} : (tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>) -> tensor<?x?x4x16xf32>
  return
}

// -----

func.func @f(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>, %v: tensor<?x?x2x16xf32>) {
  // expected-error @+1 {{'hybrid.rope_attention' op rotary_dim (18) must be even and at most the head dim}}
  %0 = hybrid.rope_attention %q, %k, %v {theta = 1.0e4 : f64, rotary_dim = 18 : i64} : (tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>) -> tensor<?x?x4x16xf32>
  return
}

// -----

func.func @f(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>, %v: tensor<?x?x2x16xf32>) {
  // expected-error @+1 {{'hybrid.rope_attention' op window must be >= 0}}
  %0 = hybrid.rope_attention %q, %k, %v {theta = 1.0e4 : f64, window = -1 : i64} : (tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>) -> tensor<?x?x4x16xf32>
  return
}

// -----

func.func @f(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>, %v: tensor<?x?x2x16xf32>) {
  // expected-error @+1 {{'hybrid.rope_attention' op result dim 2 (2) must be 4}}
  %0 = hybrid.rope_attention %q, %k, %v {theta = 1.0e4 : f64} : (tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>) -> tensor<?x?x2x16xf32>
  return
}

// -----

func.func @f(%p: tensor<?x?x164xf32>, %cw: tensor<96x1x4xf32>, %h: tensor<4xf32>, %nw: tensor<64xf32>) {
  // expected-error @+1 {{'hybrid.mamba2_core' op groups (3) must divide heads (4)}}
  %0 = hybrid.mamba2_core (%p) conv(%cw) dt_bias(%h) a_log(%h) {heads = 4 : i64, head_dim = 16 : i64, groups = 3 : i64, state = 8 : i64, chunk = 16 : i64} : (tensor<?x?x164xf32>, tensor<96x1x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

func.func @f(%p: tensor<?x?x164xf32>, %cw: tensor<96x1x4xf32>, %h: tensor<4xf32>, %nw: tensor<64xf32>) {
  // expected-error @+1 {{'hybrid.mamba2_core' op takes 1 part (zxbcdt) or 3 (z, xBC, dt), got 2}}
  %0 = hybrid.mamba2_core (%p, %p) conv(%cw) dt_bias(%h) a_log(%h) {heads = 4 : i64, head_dim = 16 : i64, groups = 2 : i64, state = 8 : i64, chunk = 16 : i64} : (tensor<?x?x164xf32>, tensor<?x?x164xf32>, tensor<96x1x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

func.func @f(%p: tensor<?x164xf32>, %cw: tensor<96x1x4xf32>, %h: tensor<4xf32>) {
  // expected-error @+1 {{'hybrid.mamba2_core' op each part must have rank 3, got 2}}
  %0 = hybrid.mamba2_core (%p) conv(%cw) dt_bias(%h) a_log(%h) {heads = 4 : i64, head_dim = 16 : i64, groups = 2 : i64, state = 8 : i64, chunk = 16 : i64} : (tensor<?x164xf32>, tensor<96x1x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @f(%p: tensor<?x?x160xf32>, %cw: tensor<96x1x4xf32>, %h: tensor<4xf32>) {
  // expected-error @+1 {{'hybrid.mamba2_core' op zxbcdt width (160) must equal inner + conv_dim + heads (164)}}
  %0 = hybrid.mamba2_core (%p) conv(%cw) dt_bias(%h) a_log(%h) {heads = 4 : i64, head_dim = 16 : i64, groups = 2 : i64, state = 8 : i64, chunk = 16 : i64} : (tensor<?x?x160xf32>, tensor<96x1x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

func.func @f(%z: tensor<?x?x64xf32>, %x: tensor<?x?x80xf32>, %d: tensor<?x?x4xf32>, %cw: tensor<96x1x4xf32>, %h: tensor<4xf32>) {
  // expected-error @+1 {{'hybrid.mamba2_core' op xBC width (80) must equal conv_dim (96)}}
  %0 = hybrid.mamba2_core (%z, %x, %d) conv(%cw) dt_bias(%h) a_log(%h) {heads = 4 : i64, head_dim = 16 : i64, groups = 2 : i64, state = 8 : i64, chunk = 16 : i64} : (tensor<?x?x64xf32>, tensor<?x?x80xf32>, tensor<?x?x4xf32>, tensor<96x1x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

func.func @f(%p: tensor<?x?x164xf32>, %cw: tensor<64x1x4xf32>, %h: tensor<4xf32>) {
  // expected-error @+1 {{'hybrid.mamba2_core' op conv_weight dim 0 (64) must equal conv_dim (96)}}
  %0 = hybrid.mamba2_core (%p) conv(%cw) dt_bias(%h) a_log(%h) {heads = 4 : i64, head_dim = 16 : i64, groups = 2 : i64, state = 8 : i64, chunk = 16 : i64} : (tensor<?x?x164xf32>, tensor<64x1x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

func.func @f(%p: tensor<?x?x164xf32>, %cw: tensor<96x2x4xf32>, %h: tensor<4xf32>) {
  // expected-error @+1 {{'hybrid.mamba2_core' op conv_weight dim 1 (2) must equal 1 (depthwise) (1)}}
  %0 = hybrid.mamba2_core (%p) conv(%cw) dt_bias(%h) a_log(%h) {heads = 4 : i64, head_dim = 16 : i64, groups = 2 : i64, state = 8 : i64, chunk = 16 : i64} : (tensor<?x?x164xf32>, tensor<96x2x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

func.func @f(%p: tensor<?x?x164xf32>, %cw: tensor<96x1x4xf32>, %h: tensor<4xf32>, %g: tensor<8xf32>) {
  // expected-error @+1 {{'hybrid.mamba2_core' op dt_bias size (8) must equal heads (4)}}
  %0 = hybrid.mamba2_core (%p) conv(%cw) dt_bias(%g) a_log(%h) {heads = 4 : i64, head_dim = 16 : i64, groups = 2 : i64, state = 8 : i64, chunk = 16 : i64} : (tensor<?x?x164xf32>, tensor<96x1x4xf32>, tensor<8xf32>, tensor<4xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

func.func @f(%p: tensor<?x?x164xf32>, %cw: tensor<96x1x4xf32>, %h: tensor<4xf32>, %nw: tensor<64xf32>) {
  %w = hybrid.param "w" : tensor<32xf32>
  // expected-error @+1 {{'hybrid.mamba2_core' op norm_weight size (32) must equal inner (64)}}
  %0 = hybrid.mamba2_core (%p) conv(%cw) dt_bias(%h) a_log(%h) norm(%w) {heads = 4 : i64, head_dim = 16 : i64, groups = 2 : i64, state = 8 : i64, chunk = 16 : i64} : (tensor<?x?x164xf32>, tensor<96x1x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<32xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

func.func @f(%p: tensor<?x?x164xf32>, %cw: tensor<96x1x4xf32>, %h: tensor<4xf32>, %nw: tensor<64xf32>) {
  // expected-error @+1 {{'hybrid.mamba2_core' op norm_groups (3) must divide inner (64)}}
  %0 = hybrid.mamba2_core (%p) conv(%cw) dt_bias(%h) a_log(%h) {heads = 4 : i64, head_dim = 16 : i64, groups = 2 : i64, state = 8 : i64, chunk = 16 : i64, norm_groups = 3 : i64} : (tensor<?x?x164xf32>, tensor<96x1x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

func.func @f(%p: tensor<?x?x164xf32>, %cw: tensor<96x1x4xf32>, %h: tensor<4xf32>, %nw: tensor<64xf32>) {
  // expected-error @+1 {{'hybrid.mamba2_core' op dt_limit must be [lo, hi] with lo <= hi}}
  %0 = hybrid.mamba2_core (%p) conv(%cw) dt_bias(%h) a_log(%h) {heads = 4 : i64, head_dim = 16 : i64, groups = 2 : i64, state = 8 : i64, chunk = 16 : i64, dt_limit = array<f64: 2.0, 1.0>} : (tensor<?x?x164xf32>, tensor<96x1x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

func.func @f(%p: tensor<?x?x164xf32>, %cw: tensor<96x1x4xf32>, %h: tensor<4xf32>, %nw: tensor<64xf32>) {
  // expected-error @+1 {{'hybrid.mamba2_core' op result dim 2 (32) must be 64}}
  %0 = hybrid.mamba2_core (%p) conv(%cw) dt_bias(%h) a_log(%h) {heads = 4 : i64, head_dim = 16 : i64, groups = 2 : i64, state = 8 : i64, chunk = 16 : i64} : (tensor<?x?x164xf32>, tensor<96x1x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<?x?x32xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x64xf32>, %a: tensor<64x64xf32>, %b: tensor<32x64xf32>, %c: tensor<32x32xf32>, %ba: tensor<64xf32>) {
  // expected-error @+1 {{'hybrid.linear_group' op has 1 results for 2 weights}}
  %0 = hybrid.linear_group %x [%a, %b] : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<32x64xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x64xf32>, %a: tensor<64x64xf32>, %b: tensor<32x64xf32>, %c: tensor<32x32xf32>, %ba: tensor<64xf32>) {
  // expected-error @+1 {{'hybrid.linear_group' op has 1 biases for 2 weights (none or one each)}}
  %0:2 = hybrid.linear_group %x [%a, %b] bias [%ba] : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<32x64xf32>, tensor<64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x32xf32>)
  return
}

// -----

func.func @f(%x: tensor<?x?x64xf32>, %a: tensor<64x64xf32>, %b: tensor<32x64xf32>, %c: tensor<32x32xf32>, %ba: tensor<64xf32>) {
  // expected-error @+1 {{'hybrid.linear_group' op has 1 scales for 2 weights}}
  %0:2 = hybrid.linear_group %x [%a, %b] {scales = array<f64: 1.0>} : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<32x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x32xf32>)
  return
}

// -----

func.func @f(%x: tensor<?x?x64xf32>, %a: tensor<64x64xf32>, %b: tensor<32x64xf32>, %c: tensor<32x32xf32>, %ba: tensor<64xf32>) {
  // expected-error @+1 {{'hybrid.linear_group' op input width (64) must equal weight 1 dim 1 (32)}}
  %0:2 = hybrid.linear_group %x [%a, %c] : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<32x32xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x32xf32>)
  return
}

// -----

func.func @f(%x: tensor<?x?x64xf32>, %a: tensor<64x64xf32>, %b: tensor<32x64xf32>, %c: tensor<32x32xf32>, %ba: tensor<64xf32>) {
  // expected-error @+1 {{'hybrid.linear_group' op result 1 dim 2 (64) must be 32}}
  %0:2 = hybrid.linear_group %x [%a, %b] : (tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<32x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>)
  return
}

// -----

func.func @f(%x: tensor<?x?x64xf32>, %a: tensor<64x64xf32>, %b: tensor<32x64xf32>, %c: tensor<32x32xf32>, %ba: tensor<64xf32>) {
  // expected-error @+1 {{'hybrid.linear_group' op needs at least one weight}}
  %0 = hybrid.linear_group %x [] : (tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x64xf32>, %a: tensor<64x64xf32>, %b: tensor<32x64xf32>, %c: tensor<32x32xf32>, %ba: tensor<64xf32>) {
  // expected-error @+1 {{'hybrid.linear_sum' op needs one weight per input, got 2 inputs and 1 weights}}
  %0 = hybrid.linear_sum (%x, %x) [%a] : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x64xf32>, %a: tensor<64x64xf32>, %b: tensor<32x64xf32>, %c: tensor<32x32xf32>, %ba: tensor<64xf32>) {
  // expected-error @+1 {{'hybrid.linear_sum' op weight 1 dim 0 (32) must equal weight 0 dim 0 (64)}}
  %0 = hybrid.linear_sum (%x, %x) [%a, %b] : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<64x64xf32>, tensor<32x64xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x64xf32>, %a: tensor<64x64xf32>, %b: tensor<32x64xf32>, %c: tensor<32x32xf32>, %ba: tensor<64xf32>, %y: tensor<?x64xf32>) {
  // expected-error @+1 {{'hybrid.linear_sum' op inputs must agree in every dim but the last}}
  %0 = hybrid.linear_sum (%x, %y) [%a, %a] : (tensor<?x?x64xf32>, tensor<?x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

func.func @f(%a: tensor<?x?x64xf32>, %b: tensor<?x?x32xf32>, %w: tensor<64xf32>, %v: tensor<32xf32>) {
  // expected-error @+1 {{'hybrid.branch_combine' op norm must be rms or group (a plain hybrid.combine needs no fusion)}}
  %0 = hybrid.branch_combine <concat> %a, %b, %w, %v {norm = #hybrid.branch_norm<none>, eps = 1.0e-5 : f64} : (tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<64xf32>, tensor<32xf32>) -> tensor<?x?x96xf32>
  return
}

// -----

func.func @f(%a: tensor<?x?x64xf32>, %b: tensor<?x?x32xf32>, %w: tensor<64xf32>, %v: tensor<32xf32>) {
  // expected-error @+1 {{'hybrid.branch_combine' op weight_b size (64) must equal the width of b (32)}}
  %0 = hybrid.branch_combine <concat> %a, %b, %w, %w {norm = #hybrid.branch_norm<rms>, eps = 1.0e-5 : f64} : (tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x96xf32>
  return
}

// -----

func.func @f(%a: tensor<?x?x64xf32>, %b: tensor<?x?x32xf32>, %w: tensor<64xf32>, %v: tensor<32xf32>) {
  // expected-error @+1 {{'hybrid.branch_combine' op groups_b (3) must divide the branch width (32)}}
  %0 = hybrid.branch_combine <concat> %a, %b, %w, %v {norm = #hybrid.branch_norm<group>, groups_b = 3 : i64, eps = 1.0e-5 : f64} : (tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<64xf32>, tensor<32xf32>) -> tensor<?x?x96xf32>
  return
}

// -----

func.func @f(%a: tensor<?x?x64xf32>, %b: tensor<?x?x32xf32>, %w: tensor<64xf32>, %v: tensor<32xf32>) {
  // expected-error @+1 {{'hybrid.branch_combine' op branch widths differ (64 vs 32): only concat combines them}}
  %0 = hybrid.branch_combine <diff> %a, %b, %w, %v {norm = #hybrid.branch_norm<rms>, eps = 1.0e-5 : f64} : (tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<64xf32>, tensor<32xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

func.func @f(%a: tensor<?x?x64xf32>, %b: tensor<?x?x32xf32>, %w: tensor<64xf32>, %v: tensor<32xf32>) {
  // expected-error @+1 {{'hybrid.branch_combine' op result dim 2 (64) must be 96}}
  %0 = hybrid.branch_combine <concat> %a, %b, %w, %v {norm = #hybrid.branch_norm<rms>, eps = 1.0e-5 : f64} : (tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<64xf32>, tensor<32xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

func.func @f(%a: tensor<?x?x64xf32>, %b: tensor<?x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{'hybrid.branch_combine' op branches must have the same rank}}
  %0 = hybrid.branch_combine <add> %a, %b, %w, %w {norm = #hybrid.branch_norm<rms>, eps = 1.0e-5 : f64} : (tensor<?x?x64xf32>, tensor<?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

func.func @f(%a: tensor<?x?x64xf32>, %b: tensor<?x?x32xf32>, %w: tensor<64xf32>, %v: tensor<32xf32>) {
  // expected-error @+1 {{'hybrid.add_rmsnorm' op rhs dim 2 (32) must be 64}}
  %0:2 = hybrid.add_rmsnorm %a, %b, %w {eps = 1.0e-5 : f64} : (tensor<?x?x64xf32>, tensor<?x?x32xf32>, tensor<64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>)
  return
}

// -----

func.func @f(%a: tensor<?x?x64xf32>, %b: tensor<?x?x32xf32>, %w: tensor<64xf32>, %v: tensor<32xf32>) {
  // expected-error @+1 {{'hybrid.add_rmsnorm' op weight size (32) must equal the last dim (64)}}
  %0:2 = hybrid.add_rmsnorm %a, %a, %v {eps = 1.0e-5 : f64} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<32xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>)
  return
}

// -----

func.func @f(%a: tensor<?x?x64xf32>, %b: tensor<?x?x32xf32>, %w: tensor<64xf32>, %v: tensor<32xf32>) {
  // expected-error @+1 {{'hybrid.add_rmsnorm' op eps must be positive}}
  %0:2 = hybrid.add_rmsnorm %a, %a, %w {eps = 0.0 : f64} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>)
  return
}

// -----

func.func @f(%a: tensor<?x?x64xf32>, %b: tensor<?x?x32xf32>, %w: tensor<64xf32>, %v: tensor<32xf32>) {
  // expected-error @+1 {{'hybrid.add_rmsnorm' op normed dim 2 (32) must be 64}}
  %0:2 = hybrid.add_rmsnorm %a, %a, %w {eps = 1.0e-5 : f64} : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x32xf32>)
  return
}

// -----

func.func @f(%x: tensor<?x?x64xf32>, %w: tensor<32x64xf32>, %b: tensor<64xf32>, %r: tensor<?x?x64xf32>, %w2: tensor<64x32xf32>) {
  // expected-error @+1 {{'hybrid.fused_linear' op input width (64) must equal weight dim 1 (32)}}
  %0 = hybrid.fused_linear %x, %w2 : (tensor<?x?x64xf32>, tensor<64x32xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x64xf32>, %w: tensor<32x64xf32>, %b: tensor<64xf32>, %r: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'hybrid.fused_linear' op bias size (64) must equal weight dim 0 (32)}}
  %0 = hybrid.fused_linear %x, %w bias(%b) : (tensor<?x?x64xf32>, tensor<32x64xf32>, tensor<64xf32>) -> tensor<?x?x32xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x64xf32>, %w: tensor<32x64xf32>, %b: tensor<64xf32>, %r: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'hybrid.fused_linear' op residual dim 2 (64) must be 32}}
  %0 = hybrid.fused_linear %x, %w residual(%r) : (tensor<?x?x64xf32>, tensor<32x64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x32xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x64xf32>, %w: tensor<32x64xf32>, %b: tensor<64xf32>, %r: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'hybrid.fused_linear' op result dim 2 (64) must be 32}}
  %0 = hybrid.fused_linear %x, %w : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x64xf32>, %w: tensor<32x64xf32>, %b: tensor<64xf32>, %r: tensor<?x?x64xf32>) {
  // expected-error @+1 {{'hybrid.fused_linear' op weight must have rank 2, got 1}}
  %0 = hybrid.fused_linear %x, %b : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x64xf32>, %g: tensor<32x64xf32>, %u: tensor<16x64xf32>, %b: tensor<32xf32>) {
  // expected-error @+1 {{'hybrid.swiglu_linear' op up dim 0 (16) must equal gate dim 0 (32)}}
  %0 = hybrid.swiglu_linear %x, %g, %u : (tensor<?x?x64xf32>, tensor<32x64xf32>, tensor<16x64xf32>) -> tensor<?x?x32xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x64xf32>, %g: tensor<32x64xf32>, %u: tensor<16x64xf32>, %b: tensor<32xf32>) {
  // expected-error @+1 {{'hybrid.swiglu_linear' op takes no biases or two (gate, up), got 1}}
  %0 = hybrid.swiglu_linear %x, %g, %g bias(%b) : (tensor<?x?x64xf32>, tensor<32x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x64xf32>, %g: tensor<32x64xf32>, %u: tensor<16x64xf32>, %b: tensor<32xf32>, %b16: tensor<16xf32>) {
  // expected-error @+1 {{'hybrid.swiglu_linear' op up bias size (16) must equal up dim 0 (32)}}
  %0 = hybrid.swiglu_linear %x, %g, %g bias(%b, %b16) : (tensor<?x?x64xf32>, tensor<32x64xf32>, tensor<32x64xf32>, tensor<32xf32>, tensor<16xf32>) -> tensor<?x?x32xf32>
  return
}

// -----

func.func @f(%x: tensor<?x?x64xf32>, %g: tensor<32x64xf32>, %u: tensor<16x64xf32>, %b: tensor<32xf32>) {
  // expected-error @+1 {{'hybrid.swiglu_linear' op result dim 2 (64) must be 32}}
  %0 = hybrid.swiglu_linear %x, %g, %g : (tensor<?x?x64xf32>, tensor<32x64xf32>, tensor<32x64xf32>) -> tensor<?x?x64xf32>
  return
}
