// RUN: hybrid-opt %s -split-input-file --hybrid-expand | FileCheck %s

// A pattern unrolls into count x len(pattern) unlabelled blocks, in order,
// each a copy of the template its letter names; plain blocks stay in place.

// CHECK-LABEL: hybrid.model @inter
// CHECK-NOT: hybrid.pattern
// CHECK:      hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 4, head_dim = 16>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 2, head_dim = 32, state = 8>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 2, head_dim = 32, state = 8>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 96>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 2, head_dim = 32, state = 8>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.mamba2<heads = 2, head_dim = 32, state = 8>)
// CHECK-NEXT: hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(<kind = swiglu, hidden = 96>)
// CHECK-NEXT: }
hybrid.model @inter attributes {vocab = 32, d_model = 64} {
  hybrid.block mixer(#hybrid.attention<heads = 4, kv_heads = 4, head_dim = 16>)
  hybrid.pattern "MMA" x 2 {
    hybrid.block "A" mixer(#hybrid.attention<heads = 4, kv_heads = 2, head_dim = 16>) ffn(#hybrid.ffn<kind = swiglu, hidden = 96>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 2, head_dim = 32, state = 8>)
  }
}

// -----

// A model without patterns is left as it is.
// CHECK-LABEL: hybrid.model @plain
// CHECK-NEXT: hybrid.block ffn(<kind = relu2, hidden = 8>)
// CHECK-NEXT: }
hybrid.model @plain attributes {vocab = 32, d_model = 64} {
  hybrid.block ffn(#hybrid.ffn<kind = relu2, hidden = 8>)
}
