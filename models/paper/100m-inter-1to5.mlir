// 100m inter-1to5 (arXiv 2510.04800 families, models/gen_paper.py generates this file).
// inter-layer hybrid, attention:Mamba-2 about 1:5, attention spread evenly through the middle, never first.
// Shapes: GPT-2-small width and depth (d_model 768, 12 layers) as a Llama-style block: 12 heads / 4 KV heads of 64, SwiGLU 2048 (8/3 d rounded to 256), vocab 32000 (Llama-2 tokenizer size), tied embeddings.
// Mamba-2 blocks: expand 2 (inner 2 x d_model), head dim 64, state 128, 1 group, conv 4, chunk 256.
// Layers: 15 = 3 attention + 12 Mamba-2; order MMAMMMMAMMMMAMM.
// Layer count chosen so that forward FLOPs/token at 8K match the 100m transformer: ratio 0.9761.
// 15 layers hold no whole number of 1:5 groups: 3 attention layers (nearest to 15/6) (1:4.00).
// hybridc report --context 8192 --batch 1: params 145,271,904; forward FLOPs/token 342,755,328.

hybrid.model @paper_100m_inter_1to5 attributes {vocab = 32000 : i64, d_model = 768 : i64, norm_eps = 1.0e-05 : f64, tie_embeddings} {
  hybrid.pattern "MMAMM" x 3 {
    hybrid.block "A" mixer(#hybrid.attention<heads = 12, kv_heads = 4, head_dim = 64>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 2048>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 24, head_dim = 64, state = 128, groups = 1, conv = 4, chunk = 256, expand = 2>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 2048>)
  }
}
