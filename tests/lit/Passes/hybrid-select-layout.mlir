// RUN: hybrid-opt %s -split-input-file --hybrid-select-layout -verify-diagnostics | FileCheck %s

// --hybrid-select-layout replaces hybrid.auto with unlabelled copies of its
// templates. Every case names the rule it checks. The numbers in the remarks
// are whole-model totals from the cost model (docs/COST_MODEL.md), checked by
// hand for these shapes (d_model 64, vocab 256 tied, context 8192, batch 1):
//   A (4 q / 2 kv heads of 16, SwiGLU 128): 1,122,432 FLOPs/token, KV 1 MiB
//   A (same, SwiGLU 512):                   1,269,888 FLOPs/token, KV 1 MiB
//   M (8 heads of 16, state 16):              100,768 FLOPs/token, 5,056 B
//   P (4 q / 4 kv heads; 4 Mamba heads):    1,127,896 FLOPs/token, 2,099,776 B
//   LM head: 32,768 FLOPs/token.
// Placement: k special blocks of L sit at floor((2i + 1) L / 2k) (centres of
// k equal segments); layer 0 is never attention.

// Default objective (quality), no "P" template: inter-layer 1:1, i.e. 12
// attention blocks of 24 at the centres 1, 3, .., 23 ("MA" x 12).
// 12 x 1,122,432 + 12 x 100,768 + 32,768 = 14,711,168 FLOPs/token;
// cache 12 x 1 MiB + 12 x 5,056 B = 12.06 MiB.

// CHECK-LABEL: hybrid.model @quality_inter
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: }
hybrid.model @quality_inter attributes {vocab = 256, d_model = 64, tie_embeddings} {
  // expected-remark @+1 {{selected inter-layer 1:1 (quality; no "P" template for intra-layer): 12 attention of 24 "MAMAMAMAMAMAMAMAMAMAMAMA"; 14.71 MFLOP/token, cache 12.06 MiB at context 8192 x batch 1}}
  hybrid.auto layers 24 {
    hybrid.block "A" mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(#hybrid.ffn<kind = swiglu, hidden = 128>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
  }
}

// -----

// Default objective (quality) with a "P" template and layout any: the paper's
// recommendation, intra-layer, with parallel blocks 1:5 among Mamba blocks
// (4 of 24 at 3, 9, 15, 21), although the inter-layer 1:1 alternative is
// listed with its own numbers.

// CHECK-LABEL: hybrid.model @quality_intra
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.parallel<attention = <heads = 4, kv_heads = 4, head_dim = 16>, mamba = <heads = 4, head_dim = 16, state = 16>, fuse = <combine = diff>>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.parallel<attention = <heads = 4, kv_heads = 4, head_dim = 16>, mamba = <heads = 4, head_dim = 16, state = 16>, fuse = <combine = diff>>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.parallel<attention = <heads = 4, kv_heads = 4, head_dim = 16>, mamba = <heads = 4, head_dim = 16, state = 16>, fuse = <combine = diff>>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.parallel<attention = <heads = 4, kv_heads = 4, head_dim = 16>, mamba = <heads = 4, head_dim = 16, state = 16>, fuse = <combine = diff>>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: }
hybrid.model @quality_intra attributes {vocab = 256, d_model = 64, tie_embeddings} {
  // expected-remark @+1 {{selected intra-layer 1:5 (quality: intra-layer per arXiv 2510.04800): 4 parallel of 24 "MMMPMMMMMPMMMMMPMMMMMPMM"; 6.56 MFLOP/token, cache 8.11 MiB at context 8192 x batch 1; inter-layer: 12 attention, 16.48 MFLOP/token, cache 12.06 MiB}}
  hybrid.auto layers 24 {
    hybrid.block "A" mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(#hybrid.ffn<kind = swiglu, hidden = 512>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
    hybrid.block "P" mixer(#hybrid.parallel<attention = #hybrid.attention<heads = 4, kv_heads = 4, head_dim = 16>,
                                          mamba = #hybrid.mamba2<heads = 4, head_dim = 16, state = 16>,
                                          fuse = #hybrid.fuse<norm = rms, combine = diff>>)
  }
}

// -----

// Objective throughput, no fraction: inter-layer 1:5, 4 attention blocks of 24
// at 3, 9, 15, 21. 4 x 1,122,432 + 20 x 100,768 + 32,768 = 6,537,856
// FLOPs/token; cache 4 MiB + 20 x 5,056 B = 4,295,424 B.

// CHECK-LABEL: hybrid.model @throughput_default
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: }
hybrid.model @throughput_default attributes {vocab = 256, d_model = 64, tie_embeddings} {
  // expected-remark @+1 {{selected inter-layer 1:5 (throughput; no "P" template for intra-layer): 4 attention of 24 "MMMAMMMMMAMMMMMAMMMMMAMM"; 6.54 MFLOP/token, cache 4.10 MiB at context 8192 x batch 1}}
  hybrid.auto layers 24 attributes {objective = #hybrid<objective throughput>} {
    hybrid.block "A" mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(#hybrid.ffn<kind = swiglu, hidden = 128>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
  }
}

// -----

// Objective memory, no fraction: also 1:5. 12 layers -> 2 attention blocks at
// floor(12/4) = 3 and floor(36/4) = 9. 2 x 1,122,432 + 10 x 100,768 + 32,768 =
// 3,285,312 FLOPs/token; cache 2 MiB + 10 x 5,056 B = 2,147,712 B = 2.05 MiB.

// CHECK-LABEL: hybrid.model @memory_default
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: }
hybrid.model @memory_default attributes {vocab = 256, d_model = 64, tie_embeddings} {
  // expected-remark @+1 {{selected inter-layer 1:5 (memory; no "P" template for intra-layer): 2 attention of 12 "MMMAMMMMMAMM"; 3.29 MFLOP/token, cache 2.05 MiB at context 8192 x batch 1}}
  hybrid.auto layers 12 attributes {objective = #hybrid<objective memory>} {
    hybrid.block "A" mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(#hybrid.ffn<kind = swiglu, hidden = 128>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
  }
}

// -----

// An explicit attention_fraction overrides the objective's ratio: 0.25 x 24 = 6
// attention blocks (not the 4 of throughput's 1:5), at floor((2i + 1) x 2) =
// 2, 6, 10, 14, 18, 22.

// CHECK-LABEL: hybrid.model @fraction
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: }
hybrid.model @fraction attributes {vocab = 256, d_model = 64, tie_embeddings} {
  // expected-remark @+1 {{selected inter-layer 1:3 (throughput; no "P" template for intra-layer): 6 attention of 24 "MMAMMMAMMMAMMMAMMMAMMMAM"}}
  hybrid.auto layers 24 attributes {attention_fraction = 0.25 : f64, objective = #hybrid<objective throughput>} {
    hybrid.block "A" mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(#hybrid.ffn<kind = swiglu, hidden = 128>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
  }
}

// -----

// The fraction rounds to the nearest whole number of blocks: 0.28 x 10 = 2.8
// -> 3 attention blocks, at floor(10/6) = 1, floor(30/6) = 5, floor(50/6) = 8.

// CHECK-LABEL: hybrid.model @fraction_rounding
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: }
hybrid.model @fraction_rounding attributes {vocab = 256, d_model = 64, tie_embeddings} {
  // expected-remark @+1 {{3 attention of 10 "MAMMMAMMAM"}}
  hybrid.auto layers 10 attributes {attention_fraction = 0.28 : f64} {
    hybrid.block "A" mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(#hybrid.ffn<kind = swiglu, hidden = 128>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
  }
}

// -----

// Placement: a single attention block goes to the middle of the stack, never
// first or last: 0.1 x 9 = 0.9 rounds to 1 (at least 1), at floor(9/2) = 4.

// CHECK-LABEL: hybrid.model @placement_middle
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: }
hybrid.model @placement_middle attributes {vocab = 256, d_model = 64, tie_embeddings} {
  // expected-remark @+1 {{1 attention of 9 "MMMMAMMMM"}}
  hybrid.auto layers 9 attributes {attention_fraction = 0.1 : f64} {
    hybrid.block "A" mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(#hybrid.ffn<kind = swiglu, hidden = 128>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
  }
}

// -----

// Placement: 1:5 of 10 layers = round(10/6) = 2 attention blocks, spread
// evenly at the centres of the two halves: floor(10/4) = 2, floor(30/4) = 7.

// CHECK-LABEL: hybrid.model @placement_spread
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: }
hybrid.model @placement_spread attributes {vocab = 256, d_model = 64, tie_embeddings} {
  // expected-remark @+1 {{2 attention of 10 "MMAMMMMAMM"}}
  hybrid.auto layers 10 attributes {objective = #hybrid<objective throughput>} {
    hybrid.block "A" mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(#hybrid.ffn<kind = swiglu, hidden = 128>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
  }
}

// -----

// Placement: even with attention_fraction = 1, layer 0 stays Mamba: the count is
// capped at layers - 1 = 4 and the blocks fill layers 1 .. 4.

// CHECK-LABEL: hybrid.model @placement_never_first
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: }
hybrid.model @placement_never_first attributes {vocab = 256, d_model = 64, tie_embeddings} {
  // expected-remark @+1 {{4 attention of 5 "MAAAA"}}
  hybrid.auto layers 5 attributes {attention_fraction = 1.0 : f64} {
    hybrid.block "A" mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(#hybrid.ffn<kind = swiglu, hidden = 128>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
  }
}

// -----

// layout = intra forces the intra-layer family even for objective memory, where
// layout any picks inter-layer (see @any_memory): parallel blocks 1:5, spread
// like attention blocks.

// CHECK-LABEL: hybrid.model @intra_forced
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.parallel<attention = <heads = 4, kv_heads = 4, head_dim = 16>, mamba = <heads = 4, head_dim = 16, state = 16>, fuse = <combine = diff>>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.parallel<attention = <heads = 4, kv_heads = 4, head_dim = 16>, mamba = <heads = 4, head_dim = 16, state = 16>, fuse = <combine = diff>>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.parallel<attention = <heads = 4, kv_heads = 4, head_dim = 16>, mamba = <heads = 4, head_dim = 16, state = 16>, fuse = <combine = diff>>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.parallel<attention = <heads = 4, kv_heads = 4, head_dim = 16>, mamba = <heads = 4, head_dim = 16, state = 16>, fuse = <combine = diff>>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: }
hybrid.model @intra_forced attributes {vocab = 256, d_model = 64, tie_embeddings} {
  // expected-remark @+1 {{selected intra-layer 1:5 (layout intra): 4 parallel of 24 "MMMPMMMMMPMMMMMPMMMMMPMM"; 6.56 MFLOP/token, cache 8.11 MiB at context 8192 x batch 1}}
  hybrid.auto layers 24 attributes {objective = #hybrid<objective memory>, layout = #hybrid<layout intra>} {
    hybrid.block "A" mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(#hybrid.ffn<kind = swiglu, hidden = 512>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
    hybrid.block "P" mixer(#hybrid.parallel<attention = #hybrid.attention<heads = 4, kv_heads = 4, head_dim = 16>,
                                          mamba = #hybrid.mamba2<heads = 4, head_dim = 16, state = 16>,
                                          fuse = #hybrid.fuse<norm = rms, combine = diff>>)
  }
}

// -----

// layout any, objective throughput: the candidate with fewer forward FLOPs per
// token wins. The A template carries a SwiGLU 512 FFN, the P template none, so
// intra-layer is cheaper: 4 x 1,127,896 + 20 x 100,768 + 32,768 = 6,559,712
// against 4 x 1,269,888 + 20 x 100,768 + 32,768 = 7,127,680 for inter-layer,
// although its cache is larger (8,500,224 B against 4,295,424 B).

// CHECK-LABEL: hybrid.model @any_throughput
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.parallel<attention = <heads = 4, kv_heads = 4, head_dim = 16>, mamba = <heads = 4, head_dim = 16, state = 16>, fuse = <combine = diff>>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.parallel<attention = <heads = 4, kv_heads = 4, head_dim = 16>, mamba = <heads = 4, head_dim = 16, state = 16>, fuse = <combine = diff>>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.parallel<attention = <heads = 4, kv_heads = 4, head_dim = 16>, mamba = <heads = 4, head_dim = 16, state = 16>, fuse = <combine = diff>>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.parallel<attention = <heads = 4, kv_heads = 4, head_dim = 16>, mamba = <heads = 4, head_dim = 16, state = 16>, fuse = <combine = diff>>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: }
hybrid.model @any_throughput attributes {vocab = 256, d_model = 64, tie_embeddings} {
  // expected-remark @+1 {{selected intra-layer 1:5 (throughput: fewest FLOPs/token): 4 parallel of 24 "MMMPMMMMMPMMMMMPMMMMMPMM"; 6.56 MFLOP/token, cache 8.11 MiB at context 8192 x batch 1; inter-layer: 4 attention, 7.13 MFLOP/token, cache 4.10 MiB}}
  hybrid.auto layers 24 attributes {objective = #hybrid<objective throughput>} {
    hybrid.block "A" mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(#hybrid.ffn<kind = swiglu, hidden = 512>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
    hybrid.block "P" mixer(#hybrid.parallel<attention = #hybrid.attention<heads = 4, kv_heads = 4, head_dim = 16>,
                                          mamba = #hybrid.mamba2<heads = 4, head_dim = 16, state = 16>,
                                          fuse = #hybrid.fuse<norm = rms, combine = diff>>)
  }
}

// -----

// layout any, objective memory, same templates: the smaller cache wins. P holds
// 4 KV heads plus a Mamba state (2,099,776 B per block), A 2 KV heads (1 MiB),
// so inter-layer has the smaller cache: 4,295,424 B against 8,500,224 B.

// CHECK-LABEL: hybrid.model @any_memory
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 512>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 512>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 512>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 512>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: }
hybrid.model @any_memory attributes {vocab = 256, d_model = 64, tie_embeddings} {
  // expected-remark @+1 {{selected inter-layer 1:5 (memory: smallest cache): 4 attention of 24 "MMMAMMMMMAMMMMMAMMMMMAMM"; 7.13 MFLOP/token, cache 4.10 MiB at context 8192 x batch 1; intra-layer: 4 parallel, 6.56 MFLOP/token, cache 8.11 MiB}}
  hybrid.auto layers 24 attributes {objective = #hybrid<objective memory>} {
    hybrid.block "A" mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(#hybrid.ffn<kind = swiglu, hidden = 512>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
    hybrid.block "P" mixer(#hybrid.parallel<attention = #hybrid.attention<heads = 4, kv_heads = 4, head_dim = 16>,
                                          mamba = #hybrid.mamba2<heads = 4, head_dim = 16, state = 16>,
                                          fuse = #hybrid.fuse<norm = rms, combine = diff>>)
  }
}

// -----

// cache_budget reduces the attention count until the cache fits: 1:5 asks for 4
// (4,295,424 B), 3 need 3,251,904 B, both over 3 MiB = 3,145,728 B; 2 fit with
// 2 MiB + 22 x 5,056 B = 2,208,384 B. They sit at floor(24/4) = 6 and
// floor(72/4) = 18. FLOPs: 2 x 1,122,432 + 22 x 100,768 + 32,768 = 4,494,528.

// CHECK-LABEL: hybrid.model @budget_reduce
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: }
hybrid.model @budget_reduce attributes {vocab = 256, d_model = 64, tie_embeddings} {
  // expected-remark @+1 {{selected inter-layer 1:11 (layout inter): 2 attention of 24 "MMMMMMAMMMMMMMMMMMAMMMMM" (reduced from 4 to fit cache_budget 3.00 MiB); 4.49 MFLOP/token, cache 2.11 MiB at context 8192 x batch 1}}
  hybrid.auto layers 24 attributes {objective = #hybrid<objective throughput>, layout = #hybrid<layout inter>, cache_budget = 3145728 : i64} {
    hybrid.block "A" mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(#hybrid.ffn<kind = swiglu, hidden = 128>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
  }
}

// -----

// The budget counts the whole model: with a fixed attention block before the
// auto and a fixed Mamba block after it (both kept in place), the same auto as
// @budget_reduce fits only 1 attention block: 2 would need 3 MiB + 23 x 5,056 B;
// 1 needs 2 MiB + 24 x 5,056 B = 2,218,496 B. FLOPs: 2 x 1,122,432 +
// 24 x 100,768 + 32,768 = 4,696,064.

// CHECK-LABEL: hybrid.model @budget_whole_model
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 128>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: }
hybrid.model @budget_whole_model attributes {vocab = 256, d_model = 64, tie_embeddings} {
  hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(#hybrid.ffn<kind = swiglu, hidden = 128>)
  // expected-remark @+1 {{selected inter-layer 1:23 (layout inter): 1 attention of 24 "MMMMMMMMMMMMAMMMMMMMMMMM" (reduced from 4 to fit cache_budget 3.00 MiB); 4.70 MFLOP/token, cache 2.12 MiB at context 8192 x batch 1}}
  hybrid.auto layers 24 attributes {objective = #hybrid<objective throughput>, layout = #hybrid<layout inter>, cache_budget = 3145728 : i64} {
    hybrid.block "A" mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(#hybrid.ffn<kind = swiglu, hidden = 128>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
  }
  hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
}

// -----

// A candidate whose cache cannot fit is dropped: under 2 MiB the intra-layer
// stack needs at least 2,099,776 + 23 x 5,056 = 2,216,064 B (1 parallel block),
// so quality falls back to inter-layer, reduced from 1:1 (12) to 1 attention
// block: 1 MiB + 23 x 5,056 B = 1,164,864 B.

// CHECK-LABEL: hybrid.model @budget_drops_candidate
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 512>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
// CHECK-NEXT: }
hybrid.model @budget_drops_candidate attributes {vocab = 256, d_model = 64, tie_embeddings} {
  // expected-remark @+1 {{selected inter-layer 1:23 (the only layout within cache_budget): 1 attention of 24 "MMMMMMMMMMMMAMMMMMMMMMMM" (reduced from 12 to fit cache_budget 2.00 MiB); 3.62 MFLOP/token, cache 1.11 MiB at context 8192 x batch 1; intra-layer: over cache_budget (smallest 2.11 MiB with 1 parallel)}}
  hybrid.auto layers 24 attributes {cache_budget = 2097152 : i64} {
    hybrid.block "A" mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(#hybrid.ffn<kind = swiglu, hidden = 512>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
    hybrid.block "P" mixer(#hybrid.parallel<attention = #hybrid.attention<heads = 4, kv_heads = 4, head_dim = 16>,
                                          mamba = #hybrid.mamba2<heads = 4, head_dim = 16, state = 16>,
                                          fuse = #hybrid.fuse<norm = rms, combine = diff>>)
  }
}

// -----

// Nothing fits 1 MiB: one attention block alone has a 1 MiB KV cache, and the
// 23 Mamba blocks add 116,288 B. The error names the budget and the smallest
// cache found (1,164,864 B, inter-layer with 1 attention block).

hybrid.model @budget_impossible attributes {vocab = 256, d_model = 64, tie_embeddings} {
  // expected-error @+1 {{'hybrid.auto' op no layout fits cache_budget = 1048576 bytes (1.00 MiB); the smallest cache found is 1164864 bytes (1.11 MiB, inter-layer with 1 attention of 24) at context 8192 x batch 1}}
  hybrid.auto layers 24 attributes {cache_budget = 1048576 : i64} {
    hybrid.block "A" mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(#hybrid.ffn<kind = swiglu, hidden = 512>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
    hybrid.block "P" mixer(#hybrid.parallel<attention = #hybrid.attention<heads = 4, kv_heads = 4, head_dim = 16>,
                                          mamba = #hybrid.mamba2<heads = 4, head_dim = 16, state = 16>,
                                          fuse = #hybrid.fuse<norm = rms, combine = diff>>)
  }
}

// -----

// One layer cannot hold attention after a Mamba block.

hybrid.model @one_layer attributes {vocab = 256, d_model = 64, tie_embeddings} {
  // expected-error @+1 {{'hybrid.auto' op layers must be >= 2 to resolve a layout: attention never goes first, so a Mamba block must precede it (got 1)}}
  hybrid.auto layers 1 {
    hybrid.block "A" mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(#hybrid.ffn<kind = swiglu, hidden = 128>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 8, head_dim = 16, state = 16>)
  }
}
