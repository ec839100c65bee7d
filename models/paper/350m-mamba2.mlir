// 350m mamba2 (arXiv 2510.04800 families, models/gen_paper.py generates this file).
// all Mamba-2 blocks, each keeping the SwiGLU FFN.
// Shapes: GPT-2-medium width and depth (d_model 1024, 24 layers) as a Llama-style block: 16 heads / 4 KV heads of 64, SwiGLU 3584 (3.5 d, sized to reach ~350M with tied embeddings), vocab 32000.
// Mamba-2 blocks: expand 2 (inner 2 x d_model), head dim 64, state 128, 1 group, conv 4, chunk 256.
// Layers: 29 = 0 attention + 29 Mamba-2; order MMMMMMMMMMMMMMMMMMMMMMMMMMMMM.
// Layer count chosen so that forward FLOPs/token at 8K match the 350m transformer: ratio 1.0096.
// hybridc report --context 8192 --batch 1: params 543,520,736; forward FLOPs/token 1,133,348,480.

hybrid.model @paper_350m_mamba2 attributes {vocab = 32000 : i64, d_model = 1024 : i64, norm_eps = 1.0e-05 : f64, tie_embeddings} {
  hybrid.pattern "M" x 29 {
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 32, head_dim = 64, state = 128, groups = 1, conv = 4, chunk = 256, expand = 2>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 3584>)
  }
}
