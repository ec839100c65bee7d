//===- HybridFuseRopeAttention.cpp - rope(q), rope(k) + attention ---------===//
//
// attention(rope(q), rope(k), v) -> rope_attention(q, k, v): the kernel
// rotates q and k as it loads them, so the rotated copies never reach memory.
// Fires only when both ropes share their attributes (one rotation table) and
// feed nothing else; RoPE-free attention (Nemotron-H) stays hybrid.attention.
//
//===----------------------------------------------------------------------===//
#include "passes/FusionPatterns.h"
#include "passes/Passes.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::hybrid {
#define GEN_PASS_DEF_HYBRIDFUSEROPEATTENTION
#include "passes/Passes.h.inc"
} // namespace mlir::hybrid

using namespace mlir;
using namespace mlir::hybrid;

namespace {

struct FuseRopeAttention : public OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp attn, PatternRewriter &rewriter) const override {
    auto rq = attn.getQ().getDefiningOp<RopeOp>();
    auto rk = attn.getK().getDefiningOp<RopeOp>();
    if (!rq || !rk)
      return rewriter.notifyMatchFailure(attn, "q or k is not produced by hybrid.rope");
    if (rq == rk || !rq->hasOneUse() || !rk->hasOneUse())
      return rewriter.notifyMatchFailure(attn, "a rotated q or k has other users");
    if (rq.getTheta() != rk.getTheta() || rq.getScalingAttr() != rk.getScalingAttr() ||
        rq.getRotaryDim() != rk.getRotaryDim())
      return rewriter.notifyMatchFailure(attn, "q and k ropes differ in their attributes");
    auto fused = RopeAttentionOp::create(
        rewriter, attn.getLoc(), attn.getType(), rq.getInput(), rk.getInput(), attn.getV(),
        rq.getThetaAttr(), rq.getScalingAttr(), rq.getRotaryDimAttr(), attn.getWindowAttr(),
        attn.getScaleAttr());
    rewriter.replaceOp(attn, fused.getResult());
    rewriter.eraseOp(rq);
    rewriter.eraseOp(rk);
    return success();
  }
};

struct HybridFuseRopeAttentionPass
    : public mlir::hybrid::impl::HybridFuseRopeAttentionBase<HybridFuseRopeAttentionPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateRopeAttentionFusionPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::hybrid::populateRopeAttentionFusionPatterns(RewritePatternSet &patterns) {
  patterns.add<FuseRopeAttention>(patterns.getContext());
}
