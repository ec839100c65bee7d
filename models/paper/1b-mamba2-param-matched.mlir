// 1b mamba2-param-matched (arXiv 2510.04800 families, models/gen_paper.py generates this file).
// all Mamba-2 blocks, each keeping the SwiGLU FFN, with the layer count that matches the transformer's parameters instead of its FLOPs: the stack DESIGN.md's 1B figures (~13.4 MiB cache, ~18% fewer FLOPs) fit.
// Shapes: Llama-3.2-1B shapes (d_model 2048, 16 layers, 32 heads / 8 KV heads of 64, SwiGLU 8192, vocab 128256, tied, RoPE theta 500000; its llama3 RoPE scaling is left out: it changes no shape or count).
// Mamba-2 blocks: expand 2 (inner 2 x d_model), head dim 64, state 128, 1 group, conv 4, chunk 256.
// Layers: 13 = 0 attention + 13 Mamba-2; order MMMMMMMMMMMMM.
// Layer count chosen so that the parameters match the 1b transformer (1,235,814,400): ratio 1.0139; forward FLOPs/token at 8K: transformer / this = 1.1811.
// hybridc report --context 8192 --batch 1: params 1,253,049,024; forward FLOPs/token 2,547,191,424.

hybrid.model @paper_1b_mamba2_param_matched attributes {vocab = 128256 : i64, d_model = 2048 : i64, norm_eps = 1.0e-05 : f64, tie_embeddings} {
  hybrid.pattern "M" x 13 {
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 64, head_dim = 64, state = 128, groups = 1, conv = 4, chunk = 256, expand = 2>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 8192>)
  }
}
