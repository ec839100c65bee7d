//===- HybridAutodiff.cpp - Build the train_step function -----------------===//
//
// Reverse-mode differentiation at tensor level. Each forward op the loss
// depends on gets one hybrid.vjp (its kernel "<op>.grad" knows the op's
// derivative); the pass only wires values: which gradients each vjp must
// produce (inputs that depend on a weight), sums of contributions, zero
// gradients for results nobody reads, and reshapes run backwards.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"

namespace mlir::hybrid {
#define GEN_PASS_DEF_HYBRIDAUTODIFF
#include "passes/Passes.h.inc"
} // namespace mlir::hybrid

using namespace mlir;
using namespace mlir::hybrid;

namespace {

bool isFloatTensor(Type t) {
  auto r = dyn_cast<RankedTensorType>(t);
  return r && isa<FloatType>(r.getElementType());
}

/// Bytes per token of a [B, L, ...] activation; 0 for other values.
int64_t bytesPerToken(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  if (!t || t.getRank() < 2 || !t.isDynamicDim(0) || !t.isDynamicDim(1))
    return 0;
  int64_t n = 4;
  for (int64_t d : t.getShape().drop_front(2))
    n *= d;
  return n;
}

/// Element-wise ops whose recomputation costs one pass over their inputs.
bool isCheapToRecompute(Operation *op) {
  return isa<SiluOp, SoftplusOp, Relu2Op, ClampOp, ScaleOp, AddOp, MulOp, SwigluOp, RopeOp>(op);
}

class Builder {
public:
  Builder(func::FuncOp forward, int64_t budget, bool chunkedLoss, int64_t lossChunk)
      : forward(forward), budget(budget), chunkedLoss(chunkedLoss), lossChunk(lossChunk) {}

  LogicalResult build() {
    OpBuilder b(forward);
    b.setInsertionPointAfter(forward);
    Location loc = forward.getLoc();
    MLIRContext *ctx = forward.getContext();
    auto idsType = cast<RankedTensorType>(forward.getArgument(0).getType());
    auto lossType = RankedTensorType::get({}, b.getF32Type());
    fn = func::FuncOp::create(b, loc, (forward.getSymName() + "_train_step").str(),
                              b.getFunctionType({idsType, idsType}, {lossType}));
    fn->setAttr("hybrid.train_step", forward.getSymNameAttr());
    Block *entry = fn.addEntryBlock();
    OpBuilder body = OpBuilder::atBlockBegin(entry);

    // The LM head (and its multiplier) feeding only the result can be fused
    // with the loss: then the [tokens, vocab] logits are never built.
    LMHeadOp head;
    ScaleOp headScale;
    if (chunkedLoss) {
      auto ret = cast<func::ReturnOp>(forward.getBody().front().getTerminator());
      Value out = ret.getOperand(0);
      if (auto sc = out.getDefiningOp<ScaleOp>(); sc && sc->hasOneUse()) {
        headScale = sc;
        out = sc.getInput();
      }
      if (auto h = out.getDefiningOp<LMHeadOp>(); h && h->hasOneUse())
        head = h;
      else
        headScale = {};
    }

    // Forward: a copy of the forward function.
    IRMapping map;
    map.map(forward.getArgument(0), entry->getArgument(0));
    Value logits;
    for (Operation &op : forward.getBody().front()) {
      if (auto ret = dyn_cast<func::ReturnOp>(op)) {
        logits = head ? Value() : map.lookup(ret.getOperand(0));
        continue;
      }
      if (head && (&op == head.getOperation() || &op == headScale.getOperation()))
        continue;
      Operation *copy = body.clone(op, map);
      forwardOps.push_back(copy);
    }
    if (!head && !logits)
      return forward.emitOpError("has no logits to differentiate");
    Value labels = entry->getArgument(1);
    Value loss;
    if (head) {
      Value x = map.lookup(head.getInput()), w = map.lookup(head.getWeight());
      double factor = headScale ? headScale.getFactor().convertToDouble() : 1.0;
      loss = LMHeadLossOp::create(body, loc, lossType, x, w, labels,
                                  body.getI64IntegerAttr(lossChunk),
                                  body.getF64FloatAttr(factor))
                 .getResult();
    } else {
      loss = CrossEntropyOp::create(body, loc, lossType, logits, labels).getResult();
    }

    // Which values depend on a weight (and so need a gradient).
    for (Operation *op : forwardOps) {
      bool depends = isa<ParamOp>(op);
      for (Value v : op->getOperands())
        depends |= needsGrad.contains(v);
      if (depends)
        for (Value r : op->getResults())
          if (isFloatTensor(r.getType()))
            needsGrad.insert(r);
    }

    // The loss: its gradient seeded with 1 by the kernel.
    if (head) {
      Value x = map.lookup(head.getInput()), w = map.lookup(head.getWeight());
      SmallVector<Value> operands{x, w, labels, loss};
      auto lossOp = loss.getDefiningOp();
      auto vjp = VjpOp::create(body, loc, TypeRange{x.getType(), w.getType()},
                               body.getStringAttr("lm_head_loss"), operands,
                               body.getI64IntegerAttr(3), body.getI64IntegerAttr(1),
                               body.getDenseBoolArrayAttr({true, true, false}));
      for (NamedAttribute a : lossOp->getAttrs())
        vjp->setAttr(a.getName(), a.getValue());
      contributions[x].push_back(vjp.getResult(0));
      contributions[w].push_back(vjp.getResult(1));
    } else {
      SmallVector<Value> operands{logits, labels, loss};
      auto vjp = VjpOp::create(body, loc, TypeRange{logits.getType()},
                               body.getStringAttr("cross_entropy"), operands,
                               body.getI64IntegerAttr(2), body.getI64IntegerAttr(1),
                               body.getDenseBoolArrayAttr({true, false}));
      contributions[logits].push_back(vjp.getResult(0));
    }

    // Backward, in reverse order.
    for (Operation *op : llvm::reverse(forwardOps)) {
      if (isa<ParamOp>(op))
        continue;
      bool anyGrad = false;
      for (Value r : op->getResults())
        anyGrad |= contributions.count(r) != 0;
      if (!anyGrad)
        continue;
      SmallVector<Value> grads;
      for (Value r : op->getResults())
        grads.push_back(gradOf(body, loc, r));
      if (auto reshape = dyn_cast<ReshapeOp>(op)) {
        Value in = reshape.getInput();
        if (needsGrad.contains(in))
          contributions[in].push_back(
              ReshapeOp::create(body, loc, in.getType(), grads[0]).getResult());
        continue;
      }
      SmallVector<bool> mask;
      SmallVector<Type> types;
      for (Value v : op->getOperands()) {
        bool want = needsGrad.contains(v) && isFloatTensor(v.getType());
        mask.push_back(want);
        if (want)
          types.push_back(v.getType());
      }
      if (types.empty())
        continue;
      SmallVector<Value> operands(op->getOperands());
      operands.append(op->getResults().begin(), op->getResults().end());
      operands.append(grads.begin(), grads.end());
      std::string name = op->getName().stripDialect().str();
      if (auto custom = dyn_cast<CustomCallOp>(op))
        name = custom.getKernel().str();
      auto vjp = VjpOp::create(body, loc, types, body.getStringAttr(name), operands,
                               body.getI64IntegerAttr(op->getNumOperands()),
                               body.getI64IntegerAttr(op->getNumResults()),
                               body.getDenseBoolArrayAttr(mask));
      for (NamedAttribute a : op->getAttrs())
        if (!vjp->hasAttr(a.getName()) && a.getName() != "kernel")
          vjp->setAttr(a.getName(), a.getValue());
      vjpOps.push_back(vjp);
      unsigned r = 0;
      for (auto [i, v] : llvm::enumerate(op->getOperands()))
        if (mask[i])
          contributions[v].push_back(vjp.getResult(r++));
    }

    // Weight gradients, in the order the weights appear.
    SmallVector<Value> results{loss};
    SmallVector<Attribute> names;
    for (Operation *op : forwardOps)
      if (auto p = dyn_cast<ParamOp>(op))
        if (contributions.count(p.getResult())) {
          results.push_back(gradOf(body, loc, p.getResult()));
          names.push_back(p.getNameAttr());
        }
    func::ReturnOp::create(body, loc, results);
    SmallVector<Type> resultTypes;
    for (Value v : results)
      resultTypes.push_back(v.getType());
    fn.setType(FunctionType::get(ctx, {idsType, idsType}, resultTypes));
    fn->setAttr("hybrid.grad_names", ArrayAttr::get(ctx, names));
    applyRecomputePolicy();
    return success();
  }

private:
  /// The sum of the contributions to `v`'s gradient; zeros when there are
  /// none (a result the loss does not read).
  Value gradOf(OpBuilder &b, Location loc, Value v) {
    auto it = contributions.find(v);
    if (it == contributions.end() || it->second.empty())
      return ScaleOp::create(b, loc, v.getType(), v, b.getF64FloatAttr(0.0));
    Value sum = it->second.front();
    for (Value c : ArrayRef<Value>(it->second).drop_front())
      sum = AddOp::create(b, loc, v.getType(), sum, c);
    it->second = {sum};
    return sum;
  }

  /// Keeps the bytes per token of forward activations read by the backward
  /// under the budget by recomputing cheap element-wise ops in the backward.
  void applyRecomputePolicy() {
    auto saved = [&]() {
      llvm::DenseSet<Value> kept;
      for (VjpOp vjp : vjpOps)
        for (Value v : vjp.getOperands())
          if (Operation *def = v.getDefiningOp(); def && !isa<VjpOp>(def) && def->getBlock() &&
                                                  llvm::is_contained(forwardOps, def))
            kept.insert(v);
      int64_t total = 0;
      for (Value v : kept)
        total += bytesPerToken(v);
      return total;
    };
    int64_t before = saved();
    if (budget <= 0) {
      fn->setAttr("hybrid.saved_bytes_per_token", OpBuilder(fn).getI64IntegerAttr(before));
      return;
    }
    // Candidates: cheap ops whose results the backward reads, largest first.
    SmallVector<Operation *> candidates;
    for (Operation *op : forwardOps)
      if (isCheapToRecompute(op))
        candidates.push_back(op);
    llvm::stable_sort(candidates, [](Operation *a, Operation *b) {
      return bytesPerToken(a->getResult(0)) > bytesPerToken(b->getResult(0));
    });
    int64_t now = before, recomputed = 0;
    for (Operation *op : candidates) {
      if (now <= budget)
        break;
      SmallVector<OpOperand *> uses;
      for (OpOperand &u : op->getResult(0).getUses())
        if (isa<VjpOp>(u.getOwner()))
          uses.push_back(&u);
      if (uses.empty())
        continue;
      // Clone right before the first backward use; backward uses read the clone.
      Operation *first = uses.front()->getOwner();
      for (OpOperand *u : uses)
        if (u->getOwner()->isBeforeInBlock(first))
          first = u->getOwner();
      OpBuilder b(first);
      Operation *clone = b.clone(*op);
      for (OpOperand *u : uses)
        u->set(clone->getResult(0));
      ++recomputed;
      now = saved();
    }
    fn->setAttr("hybrid.saved_bytes_per_token", OpBuilder(fn).getI64IntegerAttr(now));
    fn.emitRemark() << "autodiff: activations kept for the backward: " << now
                    << " bytes/token (budget " << budget << ", " << before
                    << " when keeping all); " << recomputed << " op(s) recomputed"
                    << (now > budget ? "; the budget cannot be met by recomputing element-wise ops"
                                     : "");
  }

  func::FuncOp forward;
  int64_t budget;
  bool chunkedLoss;
  int64_t lossChunk;
  func::FuncOp fn;
  SmallVector<Operation *> forwardOps;
  SmallVector<VjpOp> vjpOps;
  llvm::DenseSet<Value> needsGrad;
  llvm::MapVector<Value, SmallVector<Value>> contributions;
};

struct HybridAutodiffPass
    : public mlir::hybrid::impl::HybridAutodiffBase<HybridAutodiffPass> {
  using HybridAutodiffBase::HybridAutodiffBase;
  void runOnOperation() override {
    SmallVector<func::FuncOp> forwards;
    for (auto f : getOperation().getOps<func::FuncOp>())
      if (f->hasAttr("hybrid.model"))
        forwards.push_back(f);
    for (func::FuncOp f : forwards) {
      Builder builder(f, memoryBudget, chunkedLoss, lossChunk);
      if (failed(builder.build()))
        return signalPassFailure();
    }
  }
};

} // namespace
