//===- ModelSpec.h - Plain description of a hybrid model --------*- C++ -*-===//
//
// The architecture of a model as plain C++ values, independent of MLIR. It is
// the common currency between the HF importer (config.json -> ModelSpec), the
// dialect (ModelSpec <-> `hybrid.model`), the cost model (`hybridc report`)
// and layout selection. Every field that changes the computation lives here;
// fields that only affect initialisation (dt_min/dt_max, init ranges) too,
// because training (a later issue) needs them.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_COMPILER_MODELSPEC_H
#define HYBRIDC_COMPILER_MODELSPEC_H

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace hybridc {

enum class MixerKind { None, Attention, Mamba2, Parallel };
enum class FfnKind { None, SwiGLU, ReLU2 };
enum class BranchNorm { None, RMS, Group };
enum class Combine { Add, Mean, Diff, Concat };

/// RoPE frequency scaling. "none" or "llama3" (the Llama-3.x scheme);
/// `linear` scales positions by 1/factor.
struct RopeScaling {
  std::string type = "none"; // none | linear | llama3
  double factor = 1.0;
  double lowFreqFactor = 1.0;
  double highFreqFactor = 4.0;
  int64_t originalMaxPosition = 8192;
};

struct AttentionSpec {
  int64_t heads = 0;
  int64_t kvHeads = 0;
  int64_t headDim = 0;
  bool rope = true;           // false: no positional rotation (Nemotron-H)
  double ropeTheta = 10000.0;
  RopeScaling ropeScaling;
  /// Rotate only the first ropeDim channels of each head (Bamba's
  /// partial_rotary_factor 0.5); 0 = the whole head.
  int64_t ropeDim = 0;
  int64_t window = 0;         // sliding window in tokens, 0 = full causal
  bool qkvBias = false;
  bool outBias = false;

  int64_t qDim() const { return heads * headDim; }
  int64_t kvDim() const { return kvHeads * headDim; }
  int64_t rotaryDim() const { return ropeDim ? ropeDim : headDim; }
};

struct Mamba2Spec {
  int64_t heads = 0;
  int64_t headDim = 0;
  int64_t state = 0;     // d_state (N)
  int64_t groups = 1;    // n_groups for B and C
  int64_t convWidth = 4;
  int64_t chunk = 256;
  double dtMin = 0.001, dtMax = 0.1;  // initialisation range of dt
  double dtLimitLo = 0.0;             // clamp of dt after softplus
  double dtLimitHi = std::numeric_limits<double>::infinity();
  bool convBias = true;
  bool projBias = false;  // in_proj / out_proj bias
  bool gatedNorm = true;  // RMSNorm(y * silu(z)) per group; false: y * silu(z)
  bool normBeforeGate = false;
  int64_t normGroups = 0; // groups of the gated norm; 0 = same as `groups`

  int64_t inner() const { return heads * headDim; }
  int64_t convDim() const { return inner() + 2 * groups * state; }
  /// in_proj output width: z, x, B, C, dt.
  int64_t inProjDim() const { return 2 * inner() + 2 * groups * state + heads; }
  int64_t gatedNormGroups() const { return normGroups ? normGroups : groups; }
};

/// How the two branches of a parallel (intra-layer) mixer are combined.
struct FuseSpec {
  BranchNorm norm = BranchNorm::RMS;
  Combine combine = Combine::Mean;
  bool sharedOutProj = true;  // one out projection after combining
  double attnMultiplier = 1.0; // branch output multipliers (Falcon-H1)
  double ssmMultiplier = 1.0;
};

struct FfnSpec {
  FfnKind kind = FfnKind::None;
  int64_t hidden = 0;
  bool bias = false;
};

struct BlockSpec {
  MixerKind mixer = MixerKind::None;
  AttentionSpec attn;   // valid for Attention and Parallel
  Mamba2Spec ssm;       // valid for Mamba2 and Parallel
  FuseSpec fuse;        // valid for Parallel
  FfnSpec ffn;
  /// Nemotron-H style layers hold one mixer or one MLP with a single norm;
  /// Llama-style blocks hold both with two norms. True when the block has a
  /// mixer and an FFN each with its own pre-norm and residual.
  bool hasMixer() const { return mixer != MixerKind::None; }
  bool hasFfn() const { return ffn.kind != FfnKind::None; }
};

/// muP-style multipliers (Falcon-H1); all 1.0 for other families.
struct Multipliers {
  double embedding = 1.0;
  double lmHead = 1.0;
  double attentionIn = 1.0;
  double attentionOut = 1.0;
  double key = 1.0;
  double ssmIn = 1.0;
  double ssmOut = 1.0;
  double mlpGate = 1.0;  // applied to gate_proj output
  double mlpDown = 1.0;  // applied to down_proj output
  /// Per-segment multipliers of the Mamba in_proj output, in the order
  /// z, x, B, C, dt (Falcon-H1 `ssm_multipliers`).
  std::vector<double> ssmSegments = {1.0, 1.0, 1.0, 1.0, 1.0};
  bool isIdentity() const;
};

struct ModelSpec {
  std::string name = "model";
  std::string family = "hybrid"; // llama | mamba2 | bamba | nemotron_h | falcon_h1 | hybrid
  int64_t vocab = 0;
  int64_t dModel = 0;
  double normEps = 1e-5;
  bool tieEmbeddings = false;
  int64_t maxPosition = 0; // informational (0 = unknown)
  Multipliers mult;
  std::vector<BlockSpec> blocks;
};

inline bool Multipliers::isIdentity() const {
  for (double s : ssmSegments)
    if (s != 1.0)
      return false;
  return embedding == 1.0 && lmHead == 1.0 && attentionIn == 1.0 &&
         attentionOut == 1.0 && key == 1.0 && ssmIn == 1.0 && ssmOut == 1.0 &&
         mlpGate == 1.0 && mlpDown == 1.0;
}

const char *toString(MixerKind k);
const char *toString(FfnKind k);
const char *toString(BranchNorm k);
const char *toString(Combine k);

} // namespace hybridc

#endif // HYBRIDC_COMPILER_MODELSPEC_H
