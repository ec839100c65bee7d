//===- Pipelines.h - The one place that orders passes -----------*- C++ -*-===//
//
// Named phases of compilation, built from an options struct (no global
// flags): architecture (expand patterns, resolve `auto` layouts), tensor
// (decompose to tensor-level ops) and fused (the --hybrid-fuse-* passes). `hybridc` and tests use these; hybrid-opt
// registers them as named pipelines.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_COMPILER_PIPELINES_H
#define HYBRIDC_COMPILER_PIPELINES_H

#include "mlir/Pass/PassManager.h"

#include <set>
#include <string>
#include <vector>

namespace hybridc {

enum class Phase { Architecture, Tensor, Fused };

struct PipelineOptions {
  Phase stopAfter = Phase::Tensor;
  /// Fusions to skip, by name (see fusionNames()); e.g. {"parallel"} to
  /// measure what the shared-input GEMMs buy.
  std::set<std::string> disabledFusions;
  /// Passes of the user (e.g. from a --load-pass-plugin library), as a
  /// textual pipeline of module passes; they run on the tensor-level module
  /// right before the built-in fusions, so a user fusion gets the first pick.
  std::string userPasses;
};

/// The fusions of the fused phase, in the order they run: "rope-attention",
/// "mamba", "parallel", "add-rmsnorm", "epilogues" (flag --hybrid-fuse-NAME).
const std::vector<std::string> &fusionNames();

/// Expand patterns and resolve hybrid.auto into concrete blocks.
void buildArchitecturePipeline(mlir::OpPassManager &pm, const PipelineOptions &opts);
/// Architecture pipeline, then lower to tensor-level functions.
void buildTensorPipeline(mlir::OpPassManager &pm, const PipelineOptions &opts);
/// Tensor pipeline, then each fusion not in opts.disabledFusions, in the
/// order of fusionNames(). Unknown names in disabledFusions are ignored here;
/// drivers check them with fusionNames().
void buildFusedPipeline(mlir::OpPassManager &pm, const PipelineOptions &opts);
/// Builds everything up to opts.stopAfter. Fails (with a diagnostic on
/// `errorStream`) when opts.userPasses does not parse.
mlir::LogicalResult buildPipeline(mlir::OpPassManager &pm, const PipelineOptions &opts,
                                  llvm::raw_ostream &errorStream);

/// Registers the pipelines with the pass registry (for hybrid-opt):
/// --hybrid-architecture-pipeline, --hybrid-tensor-pipeline,
/// --hybrid-fused-pipeline.
void registerPipelines();

} // namespace hybridc

#endif // HYBRIDC_COMPILER_PIPELINES_H
