// PERFORMANCE.md whole-model benchmark: inter-1:5, (MMMMMA) x 4 (attention at layers 5, 11, 17, 23),
// the pattern PERFORMANCE.md names; models/paper/ centres the attention layers instead.
// Shapes: /work/shared/PERFORMANCE.md "Whole models": d_model 1024, 24 layers, GQA 16/4 heads of 64,
// SwiGLU 2816 in every block, vocab 32000 (untied: the 416M quoted for inter-1:5 counts an LM head
// apart from the embedding), Mamba-2 expand 2 (32 heads of 64), state 128, 1 group, conv 4, chunk 256.
// Params: 415,690,624 = the ~416M of PERFORMANCE.md (with an untied head; tied it would be 382.9M).
// hybridc report --context 8192 --batch 1: params 415,690,624; forward FLOPs/token 864,881,152.

hybrid.model @perf_inter_1to5 attributes {vocab = 32000 : i64, d_model = 1024 : i64, norm_eps = 1.0e-05 : f64} {
  hybrid.pattern "MMMMMA" x 4 {
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 32, head_dim = 64, state = 128, groups = 1, conv = 4, chunk = 256, expand = 2>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 2816>)
    hybrid.block "A" mixer(#hybrid.attention<heads = 16, kv_heads = 4, head_dim = 64>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 2816>)
  }
}
