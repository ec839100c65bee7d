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

const std::vector<std::string> &fusionNames() {
  // rope-attention and mamba first: they consume the ops the later fusions
  // would otherwise split up (parallel groups the projections around them);
  // add-rmsnorm takes the residual adds before epilogues would fold them
  // into GEMMs; epilogues fold what scales and adds remain.
  static const std::vector<std::string> names{"rope-attention", "mamba", "parallel",
                                              "add-rmsnorm", "epilogues"};
  return names;
}

static std::unique_ptr<mlir::Pass> createFusion(const std::string &name) {
  if (name == "rope-attention")
    return mlir::hybrid::createHybridFuseRopeAttention();
  if (name == "mamba")
    return mlir::hybrid::createHybridFuseMamba();
  if (name == "parallel")
    return mlir::hybrid::createHybridFuseParallel();
  if (name == "add-rmsnorm")
    return mlir::hybrid::createHybridFuseAddRMSNorm();
  return mlir::hybrid::createHybridFuseEpilogues();
}

void buildFusedPipeline(mlir::OpPassManager &pm, const PipelineOptions &opts) {
  buildTensorPipeline(pm, opts);
  for (const std::string &name : fusionNames())
    if (!opts.disabledFusions.count(name))
      pm.addPass(createFusion(name));
}

mlir::LogicalResult buildPipeline(mlir::OpPassManager &pm, const PipelineOptions &opts,
                                  llvm::raw_ostream &errorStream) {
  switch (opts.stopAfter) {
  case Phase::Architecture:
    buildArchitecturePipeline(pm, opts);
    return mlir::success();
  case Phase::Tensor:
    buildTensorPipeline(pm, opts);
    break;
  case Phase::Fused:
    buildTensorPipeline(pm, opts);
    break;
  }
  if (!opts.userPasses.empty() &&
      mlir::failed(mlir::parsePassPipeline(opts.userPasses, pm, errorStream)))
    return mlir::failure();
  if (opts.stopAfter == Phase::Fused)
    for (const std::string &name : fusionNames())
      if (!opts.disabledFusions.count(name))
        pm.addPass(createFusion(name));
  return mlir::success();
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
  mlir::PassPipelineRegistration<>(
      "hybrid-fused-pipeline",
      "Tensor pipeline, then every --hybrid-fuse-* pass in order",
      [](mlir::OpPassManager &pm) { buildFusedPipeline(pm, {}); });
}

} // namespace hybridc
