// PERFORMANCE.md whole-model benchmark: transformer, 24 x A (Llama-style attention blocks).
// Shapes: /work/shared/PERFORMANCE.md "Whole models": d_model 1024, 24 layers, GQA 16/4 heads of 64,
// SwiGLU 2816 in every block, vocab 32000 (untied: the 416M quoted for inter-1:5 counts an LM head
// apart from the embedding), Mamba-2 expand 2 (32 heads of 64), state 128, 1 group, conv 4, chunk 256.
// hybridc report --context 8192 --batch 1: params 336,118,784; forward FLOPs/token 1,009,303,552.

hybrid.model @perf_transformer attributes {vocab = 32000 : i64, d_model = 1024 : i64, norm_eps = 1.0e-05 : f64} {
  hybrid.pattern "A" x 24 {
    hybrid.block "A" mixer(#hybrid.attention<heads = 16, kv_heads = 4, head_dim = 64>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 2816>)
  }
}
