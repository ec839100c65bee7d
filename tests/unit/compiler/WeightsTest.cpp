//===- WeightsTest.cpp - weight table of hand-built ModelSpecs ------------===//
#include "compiler/Weights.h"

#include <gtest/gtest.h>

#include <map>

using namespace hybridc;

namespace {

std::map<std::string, WeightInfo> byName(const ModelSpec &s) {
  std::map<std::string, WeightInfo> m;
  for (const WeightInfo &w : listWeights(s))
    EXPECT_TRUE(m.emplace(w.name, w).second) << "duplicate " << w.name;
  return m;
}

AttentionSpec attn(int64_t heads, int64_t kv, int64_t hd) {
  AttentionSpec a;
  a.heads = heads;
  a.kvHeads = kv;
  a.headDim = hd;
  return a;
}

Mamba2Spec mamba(int64_t heads, int64_t hd, int64_t state, int64_t groups) {
  Mamba2Spec m;
  m.heads = heads;
  m.headDim = hd;
  m.state = state;
  m.groups = groups;
  return m;
}

ModelSpec llama32_1b() {
  ModelSpec s;
  s.family = "llama";
  s.vocab = 128256;
  s.dModel = 2048;
  s.tieEmbeddings = true;
  for (int i = 0; i < 16; ++i) {
    BlockSpec b;
    b.mixer = MixerKind::Attention;
    b.attn = attn(32, 8, 64);
    b.ffn = {FfnKind::SwiGLU, 8192, false};
    s.blocks.push_back(b);
  }
  return s;
}

TEST(Weights, Llama32_1BCount) {
  ModelSpec s = llama32_1b();
  EXPECT_EQ(countParams(s), 1235814400);
  auto w = byName(s);
  EXPECT_EQ(w.count("lm_head"), 0u); // tied
  EXPECT_EQ(w.at("embed").shape, (std::vector<int64_t>{128256, 2048}));
  EXPECT_EQ(w.at("embed").hfName, "model.embed_tokens.weight");
  EXPECT_EQ(w.at("layers.3.attn.k").shape, (std::vector<int64_t>{512, 2048}));
  EXPECT_EQ(w.at("layers.3.attn.k").hfName, "model.layers.3.self_attn.k_proj.weight");
  EXPECT_EQ(w.at("layers.3.attn.k").layer, 3);
  EXPECT_EQ(w.at("layers.3.attn.o").shape, (std::vector<int64_t>{2048, 2048}));
  EXPECT_EQ(w.at("layers.15.ffn.down").shape, (std::vector<int64_t>{2048, 8192}));
  EXPECT_EQ(w.at("layers.15.ffn.down").hfName, "model.layers.15.mlp.down_proj.weight");
  EXPECT_EQ(w.at("layers.0.mixer_norm").hfName, "model.layers.0.input_layernorm.weight");
  EXPECT_EQ(w.at("layers.0.ffn_norm").hfName,
            "model.layers.0.post_attention_layernorm.weight");
  EXPECT_EQ(w.at("final_norm").hfName, "model.norm.weight");
  EXPECT_EQ(w.at("final_norm").layer, -1);
  // Stable order: embedding first, blocks in order, final norm last.
  auto list = listWeights(s);
  EXPECT_EQ(list.front().name, "embed");
  EXPECT_EQ(list.back().name, "final_norm");
  s.tieEmbeddings = false;
  EXPECT_EQ(countParams(s), 1235814400 + 128256LL * 2048);
  EXPECT_EQ(listWeights(s).back().hfName, "lm_head.weight");
}

TEST(Weights, Mamba2LayerShapes) {
  ModelSpec s;
  s.family = "mamba2";
  s.vocab = 100;
  s.dModel = 64;
  BlockSpec b;
  b.mixer = MixerKind::Mamba2;
  b.ssm = mamba(8, 16, 16, 2);
  b.ssm.projBias = true;
  s.blocks = {b};
  auto w = byName(s);
  // in_proj: z, x (128 each), B, C (2*16 each), dt (8).
  EXPECT_EQ(w.at("layers.0.mamba.in_proj").shape, (std::vector<int64_t>{328, 64}));
  EXPECT_EQ(w.at("layers.0.mamba.in_proj_bias").shape, (std::vector<int64_t>{328}));
  EXPECT_EQ(w.at("layers.0.mamba.conv1d.weight").shape, (std::vector<int64_t>{192, 1, 4}));
  EXPECT_EQ(w.at("layers.0.mamba.conv1d.bias").shape, (std::vector<int64_t>{192}));
  EXPECT_EQ(w.at("layers.0.mamba.A_log").shape, (std::vector<int64_t>{8}));
  EXPECT_EQ(w.at("layers.0.mamba.D").hfName, "backbone.layers.0.mixer.D");
  EXPECT_EQ(w.at("layers.0.mamba.norm").shape, (std::vector<int64_t>{128}));
  EXPECT_EQ(w.at("layers.0.mamba.out_proj").shape, (std::vector<int64_t>{64, 128}));
  EXPECT_EQ(w.at("layers.0.mamba.out_proj_bias").hfName,
            "backbone.layers.0.mixer.out_proj.bias");
  EXPECT_EQ(w.at("layers.0.mixer_norm").hfName, "backbone.layers.0.norm.weight");
  EXPECT_EQ(w.count("layers.0.ffn_norm"), 0u); // one norm per Mamba-2 layer
  EXPECT_EQ(w.at("embed").hfName, "backbone.embeddings.weight");
  EXPECT_EQ(w.at("final_norm").hfName, "backbone.norm_f.weight");
  int64_t layer = 328 * 64 + 328 + 192 * 4 + 192 + 3 * 8 + 128 + 64 * 128 + 64 + 64;
  EXPECT_EQ(countParams(s), 2 * 100 * 64 + 64 + layer);

  b.ssm.convBias = false;
  b.ssm.gatedNorm = false;
  b.ssm.projBias = false;
  s.blocks = {b};
  EXPECT_EQ(countParams(s), 2 * 100 * 64 + 64 + layer - 328 - 192 - 128 - 64);
}

TEST(Weights, NemotronMlpLayerIsTheMixer) {
  ModelSpec s;
  s.family = "nemotron_h";
  s.vocab = 10;
  s.dModel = 8;
  BlockSpec mlp;
  mlp.ffn = {FfnKind::ReLU2, 24, false};
  BlockSpec at;
  at.mixer = MixerKind::Attention;
  at.attn = attn(2, 1, 4);
  s.blocks = {at, mlp};
  auto w = byName(s);
  EXPECT_EQ(w.at("layers.1.ffn.up").hfName, "backbone.layers.1.mixer.up_proj.weight");
  EXPECT_EQ(w.at("layers.1.ffn.up").shape, (std::vector<int64_t>{24, 8}));
  EXPECT_EQ(w.count("layers.1.ffn.gate"), 0u); // ReLU^2 has no gate
  EXPECT_EQ(w.at("layers.1.ffn_norm").hfName, "backbone.layers.1.norm.weight");
  EXPECT_EQ(w.at("layers.0.attn.v").hfName, "backbone.layers.0.mixer.v_proj.weight");
  EXPECT_EQ(w.at("layers.0.attn.v").shape, (std::vector<int64_t>{4, 8}));
}

TEST(Weights, ParallelSharedConcat) {
  ModelSpec s; // family "hybrid": our own naming
  s.vocab = 50;
  s.dModel = 32;
  BlockSpec b;
  b.mixer = MixerKind::Parallel;
  b.attn = attn(2, 2, 16);   // width 32
  b.ssm = mamba(4, 16, 8, 1); // width 64
  b.attn.qkvBias = true;
  b.attn.outBias = true;
  b.fuse.norm = BranchNorm::Group;
  b.fuse.combine = Combine::Concat;
  b.fuse.sharedOutProj = true;
  b.ffn = {FfnKind::SwiGLU, 64, true};
  s.blocks = {b};
  auto w = byName(s);
  EXPECT_EQ(w.count("layers.0.attn.o"), 0u);
  EXPECT_EQ(w.count("layers.0.mamba.out_proj"), 0u);
  EXPECT_EQ(w.at("layers.0.mix.out_proj").shape, (std::vector<int64_t>{32, 96}));
  EXPECT_EQ(w.at("layers.0.mix.out_proj_bias").shape, (std::vector<int64_t>{32}));
  EXPECT_EQ(w.at("layers.0.attn_branch_norm").shape, (std::vector<int64_t>{32}));
  EXPECT_EQ(w.at("layers.0.mamba_branch_norm").shape, (std::vector<int64_t>{64}));
  EXPECT_EQ(w.at("layers.0.attn.q_bias").shape, (std::vector<int64_t>{32}));
  EXPECT_EQ(w.at("layers.0.ffn.gate_bias").shape, (std::vector<int64_t>{64}));
  EXPECT_EQ(w.at("layers.0.mix.out_proj").hfName, "model.layers.0.mixer.out_proj.weight");
  EXPECT_EQ(w.at("layers.0.mamba.in_proj").hfName, "model.layers.0.mamba.in_proj.weight");

  // Mean keeps the attention width; no branch norms with norm = none.
  b.attn = attn(4, 4, 16); // width 64 = mamba width
  b.fuse.combine = Combine::Mean;
  b.fuse.norm = BranchNorm::None;
  s.blocks = {b};
  w = byName(s);
  EXPECT_EQ(w.at("layers.0.mix.out_proj").shape, (std::vector<int64_t>{32, 64}));
  EXPECT_EQ(w.count("layers.0.attn_branch_norm"), 0u);
}

TEST(Weights, ParallelSeparateFalconH1) {
  ModelSpec s;
  s.family = "falcon_h1";
  s.vocab = 50;
  s.dModel = 32;
  BlockSpec b;
  b.mixer = MixerKind::Parallel;
  b.attn = attn(2, 1, 16);
  b.ssm = mamba(4, 16, 8, 1);
  b.fuse.norm = BranchNorm::None;
  b.fuse.combine = Combine::Add;
  b.fuse.sharedOutProj = false;
  b.ffn = {FfnKind::SwiGLU, 64, false};
  s.blocks = {b};
  auto w = byName(s);
  EXPECT_EQ(w.count("layers.0.mix.out_proj"), 0u);
  EXPECT_EQ(w.at("layers.0.attn.o").hfName, "model.layers.0.self_attn.o_proj.weight");
  EXPECT_EQ(w.at("layers.0.mamba.out_proj").hfName, "model.layers.0.mamba.out_proj.weight");
  EXPECT_EQ(w.at("layers.0.ffn_norm").hfName, "model.layers.0.pre_ff_layernorm.weight");
  EXPECT_EQ(w.at("final_norm").hfName, "model.final_layernorm.weight");
}

} // namespace
