//===- SamplingTest.cpp - greedy / temperature / top-k / top-p sampling ---===//
#include "runtime/support/Sampling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

using namespace hybrid;

namespace {
/// Pearson chi-square of `counts` against probabilities `p` (zero-p cells
/// must have zero counts and are skipped).
double chiSquare(const std::vector<int> &counts, const std::vector<double> &p, int n) {
  double chi = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (p[i] == 0)
      continue;
    double e = p[i] * n;
    chi += (counts[i] - e) * (counts[i] - e) / e;
  }
  return chi;
}

/// Naive softmax(logits / T) in double: the oracle.
std::vector<double> softmax(const std::vector<float> &logits, double t) {
  std::vector<double> p(logits.size());
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i)
    sum += p[i] = std::exp(logits[i] / t);
  for (double &x : p)
    x /= sum;
  return p;
}

std::vector<int> histogram(const std::vector<float> &logits, const SamplingOptions &o, int n) {
  Rng rng(o.seed);
  std::vector<int> counts(logits.size(), 0);
  for (int i = 0; i < n; ++i) {
    int32_t t = sampleToken(logits.data(), static_cast<int64_t>(logits.size()), o, rng);
    EXPECT_GE(t, 0);
    EXPECT_LT(t, static_cast<int32_t>(logits.size()));
    if (t >= 0 && t < static_cast<int32_t>(logits.size()))
      ++counts[t];
  }
  return counts;
}

// Chi-square critical value for 3 degrees of freedom at p = 0.001 is 16.27;
// seeds are fixed, so these tests are deterministic.
constexpr double kChi3 = 16.27, kChi1 = 10.83;
} // namespace

TEST(Sampling, Validate) {
  SamplingOptions o;
  EXPECT_TRUE(validateSamplingOptions(o).ok());
  o.temperature = 0;
  EXPECT_FALSE(validateSamplingOptions(o).ok());
  o.greedy = true;
  EXPECT_TRUE(validateSamplingOptions(o).ok()); // temperature unused when greedy
  o = SamplingOptions();
  o.temperature = NAN;
  EXPECT_FALSE(validateSamplingOptions(o).ok());
  o = SamplingOptions();
  o.topP = 0;
  Status st = validateSamplingOptions(o);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("top-p"), std::string::npos);
  o.topP = 1.5f;
  EXPECT_FALSE(validateSamplingOptions(o).ok());
  o = SamplingOptions();
  o.topK = -1;
  EXPECT_FALSE(validateSamplingOptions(o).ok());
}

TEST(Sampling, RngDeterministicAndUniform) {
  Rng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    uint64_t x = a.next();
    EXPECT_EQ(x, b.next());
    differs |= x != c.next();
  }
  EXPECT_TRUE(differs);
  Rng r(7);
  double sum = 0;
  for (int i = 0; i < 100000; ++i) {
    double u = r.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  EXPECT_NEAR(sum / 100000, 0.5, 0.005); // sd of the mean ~ 0.0009
}

TEST(Sampling, GreedyArgmaxLowestIdOnTies) {
  std::vector<float> logits = {0.1f, 3.0f, -2.0f, 3.0f, 1.0f};
  SamplingOptions o;
  o.greedy = true;
  Rng rng(0);
  EXPECT_EQ(sampleToken(logits.data(), 5, o, rng), 1);
  std::vector<float> withNan = {NAN, -1.0f, -0.5f};
  EXPECT_EQ(sampleToken(withNan.data(), 3, o, rng), 2);
  std::vector<float> neg = {-INFINITY, -INFINITY};
  EXPECT_EQ(sampleToken(neg.data(), 2, o, rng), 0);
  EXPECT_EQ(sampleToken(logits.data(), 0, o, rng), -1);
}

TEST(Sampling, SameSeedSameSequence) {
  std::vector<float> logits(50);
  for (size_t i = 0; i < logits.size(); ++i)
    logits[i] = std::sin(static_cast<float>(i));
  SamplingOptions o;
  o.temperature = 0.8f;
  o.topK = 20;
  o.topP = 0.9f;
  auto run = [&](uint64_t seed) {
    Rng rng(seed);
    std::vector<int32_t> seq;
    for (int i = 0; i < 200; ++i)
      seq.push_back(sampleToken(logits.data(), 50, o, rng));
    return seq;
  };
  EXPECT_EQ(run(123), run(123));
  EXPECT_NE(run(123), run(124));
}

TEST(Sampling, TopK1AndTinyTopPEqualGreedy) {
  Rng gen(99);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<float> logits(37);
    for (float &l : logits)
      l = static_cast<float>(gen.uniform() * 4 - 2);
    if (trial % 3 == 0)
      logits[5] = logits[20] = 10; // a tie at the top: lowest id wins
    SamplingOptions greedy;
    greedy.greedy = true;
    Rng r0(trial);
    int32_t want = sampleToken(logits.data(), 37, greedy, r0);
    if (trial % 3 == 0) {
      ASSERT_EQ(want, 5);
    }
    SamplingOptions k1;
    k1.topK = 1;
    k1.temperature = 1.5f;
    SamplingOptions p0;
    p0.topP = 1e-6f;
    Rng r1(trial), r2(trial);
    for (int i = 0; i < 5; ++i) {
      ASSERT_EQ(sampleToken(logits.data(), 37, k1, r1), want);
      ASSERT_EQ(sampleToken(logits.data(), 37, p0, r2), want);
    }
  }
}

TEST(Sampling, FrequenciesMatchSoftmax) {
  std::vector<float> logits = {0.0f, 1.0f, 2.0f, 0.5f};
  const int n = 200000;
  for (float t : {1.0f, 0.5f, 2.0f}) {
    SamplingOptions o;
    o.temperature = t;
    o.seed = 2024;
    auto counts = histogram(logits, o, n);
    auto p = softmax(logits, t);
    double chi = chiSquare(counts, p, n);
    EXPECT_LT(chi, kChi3) << "T=" << t;
    // Guard that the statistic has power: a wrong temperature is rejected.
    auto wrong = softmax(logits, t * 1.1);
    EXPECT_GT(chiSquare(counts, wrong, n), 50.0) << "T=" << t;
  }
}

TEST(Sampling, TopKExcludesTail) {
  std::vector<float> logits = {0.0f, 1.0f, 2.0f, 0.5f};
  SamplingOptions o;
  o.topK = 2;
  o.seed = 5;
  const int n = 100000;
  auto counts = histogram(logits, o, n);
  EXPECT_EQ(counts[0], 0);
  EXPECT_EQ(counts[3], 0);
  // Renormalised over {2, 1}: p(2) = e^2 / (e^2 + e^1).
  double p2 = std::exp(2.0) / (std::exp(2.0) + std::exp(1.0));
  EXPECT_LT(chiSquare(counts, {0, 1 - p2, p2, 0}, n), kChi1);
}

TEST(Sampling, TopPKeepsSmallestNucleus) {
  // Probabilities 0.5, 0.3, 0.15, 0.05 (as logits of their logs).
  std::vector<float> logits = {std::log(0.15f), std::log(0.5f), std::log(0.05f), std::log(0.3f)};
  SamplingOptions o;
  o.topP = 0.7f; // 0.5 < 0.7 <= 0.5 + 0.3: keeps ids 1 and 3
  o.seed = 11;
  const int n = 100000;
  auto counts = histogram(logits, o, n);
  EXPECT_EQ(counts[0], 0);
  EXPECT_EQ(counts[2], 0);
  EXPECT_LT(chiSquare(counts, {0, 0.625, 0, 0.375}, n), kChi1);
  // Top-p = 0.9 adds the 0.15 token; the 0.05 one stays out.
  o.topP = 0.9f;
  counts = histogram(logits, o, n);
  EXPECT_EQ(counts[2], 0);
  EXPECT_LT(chiSquare(counts, {0.15 / 0.95, 0.5 / 0.95, 0, 0.3 / 0.95}, n), 13.82 /*2 dof*/);
}

TEST(Sampling, NonFiniteLogits) {
  SamplingOptions o;
  o.seed = 3;
  std::vector<float> logits = {NAN, 1.0f, -INFINITY, 1.0f};
  auto counts = histogram(logits, o, 20000);
  EXPECT_EQ(counts[0], 0);
  EXPECT_EQ(counts[2], 0);
  EXPECT_GT(counts[1], 9000);
  EXPECT_GT(counts[3], 9000);
  std::vector<float> inf = {0.0f, INFINITY, 5.0f, INFINITY};
  counts = histogram(inf, o, 20000);
  EXPECT_EQ(counts[0] + counts[2], 0);
  EXPECT_GT(counts[1], 9000);
  EXPECT_GT(counts[3], 9000);
}
