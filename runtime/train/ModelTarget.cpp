//===- ModelTarget.cpp - A compiled model as a TrainTarget ----------------===//
#include "runtime/train/ModelTarget.h"

namespace hybrid {

size_t ModelTrainTarget::numWeights() const { return model_.artifact().root().weights()->size(); }

std::string ModelTrainTarget::name(size_t i) const {
  return model_.artifact().root().weights()->Get(static_cast<uint32_t>(i))->name()->str();
}

std::string ModelTrainTarget::fileName(size_t i) const {
  return model_.artifact().root().weights()->Get(static_cast<uint32_t>(i))->hf_name()->str();
}

std::vector<int64_t> ModelTrainTarget::shape(size_t i) const {
  const auto *s = model_.artifact().root().weights()->Get(static_cast<uint32_t>(i))->shape();
  return std::vector<int64_t>(s->begin(), s->end());
}

StatusOr<double> ModelTrainTarget::trainStep(const Batch &b,
                                             std::vector<std::vector<float>> *grads) {
  // Swap buffers in and out so that no step reallocates the gradients.
  scratch_.byWeight.swap(*grads);
  auto loss = runTrainStep(model_, b.ids.data(), b.labels.data(), b.batch, b.seq, &scratch_);
  scratch_.byWeight.swap(*grads);
  return loss;
}

StatusOr<double> ModelTrainTarget::evalLoss(const Batch &b) {
  return hybrid::evalLoss(model_, b.ids.data(), b.labels.data(), b.batch, b.seq);
}

} // namespace hybrid
