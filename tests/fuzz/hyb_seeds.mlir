// Seed models of hyb_fuzzer's corpus (tests/fuzz/corpus/hyb/{attn,mamba,par}.hyb):
//   for m in attn mamba par; do hybridc compile tests/fuzz/hyb_seeds.mlir --model $m --max-context 8 -o tests/fuzz/corpus/hyb/$m.hyb; done
// truncated.hyb is the first 3000 bytes of attn.hyb.
hybrid.model @attn attributes {vocab = 16, d_model = 16, tie_embeddings} {
  hybrid.block mixer(#hybrid.attention<heads = 2, kv_heads = 1, head_dim = 8, rope_scaling = #hybrid.rope_scaling<type = "llama3", factor = 8.0>>) ffn(#hybrid.ffn<kind = swiglu, hidden = 16>)
}
hybrid.model @mamba attributes {vocab = 16, d_model = 16} {
  hybrid.block mixer(#hybrid.mamba2<heads = 2, head_dim = 8, state = 4, chunk = 4, dt_limit_lo = 0.001>)
}
hybrid.model @par attributes {vocab = 16, d_model = 16} {
  hybrid.block mixer(#hybrid.parallel<attention = #hybrid.attention<heads = 2, kv_heads = 2, head_dim = 8>, mamba = #hybrid.mamba2<heads = 2, head_dim = 8, state = 4>, fuse = #hybrid.fuse<norm = group, combine = concat>>) ffn(#hybrid.ffn<kind = relu2, hidden = 16>)
}
