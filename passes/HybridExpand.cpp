//===- HybridExpand.cpp - Unroll hybrid.pattern ---------------------------===//
#include "passes/Passes.h"

#include "mlir/IR/Builders.h"

namespace mlir::hybrid {
#define GEN_PASS_DEF_HYBRIDEXPAND
#include "passes/Passes.h.inc"
} // namespace mlir::hybrid

using namespace mlir;
using namespace mlir::hybrid;

namespace {
struct HybridExpandPass : public mlir::hybrid::impl::HybridExpandBase<HybridExpandPass> {
  void runOnOperation() override {
    SmallVector<PatternOp> patterns;
    getOperation().walk([&](PatternOp p) { patterns.push_back(p); });
    for (PatternOp p : patterns) {
      llvm::DenseMap<char, BlockOp> templates;
      for (Operation &op : p.getBody().front())
        if (auto b = dyn_cast<BlockOp>(op))
          templates[(*b.getLabel())[0]] = b;
      OpBuilder builder(p);
      for (int64_t i = 0, e = p.getCount(); i < e; ++i)
        for (char c : p.getPattern()) {
          BlockOp t = templates.lookup(c);
          BlockOp::create(builder, t.getLoc(), StringAttr(),
                                      t.getMixerAttr(), t.getFfnAttr());
        }
      p.erase();
    }
  }
};
} // namespace
