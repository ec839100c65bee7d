//===- ModelTarget.cpp - A compiled model as a TrainTarget ----------------===//
#include "runtime/train/ModelTarget.h"

#include "runtime/exec/DeviceBackend.h"

#include <cstdio>

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

Status DeviceModelTrainTarget::ensure() {
  if (device_)
    return Status();
  HYBRID_ASSIGN_OR_RETURN(device_, createCudaTrainerDynamic(model_, batch_));
  return Status();
}

StatusOr<std::string> DeviceModelTrainTarget::deviceSummary() {
  HYBRID_RETURN_IF_ERROR(ensure());
  char buf[64];
  std::snprintf(buf, sizeof buf, ", %.2f GB of device memory", device_->deviceBytes() / 1e9);
  return device_->deviceName() + buf;
}

StatusOr<double> DeviceModelTrainTarget::trainStep(const Batch &b,
                                                   std::vector<std::vector<float>> *grads) {
  HYBRID_RETURN_IF_ERROR(ensure());
  if (b.batch != batch_)
    return HYBRID_ERROR("the device trainer was made for batch ", batch_, ", got ", b.batch);
  HYBRID_ASSIGN_OR_RETURN(double loss, device_->step(b.ids.data(), b.labels.data(), b.seq, false));
  HYBRID_RETURN_IF_ERROR(device_->gradients(grads));
  return loss;
}

StatusOr<double> DeviceModelTrainTarget::evalLoss(const Batch &b) {
  HYBRID_RETURN_IF_ERROR(ensure());
  if (b.batch != batch_)
    return HYBRID_ERROR("the device trainer was made for batch ", batch_, ", got ", b.batch);
  return device_->evalLoss(b.ids.data(), b.labels.data(), b.seq);
}

StatusOr<double> DeviceModelTrainTarget::accumulate(const Batch &b, bool first) {
  HYBRID_RETURN_IF_ERROR(ensure());
  if (b.batch != batch_)
    return HYBRID_ERROR("the device trainer was made for batch ", batch_, ", got ", b.batch);
  return device_->step(b.ids.data(), b.labels.data(), b.seq, !first);
}

StatusOr<double> DeviceModelTrainTarget::update(const AdamWConfig &config, double lr, double clip,
                                                int64_t t, const std::vector<bool> &decayed) {
  HYBRID_RETURN_IF_ERROR(ensure());
  DeviceAdamW u;
  u.lr = lr, u.beta1 = config.beta1, u.beta2 = config.beta2, u.eps = config.eps;
  u.weightDecay = config.weightDecay, u.clip = clip, u.t = t, u.decay = decayed;
  return device_->update(u);
}

Status DeviceModelTrainTarget::syncToHost(std::vector<std::vector<float>> *m,
                                          std::vector<std::vector<float>> *v) {
  HYBRID_RETURN_IF_ERROR(ensure());
  std::vector<std::vector<float>> w;
  HYBRID_RETURN_IF_ERROR(device_->weights(&w));
  for (size_t i = 0; i < w.size(); ++i)
    model_.weight(static_cast<int>(i)) = std::move(w[i]);
  HYBRID_RETURN_IF_ERROR(device_->moments(m, v));
  // Weights without a gradient keep zero moments of their size.
  for (size_t i = 0; i < m->size(); ++i)
    if ((*m)[i].empty()) {
      (*m)[i].assign(model_.weight(static_cast<int>(i)).size(), 0.f);
      (*v)[i].assign(model_.weight(static_cast<int>(i)).size(), 0.f);
    }
  return Status();
}

Status DeviceModelTrainTarget::setMoments(const std::vector<std::vector<float>> &m,
                                          const std::vector<std::vector<float>> &v) {
  HYBRID_RETURN_IF_ERROR(ensure());
  return device_->setMoments(m, v);
}

} // namespace hybrid
