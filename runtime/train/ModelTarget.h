//===- ModelTarget.h - A compiled model as a TrainTarget --------*- C++ -*-===//
//
// Adapts Model + runtime/exec/Train.h (runTrainStep / evalLoss) to the
// training loop: weights by the artifact's table (canonical name for the
// decay groups, HF name in checkpoints).
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_RUNTIME_TRAIN_MODELTARGET_H
#define HYBRID_RUNTIME_TRAIN_MODELTARGET_H

#include "runtime/cuda/CudaSession.h"
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

/// The compiled model trained on the GPU (hybrid-run train --device cuda):
/// train_step, gradient accumulation and AdamW on the device (a
/// DeviceTrainer of libhybrid_cuda.so, created on first use from the host
/// weights, so that a resumed run starts from the restored ones).
class DeviceModelTrainTarget : public ModelTrainTarget {
public:
  DeviceModelTrainTarget(Model &model, int64_t batch) : ModelTrainTarget(model), model_(model), batch_(batch) {}
  StatusOr<double> trainStep(const Batch &batch, std::vector<std::vector<float>> *grads) override;
  StatusOr<double> evalLoss(const Batch &batch) override;
  bool updatesItself() const override { return true; }
  StatusOr<double> accumulate(const Batch &batch, bool first) override;
  StatusOr<double> update(const AdamWConfig &config, double lr, double clip, int64_t t,
                          const std::vector<bool> &decayed) override;
  Status syncToHost(std::vector<std::vector<float>> *m,
                    std::vector<std::vector<float>> *v) override;
  Status setMoments(const std::vector<std::vector<float>> &m,
                    const std::vector<std::vector<float>> &v) override;
  /// The device's name and the bytes the training state holds there.
  StatusOr<std::string> deviceSummary();

private:
  Status ensure();
  Model &model_;
  int64_t batch_;
  std::unique_ptr<DeviceTrainer> device_;
};

} // namespace hybrid

#endif // HYBRID_RUNTIME_TRAIN_MODELTARGET_H
