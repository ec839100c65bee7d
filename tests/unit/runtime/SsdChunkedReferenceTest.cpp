//===- SsdChunkedReferenceTest.cpp - chunked SSD backward = recurrence ----===//
//
// tests/gpu/kernels/SsdChunkedReference.h writes the Mamba-2 scan's
// gradients in the chunked form the CUDA backward will use (dh carried
// across chunks in reverse, products within a chunk). It must equal the
// reverse-time recurrence of the CPU reference (ssdScanGrad, itself checked
// against finite differences in CpuGradTest) for every chunk size, ragged
// last chunks, groups and an optional D.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/CpuGrad.h"
#include "tests/gpu/kernels/SsdChunkedReference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

using namespace hybrid;

namespace {

using Vec = std::vector<float>;

Vec random(size_t n, std::mt19937 &rng, float lo, float hi) {
  std::uniform_real_distribution<float> u(lo, hi);
  Vec v(n);
  for (float &f : v)
    f = u(rng);
  return v;
}

void expectClose(const std::string &what, const Vec &got, const Vec &want) {
  double md = 0, mr = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    md = std::max(md, (double)std::fabs(got[i] - want[i]));
    mr = std::max(mr, (double)std::fabs(want[i]));
  }
  EXPECT_LE(md, 1e-5 * std::max(mr, 1.0)) << what << ": max |diff| " << md << ", max |ref| " << mr;
}

struct Case {
  int64_t B, L, H, P, G, N, Q;
  bool withD;
};

class SsdChunkedReference : public ::testing::TestWithParam<Case> {};

TEST_P(SsdChunkedReference, EqualsTheRecurrence) {
  const Case c = GetParam();
  std::mt19937 rng(17 + c.L + c.Q);
  const int64_t nx = c.B * c.L * c.H * c.P, nbc = c.B * c.L * c.G * c.N;
  Vec x = random(nx, rng, -1, 1), dy = random(nx, rng, -1, 1);
  Vec dt = random(c.B * c.L * c.H, rng, 0.05f, 0.6f);  // after softplus: positive
  Vec aLog = random(c.H, rng, -0.5f, 1.5f), d = random(c.H, rng, -1, 1);
  Vec bm = random(nbc, rng, -1, 1), cm = random(nbc, rng, -1, 1);
  const float *dp = c.withD ? d.data() : nullptr;
  Vec rx(nx), rdt(dt.size()), raLog(c.H), rbm(nbc), rcm(nbc), rd(c.H, 0.f);
  ASSERT_TRUE(cpu::ssdScanGrad(x.data(), dt.data(), aLog.data(), bm.data(), cm.data(), dp,
                               dy.data(), c.B, c.L, c.H, c.P, c.G, c.N, 4, rx.data(), rdt.data(),
                               raLog.data(), rbm.data(), rcm.data(), rd.data())
                  .ok());
  Vec gx(nx, 9.f), gdt(dt.size(), 9.f), gaLog(c.H, 9.f), gbm(nbc, 9.f), gcm(nbc, 9.f),
      gd(c.H, 0.f);
  reference::ssdChunkedGrad(x.data(), dt.data(), aLog.data(), bm.data(), cm.data(), dp,
                            dy.data(), c.B, c.L, c.H, c.P, c.G, c.N, c.Q, gx.data(), gdt.data(),
                            gaLog.data(), gbm.data(), gcm.data(), gd.data());
  expectClose("dx", gx, rx);
  expectClose("ddt", gdt, rdt);
  expectClose("daLog", gaLog, raLog);
  expectClose("dB", gbm, rbm);
  expectClose("dC", gcm, rcm);
  if (c.withD)
    expectClose("dD", gd, rd);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, SsdChunkedReference,
    ::testing::Values(Case{1, 9, 2, 3, 1, 4, 4, true},     // ragged last chunk
                      Case{2, 16, 4, 4, 2, 5, 4, true},    // groups, whole chunks
                      Case{1, 7, 2, 3, 2, 4, 1, false},    // chunk 1: the recurrence itself
                      Case{2, 12, 3, 2, 1, 6, 32, true},   // one chunk longer than L
                      Case{1, 40, 2, 4, 1, 8, 8, false})); // many chunks, no D

} // namespace
