//===- FusionPatterns.h - Public patterns of the --hybrid-fuse-* passes -*- C++ -*-===//
//
// One populate function per fusion; each --hybrid-fuse-NAME pass only wraps
// its patterns, so a pipeline or an out-of-tree pass can reuse them. The fused
// ops are defined in dialects/hybrid/HybridFusedOps.td.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_PASSES_FUSIONPATTERNS_H
#define HYBRIDC_PASSES_FUSIONPATTERNS_H

#include "dialects/hybrid/HybridDialect.h"

#include "mlir/IR/PatternMatch.h"

namespace mlir::hybrid {

/// rope(q), rope(k) (same rope attributes) -> attention  =>  rope_attention.
void populateRopeAttentionFusionPatterns(RewritePatternSet &patterns);
/// conv1d_causal + silu + split + reshapes + dt bias/softplus/clamp + ssd_scan
/// + reshape + gated_rmsnorm (or y * silu(z))  =>  mamba2_core.
void populateMambaFusionPatterns(RewritePatternSet &patterns);
/// Projections of one input => linear_group; scaled out projections summed =>
/// linear_sum; branch norms + scale + combine => branch_combine.
void populateParallelFusionPatterns(RewritePatternSet &patterns);
/// add + rmsnorm(sum)  =>  add_rmsnorm.
void populateAddRMSNormFusionPatterns(RewritePatternSet &patterns);
/// linear + scale / residual add => fused_linear; swiglu(linear, linear) =>
/// swiglu_linear.
void populateEpilogueFusionPatterns(RewritePatternSet &patterns);

namespace fusion {

/// True when `v` is available right before `point` (same block). A
/// `hybrid.param` defined later in the block is moved up, since it has no
/// operands; anything else defined later makes this false.
inline bool makeAvailableBefore(Value v, Operation *point) {
  if (!v)
    return true;
  if (auto arg = dyn_cast<BlockArgument>(v))
    return arg.getOwner() == point->getBlock() ||
           arg.getOwner()->getParentOp()->isProperAncestor(point);
  Operation *def = v.getDefiningOp();
  if (def->getBlock() != point->getBlock())
    return def->getBlock()->getParentOp()->isProperAncestor(point);
  if (def->isBeforeInBlock(point))
    return true;
  if (!isa<ParamOp>(def))
    return false;
  def->moveBefore(point);
  return true;
}

/// Follows single-use `hybrid.scale` ops down from `v` while the value has
/// exactly one user that is a scale; returns the last value and multiplies
/// `factor` by every factor passed.
inline Value followScalesDown(Value v, double &factor) {
  while (v.hasOneUse())
    if (auto s = dyn_cast<ScaleOp>(*v.getUsers().begin())) {
      factor *= s.getFactor().convertToDouble();
      v = s.getResult();
    } else {
      break;
    }
  return v;
}

/// Walks up through single-use `hybrid.scale` ops from `v`; returns the first
/// value not produced by one and multiplies `factor` by their factors.
inline Value followScalesUp(Value v, double &factor) {
  while (auto s = v.getDefiningOp<ScaleOp>()) {
    if (!v.hasOneUse())
      break;
    factor *= s.getFactor().convertToDouble();
    v = s.getInput();
  }
  return v;
}

} // namespace fusion
} // namespace mlir::hybrid

#endif // HYBRIDC_PASSES_FUSIONPATTERNS_H
