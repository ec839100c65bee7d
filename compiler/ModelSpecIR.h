//===- ModelSpecIR.h - ModelSpec <-> hybrid.model ---------------*- C++ -*-===//
//
// The bridge between the plain ModelSpec and the architecture level of the
// dialect. Reading expands hybrid.pattern on the fly; a hybrid.auto must be
// resolved (--hybrid-select-layout) before a spec can be read.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_COMPILER_MODELSPECIR_H
#define HYBRIDC_COMPILER_MODELSPECIR_H

#include "compiler/ModelSpec.h"
#include "dialects/hybrid/HybridDialect.h"

#include "mlir/IR/Builders.h"

namespace hybridc {

/// Reads a model; emits an error at the offending op and fails on a
/// hybrid.auto that was not resolved.
mlir::FailureOr<ModelSpec> specFromModel(mlir::hybrid::ModelOp model);

/// Reads one block (also a template inside a pattern / auto).
BlockSpec specFromBlock(mlir::hybrid::BlockOp block);

/// Builds the attributes of one block.
mlir::Attribute mixerAttrFor(mlir::MLIRContext *ctx, const BlockSpec &block,
                             int64_t dModel);
mlir::hybrid::FfnAttr ffnAttrFor(mlir::MLIRContext *ctx, const BlockSpec &block);

/// Creates a hybrid.model at the builder's insertion point. Runs of a repeated
/// layer period are written as hybrid.pattern when `compress` is set.
mlir::hybrid::ModelOp buildModel(mlir::OpBuilder &builder, mlir::Location loc,
                                 const ModelSpec &spec, bool compress = true);

} // namespace hybridc

#endif // HYBRIDC_COMPILER_MODELSPECIR_H
