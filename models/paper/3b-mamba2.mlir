// 3b mamba2 (arXiv 2510.04800 families, models/gen_paper.py generates this file).
// all Mamba-2 blocks, each keeping the SwiGLU FFN.
// Shapes: Llama-3.2-3B shapes (d_model 3072, 28 layers, 24 heads / 8 KV heads of 128, SwiGLU 8192, vocab 128256, tied, RoPE theta 500000; llama3 RoPE scaling left out).
// Mamba-2 blocks: expand 2 (inner 2 x d_model), head dim 64, state 128, 1 group, conv 4, chunk 256.
// Layers: 26 = 0 attention + 26 Mamba-2; order MMMMMMMMMMMMMMMMMMMMMMMMMM.
// Layer count chosen so that forward FLOPs/token at 8K match the 3b transformer: ratio 1.0006.
// hybridc report --context 8192 --batch 1: params 3,858,414,400; forward FLOPs/token 7,839,694,080.

hybrid.model @paper_3b_mamba2 attributes {vocab = 128256 : i64, d_model = 3072 : i64, norm_eps = 1.0e-05 : f64, tie_embeddings} {
  hybrid.pattern "M" x 26 {
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 96, head_dim = 64, state = 128, groups = 1, conv = 4, chunk = 256, expand = 2>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 8192>)
  }
}
