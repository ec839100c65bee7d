// RUN: hybrid-opt %s -split-input-file -verify-diagnostics

// Every attribute verifier, word for word. Each case breaks one rule.

// Only linear and llama3 RoPE scaling are implemented.
// expected-error @+1 {{unsupported rope scaling type 'yarn' (expected linear or llama3)}}
#bad = #hybrid.rope_scaling<type = "yarn", factor = 4.0>

// -----

// expected-error @+1 {{rope scaling factor must be positive}}
#bad = #hybrid.rope_scaling<type = "linear", factor = 0.0>

// -----

// expected-error @+1 {{llama3 rope scaling needs high_freq_factor > low_freq_factor}}
#bad = #hybrid.rope_scaling<type = "llama3", factor = 8.0, low_freq_factor = 4.0, high_freq_factor = 1.0>

// -----

// expected-error @+1 {{rope scaling original_max_position must be positive}}
#bad = #hybrid.rope_scaling<type = "llama3", factor = 8.0, original_max_position = 0>

// -----

// expected-error @+1 {{attention heads, kv_heads and head_dim must be positive}}
#bad = #hybrid.attention<heads = 0, kv_heads = 1, head_dim = 64>

// -----

// GQA shares each KV head among an equal number of query heads.
// expected-error @+1 {{attention kv_heads (3) must divide heads (8)}}
#bad = #hybrid.attention<heads = 8, kv_heads = 3, head_dim = 64>

// -----

// RoPE rotates pairs of channels.
// expected-error @+1 {{attention head_dim (63) must be even to apply RoPE}}
#bad = #hybrid.attention<heads = 8, kv_heads = 8, head_dim = 63>

// -----

// Without RoPE an odd head dim is fine: no error here.
#ok = #hybrid.attention<heads = 8, kv_heads = 8, head_dim = 63, rope = false>
// expected-error @+1 {{attention rope_theta must be positive}}
#bad = #hybrid.attention<heads = 8, kv_heads = 8, head_dim = 64, rope_theta = -1.0>

// -----

// expected-error @+1 {{attention window must be >= 0 (0: full causal)}}
#bad = #hybrid.attention<heads = 8, kv_heads = 8, head_dim = 64, window = -4>

// -----

// expected-error @+1 {{mamba2 heads, head_dim and state must be positive}}
#bad = #hybrid.mamba2<heads = 8, head_dim = 64, state = 0>

// -----

// B and C are shared by groups of heads.
// expected-error @+1 {{mamba2 groups (3) must divide heads (8)}}
#bad = #hybrid.mamba2<heads = 8, head_dim = 64, state = 16, groups = 3>

// -----

// expected-error @+1 {{mamba2 conv width must be positive}}
#bad = #hybrid.mamba2<heads = 8, head_dim = 64, state = 16, conv = 0>

// -----

// expected-error @+1 {{mamba2 chunk must be positive}}
#bad = #hybrid.mamba2<heads = 8, head_dim = 64, state = 16, chunk = 0>

// -----

// expected-error @+1 {{mamba2 expand must be >= 0 (0: not given)}}
#bad = #hybrid.mamba2<heads = 8, head_dim = 64, state = 16, expand = -2>

// -----

// expected-error @+1 {{mamba2 needs 0 < dt_min <= dt_max}}
#bad = #hybrid.mamba2<heads = 8, head_dim = 64, state = 16, dt_min = 0.5, dt_max = 0.1>

// -----

// expected-error @+1 {{mamba2 needs 0 <= dt_limit_lo < dt_limit_hi}}
#bad = #hybrid.mamba2<heads = 8, head_dim = 64, state = 16, dt_limit_lo = 2.0, dt_limit_hi = 1.0>

// -----

// expected-error @+1 {{mamba2 norm_groups (3) must divide the inner width (512)}}
#bad = #hybrid.mamba2<heads = 8, head_dim = 64, state = 16, norm_groups = 3>

// -----

// Two separately projected branches can only be summed.
// expected-error @+1 {{separate out projections are summed: combine must be add}}
#bad = #hybrid.fuse<combine = diff, out_proj = separate>

// -----

// diff needs both branches of the same width before the shared projection.
// expected-error @+1 {{parallel branches must have equal widths to diff them: attention 8 x 64 = 512, mamba2 4 x 64 = 256}}
#bad = #hybrid.parallel<attention = #hybrid.attention<heads = 8, kv_heads = 2, head_dim = 64>,
                        mamba = #hybrid.mamba2<heads = 4, head_dim = 64, state = 16>,
                        fuse = #hybrid.fuse<combine = diff>>

// -----

// concat of unequal widths is fine: no error here.
#ok = #hybrid.parallel<attention = #hybrid.attention<heads = 8, kv_heads = 2, head_dim = 64>,
                       mamba = #hybrid.mamba2<heads = 4, head_dim = 64, state = 16>,
                       fuse = #hybrid.fuse<combine = concat>>
// expected-error @+1 {{ffn hidden width must be positive}}
#bad = #hybrid.ffn<kind = swiglu, hidden = 0>

// -----

// Partial rotary covers whole channel pairs of one head.
// expected-error @+1 {{attention rope_dim (24) must be even and at most head_dim (16); 0 rotates the whole head}}
#bad = #hybrid.attention<heads = 4, kv_heads = 4, head_dim = 16, rope_dim = 24>
