//===- Pipelines.cpp - The one place that orders passes -------------------===//
#include "compiler/Pipelines.h"

#include "passes/Passes.h"

#include "mlir/Pass/PassRegistry.h"

namespace hybridc {

void buildArchitecturePipeline(mlir::OpPassManager &pm, const PipelineOptions &) {
  pm.addPass(mlir::hybrid::createHybridExpand());
  pm.addPass(mlir::hybrid::createHybridSelectLayout());
}

void buildTensorPipeline(mlir::OpPassManager &pm, const PipelineOptions &opts) {
  buildArchitecturePipeline(pm, opts);
  pm.addPass(mlir::hybrid::createHybridDecompose());
}

void buildPipeline(mlir::OpPassManager &pm, const PipelineOptions &opts) {
  switch (opts.stopAfter) {
  case Phase::Architecture:
    return buildArchitecturePipeline(pm, opts);
  case Phase::Tensor:
    return buildTensorPipeline(pm, opts);
  }
}

void registerPipelines() {
  mlir::PassPipelineRegistration<>(
      "hybrid-architecture-pipeline",
      "Expand patterns and resolve hybrid.auto layouts",
      [](mlir::OpPassManager &pm) { buildArchitecturePipeline(pm, {}); });
  mlir::PassPipelineRegistration<>(
      "hybrid-tensor-pipeline",
      "Architecture pipeline, then decompose to tensor-level ops",
      [](mlir::OpPassManager &pm) { buildTensorPipeline(pm, {}); });
}

} // namespace hybridc
