//===- Passes.td - hybrid passes ---------------------------*- tablegen -*-===//
#ifndef HYBRID_PASSES
#define HYBRID_PASSES

include "mlir/Pass/PassBase.td"

def HybridExpand : Pass<"hybrid-expand", "::mlir::ModuleOp"> {
  let summary = "Unroll hybrid.pattern repeats into plain hybrid.block ops";
  let description = [{
    Each `hybrid.pattern "MMA" x N` becomes N x len(pattern) blocks, each a
    copy of the template its letter names, without the label.
  }];
  let dependentDialects = ["::mlir::hybrid::HybridDialect"];
}

#endif // HYBRID_PASSES
