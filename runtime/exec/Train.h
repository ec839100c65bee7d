//===- Train.h - One training step of a compiled model ----------*- C++ -*-===//
//
// What the executor offers the trainer (runtime/train/): the artifact's
// `train_step` program (built by `hybridc compile --train`: forward, mean
// next-token cross entropy, backward) run on a batch, giving the loss and the
// gradient of every weight. The optimizer, schedule, data and checkpoints
// live in runtime/train/ and only use this interface.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_RUNTIME_EXEC_TRAIN_H
#define HYBRID_RUNTIME_EXEC_TRAIN_H

#include "runtime/exec/Executor.h"

namespace hybrid {

/// Gradients by weight index (the artifact's weight table order), fp32,
/// each with the weight's element count.
struct Gradients {
  std::vector<std::vector<float>> byWeight;
};

/// Runs train_step on `batch` sequences of `seq` tokens: ids and labels are
/// [batch, seq] (labels[b, t] is the target of position t, usually
/// ids[b, t + 1]; negative labels are ignored). Returns the mean loss over
/// the non-ignored labels and OVERWRITES `grads` (resized as needed).
/// Fails when the artifact was compiled without --train.
StatusOr<double> runTrainStep(const Model &model, const int32_t *ids, const int32_t *labels,
                              int64_t batch, int64_t seq, Gradients *grads);

/// The same loss without the backward pass (validation).
StatusOr<double> evalLoss(const Model &model, const int32_t *ids, const int32_t *labels,
                          int64_t batch, int64_t seq);

} // namespace hybrid

#endif // HYBRID_RUNTIME_EXEC_TRAIN_H
