//===- FlashAttentionReferenceTest.cpp - tiled attention backward = CPU ---===//
//
// tests/gpu/kernels/FlashAttentionReference.h computes the attention
// gradients as the device backward will (log-sum-exp kept from the forward,
// P recomputed tile by tile, D_i = dO_i . O_i). It must equal the CPU
// reference's attentionGrad (checked against finite differences in
// CpuGradTest) for GQA, windows, ragged tiles and explicit scales.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/CpuGrad.h"
#include "tests/gpu/kernels/FlashAttentionReference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

using namespace hybrid;

namespace {

using Vec = std::vector<float>;

Vec random(size_t n, std::mt19937 &rng) {
  std::normal_distribution<float> nd(0.f, 1.f);
  Vec v(n);
  for (float &f : v)
    f = nd(rng);
  return v;
}

double relErr(const Vec &got, const Vec &want) {
  double md = 0, mr = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    md = std::max(md, (double)std::fabs(got[i] - want[i]));
    mr = std::max(mr, (double)std::fabs(want[i]));
  }
  return md / std::max(mr, 1e-30);
}

struct Case {
  int64_t B, L, Hq, Hkv, Dh, window, tile;
  double scale;
};

class FlashAttentionReference : public ::testing::TestWithParam<Case> {};

TEST_P(FlashAttentionReference, EqualsTheCpuBackward) {
  const Case c = GetParam();
  std::mt19937 rng(3 + c.L + c.tile);
  const int64_t nq = c.B * c.L * c.Hq * c.Dh, nk = c.B * c.L * c.Hkv * c.Dh;
  Vec q = random(nq, rng), k = random(nk, rng), v = random(nk, rng), dout = random(nq, rng);
  Vec rq(nq), rk(nk), rv(nk), gq(nq, 9.f), gk(nk, 9.f), gv(nk, 9.f);
  ASSERT_TRUE(cpu::attentionGrad(q.data(), k.data(), v.data(), dout.data(), c.B, c.L, c.Hq, c.Hkv,
                                 c.Dh, c.window, c.scale, rq.data(), rk.data(), rv.data())
                  .ok());
  reference::flashAttentionGrad(q.data(), k.data(), v.data(), dout.data(), c.B, c.L, c.Hq, c.Hkv,
                                c.Dh, c.window, c.scale, c.tile, gq.data(), gk.data(), gv.data());
  EXPECT_LE(relErr(gq, rq), 1e-5) << "dq";
  EXPECT_LE(relErr(gk, rk), 1e-5) << "dk";
  EXPECT_LE(relErr(gv, rv), 1e-5) << "dv";
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, FlashAttentionReference,
    ::testing::Values(Case{2, 37, 4, 2, 8, 0, 8, 0.0},    // GQA 2:1, ragged last tile
                      Case{1, 40, 4, 1, 16, 5, 16, 0.0},  // a window narrower than a tile
                      Case{2, 19, 2, 2, 8, 0, 64, 0.3},   // one tile longer than L, a scale
                      Case{1, 33, 6, 3, 4, 12, 4, 0.0})); // many tiles, window across tiles

} // namespace
