//===- Weights.cpp - The weight table of a model --------------------------===//
//
// Canonical names (ours, family independent) and shapes exactly as PyTorch
// stores them: nn.Linear weight [out, in], depthwise conv1d weight [C, 1, K],
// Mamba A_log / D / dt_bias [heads], norm weights [width].
//
// Canonical names, per block i (prefix "layers.i."):
//   mixer_norm                            pre-norm of the mixer (any kind)
//   ffn_norm                              pre-norm of the FFN
//   attn.{q,k,v,o}, attn.{q,k,v,o}_bias
//   mamba.{in_proj, in_proj_bias, conv1d.weight, conv1d.bias, dt_bias, A_log,
//          D, norm (gated RMSNorm, [inner]), out_proj, out_proj_bias}
//   attn_branch_norm, mamba_branch_norm   parallel blocks, FuseSpec.norm != none
//   mix.out_proj, mix.out_proj_bias       parallel blocks with a shared out proj
//   ffn.{gate,up,down}, ffn.*_bias        (ReLU^2: up, down)
// Biases appear only when the spec asks for them.
// Model level: embed, final_norm, lm_head (absent with tied embeddings).
//
// HF names follow each family's transformers checkpoint layout. Family
// "hybrid" (our own models) uses the Llama layout, extended:
//   model.layers.i.input_layernorm          mixer pre-norm (any mixer kind)
//   model.layers.i.post_attention_layernorm FFN pre-norm
//   model.layers.i.self_attn.{q,k,v,o}_proj, .branch_norm
//   model.layers.i.mamba.* (Bamba/Falcon-H1 names), .branch_norm
//   model.layers.i.mixer.out_proj           shared out proj of a parallel block
//   model.layers.i.mlp.{gate,up,down}_proj
//
//===----------------------------------------------------------------------===//
#include "compiler/Weights.h"

namespace hybridc {
namespace {

/// Where a family keeps its tensors.
struct Naming {
  std::string embed, finalNorm, lmHead = "lm_head.weight";
  std::string layer;          // "model.layers." / "backbone.layers."
  std::string mixerNorm;      // norm in front of the mixer
  std::string ffnNorm;        // norm in front of the FFN when a mixer exists
  std::string soloFfnNorm;    // norm of an FFN-only block
  std::string attn, mamba, ffn, sharedOut;
  std::string gate = "gate_proj", up = "up_proj", down = "down_proj";
};

Naming namingFor(const std::string &family) {
  Naming n;
  if (family == "mamba2" || family == "nemotron_h") {
    // One norm and one "mixer" per layer; Nemotron-H's MLP layers hold the
    // MLP as their mixer. A block with both (not produced by the importer)
    // gets a second norm "ffn_norm" and an "mlp." FFN.
    n.embed = "backbone.embeddings.weight";
    n.finalNorm = "backbone.norm_f.weight";
    n.layer = "backbone.layers.";
    n.mixerNorm = "norm";
    n.ffnNorm = "ffn_norm";
    n.soloFfnNorm = "norm";
    n.attn = "mixer.";
    n.mamba = "mixer.";
    n.ffn = "mlp.";
    n.sharedOut = "mixer.out_proj";
    return n;
  }
  n.embed = "model.embed_tokens.weight";
  n.layer = "model.layers.";
  n.mixerNorm = "input_layernorm";
  n.attn = "self_attn.";
  n.mamba = "mamba.";
  n.sharedOut = "mixer.out_proj";
  if (family == "bamba" || family == "falcon_h1") {
    n.finalNorm = "model.final_layernorm.weight";
    n.ffnNorm = "pre_ff_layernorm";
    n.soloFfnNorm = "pre_ff_layernorm";
    n.ffn = "feed_forward.";
  } else { // llama, hybrid
    n.finalNorm = "model.norm.weight";
    n.ffnNorm = "post_attention_layernorm";
    n.soloFfnNorm = "post_attention_layernorm";
    n.ffn = "mlp.";
  }
  return n;
}

class Lister {
public:
  Lister(const ModelSpec &spec) : spec(spec), nm(namingFor(spec.family)) {}

  std::vector<WeightInfo> run() {
    const int64_t d = spec.dModel;
    add("embed", {spec.vocab, d}, nm.embed, -1);
    for (size_t i = 0; i < spec.blocks.size(); ++i)
      block(static_cast<int>(i), spec.blocks[i]);
    add("final_norm", {d}, nm.finalNorm, -1);
    if (!spec.tieEmbeddings)
      add("lm_head", {spec.vocab, d}, nm.lmHead, -1);
    return std::move(out);
  }

private:
  void add(std::string name, std::vector<int64_t> shape, std::string hf,
           int layer) {
    out.push_back({std::move(name), std::move(shape), std::move(hf), layer});
  }

  /// A linear layer: weight [outDim, inDim], optional bias [outDim].
  void linear(int l, const std::string &canon, const std::string &hf,
              int64_t outDim, int64_t inDim, bool bias) {
    add(cp + canon, {outDim, inDim}, hp + hf + ".weight", l);
    if (bias)
      add(cp + canon + "_bias", {outDim}, hp + hf + ".bias", l);
  }

  void block(int l, const BlockSpec &b) {
    const int64_t d = spec.dModel;
    cp = "layers." + std::to_string(l) + ".";
    hp = nm.layer + std::to_string(l) + ".";
    if (b.hasMixer()) {
      add(cp + "mixer_norm", {d}, hp + nm.mixerNorm + ".weight", l);
      switch (b.mixer) {
      case MixerKind::Attention:
        attention(l, b.attn, /*withOut=*/true);
        break;
      case MixerKind::Mamba2:
        mamba(l, b.ssm, /*withOut=*/true);
        break;
      case MixerKind::Parallel:
        parallel(l, b);
        break;
      case MixerKind::None:
        break;
      }
    }
    if (b.hasFfn()) {
      const std::string &norm = b.hasMixer() ? nm.ffnNorm : nm.soloFfnNorm;
      add(cp + "ffn_norm", {d}, hp + norm + ".weight", l);
      // An FFN-only layer of a mixer-per-layer family keeps its MLP as the
      // layer's "mixer" (Nemotron-H); otherwise it lives under the FFN prefix.
      const std::string &fp =
          (!b.hasMixer() && nm.layer == "backbone.layers.") ? nm.attn : nm.ffn;
      const FfnSpec &f = b.ffn;
      if (f.kind == FfnKind::SwiGLU)
        linear(l, "ffn.gate", fp + nm.gate, f.hidden, d, f.bias);
      linear(l, "ffn.up", fp + nm.up, f.hidden, d, f.bias);
      linear(l, "ffn.down", fp + nm.down, d, f.hidden, f.bias);
    }
  }

  void attention(int l, const AttentionSpec &a, bool withOut) {
    const int64_t d = spec.dModel;
    linear(l, "attn.q", nm.attn + "q_proj", a.qDim(), d, a.qkvBias);
    linear(l, "attn.k", nm.attn + "k_proj", a.kvDim(), d, a.qkvBias);
    linear(l, "attn.v", nm.attn + "v_proj", a.kvDim(), d, a.qkvBias);
    if (withOut)
      linear(l, "attn.o", nm.attn + "o_proj", d, a.qDim(), a.outBias);
  }

  void mamba(int l, const Mamba2Spec &m, bool withOut) {
    const int64_t d = spec.dModel;
    const std::string &p = nm.mamba;
    linear(l, "mamba.in_proj", p + "in_proj", m.inProjDim(), d, m.projBias);
    add(cp + "mamba.conv1d.weight", {m.convDim(), 1, m.convWidth},
        hp + p + "conv1d.weight", l);
    if (m.convBias)
      add(cp + "mamba.conv1d.bias", {m.convDim()}, hp + p + "conv1d.bias", l);
    add(cp + "mamba.dt_bias", {m.heads}, hp + p + "dt_bias", l);
    add(cp + "mamba.A_log", {m.heads}, hp + p + "A_log", l);
    add(cp + "mamba.D", {m.heads}, hp + p + "D", l);
    if (m.gatedNorm)
      add(cp + "mamba.norm", {m.inner()}, hp + p + "norm.weight", l);
    if (withOut)
      linear(l, "mamba.out_proj", p + "out_proj", d, m.inner(), m.projBias);
  }

  void parallel(int l, const BlockSpec &b) {
    const FuseSpec &f = b.fuse;
    attention(l, b.attn, !f.sharedOutProj);
    mamba(l, b.ssm, !f.sharedOutProj);
    if (f.norm != BranchNorm::None) {
      // RMS and group norm both carry one scale per channel of the branch.
      add(cp + "attn_branch_norm", {b.attn.qDim()},
          hp + nm.attn + "branch_norm.weight", l);
      add(cp + "mamba_branch_norm", {b.ssm.inner()},
          hp + nm.mamba + "branch_norm.weight", l);
    }
    if (f.sharedOutProj) {
      // Concat feeds both branches side by side; add/mean/diff need equal
      // widths, so the attention width is the combined width.
      int64_t width = f.combine == Combine::Concat
                          ? b.attn.qDim() + b.ssm.inner()
                          : b.attn.qDim();
      linear(l, "mix.out_proj", nm.sharedOut, spec.dModel, width,
             b.attn.outBias);
    }
  }

  const ModelSpec &spec;
  Naming nm;
  std::string cp, hp; // canonical / HF prefix of the current block
  std::vector<WeightInfo> out;
};

} // namespace

std::vector<WeightInfo> listWeights(const ModelSpec &spec) {
  return Lister(spec).run();
}

int64_t countParams(const ModelSpec &spec) {
  int64_t n = 0;
  for (const WeightInfo &w : listWeights(spec))
    n += w.numel();
  return n;
}

} // namespace hybridc
