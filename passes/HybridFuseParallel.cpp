//===- HybridFuseParallel.cpp - shared-input GEMMs, fused branch combine --===//
//
// Three patterns for the two branches of a parallel block (and plain
// attention):
//  - linear_group: every hybrid.linear reading one value x, directly or
//    through hybrid.scale(x, a) (then bias-free: a folds into the result),
//    becomes one GEMM against the row-concatenated weights; single-use scales
//    after a projection (Falcon-H1's key multiplier) fold into `scales`.
//    Projections feeding a swiglu are left to swiglu_linear (epilogues).
//  - linear_sum: combine<add|diff|mean>(s_a * linear(a, Wa), s_b * linear(b, Wb))
//    (separate out projections, Falcon-H1) -> one GEMM of [a | b].
//  - branch_combine: combine(s_a * norm(a), s_b * norm(b)) with both norms
//    rmsnorm or both group_norm (shared out projection, Hymba-like).
//
//===----------------------------------------------------------------------===//
#include "passes/FusionPatterns.h"
#include "passes/Passes.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::hybrid {
#define GEN_PASS_DEF_HYBRIDFUSEPARALLEL
#include "passes/Passes.h.inc"
} // namespace mlir::hybrid

using namespace mlir;
using namespace mlir::hybrid;

namespace {

/// Whether `v` (through single-use scales) feeds a swiglu.
bool feedsSwiglu(Value v) {
  double f = 1.0;
  v = fusion::followScalesDown(v, f);
  return llvm::any_of(v.getUsers(), [](Operation *u) { return isa<SwigluOp>(u); });
}

struct Member {
  LinearOp linear;
  Value out;    // what the group result replaces: the linear or its last scale
  double scale; // input scale x output scales
};

/// Linear ops reading `x` directly or through scale(x) (bias-free), in block order.
SmallVector<Member> collectMembers(Value x) {
  SmallVector<Member> members;
  auto consider = [&](Operation *user, double inScale) {
    auto lin = dyn_cast<LinearOp>(user);
    if (!lin || lin->getBlock() != x.getParentBlock() || (inScale != 1.0 && lin.getBias()) || feedsSwiglu(lin.getResult()))
      return;
    double s = inScale;
    Value out = fusion::followScalesDown(lin.getResult(), s);
    members.push_back({lin, out, s});
  };
  for (Operation *user : x.getUsers()) {
    if (auto sc = dyn_cast<ScaleOp>(user)) {
      if (sc->getBlock() == x.getParentBlock())
        for (Operation *u : sc->getUsers())
          consider(u, sc.getFactor().convertToDouble());
    } else if (auto lin = dyn_cast<LinearOp>(user); lin && lin.getInput() == x) {
      consider(user, 1.0);
    }
  }
  llvm::sort(members, [](const Member &a, const Member &b) {
    return a.linear->isBeforeInBlock(b.linear);
  });
  members.erase(std::unique(members.begin(), members.end(),
                            [](const Member &a, const Member &b) { return a.linear == b.linear; }),
                members.end());
  return members;
}

struct FuseLinearGroup : public OpRewritePattern<LinearOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(LinearOp lin, PatternRewriter &rewriter) const override {
    Value x = lin.getInput();
    if (auto sc = x.getDefiningOp<ScaleOp>())
      x = sc.getInput();
    SmallVector<Member> members = collectMembers(x);
    // Biases: all or none (one GEMM epilogue).
    bool anyBias = llvm::any_of(members, [](const Member &m) { return (bool)LinearOp(m.linear).getBias(); });
    if (anyBias)
      llvm::erase_if(members, [](const Member &m) { return !LinearOp(m.linear).getBias(); });
    if (members.size() < 2 || !llvm::any_of(members, [&](const Member &m) { return m.linear == lin; }))
      return rewriter.notifyMatchFailure(lin, "fewer than two projections of this input");
    Operation *point = members.front().linear;
    for (Member &m : members)
      if (!fusion::makeAvailableBefore(m.linear.getWeight(), point) ||
          !fusion::makeAvailableBefore(m.linear.getBias(), point) ||
          !fusion::makeAvailableBefore(x, point))
        return rewriter.notifyMatchFailure(lin, "a weight is defined after the first projection");
    SmallVector<Value> weights, biases;
    SmallVector<Type> types;
    SmallVector<double> scales;
    for (Member &m : members) {
      weights.push_back(m.linear.getWeight());
      if (anyBias)
        biases.push_back(m.linear.getBias());
      types.push_back(m.linear.getType());
      scales.push_back(m.scale);
    }
    rewriter.setInsertionPoint(point);
    bool unit = llvm::all_of(scales, [](double s) { return s == 1.0; });
    auto group = LinearGroupOp::create(rewriter, lin.getLoc(), types, x, weights, biases,
                                       unit ? DenseF64ArrayAttr()
                                            : rewriter.getDenseF64ArrayAttr(scales));
    for (auto [i, m] : llvm::enumerate(members))
      rewriter.replaceAllUsesWith(m.out, group.getResult(i));
    // The linears, their scales and input scales are dead now (Pure).
    return success();
  }
};

/// combine operand = s * linear(x, W) (single uses, no bias).
LinearOp scaledLinear(Value v, double &s) {
  v = fusion::followScalesUp(v, s);
  auto lin = v.getDefiningOp<LinearOp>();
  return lin && v.hasOneUse() && !lin.getBias() ? lin : LinearOp();
}

struct FuseLinearSum : public OpRewritePattern<CombineOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(CombineOp c, PatternRewriter &rewriter) const override {
    double sa = 1.0, sb = 1.0;
    switch (c.getMode()) {
    case Combine::add: break;
    case Combine::diff: sb = -1.0; break;
    case Combine::mean: sa = sb = 0.5; break;
    case Combine::concat: return rewriter.notifyMatchFailure(c, "concat is not a sum");
    }
    LinearOp la = scaledLinear(c.getA(), sa), lb = scaledLinear(c.getB(), sb);
    if (!la || !lb || la == lb)
      return rewriter.notifyMatchFailure(c, "branches are not single-use bias-free projections");
    auto sum = LinearSumOp::create(
        rewriter, c.getLoc(), c.getType(), ValueRange{la.getInput(), lb.getInput()},
        ValueRange{la.getWeight(), lb.getWeight()},
        sa == 1.0 && sb == 1.0 ? DenseF64ArrayAttr() : rewriter.getDenseF64ArrayAttr({sa, sb}));
    rewriter.replaceOp(c, sum.getResult());
    return success();
  }
};

struct FuseBranchCombine : public OpRewritePattern<CombineOp> {
  using OpRewritePattern::OpRewritePattern;

  /// s * norm(x, w): fills x, w, groups, eps; returns the norm kind.
  static BranchNorm match(Value v, double &s, Value &x, Value &w, int64_t &groups, double &eps) {
    v = fusion::followScalesUp(v, s);
    if (!v.hasOneUse())
      return BranchNorm::none;
    if (auto n = v.getDefiningOp<RMSNormOp>()) {
      x = n.getInput(), w = n.getWeight(), groups = 1, eps = n.getEps().convertToDouble();
      return BranchNorm::rms;
    }
    if (auto n = v.getDefiningOp<GroupNormOp>()) {
      x = n.getInput(), w = n.getWeight(), groups = n.getGroups();
      eps = n.getEps().convertToDouble();
      return BranchNorm::group;
    }
    return BranchNorm::none;
  }

  LogicalResult matchAndRewrite(CombineOp c, PatternRewriter &rewriter) const override {
    double sa = 1.0, sb = 1.0, ea = 0, eb = 0;
    Value xa, wa, xb, wb;
    int64_t ga = 1, gb = 1;
    BranchNorm na = match(c.getA(), sa, xa, wa, ga, ea);
    BranchNorm nb = match(c.getB(), sb, xb, wb, gb, eb);
    if (na == BranchNorm::none || na != nb || ea != eb)
      return rewriter.notifyMatchFailure(c, "branches are not normed alike");
    auto fused = BranchCombineOp::create(
        rewriter, c.getLoc(), c.getType(), xa, xb, wa, wb, c.getModeAttr(),
        BranchNormAttr::get(getContext(), na), rewriter.getI64IntegerAttr(ga),
        rewriter.getI64IntegerAttr(gb), rewriter.getF64FloatAttr(ea),
        rewriter.getF64FloatAttr(sa), rewriter.getF64FloatAttr(sb));
    rewriter.replaceOp(c, fused.getResult());
    return success();
  }
};

struct HybridFuseParallelPass : public mlir::hybrid::impl::HybridFuseParallelBase<HybridFuseParallelPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateParallelFusionPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::hybrid::populateParallelFusionPatterns(RewritePatternSet &patterns) {
  patterns.add<FuseLinearGroup, FuseLinearSum, FuseBranchCombine>(patterns.getContext());
}
