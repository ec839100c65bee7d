// PERFORMANCE.md whole-model benchmark: mamba2, 24 x M (Mamba-2 mixer + SwiGLU FFN in every block).
// Shapes: /work/shared/PERFORMANCE.md "Whole models": d_model 1024, 24 layers, GQA 16/4 heads of 64,
// SwiGLU 2816 in every block, vocab 32000 (untied: the 416M quoted for inter-1:5 counts an LM head
// apart from the embedding), Mamba-2 expand 2 (32 heads of 64), state 128, 1 group, conv 4, chunk 256.
// hybridc report --context 8192 --batch 1: params 431,604,992; forward FLOPs/token 835,996,672.

hybrid.model @perf_mamba2 attributes {vocab = 32000 : i64, d_model = 1024 : i64, norm_eps = 1.0e-05 : f64} {
  hybrid.pattern "M" x 24 {
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 32, head_dim = 64, state = 128, groups = 1, conv = 4, chunk = 256, expand = 2>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 2816>)
  }
}
