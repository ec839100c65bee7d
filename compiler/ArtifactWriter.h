//===- ArtifactWriter.h - Plan a tensor-level model into a .hyb -*- C++ -*-===//
//
// The kernel-level step: numbers the values of a tensor-level forward
// function, assigns every activation an arena offset by liveness (offsets
// scale with the token count, see runtime/hyb/hyb.fbs), gives each stateful
// mixer a cache slot, and serialises prefill and decode programs with the
// weight table into the flatbuffer artifact.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_COMPILER_ARTIFACTWRITER_H
#define HYBRIDC_COMPILER_ARTIFACTWRITER_H

#include "compiler/ModelSpec.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/Error.h"

#include <string>

namespace hybridc {

struct ArtifactOptions {
  std::string target = "cpu";   // cpu | cuda
  int64_t maxContext = 4096;    // KV cache length per sequence
  std::string sourceMlir;       // the architecture-level model text
};

/// Peak arena bytes per token and other facts of a plan, for reports.
struct PlanSummary {
  int64_t arenaBytesPerToken = 0;
  int64_t sumBytesPerToken = 0;  // without reuse, to show what liveness saves
  int64_t instructions = 0;
  int64_t caches = 0;
  int64_t trainArenaBytesPerToken = 0;  // train_step, when compiled
  int64_t trainFixedBytes = 0;
};

/// Serialises `forward` (the output of --hybrid-decompose and any fusions) of
/// the model `spec` as the prefill and decode programs, and `trainStep` (from
/// --hybrid-autodiff; may be null) as the train_step program.
llvm::Expected<std::string> buildArtifact(mlir::func::FuncOp forward,
                                          mlir::func::FuncOp trainStep,
                                          const ModelSpec &spec,
                                          const ArtifactOptions &opts,
                                          PlanSummary *summary = nullptr);

} // namespace hybridc

#endif // HYBRIDC_COMPILER_ARTIFACTWRITER_H
