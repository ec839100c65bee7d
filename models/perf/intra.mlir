// PERFORMANCE.md whole-model benchmark: intra, 24 x P: attention (16/4 heads of 64) and Mamba-2
// (expand 2) side by side on the same normed input, each branch RMS-normed, then averaged.
// The branches are 1024 and 2048 wide, so they cannot be averaged before one shared out projection
// (the verifier requires equal widths): each branch keeps its own out projection (o: 1024->1024,
// out_proj: 2048->1024) and the projected outputs are averaged as 0.5*attn + 0.5*mamba
// (combine = add with attn_mult = ssm_mult = 0.5, which is combine = mean).
// Shapes: /work/shared/PERFORMANCE.md "Whole models": d_model 1024, 24 layers, GQA 16/4 heads of 64,
// SwiGLU 2816 in every block, vocab 32000 (untied: the 416M quoted for inter-1:5 counts an LM head
// apart from the embedding), Mamba-2 expand 2 (32 heads of 64), state 128, 1 group, conv 4, chunk 256.
// hybridc report --context 8192 --batch 1: params 494,593,280; forward FLOPs/token 1,364,528,128.

hybrid.model @perf_intra attributes {vocab = 32000 : i64, d_model = 1024 : i64, norm_eps = 1.0e-05 : f64} {
  hybrid.pattern "P" x 24 {
    hybrid.block "P" mixer(#hybrid.parallel<
          attention = #hybrid.attention<heads = 16, kv_heads = 4, head_dim = 64>,
          mamba = #hybrid.mamba2<heads = 32, head_dim = 64, state = 128, groups = 1, conv = 4, chunk = 256, expand = 2>,
          fuse = #hybrid.fuse<norm = rms, combine = add, out_proj = separate, attn_mult = 0.5, ssm_mult = 0.5>>)
                     ffn(#hybrid.ffn<kind = swiglu, hidden = 2816>)
  }
}
