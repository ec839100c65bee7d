//===- Sampling.cpp - Next-token selection from logits --------------------===//
#include "runtime/support/Sampling.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace hybrid {

Status validateSamplingOptions(const SamplingOptions &o) {
  if (!o.greedy && !(o.temperature > 0 && std::isfinite(o.temperature)))
    return HYBRID_ERROR("temperature must be a finite number > 0 (or use greedy), got ",
                        o.temperature);
  if (!(o.topP > 0 && o.topP <= 1))
    return HYBRID_ERROR("top-p must be in (0, 1], got ", o.topP);
  if (o.topK < 0)
    return HYBRID_ERROR("top-k must be >= 0 (0 disables it), got ", o.topK);
  return Status();
}

namespace {
uint64_t splitmix64(uint64_t &x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

int32_t argmax(const float *logits, int64_t vocab) {
  int64_t best = -1;
  for (int64_t i = 0; i < vocab; ++i) {
    if (std::isnan(logits[i]))
      continue;
    if (best < 0 || logits[i] > logits[best]) // strict: keeps the lowest id on ties
      best = i;
  }
  return static_cast<int32_t>(best < 0 ? 0 : best);
}
} // namespace

Rng::Rng(uint64_t seed) {
  for (uint64_t &s : s_)
    s = splitmix64(seed);
}

uint64_t Rng::next() {
  uint64_t result = rotl(s_[1] * 5, 7) * 9;
  uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

int32_t sampleToken(const float *logits, int64_t vocab, const SamplingOptions &o, Rng &rng) {
  if (vocab <= 0)
    return -1;
  if (o.greedy || !(o.temperature > 0) || !std::isfinite(o.temperature))
    return argmax(logits, vocab);

  // Candidates: (logit, id), most likely first; -inf / NaN have probability 0.
  std::vector<std::pair<float, int32_t>> cand;
  cand.reserve(static_cast<size_t>(vocab));
  for (int64_t i = 0; i < vocab; ++i)
    if (!std::isnan(logits[i]) && logits[i] != -INFINITY)
      cand.emplace_back(logits[i], static_cast<int32_t>(i));
  if (cand.empty())
    return argmax(logits, vocab);
  auto before = [](const std::pair<float, int32_t> &a, const std::pair<float, int32_t> &b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  };
  // Top-k keeps the same set for logits and logits / T (T > 0).
  if (o.topK > 0 && static_cast<size_t>(o.topK) < cand.size()) {
    std::nth_element(cand.begin(), cand.begin() + (o.topK - 1), cand.end(), before);
    cand.resize(static_cast<size_t>(o.topK));
  }
  bool nucleus = o.topP < 1;
  if (nucleus)
    std::sort(cand.begin(), cand.end(), before);
  float maxLogit = cand[0].first;
  for (const auto &c : cand)
    maxLogit = std::max(maxLogit, c.first);

  // Unnormalised probabilities exp((l - max) / T) in (0, 1], in double.
  std::vector<double> weight(cand.size());
  double total = 0;
  for (size_t i = 0; i < cand.size(); ++i) {
    if (maxLogit == INFINITY)
      weight[i] = cand[i].first == INFINITY ? 1.0 : 0.0;
    else
      weight[i] = std::exp((static_cast<double>(cand[i].first) - maxLogit) / o.temperature);
    total += weight[i];
  }
  size_t kept = cand.size();
  if (nucleus) {
    // Smallest prefix (in probability order) whose mass reaches topP.
    double target = static_cast<double>(o.topP) * total, cum = 0;
    for (size_t i = 0; i < cand.size(); ++i) {
      cum += weight[i];
      if (cum >= target) {
        kept = i + 1;
        break;
      }
    }
    total = cum;
  }
  double u = rng.uniform() * total, cum = 0;
  for (size_t i = 0; i < kept; ++i) {
    cum += weight[i];
    if (u < cum)
      return cand[i].second;
  }
  // Rounding left u at the very top: the last kept token with weight.
  for (size_t i = kept; i-- > 0;)
    if (weight[i] > 0)
      return cand[i].second;
  return cand[0].second;
}

} // namespace hybrid
