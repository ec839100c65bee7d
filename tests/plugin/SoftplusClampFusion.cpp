//===- SoftplusClampFusion.cpp - An out-of-tree fusion pass, as a plugin --===//
//
// A fusion pass that lives outside the compiler and loads into hybrid-opt or
// hybridc with --load-pass-plugin. Mamba-2 layers with a dt limit compute
//     %s = hybrid.softplus %x ; %dt = hybrid.clamp %s {min, max}
// and this pass fuses the pair into one op of a new kernel,
//     %dt = hybrid.custom_call "softplus_clamp"(%x) {min, max}
// whose CPU kernel is registered under that name in runtime/cpu/CpuOps.cpp.
// The pattern is public (populateSoftplusClampFusionPatterns) so that other
// passes can reuse it; the pass only wraps it. The README's "Writing a fusion
// pass" tutorial walks through this file.
//
//===----------------------------------------------------------------------===//
#include "dialects/hybrid/HybridDialect.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

namespace {

/// clamp(softplus(x)) -> custom_call "softplus_clamp"(x), when the softplus
/// has no other user (else it would be computed twice).
struct FuseSoftplusClamp : public OpRewritePattern<hybrid::ClampOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(hybrid::ClampOp clamp,
                                PatternRewriter &rewriter) const override {
    auto softplus = clamp.getInput().getDefiningOp<hybrid::SoftplusOp>();
    if (!softplus || !softplus->hasOneUse())
      return rewriter.notifyMatchFailure(clamp, "input is not a single-use softplus");
    auto fused = hybrid::CustomCallOp::create(
        rewriter, clamp.getLoc(), TypeRange{clamp.getType()},
        rewriter.getStringAttr("softplus_clamp"), ValueRange{softplus.getInput()});
    fused->setAttr("min", clamp.getMinAttr());
    fused->setAttr("max", clamp.getMaxAttr());
    rewriter.replaceOp(clamp, fused.getResults());
    rewriter.eraseOp(softplus);
    return success();
  }
};

struct SoftplusClampFusionPass
    : public PassWrapper<SoftplusClampFusionPass, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(SoftplusClampFusionPass)

  StringRef getArgument() const final { return "hybrid-example-fuse-softplus-clamp"; }
  StringRef getDescription() const final {
    return "Fuse hybrid.softplus + hybrid.clamp into custom_call \"softplus_clamp\" "
           "(example plugin)";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<hybrid::HybridDialect>();
  }
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseSoftplusClamp>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

/// The plugin's entry point, looked up by --load-pass-plugin.
extern "C" LLVM_ATTRIBUTE_WEAK PassPluginLibraryInfo mlirGetPassPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "HybridSoftplusClampFusion", LLVM_VERSION_STRING,
          []() { PassRegistration<SoftplusClampFusionPass>(); }};
}
