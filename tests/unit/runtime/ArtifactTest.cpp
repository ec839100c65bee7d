//===- ArtifactTest.cpp - .hyb loader: every failure is a clear error -----===//
#include "runtime/exec/Executor.h"
#include "runtime/hyb/Artifact.h"

#include <gtest/gtest.h>

using namespace hybrid;
namespace fb = flatbuffers;

namespace {

/// A minimal valid artifact (one weight, one activation, one instruction),
/// with knobs to break one thing at a time.
struct Knobs {
  unsigned version = kFormatVersion;
  int64_t arenaPerToken = 64;
  int64_t offset = 0;
  int weightIndex = 0;
  int cache = -1;
  bool decode = true;
  int64_t weightDim = 16;
  bool programNames = true;
};

std::string build(const Knobs &k) {
  fb::FlatBufferBuilder b;
  std::vector<int64_t> wshape{k.weightDim, 4};
  auto w = hyb::CreateWeightDirect(b, "embed", "model.embed_tokens.weight", &wshape);
  std::vector<fb::Offset<hyb::Weight>> ws{w};
  std::vector<int64_t> trailing{4}, none;
  std::vector<fb::Offset<hyb::Program>> ps;
  for (const char *name : {"prefill", "decode"}) {
    if (!k.decode && std::string(name) == "decode")
      continue;
    std::vector<fb::Offset<hyb::Value>> vs{
        hyb::CreateValueDirect(b, hyb::ValueKind::Input, hyb::DType::I32, &none),
        hyb::CreateValueDirect(b, hyb::ValueKind::Weight, hyb::DType::F32, &none, k.weightIndex),
        hyb::CreateValueDirect(b, hyb::ValueKind::Activation, hyb::DType::F32, &trailing, -1, -1,
                               k.offset, 16)};
    std::vector<int> ins{1, 0}, outs{2}, pin{0}, pout{2};
    std::vector<fb::Offset<hyb::Attr>> attrs;
    std::vector<fb::Offset<hyb::Instr>> is{
        hyb::CreateInstrDirect(b, "embedding", &ins, &outs, &attrs, k.cache)};
    ps.push_back(hyb::CreateProgramDirect(b, k.programNames ? name : nullptr, &vs, &is, &pin,
                                          &pout, k.arenaPerToken,
                                          std::string(name) == "decode" ? 1 : 0));
  }
  auto model = hyb::CreateModelDirect(b, "m", "hybrid", 16, 4, 0, 8, true);
  std::vector<fb::Offset<hyb::Cache>> cs;
  std::vector<fb::Offset<hyb::Kernel>> ks;
  auto root = hyb::CreateArtifactDirect(b, k.version, "test", "cpu", model, "", &ws, &cs, &ps, &ks);
  hyb::FinishArtifactBuffer(b, root);
  return std::string(reinterpret_cast<const char *>(b.GetBufferPointer()), b.GetSize());
}

std::string loadError(std::string bytes) {
  auto a = Artifact::loadBuffer(std::move(bytes), "x.hyb");
  return a.ok() ? "ok" : a.status().message();
}

TEST(Artifact, ValidLoads) {
  auto a = Artifact::loadBuffer(build({}), "x.hyb");
  ASSERT_TRUE(a.ok()) << a.status().toString();
  EXPECT_EQ((*a)->model().vocab(), 16);
  ASSERT_NE((*a)->program("decode"), nullptr);
  EXPECT_EQ((*a)->program("train_step"), nullptr);
}

TEST(Artifact, TooSmall) {
  EXPECT_EQ(loadError("HYB"), "x.hyb: too small to be a .hyb file (3 bytes)");
}

TEST(Artifact, NotAHybFile) {
  std::string bytes = build({});
  bytes[4] = 'X';
  EXPECT_EQ(loadError(bytes), "x.hyb: not a .hyb file (identifier is not \"HYB1\")");
}

TEST(Artifact, TruncatedIsCorrupt) {
  std::string bytes = build({});
  for (size_t keep : {bytes.size() / 2, bytes.size() - 8, size_t(12)})
    EXPECT_EQ(loadError(bytes.substr(0, keep)),
              "x.hyb: truncated or corrupt .hyb file (flatbuffers verification failed)")
        << keep;
}

TEST(Artifact, VersionMismatchNamesBoth) {
  Knobs k;
  k.version = kFormatVersion + 1;
  EXPECT_EQ(loadError(build(k)),
            "x.hyb: .hyb format version " + std::to_string(kFormatVersion + 1) +
                ", this runtime reads version " + std::to_string(kFormatVersion) +
                "; recompile the model with a matching hybridc");
}

TEST(Artifact, ActivationOutsideArena) {
  Knobs k;
  k.offset = 56;
  EXPECT_EQ(loadError(build(k)), "x.hyb: program 'prefill': value 2 lies outside the arena "
                                 "(offset 56 + 16 > 64 bytes per token)");
}

TEST(Artifact, WeightIndexOutOfRange) {
  Knobs k;
  k.weightIndex = 3;
  EXPECT_EQ(loadError(build(k)), "x.hyb: program 'prefill': value 1 names weight 3 of 1");
}

TEST(Artifact, CacheIndexOutOfRange) {
  Knobs k;
  k.cache = 0;
  EXPECT_EQ(loadError(build(k)),
            "x.hyb: program 'prefill': instruction 0 ('embedding') names cache 0 of 0");
}

TEST(Artifact, DecodeProgramRequired) {
  Knobs k;
  k.decode = false;
  EXPECT_EQ(loadError(build(k)), "x.hyb: the prefill and decode programs are both required");
}

TEST(Artifact, BadWeightShape) {
  Knobs k;
  k.weightDim = 0;
  EXPECT_EQ(loadError(build(k)), "x.hyb: weight 0 has no name or a bad shape");
}

TEST(Artifact, MissingFile) {
  auto a = Artifact::loadFile("/nonexistent/model.hyb");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().message(), "cannot open '/nonexistent/model.hyb'");
}

} // namespace

// Found by the hyb fuzzer: a program table without a name.
TEST(Artifact, ProgramWithoutAName) {
  Knobs k;
  k.programNames = false;
  EXPECT_EQ(loadError(build(k)), "x.hyb: a program has no name");
}

// hybrid-run --bf16-weights: the CPU reference on the weights the CUDA
// executor holds. The embedding table is a bf16-stored weight; rounding is
// to nearest, ties to even.
TEST(Model, Bf16StorageRoundsLikeTheDevice) {
  auto a = Artifact::loadBuffer(build({}), "x.hyb");
  ASSERT_TRUE(a.ok()) << a.status().toString();
  auto m = Model::fromArtifact(std::move(*a));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->bf16StorageMask(), std::vector<bool>{true});
  std::vector<float> &w = (*m)->weight(0);
  w[0] = 1.00390625f;  // 1 + 2^-8: halfway, rounds to the even 1.0
  w[1] = 1.01171875f;  // 1 + 3 * 2^-8: halfway, rounds to the even 1.015625
  w[2] = 0.1f;         // bf16 0.10009765625
  w[3] = -3.0f;        // exact
  (*m)->roundToBf16Storage();
  EXPECT_EQ(w[0], 1.0f);
  EXPECT_EQ(w[1], 1.015625f);
  EXPECT_EQ(w[2], 0.10009765625f);
  EXPECT_EQ(w[3], -3.0f);
}
