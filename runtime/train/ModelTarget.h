//===- ModelTarget.h - A compiled model as a TrainTarget --------*- C++ -*-===//
//
// Adapts Model + runtime/exec/Train.h (runTrainStep / evalLoss) to the
// training loop: weights by the artifact's table (canonical name for the
// decay groups, HF name in checkpoints).
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_RUNTIME_TRAIN_MODELTARGET_H
#define HYBRID_RUNTIME_TRAIN_MODELTARGET_H

#include "runtime/exec/Train.h"
#include "runtime/train/Loop.h"

namespace hybrid {

class ModelTrainTarget : public TrainTarget {
public:
  explicit ModelTrainTarget(Model &model) : model_(model) {}
  size_t numWeights() const override;
  std::string name(size_t i) const override;
  std::string fileName(size_t i) const override;
  std::vector<int64_t> shape(size_t i) const override;
  std::vector<float> &weight(size_t i) override { return model_.weight(static_cast<int>(i)); }
  StatusOr<double> trainStep(const Batch &batch, std::vector<std::vector<float>> *grads) override;
  StatusOr<double> evalLoss(const Batch &batch) override;

private:
  Model &model_;
  Gradients scratch_;
};

} // namespace hybrid

#endif // HYBRID_RUNTIME_TRAIN_MODELTARGET_H
