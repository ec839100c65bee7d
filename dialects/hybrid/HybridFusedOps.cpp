//===- HybridFusedOps.cpp - Verifiers of the fused ops --------------------===//
//
// Each fused op checks the shapes its unfused group would have checked, so a
// hand-written fused op is as safe as the group it replaces.
//
//===----------------------------------------------------------------------===//
#include "dialects/hybrid/HybridDialect.h"
#include "dialects/hybrid/ShapeChecks.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace mlir::hybrid;

using namespace mlir::hybrid::shape;

namespace {
int64_t last(Value v) { return rt(v).getShape().back(); }

/// A 1-D weight of `want` elements.
LogicalResult expectVector(Operation *op, const Twine &what, Value v, const Twine &against,
                           int64_t want) {
  if (failed(expectRank(op, what, v, 1)))
    return failure();
  return expectDim(op, what + " size", rt(v).getDimSize(0), against, want);
}
LogicalResult expectShape(Operation *op, const Twine &what, Value result, ArrayRef<int64_t> want) {
  auto t = rt(result);
  if (t.getRank() != (int64_t)want.size())
    return op->emitOpError() << what << " must have rank " << want.size();
  for (auto [i, d] : llvm::enumerate(t.getShape()))
    if (!same(d, want[i]))
      return op->emitOpError() << what << " dim " << i << " (" << dimStr(d) << ") must be "
                               << dimStr(want[i]);
  return success();
}
SmallVector<int64_t> withLast(Value v, int64_t lastDim) {
  SmallVector<int64_t> s(rt(v).getShape());
  s.back() = lastDim;
  return s;
}
/// weight [N, K] against an input of width K; returns N.
FailureOr<int64_t> checkWeight(Operation *op, const Twine &what, Value w, Value input) {
  if (failed(expectRank(op, what, w, 2)) ||
      failed(expectDim(op, "input width", last(input), what + " dim 1", rt(w).getDimSize(1))))
    return failure();
  return rt(w).getDimSize(0);
}
LogicalResult checkScales(Operation *op, std::optional<ArrayRef<double>> scales, size_t n) {
  if (scales && scales->size() != n)
    return op->emitOpError() << "has " << scales->size() << " scales for " << n << " weights";
  return success();
}
} // namespace

LogicalResult RopeAttentionOp::verify() {
  if (failed(verifyAttentionOperands(*this, getQ(), getK(), getV(), (int64_t)getWindow())))
    return failure();
  auto q = rt(getQ()).getShape();
  if (!ShapedType::isDynamic(q[3]) && q[3] % 2)
    return emitOpError() << "head dim (" << q[3] << ") must be even";
  if (!(getTheta().convertToDouble() > 0))
    return emitOpError("theta must be positive");
  int64_t rd = getRotaryDim();
  if (rd < 0 || rd % 2 || (!ShapedType::isDynamic(q[3]) && rd > q[3]))
    return emitOpError() << "rotary_dim (" << rd << ") must be even and at most the head dim";
  return expectShape(*this, "result", getResult(), q);
}

LogicalResult Mamba2CoreOp::verify() {
  int64_t heads = getHeads(), inner = heads * getHeadDim(), gn = getGroups() * getState();
  int64_t convDim = inner + 2 * gn;
  if (heads % getGroups())
    return emitOpError() << "groups (" << getGroups() << ") must divide heads (" << heads << ")";
  auto parts = getParts();
  if (parts.size() != 1 && parts.size() != 3)
    return emitOpError() << "takes 1 part (zxbcdt) or 3 (z, xBC, dt), got " << parts.size();
  for (Value p : parts)
    if (failed(expectRank(*this, "each part", p, 3)))
      return failure();
  if (parts.size() == 1) {
    if (failed(expectDim(*this, "zxbcdt width", last(parts[0]),
                         "inner + conv_dim + heads", inner + convDim + heads)))
      return failure();
  } else if (failed(expectDim(*this, "z width", last(parts[0]), "inner", inner)) ||
             failed(expectDim(*this, "xBC width", last(parts[1]), "conv_dim", convDim)) ||
             failed(expectDim(*this, "dt width", last(parts[2]), "heads", heads))) {
    return failure();
  }
  if (failed(expectRank(*this, "conv_weight", getConvWeight(), 3)) ||
      failed(expectDim(*this, "conv_weight dim 0", rt(getConvWeight()).getDimSize(0), "conv_dim",
                       convDim)) ||
      failed(expectDim(*this, "conv_weight dim 1", rt(getConvWeight()).getDimSize(1),
                       "1 (depthwise)", 1)))
    return failure();
  if (getConvBias() && failed(expectVector(*this, "conv_bias", getConvBias(), "conv_dim", convDim)))
    return failure();
  if (failed(expectVector(*this, "dt_bias", getDtBias(), "heads", heads)) ||
      failed(expectVector(*this, "a_log", getALog(), "heads", heads)) ||
      (getD() && failed(expectVector(*this, "d", getD(), "heads", heads))) ||
      (getNormWeight() &&
       failed(expectVector(*this, "norm_weight", getNormWeight(), "inner", inner))))
    return failure();
  if (getNormGroups() <= 0 || inner % getNormGroups())
    return emitOpError() << "norm_groups (" << getNormGroups() << ") must divide inner (" << inner
                         << ")";
  if (auto lim = getDtLimit(); lim && (lim->size() != 2 || (*lim)[0] > (*lim)[1]))
    return emitOpError("dt_limit must be [lo, hi] with lo <= hi");
  return expectShape(*this, "result", getResult(), withLast(parts[0], inner));
}

LogicalResult LinearGroupOp::verify() {
  auto weights = getWeights(), biases = getBiases();
  if (weights.empty())
    return emitOpError("needs at least one weight");
  if (getNumResults() != weights.size())
    return emitOpError() << "has " << getNumResults() << " results for " << weights.size()
                         << " weights";
  if (!biases.empty() && biases.size() != weights.size())
    return emitOpError() << "has " << biases.size() << " biases for " << weights.size()
                         << " weights (none or one each)";
  if (failed(checkScales(*this, getScales(), weights.size())))
    return failure();
  for (auto [i, w] : llvm::enumerate(weights)) {
    std::string name = "weight " + std::to_string(i);
    FailureOr<int64_t> n = checkWeight(*this, name, w, getInput());
    if (failed(n) ||
        (!biases.empty() &&
         failed(expectVector(*this, "bias " + std::to_string(i), biases[i], name + " dim 0", *n))) ||
        failed(expectShape(*this, "result " + std::to_string(i), getResults()[i],
                           withLast(getInput(), *n))))
      return failure();
  }
  return success();
}

LogicalResult LinearSumOp::verify() {
  auto inputs = getInputs(), weights = getWeights();
  if (inputs.empty() || inputs.size() != weights.size())
    return emitOpError() << "needs one weight per input, got " << inputs.size() << " inputs and "
                         << weights.size() << " weights";
  if (failed(checkScales(*this, getScales(), weights.size())))
    return failure();
  int64_t n = ShapedType::kDynamic;
  for (auto [i, x] : llvm::enumerate(inputs)) {
    FailureOr<int64_t> ni = checkWeight(*this, "weight " + std::to_string(i), weights[i], x);
    if (failed(ni))
      return failure();
    if (failed(expectDim(*this, "weight " + std::to_string(i) + " dim 0", *ni, "weight 0 dim 0",
                         i ? n : *ni)))
      return failure();
    n = *ni;
    auto a = rt(x).getShape(), a0 = rt(inputs[0]).getShape();
    if (a.size() != a0.size() ||
        !llvm::all_of(llvm::seq<size_t>(0, a.size() - 1), [&](size_t d) { return same(a[d], a0[d]); }))
      return emitOpError("inputs must agree in every dim but the last");
  }
  return expectShape(*this, "result", getResult(), withLast(inputs[0], n));
}

LogicalResult BranchCombineOp::verify() {
  auto a = rt(getA()).getShape(), b = rt(getB()).getShape();
  if (a.size() != b.size() || a.empty())
    return emitOpError("branches must have the same rank");
  for (size_t i = 0; i + 1 < a.size(); ++i)
    if (!same(a[i], b[i]))
      return emitOpError("branches must agree in every dim but the last");
  if (getNorm() == BranchNorm::none)
    return emitOpError("norm must be rms or group (a plain hybrid.combine needs no fusion)");
  if (failed(expectVector(*this, "weight_a", getWeightA(), "the width of a", a.back())) ||
      failed(expectVector(*this, "weight_b", getWeightB(), "the width of b", b.back())))
    return failure();
  if (getNorm() == BranchNorm::group)
    for (auto [name, g, w] : {std::tuple<StringRef, int64_t, int64_t>{"groups_a", getGroupsA(), a.back()},
                              {"groups_b", getGroupsB(), b.back()}})
      if (g <= 0 || (!ShapedType::isDynamic(w) && w % g))
        return emitOpError() << name << " (" << g << ") must divide the branch width ("
                             << dimStr(w) << ")";
  SmallVector<int64_t> want(a);
  if (getMode() == Combine::concat)
    want.back() = ShapedType::isDynamic(a.back()) || ShapedType::isDynamic(b.back())
                      ? ShapedType::kDynamic
                      : a.back() + b.back();
  else if (!same(a.back(), b.back()))
    return emitOpError() << "branch widths differ (" << dimStr(a.back()) << " vs "
                         << dimStr(b.back()) << "): only concat combines them";
  return expectShape(*this, "result", getResult(), want);
}

LogicalResult AddRMSNormOp::verify() {
  auto l = rt(getLhs()).getShape();
  if (l.empty())
    return emitOpError("lhs must have rank >= 1");
  if (failed(expectShape(*this, "rhs", getRhs(), l)))
    return failure();
  if (failed(expectVector(*this, "weight", getWeight(), "the last dim", l.back())))
    return failure();
  if (!(getEps().convertToDouble() > 0))
    return emitOpError("eps must be positive");
  return failure(failed(expectShape(*this, "sum", getSum(), l)) ||
                 failed(expectShape(*this, "normed", getNormed(), l)));
}

LogicalResult FusedLinearOp::verify() {
  if (rt(getInput()).getRank() < 1)
    return emitOpError("input must have rank >= 1");
  FailureOr<int64_t> n = checkWeight(*this, "weight", getWeight(), getInput());
  if (failed(n) ||
      (getBias() && failed(expectVector(*this, "bias", getBias(), "weight dim 0", *n))))
    return failure();
  SmallVector<int64_t> want = withLast(getInput(), *n);
  if (getResidual() && failed(expectShape(*this, "residual", getResidual(), want)))
    return failure();
  return expectShape(*this, "result", getResult(), want);
}

LogicalResult SwigluLinearOp::verify() {
  if (rt(getInput()).getRank() < 1)
    return emitOpError("input must have rank >= 1");
  FailureOr<int64_t> g = checkWeight(*this, "gate", getGate(), getInput());
  if (failed(g))
    return failure();
  FailureOr<int64_t> u = checkWeight(*this, "up", getUp(), getInput());
  if (failed(u) || failed(expectDim(*this, "up dim 0", *u, "gate dim 0", *g)))
    return failure();
  auto biases = getBiases();
  if (!biases.empty() && biases.size() != 2)
    return emitOpError() << "takes no biases or two (gate, up), got " << biases.size();
  if (!biases.empty() && (failed(expectVector(*this, "gate bias", biases[0], "gate dim 0", *g)) ||
                          failed(expectVector(*this, "up bias", biases[1], "up dim 0", *u))))
    return failure();
  return expectShape(*this, "result", getResult(), withLast(getInput(), *g));
}
