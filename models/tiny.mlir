// tiny: the default hybrid of the demo, small enough for the CPU reference executor (1.38M params).
// Byte-level (vocab 256, tied embeddings), d_model 128, 6 layers "MAMPAM": 3 Mamba-2 blocks
// (expand 2: 8 heads of 32, state 16, 1 group, conv 4, chunk 16), 2 attention blocks (4 heads / 2 KV
// heads of 32, RoPE theta 10000) and one parallel block at layer 3 (attention 2/1 heads of 32 beside
// a Mamba-2 branch of 2 heads of 32, group-normed branches, combine = diff, shared out projection),
// each with a SwiGLU FFN of 384. Shapes chosen here, not taken from a published model; attention is
// never first (the paper's rule).
// hybridc report --context 8192 --batch 1: params 1,378,894; forward FLOPs/token 8,064,128
// (2,985,088 at context 256).

hybrid.model @tiny attributes {vocab = 256 : i64, d_model = 128 : i64, norm_eps = 1.0e-05 : f64, tie_embeddings} {
  hybrid.pattern "MAMPAM" x 1 {
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 8, head_dim = 32, state = 16, groups = 1, conv = 4, chunk = 16,
                                          expand = 2>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 384>)
    hybrid.block "A" mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 32>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 384>)
    hybrid.block "P" mixer(#hybrid.parallel<
          attention = #hybrid.attention<heads = 2, kv_heads = 1, head_dim = 32>,
          mamba = #hybrid.mamba2<heads = 2, head_dim = 32, state = 16, groups = 1, conv = 4, chunk = 16>,
          fuse = #hybrid.fuse<norm = group, combine = diff>>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 384>)
  }
}
