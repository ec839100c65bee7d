// Small models of every family of models/paper (random weights): the
// prefill/decode consistency test compiles each one.
hybrid.model @transformer attributes {vocab = 256, d_model = 64, tie_embeddings} {
  hybrid.pattern "A" x 3 {
    hybrid.block "A" mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16, rope_theta = 500000.0>) ffn(#hybrid.ffn<kind = swiglu, hidden = 128>)
  }
}
hybrid.model @mamba2 attributes {vocab = 256, d_model = 64} {
  hybrid.pattern "M" x 3 {
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16, groups = 2, chunk = 8>) ffn(#hybrid.ffn<kind = swiglu, hidden = 128>)
  }
}
hybrid.model @inter attributes {vocab = 256, d_model = 64} {
  hybrid.pattern "MMAM" x 2 {
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16, chunk = 8>) ffn(#hybrid.ffn<kind = swiglu, hidden = 128>)
    hybrid.block "A" mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16, window = 6>) ffn(#hybrid.ffn<kind = swiglu, hidden = 128>)
  }
}
hybrid.model @intra_diff attributes {vocab = 256, d_model = 64} {
  hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16, chunk = 8>) ffn(#hybrid.ffn<kind = swiglu, hidden = 128>)
  hybrid.block mixer(#hybrid.parallel<attention = #hybrid.attention<heads = 2, kv_heads = 1, head_dim = 16>,
                                      mamba = #hybrid.mamba2<heads = 2, head_dim = 16, state = 16, chunk = 8>,
                                      fuse = #hybrid.fuse<norm = group, combine = diff>>) ffn(#hybrid.ffn<kind = swiglu, hidden = 128>)
}
hybrid.model @intra_concat attributes {vocab = 256, d_model = 64} {
  hybrid.block mixer(#hybrid.parallel<attention = #hybrid.attention<heads = 2, kv_heads = 2, head_dim = 16>,
                                      mamba = #hybrid.mamba2<heads = 4, head_dim = 16, state = 8, chunk = 8>,
                                      fuse = #hybrid.fuse<norm = rms, combine = concat>>) ffn(#hybrid.ffn<kind = relu2, hidden = 128>)
  hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16, chunk = 8>)
}
