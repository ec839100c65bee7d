//===- FusedOpsTest.cpp - each fused CPU kernel vs its unfused op group ---===//
//
// The reference of each fused op is written out here as the op group the
// fusion pass replaces (the decomposition's op order, unfused kernels of
// CpuKernels.h, every intermediate materialised); the fused kernel, reached
// through an OpContext as the executor calls it, must match to 1e-5
// relative. Both operand conventions of optional operands (-1 / omitted +
// operandSegmentSizes) are exercised, and the stateful mamba2_core is checked
// for prefill + decode == one pass.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/FusedOps.h"

#include "runtime/cpu/CpuKernels.h"

#include "tests/unit/runtime/KernelTestUtil.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

using namespace hybrid;

namespace {

using namespace hybrid::ktest;


TensorRef absent() { return TensorRef(); }

constexpr double kTol = 1e-5;
constexpr int64_t B = 2, L = 7, T = B * L;

TEST(FusedOps, RopeAttentionEqualsRopeThenAttention) {
  std::mt19937 rng(1);
  const int64_t Hq = 4, Hk = 2, D = 16;
  Vec q = randn(T * Hq * D, rng), k = randn(T * Hk * D, rng), v = randn(T * Hk * D, rng);
  cpu::RopeScaling s;
  s.kind = cpu::RopeScaling::Kind::Linear;
  s.factor = 2.0;
  Vec qr(q.size()), kr(k.size()), want(q.size());
  ASSERT_TRUE(cpu::rope(q.data(), B, L, Hq, D, nullptr, 500000.0, s, 8, qr.data()).ok());
  ASSERT_TRUE(cpu::rope(k.data(), B, L, Hk, D, nullptr, 500000.0, s, 8, kr.data()).ok());
  ASSERT_TRUE(cpu::attention(qr.data(), kr.data(), v.data(), B, L, Hq, Hk, D, 3, 0.2, nullptr,
                             nullptr, 0, nullptr, want.data()).ok());
  Vec got(q.size());
  OpContext c;
  c.op = "rope_attention", c.batch = B, c.seq = L;
  c.inputs = {ref(q, {B, L, Hq, D}), ref(k, {B, L, Hk, D}), ref(v, {B, L, Hk, D})};
  c.outputs = {ref(got, {B, L, Hq, D})};
  c.attrs = {{"theta", f64(500000.0)}, {"rotary_dim", i64(8)}, {"window", i64(3)},
             {"scale", f64(0.2)}, {"scaling.type", str("linear")}, {"scaling.factor", f64(2.0)}};
  ASSERT_TRUE(runRopeAttention(c).ok());
  EXPECT_LE(maxRelErr(got, want), kTol);
  // The rotation matters: plain attention on unrotated q/k differs.
  Vec plain(q.size());
  ASSERT_TRUE(cpu::attention(q.data(), k.data(), v.data(), B, L, Hq, Hk, D, 3, 0.2, nullptr,
                             nullptr, 0, nullptr, plain.data()).ok());
  EXPECT_GT(maxRelErr(got, plain), 1e-2);
}

// Mamba-2 shapes: 4 heads of 8, 2 groups of state 4, conv width 4.
struct Mamba {
  static constexpr int64_t H = 4, P = 8, G = 2, N = 4, K = 4;
  static constexpr int64_t inner = H * P, gn = G * N, convDim = inner + 2 * gn,
                           width = inner + convDim + H;
  Vec zxbcdt, cw, cb, dtBias, aLog, d, nw;
  explicit Mamba(std::mt19937 &rng, int64_t tokens)
      : zxbcdt(randn(tokens * width, rng)), cw(randn(convDim * K, rng, 0.5)),
        cb(randn(convDim, rng, 0.1)), dtBias(randn(H, rng, 0.5)), aLog(randn(H, rng, 0.3)),
        d(randn(H, rng)), nw(randn(inner, rng)) {}

  /// The decomposition's op group, op by op.
  Vec reference(int64_t b, int64_t l, bool gated, float *conv, float *ssm) {
    int64_t t = b * l;
    Vec z(t * inner), xbc(t * convDim), dt(t * H);
    int64_t s1[3] = {inner, convDim, H};
    float *o1[3] = {z.data(), xbc.data(), dt.data()};
    EXPECT_TRUE(cpu::split(zxbcdt.data(), t, width, s1, 3, o1).ok());
    Vec c(t * convDim), cs(t * convDim);
    cpu::conv1dCausal(xbc.data(), cw.data(), cb.data(), b, l, convDim, K, conv, c.data());
    cpu::silu(c.data(), c.size(), cs.data());
    Vec x(t * inner), bm(t * gn), cm(t * gn);
    int64_t s2[3] = {inner, gn, gn};
    float *o2[3] = {x.data(), bm.data(), cm.data()};
    EXPECT_TRUE(cpu::split(cs.data(), t, convDim, s2, 3, o2).ok());
    Vec dt1(t * H), dt2(t * H), dt3(t * H);
    int64_t sh[2] = {t, H}, bs[1] = {H};
    EXPECT_TRUE(cpu::add(dt.data(), sh, 2, dtBias.data(), bs, 1, dt1.data()).ok());
    cpu::softplus(dt1.data(), dt1.size(), dt2.data());
    cpu::clamp(dt2.data(), dt2.size(), 0.001, 0.5, dt3.data());
    Vec y(t * inner), out(t * inner);
    EXPECT_TRUE(cpu::ssdScan(x.data(), dt3.data(), aLog.data(), bm.data(), cm.data(), d.data(), b,
                             l, H, P, G, N, 3, ssm, y.data()).ok());
    if (gated) {
      EXPECT_TRUE(cpu::gatedRmsNorm(y.data(), z.data(), nw.data(), t, inner, 2, 1e-5, false,
                                    out.data()).ok());
    } else {
      Vec sz(t * inner);
      cpu::silu(z.data(), sz.size(), sz.data());
      int64_t ys[2] = {t, inner};
      EXPECT_TRUE(cpu::mul(y.data(), ys, 2, sz.data(), ys, 2, out.data()).ok());
    }
    return out;
  }

  OpContext context(int64_t b, int64_t l, bool gated, Vec &out) {
    OpContext c;
    c.op = "mamba2_core", c.batch = b, c.seq = l;
    c.inputs = {ref(zxbcdt, {b, l, width}), ref(cw, {convDim, 1, K}), ref(cb, {convDim}),
                ref(dtBias, {H}), ref(aLog, {H}), ref(d, {H}),
                gated ? ref(nw, {inner}) : absent()};
    c.outputs = {ref(out, {b, l, inner})};
    c.attrs = {{"heads", i64(H)}, {"head_dim", i64(P)}, {"groups", i64(G)}, {"state", i64(N)},
               {"chunk", i64(3)}, {"dt_limit", floats({1.000000e-03, 5.000000e-01})},
               {"norm_groups", i64(2)}, {"eps", f64(1e-5)}};
    return c;
  }
};

TEST(FusedOps, Mamba2CoreEqualsOpGroup) {
  std::mt19937 rng(2);
  for (bool gated : {true, false}) {
    Mamba m(rng, T);
    Vec want = m.reference(B, L, gated, nullptr, nullptr), got(want.size());
    OpContext c = m.context(B, L, gated, got);
    ASSERT_TRUE(runMamba2Core(c).ok()) << "gated " << gated;
    EXPECT_LE(maxRelErr(got, want), kTol) << "gated " << gated;
  }
}

TEST(FusedOps, Mamba2CoreThreePartsAndOmittedOptionals) {
  std::mt19937 rng(3);
  Mamba m(rng, T);
  Vec want = m.reference(B, L, false, nullptr, nullptr);
  // Pieces instead of the whole in_proj output; no norm, omitted (not -1),
  // located by operandSegmentSizes as the printed attribute.
  Vec z(T * Mamba::inner), xbc(T * Mamba::convDim), dt(T * Mamba::H);
  int64_t s[3] = {Mamba::inner, Mamba::convDim, Mamba::H};
  float *o[3] = {z.data(), xbc.data(), dt.data()};
  ASSERT_TRUE(cpu::split(m.zxbcdt.data(), T, Mamba::width, s, 3, o).ok());
  Vec got(want.size());
  OpContext c = m.context(B, L, false, got);
  c.inputs = {ref(z, {B, L, Mamba::inner}), ref(xbc, {B, L, Mamba::convDim}),
              ref(dt, {B, L, Mamba::H}), c.inputs[1], c.inputs[2], c.inputs[3], c.inputs[4],
              c.inputs[5]};
  c.attrs["operandSegmentSizes"] = ints({3, 1, 1, 1, 1, 1, 0});
  ASSERT_TRUE(runMamba2Core(c).ok());
  EXPECT_LE(maxRelErr(got, want), kTol);
}

TEST(FusedOps, Mamba2CorePrefillThenDecodeEqualsOnePass) {
  std::mt19937 rng(4);
  const int64_t b = 1, l = 6;
  Mamba m(rng, b * l);
  Vec full(b * l * Mamba::inner);
  OpContext c = m.context(b, l, true, full);
  ASSERT_TRUE(runMamba2Core(c).ok());
  // Prefill 5 tokens, then decode the 6th with the conv and SSM states.
  Vec conv((Mamba::K - 1) * Mamba::convDim, 0.f), ssm(Mamba::H * Mamba::P * Mamba::N, 0.f);
  CacheRef cache;
  cache.conv = conv.data(), cache.ssm = ssm.data();
  Mamba head = m, tail = m;
  head.zxbcdt.resize(5 * Mamba::width);
  tail.zxbcdt.assign(m.zxbcdt.begin() + 5 * Mamba::width, m.zxbcdt.end());
  Vec out5(5 * Mamba::inner), out1(Mamba::inner);
  OpContext p = head.context(b, 5, true, out5);
  p.cache = &cache;
  ASSERT_TRUE(runMamba2Core(p).ok());
  OpContext d = tail.context(b, 1, true, out1);
  d.cache = &cache;
  ASSERT_TRUE(runMamba2Core(d).ok());
  Vec lastFull(full.end() - Mamba::inner, full.end());
  EXPECT_LE(maxRelErr(out1, lastFull), 1e-4);
  EXPECT_LE(maxRelErr(out5, Vec(full.begin(), full.begin() + 5 * Mamba::inner)), kTol);
}

TEST(FusedOps, LinearGroupEqualsSeparateScaledLinears) {
  std::mt19937 rng(5);
  const int64_t K = 12;
  std::vector<int64_t> ns = {8, 4, 6};
  Vec x = randn(T * K, rng);
  std::vector<Vec> ws, bs, outs;
  std::vector<double> scales = {0.5, 0.125, 1.5};
  OpContext c;
  c.op = "linear_group";
  c.inputs.push_back(ref(x, {B, L, K}));
  for (int64_t n : ns) {
    ws.push_back(randn(n * K, rng));
    bs.push_back(randn(n, rng));
    outs.emplace_back(T * n);
  }
  for (size_t i = 0; i < ns.size(); ++i)
    c.inputs.push_back(ref(ws[i], {ns[i], K}));
  for (size_t i = 0; i < ns.size(); ++i)
    c.inputs.push_back(ref(bs[i], {ns[i]}));
  for (size_t i = 0; i < ns.size(); ++i)
    c.outputs.push_back(ref(outs[i], {B, L, ns[i]}));
  c.attrs["scales"] = floats({5.000000e-01, 1.250000e-01, 1.500000e+00});
  ASSERT_TRUE(runLinearGroup(c).ok());
  for (size_t i = 0; i < ns.size(); ++i) {
    Vec y(T * ns[i]), want(T * ns[i]);
    cpu::linear(x.data(), ws[i].data(), bs[i].data(), T, K, ns[i], y.data());
    cpu::scale(y.data(), y.size(), scales[i], want.data());
    EXPECT_LE(maxRelErr(outs[i], want), kTol) << "result " << i;
  }
}

TEST(FusedOps, LinearSumEqualsScaledProjectionsAdded) {
  std::mt19937 rng(6);
  const int64_t Ka = 8, Kb = 12, N = 10;
  Vec a = randn(T * Ka, rng), b = randn(T * Kb, rng), wa = randn(N * Ka, rng),
      wb = randn(N * Kb, rng), got(T * N);
  OpContext c;
  c.op = "linear_sum";
  c.inputs = {ref(a, {B, L, Ka}), ref(b, {B, L, Kb}), ref(wa, {N, Ka}), ref(wb, {N, Kb})};
  c.outputs = {ref(got, {B, L, N})};
  c.attrs["scales"] = floats({7.500000e-01, -1.250000e+00});
  ASSERT_TRUE(runLinearSum(c).ok());
  Vec pa(T * N), pb(T * N), sa(T * N), sb(T * N), want(T * N);
  cpu::linear(a.data(), wa.data(), nullptr, T, Ka, N, pa.data());
  cpu::linear(b.data(), wb.data(), nullptr, T, Kb, N, pb.data());
  cpu::scale(pa.data(), pa.size(), 0.75, sa.data());
  cpu::scale(pb.data(), pb.size(), -1.25, sb.data());
  ASSERT_TRUE(cpu::combine(sa.data(), sb.data(), T, N, N, cpu::CombineMode::Add, want.data()).ok());
  EXPECT_LE(maxRelErr(got, want), kTol);
}

TEST(FusedOps, BranchCombineEqualsNormsScalesCombine) {
  std::mt19937 rng(7);
  const int64_t Da = 16, Db = 24;
  Vec a = randn(T * Da, rng, 3.0), b = randn(T * Db, rng, 0.2), wa = randn(Da, rng),
      wb = randn(Db, rng);
  struct Case { const char *norm, *mode; cpu::CombineMode m; };
  for (Case k : {Case{"group", "concat", cpu::CombineMode::Concat},
                 Case{"rms", "concat", cpu::CombineMode::Concat}}) {
    bool group = std::string(k.norm) == "group";
    Vec got(T * (Da + Db));
    OpContext c;
    c.op = "branch_combine";
    c.inputs = {ref(a, {B, L, Da}), ref(b, {B, L, Db}), ref(wa, {Da}), ref(wb, {Db})};
    c.outputs = {ref(got, {B, L, Da + Db})};
    c.attrs = {{"norm", str(k.norm)}, {"mode", str(k.mode)}, {"groups_a", i64(4)},
               {"groups_b", i64(3)}, {"eps", f64(1e-5)}, {"scale_a", f64(0.5)},
               {"scale_b", f64(2.0)}};
    ASSERT_TRUE(runBranchCombine(c).ok());
    Vec na(T * Da), nb(T * Db), sa(T * Da), sb(T * Db), want(T * (Da + Db));
    if (group) {
      ASSERT_TRUE(cpu::groupNorm(a.data(), wa.data(), T, Da, 4, 1e-5, na.data()).ok());
      ASSERT_TRUE(cpu::groupNorm(b.data(), wb.data(), T, Db, 3, 1e-5, nb.data()).ok());
    } else {
      cpu::rmsnorm(a.data(), wa.data(), T, Da, 1e-5, na.data());
      cpu::rmsnorm(b.data(), wb.data(), T, Db, 1e-5, nb.data());
    }
    cpu::scale(na.data(), na.size(), 0.5, sa.data());
    cpu::scale(nb.data(), nb.size(), 2.0, sb.data());
    ASSERT_TRUE(cpu::combine(sa.data(), sb.data(), T, Da, Db, k.m, want.data()).ok());
    EXPECT_LE(maxRelErr(got, want), kTol) << k.norm;
  }
  // diff of equal widths.
  Vec b2 = randn(T * Da, rng), got(T * Da), na(T * Da), nb(T * Da), want(T * Da);
  OpContext c;
  c.op = "branch_combine";
  c.inputs = {ref(a, {B, L, Da}), ref(b2, {B, L, Da}), ref(wa, {Da}), ref(wa, {Da})};
  c.outputs = {ref(got, {B, L, Da})};
  c.attrs = {{"norm", str("rms")}, {"mode", str("diff")}, {"eps", f64(1e-5)}};
  ASSERT_TRUE(runBranchCombine(c).ok());
  cpu::rmsnorm(a.data(), wa.data(), T, Da, 1e-5, na.data());
  cpu::rmsnorm(b2.data(), wa.data(), T, Da, 1e-5, nb.data());
  ASSERT_TRUE(cpu::combine(na.data(), nb.data(), T, Da, Da, cpu::CombineMode::Diff, want.data()).ok());
  EXPECT_LE(maxRelErr(got, want), kTol);
}

TEST(FusedOps, AddRmsNormByHand) {
  // One row: sum = [3, 4] -> rms = sqrt(12.5); normed = sum / rms * w.
  Vec l = {1, 2}, r = {2, 2}, w = {1, 2}, sum(2), normed(2);
  OpContext c;
  c.op = "add_rmsnorm";
  c.inputs = {ref(l, {1, 1, 2}), ref(r, {1, 1, 2}), ref(w, {2})};
  c.outputs = {ref(sum, {1, 1, 2}), ref(normed, {1, 1, 2})};
  c.attrs = {{"eps", f64(1e-6)}};
  ASSERT_TRUE(runAddRmsNorm(c).ok());
  EXPECT_FLOAT_EQ(sum[0], 3.f);
  EXPECT_FLOAT_EQ(sum[1], 4.f);
  double rms = std::sqrt(12.5 + 1e-6);
  EXPECT_NEAR(normed[0], 3.0 / rms, 1e-6);
  EXPECT_NEAR(normed[1], 8.0 / rms, 1e-6);
}

TEST(FusedOps, AddRmsNormEqualsAddThenNorm) {
  std::mt19937 rng(8);
  const int64_t D = 32;
  Vec l = randn(T * D, rng), r = randn(T * D, rng), w = randn(D, rng), sum(T * D), n(T * D);
  OpContext c;
  c.op = "add_rmsnorm";
  c.inputs = {ref(l, {B, L, D}), ref(r, {B, L, D}), ref(w, {D})};
  c.outputs = {ref(sum, {B, L, D}), ref(n, {B, L, D})};
  c.attrs = {{"eps", f64(1e-5)}};
  ASSERT_TRUE(runAddRmsNorm(c).ok());
  Vec ws(T * D), wn(T * D);
  int64_t sh[3] = {B, L, D};
  ASSERT_TRUE(cpu::add(l.data(), sh, 3, r.data(), sh, 3, ws.data()).ok());
  cpu::rmsnorm(ws.data(), w.data(), T, D, 1e-5, wn.data());
  EXPECT_LE(maxRelErr(sum, ws), kTol);
  EXPECT_LE(maxRelErr(n, wn), kTol);
}

TEST(FusedOps, FusedLinearEqualsLinearScaleResidual) {
  std::mt19937 rng(9);
  const int64_t K = 16, N = 8;
  Vec x = randn(T * K, rng), w = randn(N * K, rng), bias = randn(N, rng), res = randn(T * N, rng);
  Vec y(T * N), ys(T * N), want(T * N), wantNoRes(T * N);
  int64_t sh[2] = {T, N};
  cpu::linear(x.data(), w.data(), bias.data(), T, K, N, y.data());
  cpu::scale(y.data(), y.size(), 0.5, ys.data());
  ASSERT_TRUE(cpu::add(res.data(), sh, 2, ys.data(), sh, 2, want.data()).ok());
  // -1 convention: bias and residual present, then bias absent (-1).
  Vec got(T * N);
  OpContext c;
  c.op = "fused_linear";
  c.inputs = {ref(x, {B, L, K}), ref(w, {N, K}), ref(bias, {N}), ref(res, {B, L, N})};
  c.outputs = {ref(got, {B, L, N})};
  c.attrs = {{"scale", f64(0.5)}};
  ASSERT_TRUE(runFusedLinear(c).ok());
  EXPECT_LE(maxRelErr(got, want), kTol);
  // Bias only, residual omitted; located by operandSegmentSizes.
  c.inputs.pop_back();
  c.attrs["operandSegmentSizes"] = ints({1, 1, 1, 0});
  ASSERT_TRUE(runFusedLinear(c).ok());
  EXPECT_LE(maxRelErr(got, ys), kTol);
  // Residual only, bias -1.
  c.inputs = {ref(x, {B, L, K}), ref(w, {N, K}), absent(), ref(res, {B, L, N})};
  c.attrs.erase("operandSegmentSizes");
  ASSERT_TRUE(runFusedLinear(c).ok());
  cpu::linear(x.data(), w.data(), nullptr, T, K, N, y.data());
  cpu::scale(y.data(), y.size(), 0.5, ys.data());
  ASSERT_TRUE(cpu::add(res.data(), sh, 2, ys.data(), sh, 2, wantNoRes.data()).ok());
  EXPECT_LE(maxRelErr(got, wantNoRes), kTol);
}

TEST(FusedOps, SwigluLinearEqualsSwigluOfScaledLinears) {
  std::mt19937 rng(10);
  const int64_t K = 16, N = 24;
  Vec x = randn(T * K, rng), wg = randn(N * K, rng), wu = randn(N * K, rng), bg = randn(N, rng),
      bu = randn(N, rng);
  for (bool biased : {false, true}) {
    Vec g(T * N), gs(T * N), u(T * N), want(T * N), got(T * N);
    cpu::linear(x.data(), wg.data(), biased ? bg.data() : nullptr, T, K, N, g.data());
    cpu::scale(g.data(), g.size(), 2.0, gs.data());
    cpu::linear(x.data(), wu.data(), biased ? bu.data() : nullptr, T, K, N, u.data());
    cpu::swiglu(gs.data(), u.data(), T * N, want.data());
    OpContext c;
    c.op = "swiglu_linear";
    c.inputs = {ref(x, {B, L, K}), ref(wg, {N, K}), ref(wu, {N, K})};
    if (biased) {
      c.inputs.push_back(ref(bg, {N}));
      c.inputs.push_back(ref(bu, {N}));
    }
    c.outputs = {ref(got, {B, L, N})};
    c.attrs = {{"gate_scale", f64(2.0)}};
    ASSERT_TRUE(runSwigluLinear(c).ok());
    EXPECT_LE(maxRelErr(got, want), kTol) << "biased " << biased;
  }
}

TEST(FusedOps, BadOperandsAreErrorsNotCrashes) {
  Vec x(4), out(4);
  OpContext c;
  c.op = "linear_group";
  c.inputs = {ref(x, {1, 1, 4})};
  c.outputs = {ref(out, {1, 1, 4})};
  Status s = runLinearGroup(c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("1 operands for 1 results"), std::string::npos) << s.message();
  c.op = "branch_combine";
  c.inputs = {ref(x, {1, 1, 4}), ref(x, {1, 1, 4}), ref(x, {4}), ref(x, {4})};
  c.attrs = {{"norm", str("none")}, {"mode", str("add")}};
  s = runBranchCombine(c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("norm must be rms or group, got 'none'"), std::string::npos);
}

} // namespace
