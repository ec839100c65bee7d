//===- ProgramRunner.h - Run one program of an artifact on the CPU -*- C++ -*-===//
//
// The instruction loop shared by inference sessions and training steps:
// resolves value ids into tensors (arena, fixed arena, weights, inputs),
// attributes into an OpContext, and calls the registered CPU kernel.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_RUNTIME_EXEC_PROGRAMRUNNER_H
#define HYBRID_RUNTIME_EXEC_PROGRAMRUNNER_H

#include "runtime/exec/Executor.h"

#include <functional>

namespace hybrid {

struct ProgramRun {
  const Model *model = nullptr;
  const hyb::Program *program = nullptr;
  int64_t batch = 0, seq = 0;
  std::vector<const int32_t *> inputs;       // one per program input, [batch, seq]
  const std::vector<CacheRef> *caches = nullptr; // null: no state (training)
  const int64_t *pos0 = nullptr;             // [batch]
  /// Stop before the first backward (".grad") instruction: the loss only.
  bool forwardOnly = false;
  /// By value id (roots): round the value to bf16 (nearest even) as soon as
  /// its instruction wrote it. Null: everything stays fp32.
  const std::vector<bool> *roundToBf16 = nullptr;
};

/// Runs `run`; the arenas are resized as needed and kept for reuse. After a
/// successful run `view(id)` gives any value's tensor (outputs included).
class ProgramRunner {
public:
  Status run(const ProgramRun &run);
  TensorRef view(int id) const;
  /// Every op of the program has a CPU kernel (checked before running).
  static Status checkKernels(const hyb::Program &program);

private:
  ProgramRun run_;
  std::vector<float> arena_, fixed_;
  float one_ = 1.0f; // the seed gradient of the loss
};

} // namespace hybrid

#endif // HYBRID_RUNTIME_EXEC_PROGRAMRUNNER_H
