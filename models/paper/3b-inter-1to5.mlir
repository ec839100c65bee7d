// 3b inter-1to5 (arXiv 2510.04800 families, models/gen_paper.py generates this file).
// inter-layer hybrid, attention:Mamba-2 about 1:5, attention spread evenly through the middle, never first.
// Shapes: Llama-3.2-3B shapes (d_model 3072, 28 layers, 24 heads / 8 KV heads of 128, SwiGLU 8192, vocab 128256, tied, RoPE theta 500000; llama3 RoPE scaling left out).
// Mamba-2 blocks: expand 2 (inner 2 x d_model), head dim 64, state 128, 1 group, conv 4, chunk 256.
// Layers: 26 = 4 attention + 22 Mamba-2; order MMMAMMMMMAMMMMMMAMMMMMAMMM.
// Layer count chosen so that forward FLOPs/token at 8K match the 3b transformer: ratio 0.9907.
// 26 layers hold no whole number of 1:5 groups: 4 attention layers (nearest to 26/6) (1:5.50).
// hybridc report --context 8192 --batch 1: params 3,728,106,176; forward FLOPs/token 7,761,476,352.

hybrid.model @paper_3b_inter_1to5 attributes {vocab = 128256 : i64, d_model = 3072 : i64, norm_eps = 1.0e-05 : f64, tie_embeddings} {
  hybrid.pattern "MMMAMMMMMAMMM" x 2 {
    hybrid.block "A" mixer(#hybrid.attention<heads = 24, kv_heads = 8, head_dim = 128, rope_theta = 500000.0>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 8192>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 96, head_dim = 64, state = 128, groups = 1, conv = 4, chunk = 256, expand = 2>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 8192>)
  }
}
