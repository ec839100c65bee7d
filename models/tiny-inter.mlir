// tiny-inter: a byte-level inter-layer hybrid for CPU training demos and tests.
// Attention blocks spread through the middle, never first (1:2 here so that a
// 6-layer stack holds two): "MAMMAM". Shapes as models/tiny.mlir.
// hybridc report --context 8192 --batch 1: params 1,438,048; forward FLOPs/token 7,149,120
hybrid.model @tiny_inter attributes {vocab = 256 : i64, d_model = 128 : i64, norm_eps = 1.0e-05 : f64, tie_embeddings} {
  hybrid.pattern "MAMMAM" x 1 {
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 8, head_dim = 32, state = 16, groups = 1, conv = 4, chunk = 16, expand = 2>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 384>)
    hybrid.block "A" mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 32>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 384>)
  }
}
