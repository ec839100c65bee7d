// RUN: hybrid-opt %s -split-input-file -verify-diagnostics

// Every op verifier, word for word. Each case breaks one rule.

// expected-error @+1 {{'hybrid.model' op norm_eps must be positive}}
hybrid.model @m attributes {vocab = 8, d_model = 64, norm_eps = 0.0} {
  hybrid.block ffn(#hybrid.ffn<kind = relu2, hidden = 8>)
}

// -----

// expected-error @+1 {{'hybrid.model' op has no blocks}}
hybrid.model @m attributes {vocab = 8, d_model = 64} {
}

// -----

hybrid.model @m attributes {vocab = 8, d_model = 64} {
  // expected-error @+1 {{'func.func' op is not allowed in a hybrid.model body (expected hybrid.block, hybrid.pattern or hybrid.auto)}}
  func.func private @f()
}

// -----

hybrid.model @m attributes {vocab = 8, d_model = 64} {
  hybrid.auto layers 4 {
    hybrid.block "A" mixer(#hybrid.attention<heads = 1, kv_heads = 1, head_dim = 64>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 2, head_dim = 64, state = 16>)
  }
  // expected-error @+1 {{'hybrid.auto' op only one hybrid.auto is allowed per model}}
  hybrid.auto layers 4 {
    hybrid.block "A" mixer(#hybrid.attention<heads = 1, kv_heads = 1, head_dim = 64>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 2, head_dim = 64, state = 16>)
  }
}

// -----

// expand = 2 promises an inner width of 2 x d_model.
hybrid.model @m attributes {vocab = 8, d_model = 64} {
  // expected-error @+1 {{'hybrid.block' op mamba2 heads (3) x head_dim (32) = 96 does not match expand (2) x d_model (64) = 128}}
  hybrid.block mixer(#hybrid.mamba2<heads = 3, head_dim = 32, state = 16, expand = 2>)
}

// -----

hybrid.model @m attributes {vocab = 8, d_model = 64} {
  // expected-error @+1 {{'hybrid.block' op needs a mixer, an ffn or both}}
  hybrid.block
}

// -----

hybrid.model @m attributes {vocab = 8, d_model = 64} {
  hybrid.pattern "MA" x 2 {
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 2, head_dim = 64, state = 16>)
    // expected-error @+1 {{'hybrid.pattern' op is not allowed here: hybrid.pattern holds only labelled hybrid.block templates}}
    hybrid.pattern "M" x 1 {
      hybrid.block "M" mixer(#hybrid.mamba2<heads = 2, head_dim = 64, state = 16>)
    }
  }
}

// -----

hybrid.model @m attributes {vocab = 8, d_model = 64} {
  hybrid.pattern "MA" x 2 {
    // expected-error @+1 {{'hybrid.block' op template inside hybrid.pattern needs a one-character label}}
    hybrid.block "MM" mixer(#hybrid.mamba2<heads = 2, head_dim = 64, state = 16>)
  }
}

// -----

hybrid.model @m attributes {vocab = 8, d_model = 64} {
  hybrid.pattern "M" x 2 {
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 2, head_dim = 64, state = 16>)
    // expected-error @+1 {{'hybrid.block' op duplicate template label 'M'}}
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 2, head_dim = 64, state = 32>)
  }
}

// -----

hybrid.model @m attributes {vocab = 8, d_model = 64} {
  // expected-error @+1 {{'hybrid.pattern' op pattern must not be empty}}
  hybrid.pattern "" x 2 {
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 2, head_dim = 64, state = 16>)
  }
}

// -----

hybrid.model @m attributes {vocab = 8, d_model = 64} {
  // expected-error @+1 {{'hybrid.pattern' op pattern letter 'A' has no template block}}
  hybrid.pattern "MMA" x 2 {
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 2, head_dim = 64, state = 16>)
  }
}

// -----

hybrid.model @m attributes {vocab = 8, d_model = 64} {
  // expected-error @+1 {{'hybrid.auto' op attention_fraction must be in [0, 1], got 1.5}}
  hybrid.auto layers 4 attributes {attention_fraction = 1.5 : f64} {
    hybrid.block "A" mixer(#hybrid.attention<heads = 1, kv_heads = 1, head_dim = 64>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 2, head_dim = 64, state = 16>)
  }
}

// -----

hybrid.model @m attributes {vocab = 8, d_model = 64} {
  // expected-error @+1 {{'hybrid.auto' op context_length and batch must be positive}}
  hybrid.auto layers 4 attributes {context_length = 0 : i64} {
    hybrid.block "A" mixer(#hybrid.attention<heads = 1, kv_heads = 1, head_dim = 64>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 2, head_dim = 64, state = 16>)
  }
}

// -----

hybrid.model @m attributes {vocab = 8, d_model = 64} {
  // expected-error @+1 {{'hybrid.auto' op cache_budget must be >= 0 (0: no budget)}}
  hybrid.auto layers 4 attributes {cache_budget = -1 : i64} {
    hybrid.block "A" mixer(#hybrid.attention<heads = 1, kv_heads = 1, head_dim = 64>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 2, head_dim = 64, state = 16>)
  }
}

// -----

hybrid.model @m attributes {vocab = 8, d_model = 64} {
  hybrid.auto layers 4 {
    // expected-error @+1 {{'hybrid.block' op hybrid.auto templates are "A" (attention), "M" (mamba2) and "P" (parallel)}}
    hybrid.block "A" mixer(#hybrid.mamba2<heads = 2, head_dim = 64, state = 16>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 2, head_dim = 64, state = 16>)
  }
}

// -----

hybrid.model @m attributes {vocab = 8, d_model = 64} {
  // expected-error @+1 {{'hybrid.auto' op needs an "A" and an "M" template block}}
  hybrid.auto layers 4 {
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 2, head_dim = 64, state = 16>)
  }
}

// -----

hybrid.model @m attributes {vocab = 8, d_model = 64} {
  // expected-error @+1 {{'hybrid.auto' op layout intra needs a "P" template block}}
  hybrid.auto layers 4 attributes {layout = #hybrid<layout intra>} {
    hybrid.block "A" mixer(#hybrid.attention<heads = 1, kv_heads = 1, head_dim = 64>)
    hybrid.block "M" mixer(#hybrid.mamba2<heads = 2, head_dim = 64, state = 16>)
  }
}
