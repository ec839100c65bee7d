// 1b transformer (arXiv 2510.04800 families, models/gen_paper.py generates this file).
// all attention blocks (pre-RMSNorm, RoPE, GQA, SwiGLU FFN).
// Shapes: Llama-3.2-1B shapes (d_model 2048, 16 layers, 32 heads / 8 KV heads of 64, SwiGLU 8192, vocab 128256, tied, RoPE theta 500000; its llama3 RoPE scaling is left out: it changes no shape or count).
// Layers: 16 = 16 attention + 0 Mamba-2; order AAAAAAAAAAAAAAAA.
// hybridc report --context 8192 --batch 1: params 1,235,814,400; forward FLOPs/token 3,008,430,080.

hybrid.model @paper_1b_transformer attributes {vocab = 128256 : i64, d_model = 2048 : i64, norm_eps = 1.0e-05 : f64, tie_embeddings} {
  hybrid.pattern "A" x 16 {
    hybrid.block "A" mixer(#hybrid.attention<heads = 32, kv_heads = 8, head_dim = 64, rope_theta = 500000.0>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 8192>)
  }
}
