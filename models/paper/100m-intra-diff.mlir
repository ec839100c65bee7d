// 100m intra-diff (arXiv 2510.04800 families, models/gen_paper.py generates this file).
// intra-layer hybrid: parallel attention + Mamba-2 blocks (1:1 width split, group-normed branches, combine = diff = attention - mamba, shared out projection) interleaved with plain Mamba-2 blocks about 1:5.
// Shapes: GPT-2-small width and depth (d_model 768, 12 layers) as a Llama-style block: 12 heads / 4 KV heads of 64, SwiGLU 2048 (8/3 d rounded to 256), vocab 32000 (Llama-2 tokenizer size), tied embeddings.
// Mamba-2 blocks: expand 2 (inner 2 x d_model), head dim 64, state 128, 1 group, conv 4, chunk 256.
// Parallel block: attention 6 heads / 2 KV heads of 64 beside a Mamba-2 branch of 6 heads of 64 (half the transformer's width each).
// Layers: 16 = 0 attention + 13 Mamba-2 + 3 parallel; order MMPMMMMMPMMMMPMM.
// Layer count chosen so that forward FLOPs/token at 8K match the 100m transformer: ratio 0.9770.
// 16 layers hold no whole number of 1:5 groups: 3 parallel layers (nearest to 16/6) (1:4.33).
// hybridc report --context 8192 --batch 1: params 153,783,518; forward FLOPs/token 343,082,496.

hybrid.model @paper_100m_intra_diff attributes {vocab = 32000 : i64, d_model = 768 : i64, norm_eps = 1.0e-05 : f64, tie_embeddings} {
  hybrid.pattern "MMPMMMMMPMMMMPMM" x 1 {
    hybrid.block "P" mixer(#hybrid.parallel<
          attention = #hybrid.attention<heads = 6, kv_heads = 2, head_dim = 64>,
          mamba = #hybrid.mamba2<heads = 6, head_dim = 64, state = 128, groups = 1, conv = 4, chunk = 256>,
          fuse = #hybrid.fuse<norm = group, combine = diff>>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 2048>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 24, head_dim = 64, state = 128, groups = 1, conv = 4, chunk = 256, expand = 2>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 2048>)
  }
}
