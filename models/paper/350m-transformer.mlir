// 350m transformer (arXiv 2510.04800 families, models/gen_paper.py generates this file).
// all attention blocks (pre-RMSNorm, RoPE, GQA, SwiGLU FFN).
// Shapes: GPT-2-medium width and depth (d_model 1024, 24 layers) as a Llama-style block: 16 heads / 4 KV heads of 64, SwiGLU 3584 (3.5 d, sized to reach ~350M with tied embeddings), vocab 32000.
// Layers: 24 = 24 attention + 0 Mamba-2; order AAAAAAAAAAAAAAAAAAAAAAAA.
// hybridc report --context 8192 --batch 1: params 359,973,888; forward FLOPs/token 1,122,549,760.

hybrid.model @paper_350m_transformer attributes {vocab = 32000 : i64, d_model = 1024 : i64, norm_eps = 1.0e-05 : f64, tie_embeddings} {
  hybrid.pattern "A" x 24 {
    hybrid.block "A" mixer(#hybrid.attention<heads = 16, kv_heads = 4, head_dim = 64>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 3584>)
  }
}
