//===- SiluMulFusion.cpp - An out-of-tree fusion pass, as a plugin --------===//
//
// A fusion pass that lives outside the compiler and loads into hybrid-opt
// with --load-pass-plugin. It rewrites
//     %s = hybrid.silu %g ; %y = hybrid.mul %s, %u      (same shapes)
// into the fused element-wise op
//     %y = hybrid.swiglu %g, %u
// The pattern is public (populateSiluMulFusionPatterns) so other passes can
// reuse it; the pass only wraps it. The README's "Writing a fusion pass"
// tutorial walks through this file.
//
//===----------------------------------------------------------------------===//
#include "dialects/hybrid/HybridDialect.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

namespace {

/// mul(silu(g), u) -> swiglu(g, u), when the silu has no other user and the
/// operands have the same type (swiglu does not broadcast).
struct FuseSiluMul : public OpRewritePattern<hybrid::MulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(hybrid::MulOp mul,
                                PatternRewriter &rewriter) const override {
    for (unsigned i = 0; i < 2; ++i) {
      auto silu = mul->getOperand(i).getDefiningOp<hybrid::SiluOp>();
      Value other = mul->getOperand(1 - i);
      if (!silu || !silu->hasOneUse() || other.getType() != mul.getType() ||
          silu.getType() != mul.getType())
        continue;
      rewriter.replaceOpWithNewOp<hybrid::SwigluOp>(mul, mul.getType(),
                                                    silu.getInput(), other);
      rewriter.eraseOp(silu);
      return success();
    }
    return rewriter.notifyMatchFailure(mul, "no single-use silu operand of the same type");
  }
};

struct SiluMulFusionPass
    : public PassWrapper<SiluMulFusionPass, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(SiluMulFusionPass)

  StringRef getArgument() const final { return "hybrid-example-fuse-silu-mul"; }
  StringRef getDescription() const final {
    return "Fuse hybrid.silu + hybrid.mul into hybrid.swiglu (example plugin)";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<hybrid::HybridDialect>();
  }
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseSiluMul>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

/// The plugin's entry point, looked up by --load-pass-plugin.
extern "C" LLVM_ATTRIBUTE_WEAK PassPluginLibraryInfo mlirGetPassPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "HybridSiluMulFusion", LLVM_VERSION_STRING,
          []() { PassRegistration<SiluMulFusionPass>(); }};
}
