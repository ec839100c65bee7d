// 3b inter-1to1 (arXiv 2510.04800 families, models/gen_paper.py generates this file).
// inter-layer hybrid, attention:Mamba-2 1:1, attention never first.
// Shapes: Llama-3.2-3B shapes (d_model 3072, 28 layers, 24 heads / 8 KV heads of 128, SwiGLU 8192, vocab 128256, tied, RoPE theta 500000; llama3 RoPE scaling left out).
// Mamba-2 blocks: expand 2 (inner 2 x d_model), head dim 64, state 128, 1 group, conv 4, chunk 256.
// Layers: 27 = 13 attention + 14 Mamba-2; order MAMAMAMAMAMAMAMAMAMAMAMAMAM.
// Layer count chosen so that forward FLOPs/token at 8K match the 3b transformer: ratio 1.0028.
// hybridc report --context 8192 --batch 1: params 3,568,159,168; forward FLOPs/token 7,856,705,280.

hybrid.model @paper_3b_inter_1to1 attributes {vocab = 128256 : i64, d_model = 3072 : i64, norm_eps = 1.0e-05 : f64, tie_embeddings} {
  hybrid.pattern "MAMAMAMAMAMAMAMAMAMAMAMAMAM" x 1 {
    hybrid.block "A" mixer(#hybrid.attention<heads = 24, kv_heads = 8, head_dim = 128, rope_theta = 500000.0>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 8192>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 96, head_dim = 64, state = 128, groups = 1, conv = 4, chunk = 256, expand = 2>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 8192>)
  }
}
