//===- HFImportTest.cpp - config.json import against transformers fixtures ===//
//
// Each tests/fixtures/hf/<family> holds a tiny model saved by transformers
// (tools/fixtures/make_hf_fixtures.py). Importing its config.json must give a
// ModelSpec whose weight table is exactly the tensors of model.safetensors:
// same HF names, same shapes, hence the same parameter count.
//
//===----------------------------------------------------------------------===//
#include "compiler/HFImport.h"
#include "compiler/Weights.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <string>

using namespace hybridc;

namespace {

std::string fixture(const std::string &rel) {
  return std::string(HYBRIDC_SOURCE_DIR) + "/tests/fixtures/" + rel;
}

/// Tensor name -> shape, from a safetensors header (8-byte little-endian
/// length, then JSON).
std::map<std::string, std::vector<int64_t>> readSafetensors(const std::string &path) {
  std::map<std::string, std::vector<int64_t>> out;
  auto buf = llvm::MemoryBuffer::getFile(path);
  EXPECT_TRUE(bool(buf)) << "cannot read " << path;
  if (!buf)
    return out;
  llvm::StringRef data = (*buf)->getBuffer();
  EXPECT_GE(data.size(), 8u);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i)
    n = (n << 8) | static_cast<uint8_t>(data[i]);
  EXPECT_LE(8 + n, data.size());
  auto header = llvm::json::parse(data.substr(8, n));
  EXPECT_TRUE(bool(header)) << llvm::toString(header.takeError());
  if (!header)
    return out;
  for (const auto &kv : *header->getAsObject()) {
    if (kv.first == "__metadata__")
      continue;
    const llvm::json::Object *t = kv.second.getAsObject();
    EXPECT_EQ(t->getString("dtype").value_or(""), "F32") << kv.first.str();
    std::vector<int64_t> shape;
    for (const auto &d : *t->getArray("shape"))
      shape.push_back(*d.getAsInteger());
    out[kv.first.str()] = shape;
  }
  return out;
}

ModelSpec importFixture(const std::string &family) {
  auto spec = importHFPath(fixture("hf/" + family));
  EXPECT_TRUE(bool(spec)) << (spec ? "" : llvm::toString(spec.takeError()));
  return spec ? *spec : ModelSpec();
}

class FamilyFixture : public ::testing::TestWithParam<const char *> {};

TEST_P(FamilyFixture, WeightTableMatchesSafetensors) {
  std::string family = GetParam();
  ModelSpec spec = importFixture(family);
  ASSERT_EQ(spec.family, family);
  EXPECT_EQ(spec.name, family); // named after the directory
  auto file = readSafetensors(fixture("hf/" + family + "/model.safetensors"));
  ASSERT_FALSE(file.empty());

  int64_t fileParams = 0;
  for (const auto &kv : file) {
    int64_t n = 1;
    for (int64_t d : kv.second)
      n *= d;
    fileParams += n;
  }
  EXPECT_EQ(countParams(spec), fileParams);

  std::map<std::string, std::vector<int64_t>> table;
  for (const WeightInfo &w : listWeights(spec)) {
    EXPECT_TRUE(table.emplace(w.hfName, w.shape).second)
        << "duplicate HF name " << w.hfName;
  }
  for (const auto &kv : file) {
    auto it = table.find(kv.first);
    if (it == table.end()) {
      ADD_FAILURE() << family << ": tensor " << kv.first
                    << " of the file is missing from listWeights";
      continue;
    }
    EXPECT_EQ(it->second, kv.second) << family << ": shape of " << kv.first;
  }
  for (const auto &kv : table)
    EXPECT_TRUE(file.count(kv.first))
        << family << ": listWeights has " << kv.first << ", the file does not";
}

INSTANTIATE_TEST_SUITE_P(HFImport, FamilyFixture,
                         ::testing::Values("llama", "mamba2", "bamba",
                                           "nemotron_h", "falcon_h1"));

TEST(HFImport, Llama32_1B) {
  auto spec = importHFPath(fixture("configs/llama-3.2-1b.json"));
  ASSERT_TRUE(bool(spec)) << llvm::toString(spec.takeError());
  EXPECT_EQ(countParams(*spec), 1235814400);
  ASSERT_EQ(spec->blocks.size(), 16u);
  const BlockSpec &b = spec->blocks[7];
  EXPECT_EQ(b.mixer, MixerKind::Attention);
  EXPECT_EQ(b.attn.heads, 32);
  EXPECT_EQ(b.attn.kvHeads, 8);
  EXPECT_EQ(b.attn.headDim, 64);
  EXPECT_EQ(b.attn.ropeTheta, 500000.0);
  EXPECT_EQ(b.attn.ropeScaling.type, "llama3");
  EXPECT_EQ(b.attn.ropeScaling.factor, 32.0);
  EXPECT_EQ(b.attn.ropeScaling.lowFreqFactor, 1.0);
  EXPECT_EQ(b.attn.ropeScaling.highFreqFactor, 4.0);
  EXPECT_EQ(b.attn.ropeScaling.originalMaxPosition, 8192);
  EXPECT_EQ(b.ffn.kind, FfnKind::SwiGLU);
  EXPECT_EQ(b.ffn.hidden, 8192);
  EXPECT_TRUE(spec->tieEmbeddings);
  EXPECT_EQ(spec->vocab, 128256);
  EXPECT_EQ(spec->dModel, 2048);
  EXPECT_EQ(spec->normEps, 1e-5);
  EXPECT_EQ(spec->maxPosition, 131072);
  // A file not named config.json names the model; "-" and "." become "_".
  EXPECT_EQ(spec->name, "llama_3_2_1b");
}

TEST(HFImport, LlamaFixtureRope) {
  // transformers 5 writes rope_parameters instead of rope_scaling.
  ModelSpec s = importFixture("llama");
  ASSERT_EQ(s.blocks.size(), 2u);
  EXPECT_EQ(s.blocks[0].attn.ropeTheta, 500000.0);
  EXPECT_EQ(s.blocks[0].attn.ropeScaling.type, "llama3");
  EXPECT_EQ(s.blocks[0].attn.ropeScaling.factor, 32.0);
  EXPECT_EQ(s.blocks[0].attn.headDim, 16);
  EXPECT_TRUE(s.tieEmbeddings);
}

TEST(HFImport, Mamba2Fixture) {
  ModelSpec s = importFixture("mamba2");
  ASSERT_EQ(s.blocks.size(), 3u);
  const BlockSpec &b = s.blocks[1];
  EXPECT_EQ(b.mixer, MixerKind::Mamba2);
  EXPECT_FALSE(b.hasFfn());
  EXPECT_EQ(b.ssm.heads, 8);
  EXPECT_EQ(b.ssm.headDim, 16);
  EXPECT_EQ(b.ssm.state, 16);
  EXPECT_EQ(b.ssm.groups, 2);
  EXPECT_EQ(b.ssm.chunk, 16);
  EXPECT_EQ(b.ssm.convWidth, 4);
  EXPECT_EQ(b.ssm.gatedNormGroups(), 1); // transformers' torch path: ungrouped
  EXPECT_EQ(b.ssm.dtLimitLo, 0.0);
  EXPECT_TRUE(std::isinf(b.ssm.dtLimitHi)); // {"__float__": "Infinity"}
  EXPECT_FALSE(s.tieEmbeddings);
}

TEST(HFImport, BambaFixture) {
  ModelSpec s = importFixture("bamba");
  ASSERT_EQ(s.blocks.size(), 4u);
  const MixerKind want[] = {MixerKind::Mamba2, MixerKind::Attention,
                            MixerKind::Mamba2, MixerKind::Attention};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(s.blocks[i].mixer, want[i]) << i;
    EXPECT_EQ(s.blocks[i].ffn.kind, FfnKind::SwiGLU) << i;
  }
  EXPECT_EQ(s.blocks[1].attn.headDim, 16);
  EXPECT_EQ(s.blocks[1].attn.rotaryDim(), 8); // partial_rotary_factor 0.5
  EXPECT_EQ(s.blocks[0].ssm.groups, 2);
  EXPECT_EQ(s.blocks[0].ssm.gatedNormGroups(), 1);
}

TEST(HFImport, NemotronHFixture) {
  ModelSpec s = importFixture("nemotron_h");
  ASSERT_EQ(s.blocks.size(), 4u); // M * M -
  EXPECT_EQ(s.blocks[0].mixer, MixerKind::Mamba2);
  EXPECT_FALSE(s.blocks[0].hasFfn());
  EXPECT_EQ(s.blocks[1].mixer, MixerKind::Attention);
  EXPECT_FALSE(s.blocks[1].attn.rope);
  EXPECT_FALSE(s.blocks[1].hasFfn());
  EXPECT_EQ(s.blocks[2].mixer, MixerKind::Mamba2);
  EXPECT_EQ(s.blocks[3].mixer, MixerKind::None);
  EXPECT_EQ(s.blocks[3].ffn.kind, FfnKind::ReLU2);
  EXPECT_EQ(s.blocks[3].ffn.hidden, 128);
  EXPECT_EQ(s.blocks[0].ssm.gatedNormGroups(), 2);
  EXPECT_EQ(s.blocks[0].ssm.dtLimitLo, 0.001); // = time_step_min
}

TEST(HFImport, NemotronHLegacyPattern) {
  auto s = importHFConfig(R"({"model_type": "nemotron_h", "vocab_size": 256,
      "hidden_size": 64, "hybrid_override_pattern": "M-*-",
      "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
      "intermediate_size": 96, "mamba_num_heads": 8, "mamba_head_dim": 16,
      "ssm_state_size": 16, "mamba_n_groups": 4, "mamba_d_conv": 3})", "legacy");
  ASSERT_TRUE(bool(s)) << llvm::toString(s.takeError());
  ASSERT_EQ(s->blocks.size(), 4u);
  EXPECT_EQ(s->blocks[0].ssm.groups, 4);
  EXPECT_EQ(s->blocks[0].ssm.convWidth, 3);
  EXPECT_EQ(s->blocks[1].ffn.kind, FfnKind::ReLU2);
  EXPECT_EQ(s->blocks[2].mixer, MixerKind::Attention);
  // One mamba (conv width 3, conv dim 128 + 2*4*16), one attention, two MLP
  // layers; 4 layer norms + the final norm; untied head.
  int64_t mamba = 64 * (2 * 128 + 2 * 4 * 16 + 8) + 256 * 3 + 256 + 3 * 8 +
                  128 + 128 * 64;
  int64_t attn = 64 * 64 + 2 * 32 * 64 + 64 * 64;
  int64_t mlp = 2 * 64 * 96;
  EXPECT_EQ(countParams(*s), 2 * 256 * 64 + 5 * 64 + mamba + attn + 2 * mlp);
}

TEST(HFImport, FalconH1Multipliers) {
  ModelSpec s = importFixture("falcon_h1");
  ASSERT_EQ(s.blocks.size(), 2u);
  const BlockSpec &b = s.blocks[0];
  EXPECT_EQ(b.mixer, MixerKind::Parallel);
  EXPECT_FALSE(b.fuse.sharedOutProj);
  EXPECT_EQ(b.fuse.norm, BranchNorm::None);
  EXPECT_EQ(b.fuse.combine, Combine::Add);
  EXPECT_EQ(b.fuse.attnMultiplier, 1.0); // carried by Multipliers instead
  EXPECT_TRUE(b.ssm.gatedNorm);
  EXPECT_TRUE(b.ssm.normBeforeGate);
  EXPECT_EQ(b.ssm.gatedNormGroups(), 2);
  EXPECT_EQ(s.mult.embedding, 2.5);
  EXPECT_EQ(s.mult.lmHead, 0.7);
  EXPECT_EQ(s.mult.attentionIn, 0.8);
  EXPECT_EQ(s.mult.attentionOut, 1.3);
  EXPECT_EQ(s.mult.key, 0.6);
  EXPECT_EQ(s.mult.ssmIn, 1.2);
  EXPECT_EQ(s.mult.ssmOut, 0.9);
  EXPECT_EQ(s.mult.mlpGate, 1.1);
  EXPECT_EQ(s.mult.mlpDown, 0.75);
  EXPECT_EQ(s.mult.ssmSegments, (std::vector<double>{0.9, 1.1, 0.8, 1.2, 1.05}));
}

// ---- errors: each names the field and the value --------------------------

std::string importError(const std::string &text) {
  auto s = importHFConfig(text, "bad");
  if (s)
    return "<no error>";
  return llvm::toString(s.takeError());
}

const char *kLlamaBase = R"("vocab_size": 256, "hidden_size": 64,
    "intermediate_size": 128, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2)";

TEST(HFImportErrors, UnsupportedModelType) {
  std::string e = importError(R"({"model_type": "jamba", "vocab_size": 8})");
  EXPECT_NE(e.find("model_type"), std::string::npos) << e;
  EXPECT_NE(e.find("'jamba'"), std::string::npos) << e;
  EXPECT_NE(e.find("HF config 'bad'"), std::string::npos) << e;
}

TEST(HFImportErrors, UnsupportedRopeScaling) {
  std::string e = importError(std::string(R"({"model_type": "llama", )") +
                              kLlamaBase +
                              R"(, "rope_scaling": {"rope_type": "yarn", "factor": 4.0}})");
  EXPECT_NE(e.find("rope_scaling.rope_type"), std::string::npos) << e;
  EXPECT_NE(e.find("'yarn'"), std::string::npos) << e;
  // Legacy "type" key and rope_parameters are read the same way.
  e = importError(std::string(R"({"model_type": "llama", )") + kLlamaBase +
                  R"(, "rope_parameters": {"type": "dynamic", "factor": 2.0}})");
  EXPECT_NE(e.find("rope_parameters.type"), std::string::npos) << e;
  EXPECT_NE(e.find("'dynamic'"), std::string::npos) << e;
}

TEST(HFImportErrors, MissingRequiredField) {
  std::string e = importError(R"({"model_type": "llama", "vocab_size": 256,
      "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4})");
  EXPECT_NE(e.find("required field 'intermediate_size' is missing"),
            std::string::npos) << e;
  e = importError(R"({"vocab_size": 256})");
  EXPECT_NE(e.find("required field 'model_type' is missing"), std::string::npos) << e;
  e = importError(std::string(R"({"model_type": "llama", )") + kLlamaBase +
                  R"(, "rope_scaling": {"rope_type": "llama3", "factor": 8.0}})");
  EXPECT_NE(e.find("'rope_scaling.low_freq_factor' is missing"), std::string::npos) << e;
}

TEST(HFImportErrors, MalformedJson) {
  std::string e = importError(R"({"model_type": "llama", "vocab_size": })");
  EXPECT_NE(e.find("malformed JSON"), std::string::npos) << e;
  e = importError("[1, 2]");
  EXPECT_NE(e.find("must be an object"), std::string::npos) << e;
  e = importError(std::string(R"({"model_type": "llama", )") + kLlamaBase +
                  R"(, "head_dim": "sixteen"})");
  EXPECT_NE(e.find("'head_dim' must be an integer, got \"sixteen\""),
            std::string::npos) << e;
}

TEST(HFImportErrors, UnsupportedValues) {
  std::string e = importError(std::string(R"({"model_type": "llama", )") +
                              kLlamaBase + R"(, "hidden_act": "gelu"})");
  EXPECT_NE(e.find("'hidden_act' has unsupported value 'gelu'"), std::string::npos) << e;
  e = importError(std::string(R"({"model_type": "llama", )") + kLlamaBase +
                  R"(, "num_local_experts": 8})");
  EXPECT_NE(e.find("'num_local_experts'"), std::string::npos) << e;
  e = importError(R"({"model_type": "nemotron_h", "vocab_size": 256,
      "hidden_size": 64, "hybrid_override_pattern": "M*E",
      "num_attention_heads": 4, "mamba_num_heads": 8, "mamba_head_dim": 16,
      "ssm_state_size": 16})");
  EXPECT_NE(e.find("'hybrid_override_pattern' has unsupported value 'E'"),
            std::string::npos) << e;
  e = importError(std::string(R"({"model_type": "llama", )") + kLlamaBase +
                  R"(, "sliding_window": 4096})");
  EXPECT_NE(e.find("'sliding_window' has unsupported value 4096"), std::string::npos) << e;
  e = importError(R"({"model_type": "falcon_h1", "vocab_size": 256,
      "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 1,
      "num_attention_heads": 4, "mamba_n_heads": 8, "mamba_d_state": 16,
      "mamba_d_ssm": 128, "mamba_proj_bias": false, "projectors_bias": true})");
  EXPECT_NE(e.find("'projectors_bias' has unsupported value true"), std::string::npos) << e;
  e = importError(R"({"model_type": "mamba2", "vocab_size": 256,
      "hidden_size": 64, "num_heads": 6, "head_dim": 16, "state_size": 16,
      "num_hidden_layers": 1})");
  EXPECT_NE(e.find("must equal the mamba inner width 128"), std::string::npos) << e;
}

TEST(HFImport, PathErrors) {
  auto s = importHFPath(fixture("hf/does-not-exist"));
  ASSERT_FALSE(bool(s));
  std::string e = llvm::toString(s.takeError());
  EXPECT_NE(e.find("cannot read"), std::string::npos) << e;
  EXPECT_NE(e.find("does-not-exist"), std::string::npos) << e;
}

} // namespace
