// 3b transformer (arXiv 2510.04800 families, models/gen_paper.py generates this file).
// all attention blocks (pre-RMSNorm, RoPE, GQA, SwiGLU FFN).
// Shapes: Llama-3.2-3B shapes (d_model 3072, 28 layers, 24 heads / 8 KV heads of 128, SwiGLU 8192, vocab 128256, tied, RoPE theta 500000; llama3 RoPE scaling left out).
// Layers: 28 = 28 attention + 0 Mamba-2; order AAAAAAAAAAAAAAAAAAAAAAAAAAAA.
// hybridc report --context 8192 --batch 1: params 3,212,749,824; forward FLOPs/token 7,834,607,616.

hybrid.model @paper_3b_transformer attributes {vocab = 128256 : i64, d_model = 3072 : i64, norm_eps = 1.0e-05 : f64, tie_embeddings} {
  hybrid.pattern "A" x 28 {
    hybrid.block "A" mixer(#hybrid.attention<heads = 24, kv_heads = 8, head_dim = 128, rope_theta = 500000.0>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 8192>)
  }
}
