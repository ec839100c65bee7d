//===- HybridOps.cpp - Op verifiers ---------------------------------------===//
#include "dialects/hybrid/HybridDialect.h"
#include "dialects/hybrid/ShapeChecks.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallSet.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::hybrid;

#define GET_OP_CLASSES
#include "dialects/hybrid/HybridOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Architecture level
//===----------------------------------------------------------------------===//

/// Checks of one mixer/FFN against the model width.
static LogicalResult verifyAgainstModel(BlockOp block, int64_t dModel) {
  auto checkMamba = [&](Mamba2Attr m) -> LogicalResult {
    if (m.getExpand() && m.getInner() != m.getExpand() * dModel)
      return block.emitOpError()
             << "mamba2 heads (" << m.getHeads() << ") x head_dim ("
             << m.getHeadDim() << ") = " << m.getInner()
             << " does not match expand (" << m.getExpand() << ") x d_model ("
             << dModel << ") = " << m.getExpand() * dModel;
    return success();
  };
  if (auto mixer = block.getMixerAttr()) {
    if (auto m = dyn_cast<Mamba2Attr>(mixer))
      return checkMamba(m);
    if (auto p = dyn_cast<ParallelAttr>(mixer))
      return checkMamba(p.getMamba());
  }
  return success();
}

LogicalResult ModelOp::verify() {
  if (!(getNormEps().convertToDouble() > 0))
    return emitOpError("norm_eps must be positive");
  return success();
}

LogicalResult ModelOp::verifyRegions() {
  int autos = 0;
  for (Operation &op : getBody().front()) {
    if (!isa<BlockOp, PatternOp, AutoOp>(op))
      return op.emitOpError("is not allowed in a hybrid.model body "
                            "(expected hybrid.block, hybrid.pattern or hybrid.auto)");
    if (isa<AutoOp>(op) && ++autos > 1)
      return op.emitOpError("only one hybrid.auto is allowed per model");
  }
  if (getBody().front().empty())
    return emitOpError("has no blocks");
  int64_t dModel = getDModel();
  WalkResult r = walk([&](BlockOp b) {
    return failed(verifyAgainstModel(b, dModel)) ? WalkResult::interrupt()
                                                 : WalkResult::advance();
  });
  return failure(r.wasInterrupted());
}

LogicalResult BlockOp::verify() {
  if (!getMixerAttr() && !getFfnAttr())
    return emitOpError("needs a mixer, an ffn or both");
  return success();
}

/// Collects the labelled templates of a pattern/auto body; every op must be a
/// block with a one-character label, labels unique.
static LogicalResult collectTemplates(Operation *owner, Region &body,
                                      llvm::DenseMap<char, BlockOp> &out) {
  for (Operation &op : body.front()) {
    auto block = dyn_cast<BlockOp>(op);
    if (!block)
      return op.emitOpError("is not allowed here: ")
             << owner->getName() << " holds only labelled hybrid.block templates";
    auto label = block.getLabel();
    if (!label || label->size() != 1)
      return block.emitOpError("template inside ")
             << owner->getName() << " needs a one-character label";
    if (!out.try_emplace((*label)[0], block).second)
      return block.emitOpError("duplicate template label '") << *label << "'";
  }
  return success();
}

LogicalResult PatternOp::verifyRegions() {
  llvm::DenseMap<char, BlockOp> templates;
  if (failed(collectTemplates(*this, getBody(), templates)))
    return failure();
  if (getPattern().empty())
    return emitOpError("pattern must not be empty");
  for (char c : getPattern())
    if (!templates.count(c))
      return emitOpError("pattern letter '") << c << "' has no template block";
  return success();
}

LogicalResult AutoOp::verify() {
  double f = getAttentionFraction().convertToDouble();
  if (!(f >= 0.0 && f <= 1.0))
    return emitOpError("attention_fraction must be in [0, 1], got ") << f;
  if (getContextLength() <= 0 || getBatch() <= 0)
    return emitOpError("context_length and batch must be positive");
  if ((int64_t)getCacheBudget() < 0)
    return emitOpError("cache_budget must be >= 0 (0: no budget)");
  return success();
}

LogicalResult AutoOp::verifyRegions() {
  llvm::DenseMap<char, BlockOp> templates;
  if (failed(collectTemplates(*this, getBody(), templates)))
    return failure();
  for (auto &[label, block] : templates) {
    Attribute mixer = block.getMixerAttr();
    bool ok = (label == 'A' && isa_and_nonnull<AttentionAttr>(mixer)) ||
              (label == 'M' && isa_and_nonnull<Mamba2Attr>(mixer)) ||
              (label == 'P' && isa_and_nonnull<ParallelAttr>(mixer));
    if (!ok)
      return block.emitOpError("hybrid.auto templates are \"A\" (attention), "
                               "\"M\" (mamba2) and \"P\" (parallel)");
  }
  if (!templates.count('A') || !templates.count('M'))
    return emitOpError("needs an \"A\" and an \"M\" template block");
  if (getLayout() == Layout::intra && !templates.count('P'))
    return emitOpError("layout intra needs a \"P\" template block");
  return success();
}

//===----------------------------------------------------------------------===//
// Tensor level
//===----------------------------------------------------------------------===//

using namespace mlir::hybrid::shape;

/// Result must have the shape of `like` (element types must match too).
static LogicalResult expectShape(Operation *op, Value result, ArrayRef<int64_t> want) {
  auto t = rt(result);
  if (t.getRank() != (int64_t)want.size())
    return op->emitOpError() << "result must have rank " << want.size();
  for (auto [i, d] : llvm::enumerate(t.getShape()))
    if (!same(d, want[i]))
      return op->emitOpError() << "result dim " << i << " (" << dimStr(d)
                               << ") must be " << dimStr(want[i]);
  return success();
}

LogicalResult EmbeddingOp::verify() {
  if (failed(expectRank(*this, "table", getTable(), 2)) ||
      failed(expectRank(*this, "ids", getIds(), 2)))
    return failure();
  auto ids = rt(getIds()).getShape();
  return expectShape(*this, getResult(),
                     {ids[0], ids[1], rt(getTable()).getDimSize(1)});
}

static LogicalResult verifyNormLike(Operation *op, Value input, Value weight,
                                    Value result) {
  auto in = rt(input);
  if (in.getRank() < 1)
    return op->emitOpError("input must have rank >= 1");
  if (failed(expectRank(op, "weight", weight, 1)) ||
      failed(expectDim(op, "weight size", rt(weight).getDimSize(0),
                       "the last input dim", in.getShape().back())))
    return failure();
  return expectShape(op, result, in.getShape());
}

LogicalResult RMSNormOp::verify() {
  return verifyNormLike(*this, getInput(), getWeight(), getResult());
}

static LogicalResult verifyGroups(Operation *op, int64_t width, int64_t groups) {
  if (!ShapedType::isDynamic(width) && width % groups != 0)
    return op->emitOpError() << "groups (" << groups
                             << ") must divide the last dim (" << width << ")";
  return success();
}

LogicalResult GroupNormOp::verify() {
  if (failed(verifyNormLike(*this, getInput(), getWeight(), getResult())))
    return failure();
  return verifyGroups(*this, rt(getInput()).getShape().back(), getGroups());
}

LogicalResult GatedRMSNormOp::verify() {
  if (failed(verifyNormLike(*this, getInput(), getWeight(), getResult())))
    return failure();
  auto in = rt(getInput()).getShape(), gate = rt(getGate()).getShape();
  if (in.size() != gate.size() ||
      !llvm::all_of(llvm::zip(in, gate), [](auto p) {
        return same(std::get<0>(p), std::get<1>(p));
      }))
    return emitOpError("gate must have the shape of the input");
  return verifyGroups(*this, rt(getInput()).getShape().back(), getGroups());
}

LogicalResult LinearOp::verify() {
  if (failed(expectRank(*this, "weight", getWeight(), 2)))
    return failure();
  auto in = rt(getInput());
  if (in.getRank() < 1)
    return emitOpError("input must have rank >= 1");
  int64_t out = rt(getWeight()).getDimSize(0), k = rt(getWeight()).getDimSize(1);
  if (failed(expectDim(*this, "input width", in.getShape().back(),
                       "weight dim 1", k)))
    return failure();
  if (getBias() && (failed(expectRank(*this, "bias", getBias(), 1)) ||
                    failed(expectDim(*this, "bias size", rt(getBias()).getDimSize(0),
                                     "weight dim 0", out))))
    return failure();
  SmallVector<int64_t> want(in.getShape());
  want.back() = out;
  return expectShape(*this, getResult(), want);
}

LogicalResult Conv1dCausalOp::verify() {
  if (failed(expectRank(*this, "input", getInput(), 3)) ||
      failed(expectRank(*this, "weight", getWeight(), 3)))
    return failure();
  auto w = rt(getWeight()).getShape();
  int64_t channels = rt(getInput()).getDimSize(2);
  if (failed(expectDim(*this, "weight dim 0", w[0], "the channel count", channels)) ||
      failed(expectRank(*this, "weight", getWeight(), 3)))
    return failure();
  if (!same(w[1], 1))
    return emitOpError() << "weight dim 1 (" << dimStr(w[1]) << ") must be 1 (depthwise conv)";
  if (getBias() && (failed(expectRank(*this, "bias", getBias(), 1)) ||
                    failed(expectDim(*this, "bias size", rt(getBias()).getDimSize(0),
                                     "the channel count", channels))))
    return failure();
  return expectShape(*this, getResult(), rt(getInput()).getShape());
}

LogicalResult SSDScanOp::verify() {
  if (failed(expectRank(*this, "x", getX(), 4)) ||
      failed(expectRank(*this, "dt", getDt(), 3)) ||
      failed(expectRank(*this, "A_log", getALog(), 1)) ||
      failed(expectRank(*this, "B", getB(), 4)) ||
      failed(expectRank(*this, "C", getC(), 4)))
    return failure();
  auto x = rt(getX()).getShape(), dt = rt(getDt()).getShape();
  auto b = rt(getB()).getShape(), c = rt(getC()).getShape();
  int64_t heads = x[2];
  for (int i = 0; i < 2; ++i) {
    StringRef name = i == 0 ? "batch" : "sequence";
    if (failed(expectDim(*this, Twine("dt ", name).str(), dt[i], Twine("x ", name).str(), x[i])) ||
        failed(expectDim(*this, Twine("B ", name).str(), b[i], Twine("x ", name).str(), x[i])))
      return failure();
  }
  if (failed(expectDim(*this, "dt heads", dt[2], "x heads", heads)) ||
      failed(expectDim(*this, "A_log size", rt(getALog()).getDimSize(0), "x heads", heads)))
    return failure();
  for (int i = 0; i < 4; ++i)
    if (!same(b[i], c[i]))
      return emitOpError("B and C must have the same shape");
  if (!ShapedType::isDynamic(heads) && !ShapedType::isDynamic(b[2]) &&
      (b[2] <= 0 || heads % b[2] != 0))
    return emitOpError() << "groups of B/C (" << b[2] << ") must divide heads ("
                         << heads << ")";
  if (getD() && (failed(expectRank(*this, "D", getD(), 1)) ||
                 failed(expectDim(*this, "D size", rt(getD()).getDimSize(0),
                                  "x heads", heads))))
    return failure();
  return expectShape(*this, getResult(), x);
}

LogicalResult RopeOp::verify() {
  if (failed(expectRank(*this, "input", getInput(), 4)))
    return failure();
  int64_t d = rt(getInput()).getDimSize(3);
  if (!ShapedType::isDynamic(d) && d % 2)
    return emitOpError() << "head dim (" << d << ") must be even";
  if (!(getTheta().convertToDouble() > 0))
    return emitOpError("theta must be positive");
  int64_t rd = getRotaryDim();
  if (rd < 0 || rd % 2 || (!ShapedType::isDynamic(d) && rd > d))
    return emitOpError() << "rotary_dim (" << rd << ") must be even and at most the head dim";
  return expectShape(*this, getResult(), rt(getInput()).getShape());
}

LogicalResult AttentionOp::verify() {
  if (failed(verifyAttentionOperands(*this, getQ(), getK(), getV(), (int64_t)getWindow())))
    return failure();
  return expectShape(*this, getResult(), rt(getQ()).getShape());
}

static LogicalResult verifyBroadcast(Operation *op, Value lhs, Value rhs, Value result) {
  auto l = rt(lhs).getShape(), r = rt(rhs).getShape();
  if (r.size() > l.size())
    return op->emitOpError("rhs rank must not exceed lhs rank");
  for (size_t i = 0; i < r.size(); ++i) {
    int64_t ld = l[l.size() - r.size() + i], rd = r[i];
    if (rd != 1 && !same(ld, rd))
      return op->emitOpError() << "rhs dim " << i << " (" << dimStr(rd)
                               << ") does not broadcast to lhs dim "
                               << l.size() - r.size() + i << " (" << dimStr(ld) << ")";
  }
  return expectShape(op, result, l);
}
LogicalResult AddOp::verify() { return verifyBroadcast(*this, getLhs(), getRhs(), getResult()); }
LogicalResult MulOp::verify() { return verifyBroadcast(*this, getLhs(), getRhs(), getResult()); }

LogicalResult CombineOp::verify() {
  auto a = rt(getA()).getShape(), b = rt(getB()).getShape();
  if (a.size() != b.size() || a.empty())
    return emitOpError("branches must have the same rank");
  for (size_t i = 0; i + 1 < a.size(); ++i)
    if (!same(a[i], b[i]))
      return emitOpError("branches must agree in every dim but the last");
  SmallVector<int64_t> want(a);
  if (getMode() == Combine::concat) {
    if (!ShapedType::isDynamic(a.back()) && !ShapedType::isDynamic(b.back()))
      want.back() = a.back() + b.back();
    else
      want.back() = ShapedType::kDynamic;
  } else if (!same(a.back(), b.back())) {
    return emitOpError() << "branch widths differ (" << dimStr(a.back()) << " vs "
                         << dimStr(b.back()) << "): only concat combines them";
  }
  return expectShape(*this, getResult(), want);
}

LogicalResult SplitOp::verify() {
  auto in = rt(getInput()).getShape();
  if (in.empty())
    return emitOpError("input must have rank >= 1");
  if (getSizes().size() != getNumResults())
    return emitOpError() << "has " << getNumResults() << " results but "
                         << getSizes().size() << " sizes";
  int64_t total = 0;
  for (int64_t s : getSizes()) {
    if (s <= 0)
      return emitOpError("sizes must be positive");
    total += s;
  }
  if (failed(expectDim(*this, "sum of sizes", total, "the last input dim", in.back())))
    return failure();
  for (auto [i, r] : llvm::enumerate(getResults())) {
    SmallVector<int64_t> want(in);
    want.back() = getSizes()[i];
    if (failed(expectShape(*this, r, want)))
      return failure();
  }
  return success();
}

LogicalResult ReshapeOp::verify() {
  auto in = rt(getInput()).getShape(), out = rt(getResult()).getShape();
  if (in.size() < 2 || out.size() < 2)
    return emitOpError("input and result need rank >= 2");
  for (int i = 0; i < 2; ++i)
    if (!same(in[i], out[i]))
      return emitOpError() << "leading dim " << i << " must pass through unchanged";
  auto product = [](ArrayRef<int64_t> dims) -> int64_t {
    int64_t p = 1;
    for (int64_t d : dims.drop_front(2)) {
      if (ShapedType::isDynamic(d))
        return ShapedType::kDynamic;
      p *= d;
    }
    return p;
  };
  int64_t pi = product(in), po = product(out);
  if (!same(pi, po))
    return emitOpError() << "trailing dims hold " << pi << " elements in the input but "
                         << po << " in the result";
  return success();
}

LogicalResult LMHeadOp::verify() {
  if (failed(expectRank(*this, "weight", getWeight(), 2)))
    return failure();
  auto in = rt(getInput()).getShape();
  auto w = rt(getWeight()).getShape();
  if (in.empty())
    return emitOpError("input must have rank >= 1");
  if (failed(expectDim(*this, "input width", in.back(), "weight dim 1", w[1])))
    return failure();
  SmallVector<int64_t> want(in);
  want.back() = w[0];
  return expectShape(*this, getResult(), want);
}

LogicalResult CrossEntropyOp::verify() {
  if (failed(expectRank(*this, "logits", getLogits(), 3)) ||
      failed(expectRank(*this, "labels", getLabels(), 2)))
    return failure();
  auto l = rt(getLogits()).getShape(), y = rt(getLabels()).getShape();
  if (!same(l[0], y[0]) || !same(l[1], y[1]))
    return emitOpError("labels must be [batch, sequence] of the logits");
  return success();
}

LogicalResult CustomCallOp::verify() {
  StringRef k = getKernel();
  if (k.empty() || !llvm::all_of(k, [](char c) { return llvm::isAlnum(c) || c == '_'; }))
    return emitOpError("kernel name must be a non-empty identifier of letters, digits and '_', got '")
           << k << "'";
  if (getNumResults() == 0)
    return emitOpError("must have at least one result");
  return success();
}

LogicalResult VjpOp::verify() {
  int64_t n = getNumInputs(), m = getNumOutputs();
  int64_t operands = getOperands().size();
  if (operands != n + 2 * m && operands != n + m)
    return emitOpError() << "takes " << n << " inputs, " << m << " results and " << m
                         << " result gradients (or none, for the loss), got " << operands
                         << " operands";
  if ((int64_t)getGradMask().size() != n)
    return emitOpError() << "grad_mask has " << getGradMask().size() << " entries for " << n
                         << " inputs";
  int64_t wanted = llvm::count(getGradMask(), true);
  if ((int64_t)getNumResults() != wanted)
    return emitOpError() << "grad_mask asks for " << wanted << " gradients but the op has "
                         << getNumResults() << " results";
  int64_t r = 0;
  for (int64_t i = 0; i < n; ++i)
    if (getGradMask()[i] && getResult(r++).getType() != getOperand(i).getType())
      return emitOpError() << "gradient " << r - 1 << " must have the type of input " << i;
  return success();
}

LogicalResult LMHeadLossOp::verify() {
  auto in = rt(getInput()).getShape(), w = rt(getWeight()).getShape(),
       y = rt(getLabels()).getShape();
  if (in.size() != 3 || w.size() != 2 || y.size() != 2)
    return emitOpError("takes input [batch, seq, d], weight [vocab, d] and labels [batch, seq]");
  if (failed(expectDim(*this, "input width", in[2], "weight dim 1", w[1])))
    return failure();
  if (!same(in[0], y[0]) || !same(in[1], y[1]))
    return emitOpError("labels must be [batch, seq] of the input");
  return success();
}
