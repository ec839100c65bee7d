// tiny-intra: a byte-level intra-layer hybrid for CPU training demos and tests.
// Parallel blocks (attention and Mamba-2 side by side on a 1:1 split of the
// width, each branch group-normed, combined by diff, one shared out
// projection) interleaved with plain Mamba-2 blocks: "MPMMPM".
// hybridc report --context 8192 --batch 1: params 1,431,724; forward FLOPs/token 5,049,056
hybrid.model @tiny_intra attributes {vocab = 256 : i64, d_model = 128 : i64, norm_eps = 1.0e-05 : f64, tie_embeddings} {
  hybrid.pattern "MPMMPM" x 1 {
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 8, head_dim = 32, state = 16, groups = 1, conv = 4, chunk = 16, expand = 2>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 384>)
    hybrid.block "P" mixer(#hybrid.parallel<
          attention = #hybrid.attention<heads = 2, kv_heads = 1, head_dim = 32>,
          mamba = #hybrid.mamba2<heads = 2, head_dim = 32, state = 16, groups = 1, conv = 4, chunk = 16>,
          fuse = #hybrid.fuse<norm = group, combine = diff>>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 384>)
  }
}
