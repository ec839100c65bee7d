// 1b intra-diff (arXiv 2510.04800 families, models/gen_paper.py generates this file).
// intra-layer hybrid: parallel attention + Mamba-2 blocks (1:1 width split, group-normed branches, combine = diff = attention - mamba, shared out projection) interleaved with plain Mamba-2 blocks about 1:5.
// Shapes: Llama-3.2-1B shapes (d_model 2048, 16 layers, 32 heads / 8 KV heads of 64, SwiGLU 8192, vocab 128256, tied, RoPE theta 500000; its llama3 RoPE scaling is left out: it changes no shape or count).
// Mamba-2 blocks: expand 2 (inner 2 x d_model), head dim 64, state 128, 1 group, conv 4, chunk 256.
// Parallel block: attention 16 heads / 4 KV heads of 64 beside a Mamba-2 branch of 16 heads of 64 (half the transformer's width each).
// Layers: 16 = 0 attention + 13 Mamba-2 + 3 parallel; order MMPMMMMMPMMMMPMM.
// Layer count chosen so that forward FLOPs/token at 8K match the 1b transformer: ratio 0.9846.
// 16 layers hold no whole number of 1:5 groups: 3 parallel layers (nearest to 16/6) (1:4.33).
// hybridc report --context 8192 --batch 1: params 1,434,067,536; forward FLOPs/token 2,961,979,392.

hybrid.model @paper_1b_intra_diff attributes {vocab = 128256 : i64, d_model = 2048 : i64, norm_eps = 1.0e-05 : f64, tie_embeddings} {
  hybrid.pattern "MMPMMMMMPMMMMPMM" x 1 {
    hybrid.block "P" mixer(#hybrid.parallel<
          attention = #hybrid.attention<heads = 16, kv_heads = 4, head_dim = 64, rope_theta = 500000.0>,
          mamba = #hybrid.mamba2<heads = 16, head_dim = 64, state = 128, groups = 1, conv = 4, chunk = 256>,
          fuse = #hybrid.fuse<norm = group, combine = diff>>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 8192>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 64, head_dim = 64, state = 128, groups = 1, conv = 4, chunk = 256, expand = 2>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 8192>)
  }
}
