//===- Sampling.h - Next-token selection from logits ------------*- C++ -*-===//
//
// Greedy (argmax, lowest id on ties) or temperature / top-k / top-p (nucleus)
// sampling with our own seeded RNG (xoshiro256** seeded through splitmix64),
// so that a seed gives the same tokens on every machine and library version.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_RUNTIME_SUPPORT_SAMPLING_H
#define HYBRID_RUNTIME_SUPPORT_SAMPLING_H

#include "runtime/support/Status.h"

#include <cstdint>

namespace hybrid {

struct SamplingOptions {
  bool greedy = false;
  float temperature = 1;
  int topK = 0;     // 0: no top-k cut
  float topP = 1;   // 1: no nucleus cut
  uint64_t seed = 0;
};

/// T > 0 and finite unless greedy, 0 < topP <= 1, topK >= 0.
Status validateSamplingOptions(const SamplingOptions &options);

/// xoshiro256** (Blackman & Vigna), state filled from the seed by splitmix64.
class Rng {
public:
  explicit Rng(uint64_t seed = 0);
  uint64_t next();
  /// Uniform in [0, 1) with 53 random bits.
  double uniform();

private:
  uint64_t s_[4];
};

/// Picks the next token from `vocab` logits. Greedy: argmax, lowest id on
/// ties. Otherwise softmax(logits / T), cut to the topK most likely (ties:
/// lower id first), then to the smallest most-likely prefix whose probability
/// reaches topP, renormalised, and drawn with one rng.uniform(). NaN and -inf
/// logits are never picked (unless every logit is; then 0); if some logits
/// are +inf, one of those is drawn uniformly. Options should have passed
/// validateSamplingOptions; a non-positive temperature falls back to greedy.
/// Returns -1 only when vocab <= 0.
int32_t sampleToken(const float *logits, int64_t vocab, const SamplingOptions &options, Rng &rng);

} // namespace hybrid

#endif // HYBRID_RUNTIME_SUPPORT_SAMPLING_H
