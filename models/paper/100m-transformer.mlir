// 100m transformer (arXiv 2510.04800 families, models/gen_paper.py generates this file).
// all attention blocks (pre-RMSNorm, RoPE, GQA, SwiGLU FFN).
// Shapes: GPT-2-small width and depth (d_model 768, 12 layers) as a Llama-style block: 12 heads / 4 KV heads of 64, SwiGLU 2048 (8/3 d rounded to 256), vocab 32000 (Llama-2 tokenizer size), tied embeddings.
// Layers: 12 = 12 attention + 0 Mamba-2; order AAAAAAAAAAAA.
// hybridc report --context 8192 --batch 1: params 100,092,672; forward FLOPs/token 351,160,320.

hybrid.model @paper_100m_transformer attributes {vocab = 32000 : i64, d_model = 768 : i64, norm_eps = 1.0e-05 : f64, tie_embeddings} {
  hybrid.pattern "A" x 12 {
    hybrid.block "A" mixer(#hybrid.attention<heads = 12, kv_heads = 4, head_dim = 64>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 2048>)
  }
}
