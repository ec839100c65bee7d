// 1b inter-1to5 (arXiv 2510.04800 families, models/gen_paper.py generates this file).
// inter-layer hybrid, attention:Mamba-2 about 1:5, attention spread evenly through the middle, never first.
// Shapes: Llama-3.2-1B shapes (d_model 2048, 16 layers, 32 heads / 8 KV heads of 64, SwiGLU 8192, vocab 128256, tied, RoPE theta 500000; its llama3 RoPE scaling is left out: it changes no shape or count).
// Mamba-2 blocks: expand 2 (inner 2 x d_model), head dim 64, state 128, 1 group, conv 4, chunk 256.
// Layers: 16 = 3 attention + 13 Mamba-2; order MMAMMMMMAMMMMAMM.
// Layer count chosen so that forward FLOPs/token at 8K match the 1b transformer: ratio 1.0014.
// 16 layers hold no whole number of 1:5 groups: 3 attention layers (nearest to 16/6) (1:4.33).
// hybridc report --context 8192 --batch 1: params 1,435,513,536; forward FLOPs/token 3,012,771,456.

hybrid.model @paper_1b_inter_1to5 attributes {vocab = 128256 : i64, d_model = 2048 : i64, norm_eps = 1.0e-05 : f64, tie_embeddings} {
  hybrid.pattern "MMAMMMMMAMMMMAMM" x 1 {
    hybrid.block "A" mixer(#hybrid.attention<heads = 32, kv_heads = 8, head_dim = 64, rope_theta = 500000.0>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 8192>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 64, head_dim = 64, state = 128, groups = 1, conv = 4, chunk = 256, expand = 2>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 8192>)
  }
}
