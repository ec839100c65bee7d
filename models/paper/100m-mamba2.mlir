// 100m mamba2 (arXiv 2510.04800 families, models/gen_paper.py generates this file).
// all Mamba-2 blocks, each keeping the SwiGLU FFN.
// Shapes: GPT-2-small width and depth (d_model 768, 12 layers) as a Llama-style block: 12 heads / 4 KV heads of 64, SwiGLU 2048 (8/3 d rounded to 256), vocab 32000 (Llama-2 tokenizer size), tied embeddings.
// Mamba-2 blocks: expand 2 (inner 2 x d_model), head dim 64, state 128, 1 group, conv 4, chunk 256.
// Layers: 17 = 0 attention + 17 Mamba-2; order MMMMMMMMMMMMMMMMM.
// Layer count chosen so that forward FLOPs/token at 8K match the 100m transformer: ratio 1.0198.
// hybridc report --context 8192 --batch 1: params 168,816,328; forward FLOPs/token 358,128,768.

hybrid.model @paper_100m_mamba2 attributes {vocab = 32000 : i64, d_model = 768 : i64, norm_eps = 1.0e-05 : f64, tie_embeddings} {
  hybrid.pattern "M" x 17 {
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 24, head_dim = 64, state = 128, groups = 1, conv = 4, chunk = 256, expand = 2>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 2048>)
  }
}
