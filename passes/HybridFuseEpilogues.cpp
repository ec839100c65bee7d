//===- HybridFuseEpilogues.cpp - GEMM epilogues ---------------------------===//
//
// What follows a GEMM element-wise goes into its epilogue:
//   scale(linear(x, W))            -> fused_linear {scale}
//   scale(fused_linear)            -> fused_linear {scale * factor}  (no residual yet)
//   add(r, linear | fused_linear)  -> fused_linear residual(r)       (same shapes)
//   swiglu(scale*(linear(x, Wg)), linear(x, Wu)) -> swiglu_linear {gate_scale}
// The projection must have no other user (it would otherwise be computed twice).
//
//===----------------------------------------------------------------------===//
#include "passes/FusionPatterns.h"
#include "passes/Passes.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::hybrid {
#define GEN_PASS_DEF_HYBRIDFUSEEPILOGUES
#include "passes/Passes.h.inc"
} // namespace mlir::hybrid

using namespace mlir;
using namespace mlir::hybrid;

namespace {

struct FuseScaleEpilogue : public OpRewritePattern<ScaleOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ScaleOp sc, PatternRewriter &rewriter) const override {
    Value in = sc.getInput();
    if (!in.hasOneUse())
      return rewriter.notifyMatchFailure(sc, "the projection has other users");
    double f = sc.getFactor().convertToDouble();
    if (auto lin = in.getDefiningOp<LinearOp>()) {
      rewriter.replaceOpWithNewOp<FusedLinearOp>(sc, sc.getType(), lin.getInput(),
                                                 lin.getWeight(), lin.getBias(), Value(),
                                                 rewriter.getF64FloatAttr(f));
      return success();
    }
    auto fl = in.getDefiningOp<FusedLinearOp>();
    if (!fl || fl.getResidual())
      return rewriter.notifyMatchFailure(sc, "input is not a projection without residual");
    rewriter.modifyOpInPlace(fl, [&] {
      fl.setScaleAttr(rewriter.getF64FloatAttr(fl.getScale().convertToDouble() * f));
    });
    rewriter.replaceOp(sc, fl.getResult());
    return success();
  }
};

struct FuseResidualEpilogue : public OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AddOp add, PatternRewriter &rewriter) const override {
    if (add.getLhs().getType() != add.getType() || add.getRhs().getType() != add.getType())
      return rewriter.notifyMatchFailure(add, "a broadcasting add is not a residual");
    for (unsigned i = 0; i < 2; ++i) {
      Value proj = add->getOperand(i), residual = add->getOperand(1 - i);
      if (!proj.hasOneUse() || proj == residual)
        continue;
      if (auto lin = proj.getDefiningOp<LinearOp>()) {
        rewriter.replaceOpWithNewOp<FusedLinearOp>(add, add.getType(), lin.getInput(),
                                                   lin.getWeight(), lin.getBias(), residual,
                                                   rewriter.getF64FloatAttr(1.0));
        return success();
      }
      if (auto fl = proj.getDefiningOp<FusedLinearOp>(); fl && !fl.getResidual()) {
        rewriter.replaceOpWithNewOp<FusedLinearOp>(add, add.getType(), fl.getInput(),
                                                   fl.getWeight(), fl.getBias(), residual,
                                                   fl.getScaleAttr());
        return success();
      }
    }
    return rewriter.notifyMatchFailure(add, "no single-use projection operand");
  }
};

struct FuseSwigluLinear : public OpRewritePattern<SwigluOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SwigluOp sw, PatternRewriter &rewriter) const override {
    double gs = 1.0;
    Value g = fusion::followScalesUp(sw.getGate(), gs), u = sw.getUp();
    // The gate projection: a linear, or one whose scale the scale epilogue
    // already folded (it visits the scale before the swiglu).
    Value gx, gw, gb;
    if (auto lin = g.getDefiningOp<LinearOp>()) {
      gx = lin.getInput(), gw = lin.getWeight(), gb = lin.getBias();
    } else if (auto fl = g.getDefiningOp<FusedLinearOp>(); fl && !fl.getResidual()) {
      gx = fl.getInput(), gw = fl.getWeight(), gb = fl.getBias();
      gs *= fl.getScale().convertToDouble();
    }
    auto lu = u.getDefiningOp<LinearOp>();
    if (!gx || !lu || !g.hasOneUse() || !u.hasOneUse() || g == u || gx != lu.getInput() ||
        (bool)gb != (bool)lu.getBias())
      return rewriter.notifyMatchFailure(sw, "gate and up are not single-use projections of one input");
    SmallVector<Value> biases;
    if (gb)
      biases = {gb, lu.getBias()};
    rewriter.replaceOpWithNewOp<SwigluLinearOp>(sw, sw.getType(), gx, gw, lu.getWeight(), biases,
                                                rewriter.getF64FloatAttr(gs));
    return success();
  }
};

struct HybridFuseEpiloguesPass : public mlir::hybrid::impl::HybridFuseEpiloguesBase<HybridFuseEpiloguesPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateEpilogueFusionPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::hybrid::populateEpilogueFusionPatterns(RewritePatternSet &patterns) {
  patterns.add<FuseSwigluLinear, FuseScaleEpilogue, FuseResidualEpilogue>(patterns.getContext());
}
