//===- CpuGradTest.cpp - every backward kernel vs finite differences ------===//
//
// Oracle: central finite differences of the fp32 FORWARD kernels of
// CpuKernels.h on the scalar loss L = sum(w_out * y) (w_out random, the sum
// in double), so dL/dy = w_out is what the backward receives. Each input
// element is perturbed by +-h and the step actually taken (the fp32
// rounding of x +- h minus x) is divided out.
//
// Tolerance (kTol = 1e-3 of the largest finite-difference gradient of the
// tensor): the forward kernels round each output once to fp32 (relative
// 6e-8), so L carries a rounding noise of about 1e-7 * sum|w_out y| ~ 1e-6
// at these sizes, i.e. ~1e-4 once divided by 2h = 1e-2; the truncation
// error of the central difference is h^2/6 |f'''| ~ 4e-6 |f'''|. Both stay
// well under 1e-3 of gradients of size ~1 (observed errors are printed and
// are ~1e-5..1e-4), while a wrong term of a formula (a dropped path, a sign,
// an off-by-one position or head) moves some element by 10% or more.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/CpuGrad.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <vector>

using namespace hybrid;
using namespace hybrid::cpu;

namespace {

using Vec = std::vector<float>;

constexpr double kH = 5e-3;
constexpr double kTol = 1e-3;

Vec randn(size_t n, std::mt19937 &rng, double stddev = 1.0) {
  std::normal_distribution<double> dist(0.0, stddev);
  Vec v(n);
  for (auto &x : v)
    x = static_cast<float>(dist(rng));
  return v;
}

Vec uniform(size_t n, std::mt19937 &rng, double lo, double hi) {
  std::uniform_real_distribution<double> dist(lo, hi);
  Vec v(n);
  for (auto &x : v)
    x = static_cast<float>(dist(rng));
  return v;
}

double weighted(const Vec &w, const Vec &y) {
  EXPECT_EQ(w.size(), y.size());
  double s = 0.0;
  for (size_t i = 0; i < w.size() && i < y.size(); ++i)
    s += static_cast<double>(w[i]) * y[i];
  return s;
}

/// Central differences of `loss` w.r.t. every element of x (restored after).
Vec numericGrad(Vec &x, const std::function<double()> &loss, double h = kH) {
  Vec g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const float x0 = x[i];
    const float xp = static_cast<float>(x0 + h), xm = static_cast<float>(x0 - h);
    x[i] = xp;
    const double lp = loss();
    x[i] = xm;
    const double lm = loss();
    x[i] = x0;
    g[i] = static_cast<float>((lp - lm) / (static_cast<double>(xp) - xm));
  }
  return g;
}

/// max |analytic - numeric| / (max |numeric| + 1e-3).
double gradErr(const Vec &analytic, const Vec &numeric) {
  EXPECT_EQ(analytic.size(), numeric.size());
  double mx = 0.0, err = 0.0;
  for (float v : numeric)
    mx = std::max(mx, std::fabs(static_cast<double>(v)));
  for (size_t i = 0; i < analytic.size() && i < numeric.size(); ++i)
    err = std::max(err, std::fabs(static_cast<double>(analytic[i]) - numeric[i]));
  return err / (mx + 1e-3);
}

/// Checks one gradient against finite differences, printing the error.
void expectGrad(const char *what, Vec &x, const Vec &analytic, const std::function<double()> &loss,
                double tol = kTol, double h = kH) {
  Vec num = numericGrad(x, loss, h);
  double err = gradErr(analytic, num);
  EXPECT_LE(err, tol) << what;
  // A gradient check of all zeros proves nothing: every tested input matters.
  double mx = 0.0;
  for (float v : num)
    mx = std::max(mx, std::fabs(static_cast<double>(v)));
  EXPECT_GT(mx, 1e-3) << what << ": the loss does not depend on it";
  std::printf("  %-28s err %.2e (max |g| %.2e)\n", what, err, mx);
}

//===----------------------------------------------------------------------===//
// Embedding, projections, loss
//===----------------------------------------------------------------------===//

TEST(CpuGradEmbedding, RepeatedIdsAccumulate) {
  std::mt19937 rng(1);
  const int64_t V = 7, D = 5, T = 12;
  std::vector<int32_t> ids = {3, 1, 3, 6, 0, 3, 1, 5, 3, 0, 6, 1}; // 2 and 4 unused
  Vec table = randn(V * D, rng), wOut = randn(T * D, rng), dtable(V * D, -7.0f);
  ASSERT_TRUE(embeddingGrad(ids.data(), wOut.data(), T, V, D, dtable.data()).ok());
  auto loss = [&] {
    Vec out(T * D);
    EXPECT_TRUE(embedding(table.data(), ids.data(), T, V, D, out.data()).ok());
    return weighted(wOut, out);
  };
  Vec num = numericGrad(table, loss);
  EXPECT_LE(gradErr(dtable, num), kTol);
  // By hand: id 3 at positions 0, 2, 5, 8; unused rows are overwritten to 0.
  for (int64_t i = 0; i < D; ++i) {
    double want = (double)wOut[0 * D + i] + wOut[2 * D + i] + wOut[5 * D + i] + wOut[8 * D + i];
    EXPECT_NEAR(dtable[3 * D + i], want, 1e-6);
    EXPECT_EQ(dtable[2 * D + i], 0.0f);
    EXPECT_EQ(dtable[4 * D + i], 0.0f);
  }
  ids[4] = 7;
  Status s = embeddingGrad(ids.data(), wOut.data(), T, V, D, dtable.data());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("token id 7 at position 4"), std::string::npos) << s.message();
}

TEST(CpuGradLinear, DxDwDbias) {
  std::mt19937 rng(2);
  const int64_t T = 5, K = 6, N = 4;
  Vec x = randn(T * K, rng), w = randn(N * K, rng), b = randn(N, rng), wOut = randn(T * N, rng);
  Vec dx(T * K), dw(N * K), db(N);
  linearGrad(x.data(), w.data(), wOut.data(), T, K, N, dx.data(), dw.data(), db.data());
  auto loss = [&] {
    Vec out(T * N);
    linear(x.data(), w.data(), b.data(), T, K, N, out.data());
    return weighted(wOut, out);
  };
  expectGrad("linear dx", x, dx, loss);
  expectGrad("linear dw", w, dw, loss);
  expectGrad("linear dbias", b, db, loss);
  // Unwanted gradients are skipped; the others do not change.
  Vec dw2(N * K);
  linearGrad(x.data(), w.data(), wOut.data(), T, K, N, nullptr, dw2.data(), nullptr);
  EXPECT_EQ(dw2, dw);
}

TEST(CpuGradLmHead, DxDw) {
  std::mt19937 rng(3);
  const int64_t T = 4, D = 5, V = 9;
  Vec x = randn(T * D, rng), w = randn(V * D, rng), wOut = randn(T * V, rng);
  Vec dx(T * D), dw(V * D);
  lmHeadGrad(x.data(), w.data(), wOut.data(), T, D, V, dx.data(), dw.data());
  auto loss = [&] {
    Vec out(T * V);
    lmHead(x.data(), w.data(), T, D, V, out.data());
    return weighted(wOut, out);
  };
  expectGrad("lm_head dx", x, dx, loss);
  expectGrad("lm_head dw", w, dw, loss);
}

TEST(CpuGradCrossEntropy, IgnoredLabelsAndMean) {
  std::mt19937 rng(4);
  const int64_t T = 6, V = 5;
  Vec logits = randn(T * V, rng, 2.0);
  std::vector<int32_t> labels = {2, -100, 0, 4, -1, 2};
  const double dloss = 1.7;
  Vec dl(T * V, 9.0f);
  ASSERT_TRUE(crossEntropyGrad(logits.data(), labels.data(), T, V, dloss, dl.data()).ok());
  auto loss = [&] { return dloss * *crossEntropy(logits.data(), labels.data(), T, V); };
  expectGrad("cross_entropy dlogits", logits, dl, loss);
  for (int64_t v = 0; v < V; ++v) { // ignored rows: exactly zero
    EXPECT_EQ(dl[1 * V + v], 0.0f);
    EXPECT_EQ(dl[4 * V + v], 0.0f);
  }
  // By hand: each counted row sums to zero and its label entry is
  // dloss/4 * (p - 1) < 0.
  double rowSum = 0.0;
  for (int64_t v = 0; v < V; ++v)
    rowSum += dl[3 * V + v];
  EXPECT_NEAR(rowSum, 0.0, 1e-6);
  EXPECT_LT(dl[3 * V + 4], 0.0f);
  EXPECT_GT(dl[3 * V + 4], -dloss / 4);
  // Every label ignored: loss 0, gradient 0.
  std::vector<int32_t> none(T, -100);
  ASSERT_TRUE(crossEntropyGrad(logits.data(), none.data(), T, V, dloss, dl.data()).ok());
  for (float g : dl)
    EXPECT_EQ(g, 0.0f);
  labels[2] = 5;
  Status s = crossEntropyGrad(logits.data(), labels.data(), T, V, dloss, dl.data());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("label 5 at position 2"), std::string::npos) << s.message();
}

//===----------------------------------------------------------------------===//
// Norms
//===----------------------------------------------------------------------===//

TEST(CpuGradNorms, RmsNorm) {
  std::mt19937 rng(5);
  const int64_t T = 4, D = 8;
  Vec x = randn(T * D, rng), w = randn(D, rng), wOut = randn(T * D, rng), dx(T * D), dw(D);
  rmsnormGrad(x.data(), w.data(), wOut.data(), T, D, 1e-5, dx.data(), dw.data());
  auto loss = [&] {
    Vec out(T * D);
    rmsnorm(x.data(), w.data(), T, D, 1e-5, out.data());
    return weighted(wOut, out);
  };
  expectGrad("rmsnorm dx", x, dx, loss);
  expectGrad("rmsnorm dw", w, dw, loss);
}

TEST(CpuGradNorms, GroupNorm) {
  std::mt19937 rng(6);
  const int64_t T = 3, D = 12, groups = 3;
  Vec x = randn(T * D, rng), w = randn(D, rng), wOut = randn(T * D, rng), dx(T * D), dw(D);
  for (int64_t i = 0; i < T * D; i += 4)
    x[i] += 2.0f; // non-zero group means
  ASSERT_TRUE(groupNormGrad(x.data(), w.data(), wOut.data(), T, D, groups, 1e-5, dx.data(),
                            dw.data()).ok());
  auto loss = [&] {
    Vec out(T * D);
    EXPECT_TRUE(groupNorm(x.data(), w.data(), T, D, groups, 1e-5, out.data()).ok());
    return weighted(wOut, out);
  };
  expectGrad("group_norm dx", x, dx, loss);
  expectGrad("group_norm dw", w, dw, loss);
  EXPECT_FALSE(groupNormGrad(x.data(), w.data(), wOut.data(), T, D, 5, 1e-5, dx.data(),
                             dw.data()).ok());
}

TEST(CpuGradNorms, GatedRmsNormBothOrdersWithGroups) {
  for (bool nbg : {false, true}) {
    std::mt19937 rng(7);
    const int64_t T = 3, D = 8, groups = 2;
    Vec y = randn(T * D, rng), z = randn(T * D, rng), w = randn(D, rng), wOut = randn(T * D, rng);
    Vec dy(T * D), dz(T * D), dw(D);
    ASSERT_TRUE(gatedRmsNormGrad(y.data(), z.data(), w.data(), wOut.data(), T, D, groups, 1e-5,
                                 nbg, dy.data(), dz.data(), dw.data()).ok());
    auto loss = [&] {
      Vec out(T * D);
      EXPECT_TRUE(
          gatedRmsNorm(y.data(), z.data(), w.data(), T, D, groups, 1e-5, nbg, out.data()).ok());
      return weighted(wOut, out);
    };
    SCOPED_TRACE(nbg ? "norm_before_gate" : "gate first");
    expectGrad("gated_rmsnorm dy", y, dy, loss);
    expectGrad("gated_rmsnorm dz", z, dz, loss);
    expectGrad("gated_rmsnorm dw", w, dw, loss);
  }
}

//===----------------------------------------------------------------------===//
// Mamba-2 sequence ops
//===----------------------------------------------------------------------===//

TEST(CpuGradConv1d, DxDwDbias) {
  std::mt19937 rng(8);
  const int64_t B = 2, L = 6, C = 3, K = 4;
  Vec x = randn(B * L * C, rng), w = randn(C * K, rng), bias = randn(C, rng);
  Vec wOut = randn(B * L * C, rng), dx(B * L * C), dw(C * K), db(C);
  conv1dCausalGrad(x.data(), w.data(), wOut.data(), B, L, C, K, dx.data(), dw.data(), db.data());
  auto loss = [&] {
    Vec out(B * L * C);
    conv1dCausal(x.data(), w.data(), bias.data(), B, L, C, K, nullptr, out.data());
    return weighted(wOut, out);
  };
  expectGrad("conv1d dx", x, dx, loss);
  expectGrad("conv1d dw", w, dw, loss);
  expectGrad("conv1d dbias", bias, db, loss);
}

struct Scan {
  int64_t B = 2, L = 7, H = 4, P = 3, G = 2, N = 4;
  Vec x, dt, aLog, bm, cm, d, wOut;
  explicit Scan(std::mt19937 &rng) {
    x = randn(B * L * H * P, rng);
    dt = uniform(B * L * H, rng, 0.1, 0.8); // after softplus: positive
    aLog = randn(H, rng, 0.5);
    bm = randn(B * L * G * N, rng);
    cm = randn(B * L * G * N, rng);
    d = randn(H, rng);
    wOut = randn(B * L * H * P, rng);
  }
  double loss(bool withD, int64_t chunk) {
    Vec y(x.size());
    EXPECT_TRUE(ssdScan(x.data(), dt.data(), aLog.data(), bm.data(), cm.data(),
                        withD ? d.data() : nullptr, B, L, H, P, G, N, chunk, nullptr, y.data())
                    .ok());
    return weighted(wOut, y);
  }
  struct Grads {
    Vec dx, ddt, daLog, dbm, dcm, dd;
  };
  Grads grads(bool withD, int64_t chunk) {
    Grads g{Vec(x.size()), Vec(dt.size()), Vec(H), Vec(bm.size()), Vec(cm.size()), Vec(H, 5.0f)};
    EXPECT_TRUE(ssdScanGrad(x.data(), dt.data(), aLog.data(), bm.data(), cm.data(),
                            withD ? d.data() : nullptr, wOut.data(), B, L, H, P, G, N, chunk,
                            g.dx.data(), g.ddt.data(), g.daLog.data(), g.dbm.data(), g.dcm.data(),
                            g.dd.data())
                    .ok());
    return g;
  }
};

TEST(CpuGradSsdScan, AllSixGradientsGroupsAndRaggedChunks) {
  std::mt19937 rng(9);
  Scan s(rng); // G = 2 < H = 4; chunk 3 does not divide L = 7
  Scan::Grads g = s.grads(true, 3);
  auto loss = [&] { return s.loss(true, 3); };
  expectGrad("ssd_scan dx", s.x, g.dx, loss);
  expectGrad("ssd_scan ddt", s.dt, g.ddt, loss);
  expectGrad("ssd_scan daLog", s.aLog, g.daLog, loss);
  expectGrad("ssd_scan dB", s.bm, g.dbm, loss);
  expectGrad("ssd_scan dC", s.cm, g.dcm, loss);
  expectGrad("ssd_scan dD", s.d, g.dd, loss);
}

TEST(CpuGradSsdScan, ChunkOnlyChangesTheCheckpointsAndDIsOptional) {
  std::mt19937 rng(10);
  Scan s(rng);
  Scan::Grads ref = s.grads(true, 1);
  for (int64_t chunk : {2, 3, 7, 64}) {
    Scan::Grads g = s.grads(true, chunk);
    for (auto [a, b] : {std::pair{&g.dx, &ref.dx}, {&g.ddt, &ref.ddt}, {&g.daLog, &ref.daLog},
                        {&g.dbm, &ref.dbm}, {&g.dcm, &ref.dcm}, {&g.dd, &ref.dd}})
      for (size_t i = 0; i < a->size(); ++i)
        EXPECT_NEAR((*a)[i], (*b)[i], 1e-5 * (1.0 + std::fabs((*b)[i]))) << "chunk " << chunk;
  }
  // Without D: dx loses exactly the D * dy term, dd is left alone.
  Scan::Grads noD = s.grads(false, 3);
  for (size_t i = 0; i < noD.dx.size(); ++i) {
    int64_t h = (i / s.P) % s.H;
    EXPECT_NEAR(noD.dx[i] + s.d[h] * s.wOut[i], ref.dx[i], 1e-5 * (1.0 + std::fabs(ref.dx[i])));
  }
  EXPECT_EQ(noD.dd, Vec(s.H, 5.0f));
  auto loss = [&] { return s.loss(false, 3); };
  expectGrad("ssd_scan (no D) ddt", s.dt, noD.ddt, loss);
  EXPECT_FALSE(ssdScanGrad(s.x.data(), s.dt.data(), s.aLog.data(), s.bm.data(), s.cm.data(),
                           nullptr, s.wOut.data(), s.B, s.L, s.H, s.P, 3, s.N, 2, nullptr, nullptr,
                           nullptr, nullptr, nullptr, nullptr).ok());
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

TEST(CpuGradRope, Llama3PartialRotaryAndOffsets) {
  std::mt19937 rng(11);
  const int64_t B = 2, L = 5, H = 3, Dh = 8, rd = 6;
  RopeScaling s;
  s.kind = RopeScaling::Kind::Llama3;
  s.factor = 8.0, s.lowFreqFactor = 1.0, s.highFreqFactor = 4.0;
  s.originalMaxPosition = 16; // small, so the three bands occur with rd = 6
  const int64_t pos0[2] = {0, 11};
  Vec x = randn(B * L * H * Dh, rng), wOut = randn(x.size(), rng), dx(x.size());
  ASSERT_TRUE(ropeGrad(wOut.data(), B, L, H, Dh, pos0, 5000.0, s, rd, dx.data()).ok());
  auto loss = [&] {
    Vec out(x.size());
    EXPECT_TRUE(rope(x.data(), B, L, H, Dh, pos0, 5000.0, s, rd, out.data()).ok());
    return weighted(wOut, out);
  };
  expectGrad("rope (llama3, rd < Dh) dx", x, dx, loss);
  // Channels >= rd pass the gradient through unchanged.
  for (int64_t r = 0; r < B * L * H; ++r)
    for (int64_t e = rd; e < Dh; ++e)
      EXPECT_EQ(dx[r * Dh + e], wOut[r * Dh + e]);
  // In place, and the inverse: rope(ropeGrad(g)) == g.
  Vec g = wOut, back(g.size());
  ASSERT_TRUE(ropeGrad(g.data(), B, L, H, Dh, pos0, 5000.0, s, rd, g.data()).ok());
  EXPECT_EQ(g, dx);
  ASSERT_TRUE(rope(g.data(), B, L, H, Dh, pos0, 5000.0, s, rd, back.data()).ok());
  for (size_t i = 0; i < g.size(); ++i)
    EXPECT_NEAR(back[i], wOut[i], 1e-6);
  EXPECT_FALSE(ropeGrad(wOut.data(), B, L, H, Dh, pos0, 5000.0, s, 5, dx.data()).ok());
}

TEST(CpuGradRope, LinearScalingFullRotary) {
  std::mt19937 rng(12);
  const int64_t B = 1, L = 6, H = 2, Dh = 4;
  RopeScaling s;
  s.kind = RopeScaling::Kind::Linear;
  s.factor = 2.0;
  Vec x = randn(B * L * H * Dh, rng), wOut = randn(x.size(), rng), dx(x.size());
  ASSERT_TRUE(ropeGrad(wOut.data(), B, L, H, Dh, nullptr, 100.0, s, 0, dx.data()).ok());
  auto loss = [&] {
    Vec out(x.size());
    EXPECT_TRUE(rope(x.data(), B, L, H, Dh, nullptr, 100.0, s, 0, out.data()).ok());
    return weighted(wOut, out);
  };
  expectGrad("rope (linear) dx", x, dx, loss);
}

void checkAttention(uint32_t seed, int64_t Hq, int64_t Hkv, int64_t window, double scale) {
  std::mt19937 rng(seed);
  const int64_t B = 2, L = 7, Dh = 5;
  Vec q = randn(B * L * Hq * Dh, rng), k = randn(B * L * Hkv * Dh, rng),
      v = randn(B * L * Hkv * Dh, rng), wOut = randn(q.size(), rng);
  Vec dq(q.size()), dk(k.size()), dv(v.size());
  ASSERT_TRUE(attentionGrad(q.data(), k.data(), v.data(), wOut.data(), B, L, Hq, Hkv, Dh, window,
                            scale, dq.data(), dk.data(), dv.data()).ok());
  auto loss = [&] {
    Vec out(q.size());
    EXPECT_TRUE(attention(q.data(), k.data(), v.data(), B, L, Hq, Hkv, Dh, window, scale, nullptr,
                          nullptr, 0, nullptr, out.data()).ok());
    return weighted(wOut, out);
  };
  expectGrad("attention dq", q, dq, loss);
  expectGrad("attention dk", k, dk, loss);
  expectGrad("attention dv", v, dv, loss);
}

TEST(CpuGradAttention, GqaWithWindow) {
  SCOPED_TRACE("Hq 4, Hkv 2, window 3, default scale");
  checkAttention(13, 4, 2, 3, 0.0);
}
TEST(CpuGradAttention, FullCausalExplicitScaleMqa) {
  SCOPED_TRACE("Hq 3, Hkv 1, window 0, scale 0.7");
  checkAttention(14, 3, 1, 0, 0.7);
}
TEST(CpuGradAttention, BadHeads) {
  Vec a(8);
  EXPECT_FALSE(attentionGrad(a.data(), a.data(), a.data(), a.data(), 1, 1, 3, 2, 1, 0, 0.0,
                             a.data(), a.data(), a.data()).ok());
}

//===----------------------------------------------------------------------===//
// Element-wise, broadcast, combine, split
//===----------------------------------------------------------------------===//

void checkUnary(const char *what, Vec x, void (*fwd)(const float *, int64_t, float *),
                void (*bwd)(const float *, const float *, int64_t, float *)) {
  std::mt19937 rng(15);
  Vec wOut = randn(x.size(), rng), dx(x.size());
  bwd(x.data(), wOut.data(), x.size(), dx.data());
  auto loss = [&] {
    Vec out(x.size());
    fwd(x.data(), x.size(), out.data());
    return weighted(wOut, out);
  };
  expectGrad(what, x, dx, loss);
}

TEST(CpuGradElementwise, SiluSoftplusRelu2) {
  std::mt19937 rng(16);
  checkUnary("silu dx", randn(40, rng, 2.0), silu, siluGrad);
  Vec sp = randn(40, rng, 3.0);
  sp[0] = 25.0f, sp[1] = -30.0f, sp[2] = 21.0f; // both sides of the threshold 20
  checkUnary("softplus dx", sp, softplus, softplusGrad);
  Vec r = randn(40, rng, 2.0);
  for (float &v : r) // keep clear of the kink at 0
    if (std::fabs(v) < 0.05f)
      v = 0.3f;
  checkUnary("relu2 dx", r, relu2, relu2Grad);
}

TEST(CpuGradElementwise, ClampScaleSwiglu) {
  std::mt19937 rng(17);
  const int64_t n = 30;
  Vec x = randn(n, rng, 2.0), wOut = randn(n, rng), dx(n);
  for (float &v : x) // keep clear of the bounds -1 and 1.5
    if (std::fabs(v + 1.0f) < 0.05f || std::fabs(v - 1.5f) < 0.05f)
      v = 0.2f;
  clampGrad(x.data(), wOut.data(), n, -1.0, 1.5, dx.data());
  auto lc = [&] {
    Vec out(n);
    clamp(x.data(), n, -1.0, 1.5, out.data());
    return weighted(wOut, out);
  };
  expectGrad("clamp dx", x, dx, lc);
  for (int64_t i = 0; i < n; ++i)
    EXPECT_EQ(dx[i], x[i] < -1.0f || x[i] > 1.5f ? 0.0f : wOut[i]);

  scaleGrad(wOut.data(), n, -0.75, dx.data());
  auto ls = [&] {
    Vec out(n);
    scale(x.data(), n, -0.75, out.data());
    return weighted(wOut, out);
  };
  expectGrad("scale dx", x, dx, ls);

  Vec g = randn(n, rng, 2.0), u = randn(n, rng), dg(n), du(n);
  swigluGrad(g.data(), u.data(), wOut.data(), n, dg.data(), du.data());
  auto lw = [&] {
    Vec out(n);
    swiglu(g.data(), u.data(), n, out.data());
    return weighted(wOut, out);
  };
  expectGrad("swiglu dgate", g, dg, lw);
  expectGrad("swiglu dup", u, du, lw);
}

TEST(CpuGradBroadcast, AddMulReduceTheBroadcastDims) {
  const std::vector<int64_t> lhsShape = {2, 3, 4};
  const std::vector<std::vector<int64_t>> rhsShapes = {{2, 3, 4}, {3, 4}, {3, 1}, {4}, {1}, {}};
  for (const auto &rs : rhsShapes) {
    std::mt19937 rng(18);
    int64_t rn = 1;
    for (int64_t d : rs)
      rn *= d;
    Vec l = randn(24, rng), r = randn(rn, rng), wOut = randn(24, rng);
    for (bool isMul : {false, true}) {
      SCOPED_TRACE(std::string(isMul ? "mul" : "add") + " rhs rank " + std::to_string(rs.size()) +
                   " numel " + std::to_string(rn));
      Vec dl(24), dr(rn);
      Status st = isMul ? mulGrad(l.data(), lhsShape.data(), 3, r.data(), rs.data(),
                                  (int)rs.size(), wOut.data(), dl.data(), dr.data())
                        : addGrad(lhsShape.data(), 3, rs.data(), (int)rs.size(), wOut.data(),
                                  dl.data(), dr.data());
      ASSERT_TRUE(st.ok()) << st.toString();
      auto loss = [&] {
        Vec out(24);
        Status s = isMul ? mul(l.data(), lhsShape.data(), 3, r.data(), rs.data(), (int)rs.size(),
                               out.data())
                         : add(l.data(), lhsShape.data(), 3, r.data(), rs.data(), (int)rs.size(),
                               out.data());
        EXPECT_TRUE(s.ok());
        return weighted(wOut, out);
      };
      expectGrad("lhs", l, dl, loss);
      expectGrad("rhs", r, dr, loss);
    }
  }
  const int64_t bad[1] = {3};
  Vec g(24), d(24);
  Status s = addGrad(lhsShape.data(), 3, bad, 1, g.data(), d.data(), d.data());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("[3]"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("[2x3x4]"), std::string::npos) << s.message();
}

TEST(CpuGradCombine, EveryMode) {
  const int64_t T = 3;
  for (CombineMode m : {CombineMode::Add, CombineMode::Mean, CombineMode::Diff,
                        CombineMode::Concat}) {
    std::mt19937 rng(19);
    const int64_t Da = m == CombineMode::Concat ? 3 : 4, Db = m == CombineMode::Concat ? 5 : 4;
    const int64_t Do = m == CombineMode::Concat ? Da + Db : Da;
    Vec a = randn(T * Da, rng), b = randn(T * Db, rng), wOut = randn(T * Do, rng);
    Vec da(T * Da), db(T * Db);
    ASSERT_TRUE(combineGrad(wOut.data(), T, Da, Db, m, da.data(), db.data()).ok());
    auto loss = [&] {
      Vec out(T * Do);
      EXPECT_TRUE(combine(a.data(), b.data(), T, Da, Db, m, out.data()).ok());
      return weighted(wOut, out);
    };
    SCOPED_TRACE(static_cast<int>(m));
    expectGrad("combine da", a, da, loss);
    expectGrad("combine db", b, db, loss);
  }
  Vec g(12), d(12);
  EXPECT_FALSE(combineGrad(g.data(), 2, 2, 3, CombineMode::Diff, d.data(), d.data()).ok());
}

TEST(CpuGradSplit, PiecesSideBySideAbsentPieceIsZero) {
  std::mt19937 rng(20);
  const int64_t T = 3, D = 6;
  const int64_t sizes[3] = {2, 3, 1};
  Vec x = randn(T * D, rng), w0 = randn(T * 2, rng), w2 = randn(T * 1, rng), dx(T * D, 4.0f);
  const float *douts[3] = {w0.data(), nullptr, w2.data()}; // piece 1 unused
  ASSERT_TRUE(splitGrad(douts, T, D, sizes, 3, dx.data()).ok());
  auto loss = [&] {
    Vec p0(T * 2), p1(T * 3), p2(T);
    float *outs[3] = {p0.data(), p1.data(), p2.data()};
    EXPECT_TRUE(split(x.data(), T, D, sizes, 3, outs).ok());
    return weighted(w0, p0) + weighted(w2, p2);
  };
  expectGrad("split dx", x, dx, loss);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 2; i < 5; ++i)
      EXPECT_EQ(dx[t * D + i], 0.0f);
  const int64_t badSizes[2] = {2, 3};
  EXPECT_FALSE(splitGrad(douts, T, D, badSizes, 2, dx.data()).ok());
}

} // namespace
