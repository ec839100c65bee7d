// 350m intra-diff (arXiv 2510.04800 families, models/gen_paper.py generates this file).
// intra-layer hybrid: parallel attention + Mamba-2 blocks (1:1 width split, group-normed branches, combine = diff = attention - mamba, shared out projection) interleaved with plain Mamba-2 blocks about 1:5.
// Shapes: GPT-2-medium width and depth (d_model 1024, 24 layers) as a Llama-style block: 16 heads / 4 KV heads of 64, SwiGLU 3584 (3.5 d, sized to reach ~350M with tied embeddings), vocab 32000.
// Mamba-2 blocks: expand 2 (inner 2 x d_model), head dim 64, state 128, 1 group, conv 4, chunk 256.
// Parallel block: attention 8 heads / 2 KV heads of 64 beside a Mamba-2 branch of 8 heads of 64 (half the transformer's width each).
// Layers: 29 = 0 attention + 24 Mamba-2 + 5 parallel; order MMPMMMMMPMMMMMPMMMMMPMMMMMPMM.
// Layer count chosen so that forward FLOPs/token at 8K match the 350m transformer: ratio 1.0064.
// 29 layers hold no whole number of 1:5 groups: 5 parallel layers (nearest to 29/6) (1:4.80).
// hybridc report --context 8192 --batch 1: params 523,695,736; forward FLOPs/token 1,129,754,240.

hybrid.model @paper_350m_intra_diff attributes {vocab = 32000 : i64, d_model = 1024 : i64, norm_eps = 1.0e-05 : f64, tie_embeddings} {
  hybrid.pattern "MMPMMMMMPMMMMMPMMMMMPMMMMMPMM" x 1 {
    hybrid.block "P" mixer(#hybrid.parallel<
          attention = #hybrid.attention<heads = 8, kv_heads = 2, head_dim = 64>,
          mamba = #hybrid.mamba2<heads = 8, head_dim = 64, state = 128, groups = 1, conv = 4, chunk = 256>,
          fuse = #hybrid.fuse<norm = group, combine = diff>>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 3584>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 32, head_dim = 64, state = 128, groups = 1, conv = 4, chunk = 256, expand = 2>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 3584>)
  }
}
