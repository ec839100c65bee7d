// Falcon-H1-0.5B-like (tiiuae/Falcon-H1-0.5B-Base): 36 parallel (intra-layer) blocks. Each block:
// h = RMSNorm(x); x += attn(h) * attention_out + mamba(h * ssm_in) * ssm_out (separate out projections,
// no branch norm, added); then RMSNorm + SwiGLU FFN with gate/down multipliers. muP-style multipliers
// scale the embedding, the logits, k, and the five segments (z, x, B, C, dt) of the Mamba in_proj.
// From the published config.json (values as transcribed by NVIDIA Megatron-Bridge's
// FalconH1ModelProvider0P5B and mlx-lm's falcon_h1 defaults, which agree): hidden_size 1024,
// num_hidden_layers 36, num_attention_heads 8, num_key_value_heads 2, head_dim 64, rope_theta 1e11,
// intermediate_size 2048, mamba_d_ssm 1536 = mamba_n_heads 24 x mamba_d_head 64, mamba_d_state 128,
// mamba_n_groups 1, mamba_d_conv 4, mamba_chunk_size 128, mamba_rms_norm false (so y * silu(z), no gated
// norm), mamba_norm_before_gate false, mamba_conv_bias true, mamba_proj_bias false, vocab_size 32784,
// tie_word_embeddings false, and every multiplier below (embedding 5.656854249492381 = sqrt(32),
// lm_head 0.0390625, attention_in 1.0, attention_out 0.9375, key 0.39062499999999994, ssm_in 1.25,
// ssm_out 0.23570226039551587, mlp [0.8838834764831844, 0.5859375], ssm [z, x, B, C, dt] =
// [0.3535533905932738, 0.25, 0.3535533905932738, 0.5, 0.3535533905932738]).
// Assumed: rms_norm_eps 1e-5, max_position 16384 (the 0.5B's SFT context), dt clamp (0, inf) (the
// time_step_limit default).
// Checked: this file equals `hybridc import-hf` of a config.json with those values, op for op.
// hybridc report --context 8192 --batch 1: params 521,411,104; forward FLOPs/token 1,313,573,376.

hybrid.model @falcon_h1_0_5b attributes {vocab = 32784 : i64, d_model = 1024 : i64, norm_eps = 1.0e-05 : f64,
    family = "falcon_h1", max_position = 16384 : i64,
    multipliers = #hybrid.multipliers<embedding = 5.656854249492381, lm_head = 0.0390625,
                                      attention_in = 1.0, attention_out = 0.9375, key = 0.39062499999999994,
                                      ssm_in = 1.25, ssm_out = 0.23570226039551587,
                                      mlp_gate = 0.8838834764831844, mlp_down = 0.5859375,
                                      ssm_z = 0.3535533905932738, ssm_x = 0.25, ssm_b = 0.3535533905932738,
                                      ssm_c = 0.5, ssm_dt = 0.3535533905932738>} {
  hybrid.pattern "P" x 36 {
    hybrid.block "P" mixer(#hybrid.parallel<
          attention = #hybrid.attention<heads = 8, kv_heads = 2, head_dim = 64, rope_theta = 1.0e11>,
          mamba = #hybrid.mamba2<heads = 24, head_dim = 64, state = 128, groups = 1, conv = 4, chunk = 128,
                                 gated_norm = false, norm_groups = 1>,
          fuse = #hybrid.fuse<norm = none, combine = add, out_proj = separate>>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 2048>)
  }
}
