//===- TrainOptimizerTest.cpp - AdamW, clipping, schedule, init -----------===//
#include "runtime/train/Init.h"
#include "runtime/train/Optimizer.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace hybrid;

namespace {

// Two AdamW steps on two scalars (one decayed, one not), lr 0.1, wd 0.1,
// gradients 0.5 then -0.25. Expected values worked out by hand:
// step 1: m = 0.05, v = 0.0125, m^ = 0.5, v^ = 0.25, update = 0.1 * 0.5 /
// (0.5 + 1e-8) = 0.099999998; decayed p = 1 * (1 - 0.01) - 0.099999998.
// step 2: m = 0.02, v = 0.015, m^ = 0.02 / 0.19, v^ = 0.015 / 0.0975,
// update = 0.0268369441241726.
TEST(TrainAdamW, TwoStepsByHand) {
  AdamWConfig cfg;
  cfg.weightDecay = 0.1;
  AdamW opt(cfg, {1, 1}, {true, false});
  std::vector<std::vector<float>> w = {{1.f}, {1.f}};
  ASSERT_TRUE(opt.step(&w, {{0.5f}, {0.5f}}, 0.1).ok());
  EXPECT_NEAR(w[0][0], 0.890000002, 1e-7);
  EXPECT_NEAR(w[1][0], 0.900000002, 1e-7);
  EXPECT_FLOAT_EQ(opt.m()[0][0], 0.05f);
  EXPECT_FLOAT_EQ(opt.v()[0][0], 0.0125f);
  ASSERT_TRUE(opt.step(&w, {{-0.25f}, {-0.25f}}, 0.1).ok());
  EXPECT_NEAR(w[0][0], 0.8542630578558273, 1e-7);
  EXPECT_NEAR(w[1][0], 0.8731630578758274, 1e-7);
  EXPECT_FLOAT_EQ(opt.m()[1][0], 0.02f);
  EXPECT_FLOAT_EQ(opt.v()[1][0], 0.015f);
  EXPECT_EQ(opt.stepCount(), 2);
}

TEST(TrainAdamW, SizeMismatchNamesTheWeight) {
  AdamW opt(AdamWConfig(), {2, 3}, {true, true});
  std::vector<std::vector<float>> w = {{1, 2}, {1, 2, 3}};
  Status st = opt.step(&w, {{0, 0}, {0, 0}}, 0.1);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("weight 1"), std::string::npos) << st.message();
  EXPECT_EQ(opt.stepCount(), 0);
}

TEST(TrainAdamW, SetStateRestoresExactly) {
  AdamW a(AdamWConfig(), {3}, {true}), b(AdamWConfig(), {3}, {true});
  std::vector<std::vector<float>> wa = {{0.1f, -0.2f, 0.3f}};
  ASSERT_TRUE(a.step(&wa, {{1, 2, 3}}, 0.01).ok());
  std::vector<std::vector<float>> wb = wa;
  ASSERT_TRUE(b.setState(a.stepCount(), a.m(), a.v()).ok());
  ASSERT_TRUE(a.step(&wa, {{-1, 0.5f, 2}}, 0.01).ok());
  ASSERT_TRUE(b.step(&wb, {{-1, 0.5f, 2}}, 0.01).ok());
  EXPECT_EQ(wa, wb);
  EXPECT_FALSE(b.setState(1, {{1, 2}}, {{1, 2}}).ok());
}

TEST(TrainClip, ScalesToMaxNormAndReportsPreClipNorm) {
  std::vector<std::vector<float>> g = {{3.f}, {0.f, 4.f}};
  EXPECT_DOUBLE_EQ(globalGradNorm(g), 5.0);
  double pre = clipGradNorm(&g, 1.0);
  EXPECT_DOUBLE_EQ(pre, 5.0);
  EXPECT_NEAR(g[0][0], 0.6, 1e-6);
  EXPECT_NEAR(g[1][1], 0.8, 1e-6);
  EXPECT_NEAR(globalGradNorm(g), 1.0, 1e-6);
  // Below the limit, or disabled: untouched.
  std::vector<std::vector<float>> h = {{3.f}, {0.f, 4.f}};
  EXPECT_DOUBLE_EQ(clipGradNorm(&h, 10.0), 5.0);
  EXPECT_EQ(h[0][0], 3.f);
  EXPECT_DOUBLE_EQ(clipGradNorm(&h, 0.0), 5.0);
  EXPECT_EQ(h[1][1], 4.f);
}

TEST(TrainSchedule, WarmupThenCosine) {
  LrSchedule s;
  s.maxLr = 1e-2;
  s.minLr = 1e-3;
  s.warmup = 10;
  s.total = 111; // peak at step 10, last step 110: 100 steps of cosine
  EXPECT_DOUBLE_EQ(s.at(0), 1e-3);      // 1/10 of the peak
  EXPECT_DOUBLE_EQ(s.at(4), 5e-3);
  EXPECT_DOUBLE_EQ(s.at(9), 1e-2);      // warmup end reaches the peak
  EXPECT_DOUBLE_EQ(s.at(10), 1e-2);     // cosine starts at the peak
  EXPECT_NEAR(s.at(60), 5.5e-3, 1e-15); // middle: halfway between
  EXPECT_NEAR(s.at(35), 1e-3 + 0.5 * 9e-3 * (1 + std::cos(M_PI * 0.25)), 1e-15);
  EXPECT_NEAR(s.at(110), 1e-3, 1e-15);  // last step: min
  EXPECT_NEAR(s.at(500), 1e-3, 1e-15);  // past the end: stays at min
  for (int64_t i = 11; i < 111; ++i)
    EXPECT_LT(s.at(i), s.at(i - 1));
  LrSchedule flat; // no warmup, a single step
  flat.maxLr = 2e-3;
  flat.minLr = 0;
  flat.total = 1;
  EXPECT_DOUBLE_EQ(flat.at(0), 2e-3);
}

TEST(TrainDecay, GroupsByName) {
  for (const char *name : {"embed", "lm_head", "layers.2.attn.q", "layers.2.attn.o",
                           "layers.3.mamba.in_proj", "layers.3.mamba.conv1d.weight",
                           "layers.3.mamba.out_proj", "layers.1.ffn.down", "layers.4.mix.out_proj"})
    EXPECT_TRUE(isDecayed(name)) << name;
  for (const char *name : {"layers.0.mixer_norm", "layers.0.ffn_norm", "final_norm",
                           "layers.3.mamba.norm", "layers.1.attn_branch_norm",
                           "layers.1.mamba_branch_norm", "layers.3.mamba.A_log", "layers.3.mamba.D",
                           "layers.3.mamba.dt_bias", "layers.2.attn.q_bias",
                           "layers.3.mamba.conv1d.bias", "layers.3.mamba.in_proj_bias",
                           "layers.1.ffn.down_bias"})
    EXPECT_FALSE(isDecayed(name)) << name;
}

//===----------------------------------------------------------------------===//
// Init
//===----------------------------------------------------------------------===//

void moments(const std::vector<float> &x, double *mean, double *stddev) {
  double s = 0, s2 = 0;
  for (float v : x) {
    s += v;
    s2 += static_cast<double>(v) * v;
  }
  *mean = s / x.size();
  *stddev = std::sqrt(s2 / x.size() - *mean * *mean);
}

TEST(TrainInit, KindsByName) {
  EXPECT_EQ(initKindFor("embed"), InitKind::Normal);
  EXPECT_EQ(initKindFor("lm_head"), InitKind::Normal);
  EXPECT_EQ(initKindFor("layers.2.attn.q"), InitKind::Normal);
  EXPECT_EQ(initKindFor("layers.2.attn.o"), InitKind::ResidualNormal);
  EXPECT_EQ(initKindFor("layers.2.mamba.out_proj"), InitKind::ResidualNormal);
  EXPECT_EQ(initKindFor("layers.2.mix.out_proj"), InitKind::ResidualNormal);
  EXPECT_EQ(initKindFor("layers.2.ffn.down"), InitKind::ResidualNormal);
  EXPECT_EQ(initKindFor("layers.2.ffn.down_bias"), InitKind::Zero);
  EXPECT_EQ(initKindFor("layers.2.ffn.up"), InitKind::Normal);
  EXPECT_EQ(initKindFor("layers.0.mixer_norm"), InitKind::One);
  EXPECT_EQ(initKindFor("layers.0.mamba.norm"), InitKind::One);
  EXPECT_EQ(initKindFor("final_norm"), InitKind::One);
  EXPECT_EQ(initKindFor("layers.0.mamba.D"), InitKind::One);
  EXPECT_EQ(initKindFor("layers.0.mamba.A_log"), InitKind::ALog);
  EXPECT_EQ(initKindFor("layers.0.mamba.dt_bias"), InitKind::DtBias);
  EXPECT_EQ(initKindFor("layers.0.mamba.conv1d.weight"), InitKind::ConvWeight);
  EXPECT_EQ(initKindFor("layers.0.mamba.conv1d.bias"), InitKind::Zero);
  EXPECT_EQ(initKindFor("layers.0.attn.q_bias"), InitKind::Zero);
}

TEST(TrainInit, Distributions) {
  std::vector<float> w;
  double mean, sd;
  initTensor("embed", {512, 128}, 8, 1, &w);
  ASSERT_EQ(w.size(), 512u * 128u);
  moments(w, &mean, &sd);
  EXPECT_NEAR(mean, 0, 0.0005);
  EXPECT_NEAR(sd, 0.02, 0.0006);

  initTensor("layers.3.attn.o", {256, 256}, 8, 1, &w); // 0.02 / sqrt(16)
  moments(w, &mean, &sd);
  EXPECT_NEAR(sd, 0.005, 0.00015);

  initTensor("layers.3.mamba.A_log", {4096}, 8, 1, &w);
  double expMean = 0;
  for (float x : w) {
    ASSERT_GE(x, 0.f);
    ASSERT_LE(x, std::log(16.f) + 1e-6f);
    expMean += std::exp(static_cast<double>(x)) / w.size();
  }
  EXPECT_NEAR(expMean, 8.5, 0.3); // A ~ U[1, 16]

  initTensor("layers.3.mamba.dt_bias", {4096}, 8, 1, &w);
  double logMean = 0;
  for (float x : w) {
    double dt = std::log1p(std::exp(static_cast<double>(x))); // softplus
    ASSERT_GE(dt, 1e-3 * (1 - 1e-5));
    ASSERT_LE(dt, 1e-1 * (1 + 1e-5));
    logMean += std::log(dt) / w.size();
  }
  EXPECT_NEAR(logMean, 0.5 * (std::log(1e-3) + std::log(1e-1)), 0.08);

  initTensor("layers.3.mamba.conv1d.weight", {1024, 1, 4}, 8, 1, &w); // bound 1/2
  float lo = 1, hi = -1;
  for (float x : w) {
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  EXPECT_GE(lo, -0.5f);
  EXPECT_LE(hi, 0.5f);
  EXPECT_LT(lo, -0.49f);
  EXPECT_GT(hi, 0.49f);
  moments(w, &mean, &sd);
  EXPECT_NEAR(sd * sd, 0.25 / 3, 0.004); // variance of U(-b, b) = b^2 / 3

  for (const char *one : {"layers.0.mixer_norm", "layers.3.mamba.D", "final_norm"}) {
    initTensor(one, {7}, 8, 1, &w);
    EXPECT_EQ(w, std::vector<float>(7, 1.f)) << one;
  }
  for (const char *zero : {"layers.3.mamba.conv1d.bias", "layers.0.attn.q_bias"}) {
    initTensor(zero, {7}, 8, 1, &w);
    EXPECT_EQ(w, std::vector<float>(7, 0.f)) << zero;
  }
}

TEST(TrainInit, DeterministicPerSeedAndName) {
  std::vector<float> a, b, c, d;
  initTensor("layers.1.attn.q", {16, 16}, 4, 7, &a);
  initTensor("layers.1.attn.q", {16, 16}, 4, 7, &b);
  initTensor("layers.1.attn.q", {16, 16}, 4, 8, &c);
  initTensor("layers.1.attn.k", {16, 16}, 4, 7, &d);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, d);
}

} // namespace
