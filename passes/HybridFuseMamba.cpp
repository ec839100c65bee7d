//===- HybridFuseMamba.cpp - the Mamba-2 mixer core as one op -------------===//
//
// Matches, from its last op back, the op group --hybrid-decompose emits for
// the Mamba-2 mixer between in_proj and out_proj (mamba_ssm's order):
//   conv = silu(conv1d_causal(xBC, w, b)); x, B, C = split(conv)
//   dt = [clamp](softplus(add(dt, dt_bias)))
//   y = reshape(ssd_scan(reshape(x), dt, A_log, reshape(B), reshape(C), D))
//   out = gated_rmsnorm(y, z, w)   or   out = mul(y, silu(z))
// and replaces it with one hybrid.mamba2_core. Every intermediate must have
// exactly one user (otherwise the fused kernel would have to materialise it).
// z, xBC and dt are taken as they come: when they are the three results of
// one split of the in_proj output, that output is the single part; otherwise
// (Falcon-H1's segment multipliers put scale/concat ops in between) the three
// values are the parts and those ops stay in front of the core.
//
//===----------------------------------------------------------------------===//
#include "passes/FusionPatterns.h"
#include "passes/Passes.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::hybrid {
#define GEN_PASS_DEF_HYBRIDFUSEMAMBA
#include "passes/Passes.h.inc"
} // namespace mlir::hybrid

using namespace mlir;
using namespace mlir::hybrid;

namespace {

template <typename OpT> OpT singleUseDef(Value v) {
  auto op = v.getDefiningOp<OpT>();
  return op && v.hasOneUse() ? op : OpT();
}

struct FuseMamba2Core : public RewritePattern {
  FuseMamba2Core(MLIRContext *ctx) : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, ctx) {}

  LogicalResult matchAndRewrite(Operation *root, PatternRewriter &rewriter) const override {
    // The output: gated norm or y * silu(z).
    Value y2, z, normW;
    auto gated = dyn_cast<GatedRMSNormOp>(root);
    if (gated) {
      y2 = gated.getInput(), z = gated.getGate(), normW = gated.getWeight();
    } else if (auto mul = dyn_cast<MulOp>(root)) {
      auto sz = singleUseDef<SiluOp>(mul.getRhs());
      if (!sz || mul.getLhs().getType() != mul.getType() || sz.getType() != mul.getType())
        return failure();
      y2 = mul.getLhs(), z = sz.getInput();
    } else {
      return failure();
    }
    auto yr = singleUseDef<ReshapeOp>(y2);
    auto scan = yr ? singleUseDef<SSDScanOp>(yr.getInput()) : SSDScanOp();
    if (!scan)
      return rewriter.notifyMatchFailure(root, "input is not a single-use reshape of ssd_scan");
    auto xr = singleUseDef<ReshapeOp>(scan.getX());
    auto br = singleUseDef<ReshapeOp>(scan.getB());
    auto cr = singleUseDef<ReshapeOp>(scan.getC());
    if (!xr || !br || !cr)
      return rewriter.notifyMatchFailure(root, "x, B, C are not single-use reshapes");
    auto xbc = xr.getInput().getDefiningOp<SplitOp>();
    if (!xbc || xbc.getNumResults() != 3 || xbc.getResult(0) != xr.getInput() ||
        xbc.getResult(1) != br.getInput() || xbc.getResult(2) != cr.getInput() ||
        !llvm::all_of(xbc.getResults(), [](Value r) { return r.hasOneUse(); }))
      return rewriter.notifyMatchFailure(root, "x, B, C are not the pieces of one split");
    auto silu = singleUseDef<SiluOp>(xbc.getInput());
    auto conv = silu ? singleUseDef<Conv1dCausalOp>(silu.getInput()) : Conv1dCausalOp();
    if (!conv)
      return rewriter.notifyMatchFailure(root, "xBC is not a single-use silu(conv1d_causal)");
    // dt chain, from the scan back to the raw dt.
    Value dt = scan.getDt();
    DenseF64ArrayAttr limit;
    if (auto clamp = singleUseDef<ClampOp>(dt)) {
      limit = rewriter.getDenseF64ArrayAttr(
          {clamp.getMin().convertToDouble(), clamp.getMax().convertToDouble()});
      dt = clamp.getInput();
    }
    auto sp = singleUseDef<SoftplusOp>(dt);
    auto add = sp ? singleUseDef<AddOp>(sp.getInput()) : AddOp();
    if (!add || cast<RankedTensorType>(add.getRhs().getType()).getRank() != 1)
      return rewriter.notifyMatchFailure(root, "dt is not softplus(dt + dt_bias)");
    auto xt = cast<RankedTensorType>(scan.getX().getType());
    auto bt = cast<RankedTensorType>(scan.getB().getType());
    if (ShapedType::isDynamic(xt.getDimSize(2)) || ShapedType::isDynamic(xt.getDimSize(3)) ||
        ShapedType::isDynamic(bt.getDimSize(2)) || ShapedType::isDynamic(bt.getDimSize(3)))
      return rewriter.notifyMatchFailure(root, "head and state dims must be static");

    // Parts: the in_proj output when z | xBC | dt are one split of it.
    Value xbcIn = conv.getInput(), dtIn = add.getLhs();
    SmallVector<Value> parts{z, xbcIn, dtIn};
    auto whole = z.getDefiningOp<SplitOp>();
    if (whole && whole.getNumResults() == 3 && whole.getResult(0) == z &&
        whole.getResult(1) == xbcIn && whole.getResult(2) == dtIn &&
        llvm::all_of(whole.getResults(), [](Value r) { return r.hasOneUse(); }))
      parts = {whole.getInput()};
    for (Value w : std::initializer_list<Value>{conv.getWeight(), conv.getBias(), add.getRhs(),
                                                scan.getALog(), scan.getD(),
                    normW})
      if (!fusion::makeAvailableBefore(w, root))
        return rewriter.notifyMatchFailure(root, "a weight is defined after the mixer");

    auto core = Mamba2CoreOp::create(
        rewriter, root->getLoc(), root->getResult(0).getType(), parts, conv.getWeight(),
        conv.getBias(), add.getRhs(), scan.getALog(), scan.getD(), normW,
        rewriter.getI64IntegerAttr(xt.getDimSize(2)), rewriter.getI64IntegerAttr(xt.getDimSize(3)),
        rewriter.getI64IntegerAttr(bt.getDimSize(2)), rewriter.getI64IntegerAttr(bt.getDimSize(3)),
        scan.getChunkAttr(), limit,
        rewriter.getI64IntegerAttr(gated ? (int64_t)gated.getGroups() : 1),
        gated ? gated.getEpsAttr() : rewriter.getF64FloatAttr(1e-5),
        gated && gated.getNormBeforeGate() ? rewriter.getUnitAttr() : UnitAttr());
    rewriter.replaceOp(root, core.getResult());
    // The group is now dead; the greedy driver erases the rest (all Pure).
    return success();
  }
};

struct HybridFuseMambaPass : public mlir::hybrid::impl::HybridFuseMambaBase<HybridFuseMambaPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMambaFusionPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::hybrid::populateMambaFusionPatterns(RewritePatternSet &patterns) {
  patterns.add<FuseMamba2Core>(patterns.getContext());
}
