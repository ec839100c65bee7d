//===- Passes.h - hybrid passes ---------------------------------*- C++ -*-===//
#ifndef HYBRIDC_PASSES_PASSES_H
#define HYBRIDC_PASSES_PASSES_H

#include "dialects/hybrid/HybridDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"

namespace mlir::hybrid {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

/// Replaces `model` by its tensor-level forward function (see
/// --hybrid-decompose). Reusable by other passes and tools.
LogicalResult decomposeModel(ModelOp model);

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

} // namespace mlir::hybrid

#endif // HYBRIDC_PASSES_PASSES_H
