//===- FusedGradTest.cpp - "<op>.grad" kernels through OpContext ----------===//
//
// Every fused op's backward, and a selection of unfused ones, reached the way
// the executor reaches them: findCpuGradKernel(op) on an OpContext holding
// the forward inputs, the forward results and the result gradients. The
// oracle is the central difference of the op's registered FORWARD kernel
// (findCpuKernel, the fused kernel itself for fused ops) on
// L = sum_i sum(w_i * y_i) with random w_i, Richardson-extrapolated from
// steps h = 1e-2 and h/2 (the fused ops' third derivatives are large; the
// h^4 remainder is negligible). Tolerance 1e-3 of the largest gradient: the
// fp32 rounding noise of L (~1e-6 here) divided by the steps gives <~2e-4
// relative on the smallest gradients tested; observed ~1e-5..2e-4.
// Also checked: operand order, absent optional operands (-1 or omitted
// with operandSegmentSizes), absent result gradients (count as zero) and
// unwanted input gradients (!valid() outputs are skipped).
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/CpuGrad.h"
#include "runtime/exec/OpContext.h"

#include "tests/unit/runtime/KernelTestUtil.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>

using namespace hybrid;

namespace {

using namespace hybrid::ktest;

using Shape = std::vector<int64_t>;

constexpr double kH = 1e-2;
constexpr double kTol = 1e-3;

int64_t numel(const Shape &s) {
  int64_t n = 1;
  for (int64_t d : s)
    n *= d;
  return n;
}

/// One op instance: float operands (an empty shape with no data = absent,
/// passed as !valid()), result shapes and attributes.
struct OpCase {
  std::string op;
  int64_t batch = 0, seq = 0;
  std::vector<Vec> in;
  std::vector<Shape> inShape;
  std::vector<Shape> outShape;
  std::map<std::string, AttrValue> attrs;
  std::vector<bool> noGrad;      // input gradients not requested (!valid() outputs)
  std::vector<bool> dyAbsent;    // results nobody used (!valid() gradients)
  uint32_t seed = 1;

  void add(Vec v, Shape s) {
    in.push_back(std::move(v));
    inShape.push_back(std::move(s));
  }
  void absentOperand() { add(Vec(), Shape()); }
  bool present(size_t i) const { return !in[i].empty(); }
};

OpContext forwardContext(OpCase &c, std::vector<Vec> &ys) {
  OpContext ctx;
  ctx.op = c.op, ctx.batch = c.batch, ctx.seq = c.seq, ctx.attrs = c.attrs;
  for (size_t i = 0; i < c.in.size(); ++i)
    ctx.inputs.push_back(c.present(i) ? ref(c.in[i], c.inShape[i]) : TensorRef());
  ys.resize(c.outShape.size());
  for (size_t i = 0; i < c.outShape.size(); ++i) {
    ys[i].assign(numel(c.outShape[i]), 0.0f);
    ctx.outputs.push_back(ref(ys[i], c.outShape[i]));
  }
  return ctx;
}

/// Runs "<op>.grad" and compares each requested input gradient with
/// central differences of the forward kernel.
void checkOp(OpCase &c) {
  SCOPED_TRACE(c.op);
  CpuKernelFn fwd = findCpuKernel(c.op), bwd = findCpuGradKernel(c.op);
  ASSERT_NE(fwd, nullptr);
  ASSERT_NE(bwd, nullptr);
  c.noGrad.resize(c.in.size(), false);
  c.dyAbsent.resize(c.outShape.size(), false);
  std::mt19937 rng(c.seed + 1000);
  std::vector<Vec> wOut;
  for (const Shape &s : c.outShape)
    wOut.push_back(randn(numel(s), rng));

  auto loss = [&]() -> double {
    std::vector<Vec> ys;
    OpContext ctx = forwardContext(c, ys);
    Status st = fwd(ctx);
    EXPECT_TRUE(st.ok()) << st.toString();
    double l = 0.0;
    for (size_t i = 0; i < ys.size(); ++i)
      if (!c.dyAbsent[i])
        for (size_t k = 0; k < ys[i].size(); ++k)
          l += static_cast<double>(wOut[i][k]) * ys[i][k];
    return l;
  };

  // The backward context: x..., y..., dy...; outputs = dx... (NaN-filled:
  // every element must be overwritten).
  std::vector<Vec> ys;
  OpContext g = forwardContext(c, ys);
  ASSERT_TRUE(fwd(g).ok());
  g.op = c.op + ".grad";
  for (TensorRef &y : g.outputs)
    g.inputs.push_back(y);
  for (size_t i = 0; i < wOut.size(); ++i)
    g.inputs.push_back(c.dyAbsent[i] ? TensorRef() : ref(wOut[i], c.outShape[i]));
  std::vector<Vec> dx(c.in.size());
  g.outputs.clear();
  for (size_t i = 0; i < c.in.size(); ++i) {
    bool want = c.present(i) && !c.noGrad[i];
    dx[i].assign(want ? c.in[i].size() : 0, NAN);
    g.outputs.push_back(want ? ref(dx[i], c.inShape[i]) : TensorRef());
  }
  Status st = bwd(g);
  ASSERT_TRUE(st.ok()) << st.toString();

  for (size_t i = 0; i < c.in.size(); ++i) {
    if (dx[i].empty())
      continue;
    Vec &x = c.in[i];
    Vec num(x.size());
    for (size_t k = 0; k < x.size(); ++k) {
      const float x0 = x[k];
      auto central = [&](double h) {
        const float xp = static_cast<float>(x0 + h), xm = static_cast<float>(x0 - h);
        x[k] = xp;
        double lp = loss();
        x[k] = xm;
        double lm = loss();
        x[k] = x0;
        return (lp - lm) / (static_cast<double>(xp) - xm);
      };
      // Richardson: (4 D(h/2) - D(h)) / 3 cancels the h^2 term, which is
      // large for the composites (a conv weight reaches every token through
      // silu and the scan: ~5e-3 relative at h = 1e-2 without it).
      num[k] = static_cast<float>((4.0 * central(kH / 2) - central(kH)) / 3.0);
    }
    double mx = 0.0, err = 0.0;
    for (size_t k = 0; k < x.size(); ++k) {
      mx = std::max(mx, std::fabs(static_cast<double>(num[k])));
      err = std::max(err, std::fabs(static_cast<double>(dx[i][k]) - num[k])); // NaN fails below
    }
    for (float v : dx[i])
      ASSERT_TRUE(std::isfinite(v)) << "operand " << i << ": gradient not written";
    err /= mx + 1e-3;
    EXPECT_LE(err, kTol) << "operand " << i;
    EXPECT_GT(mx, 1e-3) << "operand " << i << ": the loss does not depend on it";
    std::printf("  %-16s operand %zu  err %.2e (max |g| %.2e)\n", c.op.c_str(), i, err, mx);
  }
}

constexpr int64_t B = 2, L = 5, T = B * L;

//===----------------------------------------------------------------------===//
// Fused ops
//===----------------------------------------------------------------------===//

TEST(CpuGradFused, RopeAttentionLlama3PartialRotaryGqaWindow) {
  std::mt19937 rng(1);
  const int64_t Hq = 4, Hk = 2, D = 8;
  OpCase c;
  c.op = "rope_attention", c.batch = B, c.seq = L;
  c.add(randn(T * Hq * D, rng), {B, L, Hq, D});
  c.add(randn(T * Hk * D, rng), {B, L, Hk, D});
  c.add(randn(T * Hk * D, rng), {B, L, Hk, D});
  c.outShape = {{B, L, Hq, D}};
  c.attrs = {{"theta", f64(5000.0)}, {"rotary_dim", i64(6)}, {"window", i64(3)},
             {"scale", f64(0.3)}, {"scaling.type", str("llama3")}, {"scaling.factor", f64(8.0)},
             {"scaling.low_freq_factor", f64(1.0)}, {"scaling.high_freq_factor", f64(4.0)},
             {"scaling.original_max_position", i64(16)}};
  checkOp(c);
}

/// Mamba-2 core: 4 heads of 4, 2 groups of state 3, conv width 4, chunk 3
/// (does not divide L = 7).
struct MambaShapes {
  static constexpr int64_t H = 4, P = 4, G = 2, N = 3, K = 4, L = 7;
  static constexpr int64_t inner = H * P, gn = G * N, convDim = inner + 2 * gn,
                           width = inner + convDim + H;
};

std::map<std::string, AttrValue> mambaAttrs() {
  using M = MambaShapes;
  return {{"heads", i64(M::H)}, {"head_dim", i64(M::P)}, {"groups", i64(M::G)},
          {"state", i64(M::N)}, {"chunk", i64(3)}, {"norm_groups", i64(2)}, {"eps", f64(1e-5)}};
}

TEST(CpuGradFused, Mamba2CoreWholePartGatedNormDtLimit) {
  using M = MambaShapes;
  std::mt19937 rng(2);
  OpCase c;
  c.op = "mamba2_core", c.batch = B, c.seq = M::L, c.seed = 2;
  c.add(randn(B * M::L * M::width, rng), {B, M::L, M::width}); // zxbcdt
  c.add(randn(M::convDim * M::K, rng, 0.5), {M::convDim, 1, M::K});
  c.add(randn(M::convDim, rng, 0.1), {M::convDim});
  c.add(randn(M::H, rng, 0.5), {M::H});   // dt_bias
  c.add(randn(M::H, rng, 0.3), {M::H});   // a_log
  c.add(randn(M::H, rng), {M::H});        // d
  c.add(randn(M::inner, rng), {M::inner}); // norm_weight
  c.outShape = {{B, M::L, M::inner}};
  c.attrs = mambaAttrs();
  // dt_limit clamps part of the dts (their gradient is zero); none lies
  // within the difference step of a bound for this seed.
  c.attrs["dt_limit"] = floats({0.001, 0.9});
  int clamped = 0;
  for (int64_t t = 0; t < B * M::L; ++t)
    for (int64_t h = 0; h < M::H; ++h) {
      double v = c.in[0][t * M::width + M::inner + M::convDim + h] + c.in[3][h];
      clamped += std::log1p(std::exp(v)) > 0.9;
    }
  EXPECT_GT(clamped, 0);
  EXPECT_LT(clamped, B * M::L * M::H);
  checkOp(c);
}

TEST(CpuGradFused, Mamba2CoreThreePartsOmittedOptionalsNormBeforeGate) {
  using M = MambaShapes;
  std::mt19937 rng(3);
  OpCase c;
  c.op = "mamba2_core", c.batch = B, c.seq = M::L, c.seed = 3;
  c.add(randn(B * M::L * M::inner, rng), {B, M::L, M::inner});    // z
  c.add(randn(B * M::L * M::convDim, rng), {B, M::L, M::convDim}); // xBC
  c.add(randn(B * M::L * M::H, rng), {B, M::L, M::H});            // dt
  c.add(randn(M::convDim * M::K, rng, 0.5), {M::convDim, 1, M::K});
  // conv_bias and d omitted (not -1): operandSegmentSizes locates the rest.
  c.add(randn(M::H, rng, 0.5), {M::H});
  c.add(randn(M::H, rng, 0.3), {M::H});
  c.add(randn(M::inner, rng), {M::inner});
  c.outShape = {{B, M::L, M::inner}};
  c.attrs = mambaAttrs();
  c.attrs["operandSegmentSizes"] = ints({3, 1, 0, 1, 1, 0, 1});
  c.attrs["norm_before_gate"] = i64(1);
  checkOp(c);
}

TEST(CpuGradFused, Mamba2CoreUngatedAbsentAsMinusOne) {
  using M = MambaShapes;
  std::mt19937 rng(4);
  OpCase c;
  c.op = "mamba2_core", c.batch = B, c.seq = M::L, c.seed = 4;
  c.add(randn(B * M::L * M::width, rng), {B, M::L, M::width});
  c.add(randn(M::convDim * M::K, rng, 0.5), {M::convDim, 1, M::K});
  c.absentOperand(); // conv_bias
  c.add(randn(M::H, rng, 0.5), {M::H});
  c.add(randn(M::H, rng, 0.3), {M::H});
  c.add(randn(M::H, rng), {M::H});
  c.absentOperand(); // norm_weight: out = y * silu(z)
  c.outShape = {{B, M::L, M::inner}};
  c.attrs = mambaAttrs();
  c.noGrad = {false, true}; // conv weight gradient not wanted
  checkOp(c);
}

TEST(CpuGradFused, LinearGroupBiasedScaledOneResultUnused) {
  std::mt19937 rng(5);
  const int64_t K = 6;
  OpCase c;
  c.op = "linear_group", c.seed = 5;
  c.add(randn(T * K, rng), {B, L, K});
  c.add(randn(4 * K, rng), {4, K});
  c.add(randn(3 * K, rng), {3, K});
  c.add(randn(2 * K, rng), {2, K});
  c.add(randn(4, rng), {4});
  c.add(randn(3, rng), {3});
  c.add(randn(2, rng), {2});
  c.outShape = {{B, L, 4}, {B, L, 3}, {B, L, 2}};
  c.attrs = {{"scales", floats({1.0, 0.25, -2.0})}};
  c.dyAbsent = {false, true, false};
  c.noGrad = {false, false, true, false, false, true, false}; // the unused result's weights
  checkOp(c);
}

TEST(CpuGradFused, LinearSumTwoInputsScaled) {
  std::mt19937 rng(6);
  OpCase c;
  c.op = "linear_sum", c.seed = 6;
  c.add(randn(T * 4, rng), {B, L, 4});
  c.add(randn(T * 6, rng), {B, L, 6});
  c.add(randn(5 * 4, rng), {5, 4});
  c.add(randn(5 * 6, rng), {5, 6});
  c.outShape = {{B, L, 5}};
  c.attrs = {{"scales", floats({0.75, -1.25})}};
  checkOp(c);
}

TEST(CpuGradFused, BranchCombineNormsAndModes) {
  struct Variant {
    const char *norm, *mode;
    int64_t Da, Db, ga, gb;
  };
  // Groups of >= 3 channels: a group of 2 normalises to +-1, whose
  // gradient is ~eps / d^3, too ill-conditioned for finite differences.
  for (Variant var : {Variant{"rms", "diff", 6, 6, 1, 1}, Variant{"group", "concat", 6, 8, 2, 2},
                      Variant{"group", "mean", 6, 6, 2, 1}, Variant{"rms", "add", 6, 6, 1, 1}}) {
    std::mt19937 rng(7);
    OpCase c;
    c.op = "branch_combine", c.seed = 7;
    c.add(randn(T * var.Da, rng), {B, L, var.Da});
    c.add(randn(T * var.Db, rng), {B, L, var.Db});
    c.add(randn(var.Da, rng), {var.Da});
    c.add(randn(var.Db, rng), {var.Db});
    const bool concat = std::string(var.mode) == "concat";
    c.outShape = {{B, L, concat ? var.Da + var.Db : var.Da}};
    c.attrs = {{"norm", str(var.norm)}, {"mode", str(var.mode)}, {"groups_a", i64(var.ga)},
               {"groups_b", i64(var.gb)}, {"eps", f64(1e-5)}, {"scale_a", f64(0.5)},
               {"scale_b", f64(1.5)}};
    SCOPED_TRACE(std::string(var.norm) + " " + var.mode);
    checkOp(c);
  }
}

TEST(CpuGradFused, AddRmsNormBothResultsAndNormedOnly) {
  for (bool sumUsed : {true, false}) {
    std::mt19937 rng(8);
    const int64_t D = 8;
    OpCase c;
    c.op = "add_rmsnorm", c.seed = 8;
    c.add(randn(T * D, rng), {B, L, D});
    c.add(randn(T * D, rng), {B, L, D});
    c.add(randn(D, rng), {D});
    c.outShape = {{B, L, D}, {B, L, D}};
    c.attrs = {{"eps", f64(1e-5)}};
    c.dyAbsent = {!sumUsed, false};
    SCOPED_TRACE(sumUsed ? "sum used" : "sum unused");
    checkOp(c);
  }
}

TEST(CpuGradFused, FusedLinearBiasResidualBothConventions) {
  std::mt19937 rng(9);
  const int64_t K = 6, N = 4;
  { // bias and residual, located by operandSegmentSizes
    OpCase c;
    c.op = "fused_linear", c.seed = 9;
    c.add(randn(T * K, rng), {B, L, K});
    c.add(randn(N * K, rng), {N, K});
    c.add(randn(N, rng), {N});
    c.add(randn(T * N, rng), {B, L, N});
    c.outShape = {{B, L, N}};
    c.attrs = {{"scale", f64(0.5)}, {"operandSegmentSizes", ints({1, 1, 1, 1})}};
    checkOp(c);
  }
  { // residual only, bias as -1, told apart by rank
    OpCase c;
    c.op = "fused_linear", c.seed = 10;
    c.add(randn(T * K, rng), {B, L, K});
    c.add(randn(N * K, rng), {N, K});
    c.absentOperand();
    c.add(randn(T * N, rng), {B, L, N});
    c.outShape = {{B, L, N}};
    c.attrs = {{"scale", f64(-2.0)}};
    checkOp(c);
  }
}

TEST(CpuGradFused, SwigluLinearWithBiasesAndGateScale) {
  std::mt19937 rng(11);
  const int64_t K = 5, N = 6;
  OpCase c;
  c.op = "swiglu_linear", c.seed = 11;
  c.add(randn(T * K, rng), {B, L, K});
  c.add(randn(N * K, rng), {N, K});
  c.add(randn(N * K, rng), {N, K});
  c.add(randn(N, rng), {N});
  c.add(randn(N, rng), {N});
  c.outShape = {{B, L, N}};
  c.attrs = {{"gate_scale", f64(2.0)}};
  checkOp(c);
}

//===----------------------------------------------------------------------===//
// Unfused ops through their adapters
//===----------------------------------------------------------------------===//

TEST(CpuGradAdapters, LinearNoBiasAndUnwantedBiasGrad) {
  std::mt19937 rng(12);
  OpCase a;
  a.op = "linear", a.seed = 12;
  a.add(randn(T * 3, rng), {B, L, 3});
  a.add(randn(4 * 3, rng), {4, 3});
  a.outShape = {{B, L, 4}};
  checkOp(a);
  OpCase b = a;
  b.add(randn(4, rng), {4});
  b.noGrad = {false, false, true};
  checkOp(b);
}

TEST(CpuGradAdapters, SequenceOps) {
  std::mt19937 rng(13);
  { // conv1d_causal with its [C, 1, K] weight
    OpCase c;
    c.op = "conv1d_causal", c.batch = B, c.seq = L, c.seed = 13;
    c.add(randn(T * 3, rng), {B, L, 3});
    c.add(randn(3 * 4, rng), {3, 1, 4});
    c.add(randn(3, rng), {3});
    c.outShape = {{B, L, 3}};
    checkOp(c);
  }
  { // ssd_scan without D (5 operands), G = 2 of H = 4, chunk 2
    OpCase c;
    c.op = "ssd_scan", c.batch = B, c.seq = L, c.seed = 14;
    c.add(randn(T * 4 * 2, rng), {B, L, 4, 2});
    Vec dt = randn(T * 4, rng, 0.2);
    for (float &v : dt)
      v = 0.3f + std::fabs(v);
    c.add(dt, {B, L, 4});
    c.add(randn(4, rng, 0.3), {4});
    c.add(randn(T * 2 * 3, rng), {B, L, 2, 3});
    c.add(randn(T * 2 * 3, rng), {B, L, 2, 3});
    c.outShape = {{B, L, 4, 2}};
    c.attrs = {{"chunk", i64(2)}};
    checkOp(c);
  }
  { // attention: q, k, v in that order (GQA, window)
    OpCase c;
    c.op = "attention", c.batch = B, c.seq = L, c.seed = 15;
    c.add(randn(T * 4 * 3, rng), {B, L, 4, 3});
    c.add(randn(T * 2 * 3, rng), {B, L, 2, 3});
    c.add(randn(T * 2 * 3, rng), {B, L, 2, 3});
    c.outShape = {{B, L, 4, 3}};
    c.attrs = {{"window", i64(2)}};
    checkOp(c);
  }
  { // rope with linear scaling and partial rotary dim
    OpCase c;
    c.op = "rope", c.batch = B, c.seq = L, c.seed = 16;
    c.add(randn(T * 2 * 6, rng), {B, L, 2, 6});
    c.outShape = {{B, L, 2, 6}};
    c.attrs = {{"theta", f64(100.0)}, {"rotary_dim", i64(4)}, {"scaling.type", str("linear")},
               {"scaling.factor", f64(2.0)}};
    checkOp(c);
  }
}

TEST(CpuGradAdapters, NormsElementwiseBroadcastCombineSplit) {
  std::mt19937 rng(17);
  auto unary = [&](const std::string &op, std::map<std::string, AttrValue> attrs) {
    OpCase c;
    c.op = op, c.seed = 17;
    Vec x = randn(T * 4, rng, 2.0);
    for (float &v : x) // away from relu2's kink and the clamp bounds
      if (std::fabs(v) < 0.05f || std::fabs(std::fabs(v) - 1.0f) < 0.05f)
        v = 0.5f;
    c.add(x, {B, L, 4});
    c.outShape = {{B, L, 4}};
    c.attrs = std::move(attrs);
    checkOp(c);
  };
  unary("silu", {});
  unary("softplus", {});
  unary("relu2", {});
  unary("clamp", {{"min", f64(-1.0)}, {"max", f64(1.0)}});
  unary("scale", {{"factor", f64(3.0)}});
  unary("softplus_clamp", {{"min", f64(0.0)}, {"max", f64(1.0)}});

  OpCase gr;
  gr.op = "gated_rmsnorm", gr.seed = 18;
  gr.add(randn(T * 8, rng), {B, L, 8});
  gr.add(randn(T * 8, rng), {B, L, 8});
  gr.add(randn(8, rng), {8});
  gr.outShape = {{B, L, 8}};
  gr.attrs = {{"groups", i64(2)}, {"norm_before_gate", i64(1)}};
  checkOp(gr);

  OpCase gn;
  gn.op = "group_norm", gn.seed = 19;
  gn.add(randn(T * 9, rng), {B, L, 9});
  gn.add(randn(9, rng), {9});
  gn.outShape = {{B, L, 9}};
  gn.attrs = {{"groups", i64(3)}};
  checkOp(gn);

  for (const char *op : {"add", "mul"}) {
    OpCase c;
    c.op = op, c.seed = 20;
    c.add(randn(T * 4, rng), {B, L, 4});
    c.add(randn(4, rng), {1, 4});
    c.outShape = {{B, L, 4}};
    checkOp(c);
  }

  OpCase cc;
  cc.op = "combine", cc.seed = 21;
  cc.add(randn(T * 2, rng), {B, L, 2});
  cc.add(randn(T * 3, rng), {B, L, 3});
  cc.outShape = {{B, L, 5}};
  cc.attrs = {{"mode", str("concat")}};
  checkOp(cc);

  OpCase sp;
  sp.op = "split", sp.seed = 22;
  sp.add(randn(T * 6, rng), {B, L, 6});
  sp.outShape = {{B, L, 1}, {B, L, 3}, {B, L, 2}};
  sp.attrs = {{"sizes", ints({1, 3, 2})}};
  sp.dyAbsent = {false, true, false};
  checkOp(sp);
}

TEST(CpuGradAdapters, EmbeddingAndCrossEntropyIntOperands) {
  std::mt19937 rng(23);
  const int64_t V = 5, D = 3;
  Vec table = randn(V * D, rng), out(T * D), dy = randn(T * D, rng), dtable(V * D, NAN);
  std::vector<int32_t> ids = {4, 0, 4, 4, 1, 0, 2, 4, 1, 0};
  TensorRef idsRef;
  idsRef.data = ids.data(), idsRef.shape = {B, L}, idsRef.isInt = true;
  OpContext c;
  c.op = "embedding.grad";
  c.inputs = {ref(table, {V, D}), idsRef, ref(out, {B, L, D}), ref(dy, {B, L, D})};
  c.outputs = {ref(dtable, {V, D}), TensorRef()}; // ids: no gradient
  ASSERT_TRUE(findCpuGradKernel("embedding")(c).ok());
  Vec want(V * D);
  ASSERT_TRUE(cpu::embeddingGrad(ids.data(), dy.data(), T, V, D, want.data()).ok());
  EXPECT_EQ(dtable, want);
  EXPECT_NEAR(dtable[4 * D], (double)dy[0] + dy[2 * D] + dy[3 * D] + dy[7 * D], 1e-6);

  // cross_entropy: logits [B, L, V], labels [B, L], loss and dloss 0-d.
  Vec logits = randn(T * V, rng), loss = {0.0f}, dloss = {0.5f}, dl(T * V, NAN), wantDl(T * V);
  std::vector<int32_t> labels = {1, -100, 3, 0, 4, 2, -100, 1, 1, 0};
  TensorRef lab;
  lab.data = labels.data(), lab.shape = {B, L}, lab.isInt = true;
  OpContext e;
  e.op = "cross_entropy.grad";
  e.inputs = {ref(logits, {B, L, V}), lab, ref(loss, {}), ref(dloss, {})};
  e.outputs = {ref(dl, {B, L, V}), TensorRef()};
  CpuKernelFn ce = findCpuGradKernel("cross_entropy");
  ASSERT_NE(ce, nullptr);
  ASSERT_TRUE(ce(e).ok());
  ASSERT_TRUE(cpu::crossEntropyGrad(logits.data(), labels.data(), T, V, 0.5, wantDl.data()).ok());
  EXPECT_EQ(dl, wantDl);
}

TEST(CpuGradAdapters, RegistryAndOperandErrors) {
  // Every forward kernel has a backward one, and lookups take the forward name.
  for (const std::string &op : cpuKernelNames())
    EXPECT_NE(findCpuGradKernel(op), nullptr) << op;
  EXPECT_NE(findCpuGradKernel("cross_entropy"), nullptr);
  EXPECT_EQ(findCpuGradKernel("rmsnorm.grad"), nullptr);
  EXPECT_EQ(findCpuGradKernel("no_such_op"), nullptr);
  for (const std::string &name : cpuGradKernelNames())
    EXPECT_EQ(name.substr(name.size() - 5), ".grad");

  // An odd operand count is refused with the op's name.
  Vec x(8), w(4), dx(8);
  OpContext c;
  c.op = "rmsnorm.grad";
  c.inputs = {ref(x, {1, 2, 4}), ref(w, {4}), ref(x, {1, 2, 4})};
  c.outputs = {ref(dx, {1, 2, 4}), TensorRef()};
  Status s = findCpuGradKernel("rmsnorm")(c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("rmsnorm.grad"), std::string::npos) << s.message();
  // A gradient buffer of the wrong size is refused, naming the operand.
  Vec small(3);
  c.inputs.push_back(ref(x, {1, 2, 4}));
  c.outputs = {ref(dx, {1, 2, 4}), ref(small, {3})};
  s = findCpuGradKernel("rmsnorm")(c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("operand 1"), std::string::npos) << s.message();
}

} // namespace
