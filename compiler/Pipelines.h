//===- Pipelines.h - The one place that orders passes -----------*- C++ -*-===//
//
// Named phases of compilation, built from an options struct (no global
// flags): architecture (expand patterns, resolve `auto` layouts) and tensor
// (decompose to tensor-level ops). `hybridc` and tests use these; hybrid-opt
// registers them as named pipelines.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_COMPILER_PIPELINES_H
#define HYBRIDC_COMPILER_PIPELINES_H

#include "mlir/Pass/PassManager.h"

namespace hybridc {

enum class Phase { Architecture, Tensor };

struct PipelineOptions {
  Phase stopAfter = Phase::Tensor;
};

/// Expand patterns and resolve hybrid.auto into concrete blocks.
void buildArchitecturePipeline(mlir::OpPassManager &pm, const PipelineOptions &opts);
/// Architecture pipeline, then lower to tensor-level functions.
void buildTensorPipeline(mlir::OpPassManager &pm, const PipelineOptions &opts);
/// Builds everything up to opts.stopAfter.
void buildPipeline(mlir::OpPassManager &pm, const PipelineOptions &opts);

/// Registers the pipelines with the pass registry (for hybrid-opt):
/// --hybrid-architecture-pipeline, --hybrid-tensor-pipeline.
void registerPipelines();

} // namespace hybridc

#endif // HYBRIDC_COMPILER_PIPELINES_H
