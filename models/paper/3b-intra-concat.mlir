// 3b intra-concat (arXiv 2510.04800 families, models/gen_paper.py generates this file).
// intra-layer hybrid: parallel attention + Mamba-2 blocks (1:1 width split, RMS-normed branches, combine = concat, shared out projection) interleaved with plain Mamba-2 blocks about 1:5.
// Shapes: Llama-3.2-3B shapes (d_model 3072, 28 layers, 24 heads / 8 KV heads of 128, SwiGLU 8192, vocab 128256, tied, RoPE theta 500000; llama3 RoPE scaling left out).
// Mamba-2 blocks: expand 2 (inner 2 x d_model), head dim 64, state 128, 1 group, conv 4, chunk 256.
// Parallel block: attention 12 heads / 4 KV heads of 128 beside a Mamba-2 branch of 24 heads of 64 (half the transformer's width each).
// Layers: 27 = 0 attention + 22 Mamba-2 + 5 parallel; order MMPMMMMMPMMMMPMMMMPMMMMMPMM.
// Layer count chosen so that forward FLOPs/token at 8K match the 3b transformer: ratio 1.0106.
// 27 layers hold no whole number of 1:5 groups: 5 parallel layers (nearest to 27/6) (1:4.40).
// hybridc report --context 8192 --batch 1: params 3,841,008,936; forward FLOPs/token 7,917,776,256.

hybrid.model @paper_3b_intra_concat attributes {vocab = 128256 : i64, d_model = 3072 : i64, norm_eps = 1.0e-05 : f64, tie_embeddings} {
  hybrid.pattern "MMPMMMMMPMMMMPMMMMPMMMMMPMM" x 1 {
    hybrid.block "P" mixer(#hybrid.parallel<
          attention = #hybrid.attention<heads = 12, kv_heads = 4, head_dim = 128, rope_theta = 500000.0>,
          mamba = #hybrid.mamba2<heads = 24, head_dim = 64, state = 128, groups = 1, conv = 4, chunk = 256>,
          fuse = #hybrid.fuse<norm = rms, combine = concat>>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 8192>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 96, head_dim = 64, state = 128, groups = 1, conv = 4, chunk = 256, expand = 2>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 8192>)
  }
}
