// 350m inter-1to1 (arXiv 2510.04800 families, models/gen_paper.py generates this file).
// inter-layer hybrid, attention:Mamba-2 1:1, attention never first.
// Shapes: GPT-2-medium width and depth (d_model 1024, 24 layers) as a Llama-style block: 16 heads / 4 KV heads of 64, SwiGLU 3584 (3.5 d, sized to reach ~350M with tied embeddings), vocab 32000.
// Mamba-2 blocks: expand 2 (inner 2 x d_model), head dim 64, state 128, 1 group, conv 4, chunk 256.
// Layers: 26 = 13 attention + 13 Mamba-2; order MAMAMAMAMAMAMAMAMAMAMAMAMA.
// Layer count chosen so that forward FLOPs/token at 8K match the 350m transformer: ratio 0.9948.
// hybridc report --context 8192 --batch 1: params 438,962,656; forward FLOPs/token 1,116,759,680.

hybrid.model @paper_350m_inter_1to1 attributes {vocab = 32000 : i64, d_model = 1024 : i64, norm_eps = 1.0e-05 : f64, tie_embeddings} {
  hybrid.pattern "MA" x 13 {
    hybrid.block "A" mixer(#hybrid.attention<heads = 16, kv_heads = 4, head_dim = 64>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 3584>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 32, head_dim = 64, state = 128, groups = 1, conv = 4, chunk = 256, expand = 2>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 3584>)
  }
}
