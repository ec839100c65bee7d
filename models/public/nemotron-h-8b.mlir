// Nemotron-H-8B-like (nvidia/Nemotron-H-8B-Base-8K): 52 layers of three kinds in Nemotron-H's own
// pattern, 24 Mamba-2 layers (M), 4 attention layers (*) and 24 MLP-only layers (-); every layer is
// one RMSNorm + one sublayer + residual.
// From the published config.json (as mirrored in NVIDIA Megatron-Bridge's NemotronH bridge test; the
// same values are transformers' NemotronHConfig defaults): hybrid_override_pattern, hidden_size 4096,
// vocab_size 131072, tie_word_embeddings false, num_attention_heads 32, num_key_value_heads 8,
// attention_head_dim 128, no RoPE (the attention has no positional encoding), mamba_num_heads 128,
// mamba_head_dim 64 (inner 8192 = expand 2), ssm_state_size 128, n_groups 8, conv_kernel 4,
// chunk_size 128, use_conv_bias true, use_bias false, intermediate_size 21504 with relu2
// (up -> ReLU^2 -> down, no gate), mlp_bias false, layer_norm_epsilon 1e-5, max_position_embeddings 8192.
// Taken from transformers' behaviour, not from the config: the gated RMSNorm of the Mamba mixer is
// grouped by n_groups (norm_groups = 8), and dt is clamped below at time_step_min = 0.001 (the
// config's time_step_* defaults). MTP heads and MoE variants are out of scope.
// Checked: --hybrid-expand of this file equals `hybridc import-hf` of that config.json, op for op.
// hybridc report --context 8192 --batch 1: params 8,100,852,736; forward FLOPs/token 15,524,683,776.

hybrid.model @nemotron_h_8b attributes {vocab = 131072 : i64, d_model = 4096 : i64, norm_eps = 1.0e-05 : f64,
                                        family = "nemotron_h", max_position = 8192 : i64} {
  // M = Mamba-2 layer, * = attention layer, - = MLP-only layer (Nemotron-H's own pattern letters).
  hybrid.pattern "M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M*-M-M-M-M-M-" x 1 {
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 128, head_dim = 64, state = 128, groups = 8, conv = 4, chunk = 128,
                                          expand = 2, dt_limit_lo = 0.001, norm_groups = 8>)
    hybrid.block "*" mixer(#hybrid.attention<heads = 32, kv_heads = 8, head_dim = 128, rope = false>)
    hybrid.block "-" ffn(#hybrid.ffn<kind = relu2, hidden = 21504>)
  }
}
