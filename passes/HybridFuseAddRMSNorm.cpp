//===- HybridFuseAddRMSNorm.cpp - residual add + RMSNorm ------------------===//
//
// rmsnorm(add(a, b)) -> add_rmsnorm(a, b): one pass over the residual stream
// writes both the sum (still needed by the next residual add) and its norm.
// Only a same-shape add fuses: a broadcasting add is not a residual.
//
//===----------------------------------------------------------------------===//
#include "passes/FusionPatterns.h"
#include "passes/Passes.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::hybrid {
#define GEN_PASS_DEF_HYBRIDFUSEADDRMSNORM
#include "passes/Passes.h.inc"
} // namespace mlir::hybrid

using namespace mlir;
using namespace mlir::hybrid;

namespace {

struct FuseAddRMSNorm : public OpRewritePattern<RMSNormOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RMSNormOp norm, PatternRewriter &rewriter) const override {
    auto add = norm.getInput().getDefiningOp<AddOp>();
    if (!add || add.getLhs().getType() != add.getType() ||
        add.getRhs().getType() != add.getType() || norm.getType() != add.getType())
      return rewriter.notifyMatchFailure(norm, "input is not a same-shape add");
    // The fused op replaces the add where it stands (its other users follow it).
    if (!fusion::makeAvailableBefore(norm.getWeight(), add))
      return rewriter.notifyMatchFailure(norm, "norm weight is defined after the add");
    rewriter.setInsertionPoint(add);
    auto fused = AddRMSNormOp::create(rewriter, norm.getLoc(), add.getType(), norm.getType(),
                                      add.getLhs(), add.getRhs(), norm.getWeight(),
                                      norm.getEpsAttr());
    rewriter.replaceOp(norm, fused.getNormed());
    rewriter.replaceOp(add, fused.getSum());
    return success();
  }
};

struct HybridFuseAddRMSNormPass
    : public mlir::hybrid::impl::HybridFuseAddRMSNormBase<HybridFuseAddRMSNormPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateAddRMSNormFusionPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::hybrid::populateAddRMSNormFusionPatterns(RewritePatternSet &patterns) {
  patterns.add<FuseAddRMSNorm>(patterns.getContext());
}
