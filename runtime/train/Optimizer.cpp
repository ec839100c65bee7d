//===- Optimizer.cpp - AdamW, gradient clipping, LR schedule --------------===//
#include "runtime/train/Optimizer.h"

#include <algorithm>
#include <cmath>

namespace hybrid {

bool isDecayed(const std::string &name) {
  auto endsWith = [&](const char *suffix) {
    std::string s(suffix);
    return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  size_t dot = name.rfind('.');
  std::string leaf = dot == std::string::npos ? name : name.substr(dot + 1);
  if (name.find("norm") != std::string::npos)
    return false;
  if (endsWith("_bias") || endsWith(".bias") || leaf == "bias")
    return false; // includes dt_bias
  if (leaf == "A_log" || leaf == "D")
    return false;
  return true;
}

double LrSchedule::at(int64_t step) const {
  if (step < 0)
    step = 0;
  if (warmup > 0 && step < warmup)
    return maxLr * static_cast<double>(step + 1) / static_cast<double>(warmup);
  int64_t span = total - 1 - warmup; // steps from the peak to the last
  if (span <= 0)
    return step >= total - 1 && total - 1 > warmup ? minLr : maxLr;
  double progress = std::min(1.0, static_cast<double>(step - warmup) / static_cast<double>(span));
  return minLr + 0.5 * (maxLr - minLr) * (1.0 + std::cos(3.141592653589793 * progress));
}

double globalGradNorm(const std::vector<std::vector<float>> &grads) {
  double sum = 0;
  for (const auto &g : grads)
    for (float x : g)
      sum += static_cast<double>(x) * x;
  return std::sqrt(sum);
}

double clipGradNorm(std::vector<std::vector<float>> *grads, double maxNorm) {
  double norm = globalGradNorm(*grads);
  if (maxNorm > 0 && norm > maxNorm) {
    double scale = maxNorm / (norm + 1e-6);
    for (auto &g : *grads)
      for (float &x : g)
        x = static_cast<float>(x * scale);
  }
  return norm;
}

AdamW::AdamW(AdamWConfig config, std::vector<size_t> sizes, std::vector<bool> decayed)
    : config_(config), decayed_(std::move(decayed)) {
  decayed_.resize(sizes.size(), true);
  m_.resize(sizes.size());
  v_.resize(sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) {
    m_[i].assign(sizes[i], 0.f);
    v_[i].assign(sizes[i], 0.f);
  }
}

Status AdamW::step(std::vector<std::vector<float>> *weights,
                   const std::vector<std::vector<float>> &grads, double lr) {
  std::vector<float *> ptrs;
  for (size_t i = 0; i < weights->size(); ++i) {
    if (i < m_.size() && (*weights)[i].size() != m_[i].size())
      return HYBRID_ERROR("AdamW: weight ", i, " has ", (*weights)[i].size(),
                          " elements, the optimizer state ", m_[i].size());
    ptrs.push_back((*weights)[i].data());
  }
  return step(ptrs, grads, lr);
}

Status AdamW::step(const std::vector<float *> &weights,
                   const std::vector<std::vector<float>> &grads, double lr) {
  if (weights.size() != m_.size() || grads.size() != m_.size())
    return HYBRID_ERROR("AdamW: ", m_.size(), " weights expected, got ", weights.size(),
                        " weights and ", grads.size(), " gradients");
  for (size_t i = 0; i < m_.size(); ++i)
    if (grads[i].size() != m_[i].size())
      return HYBRID_ERROR("AdamW: weight ", i, " has ", m_[i].size(), " elements but its gradient ",
                          grads[i].size());
  ++t_;
  const double b1 = config_.beta1, b2 = config_.beta2, eps = config_.eps;
  const double bc1 = 1.0 - std::pow(b1, static_cast<double>(t_));
  const double bc2 = 1.0 - std::pow(b2, static_cast<double>(t_));
  for (size_t i = 0; i < m_.size(); ++i) {
    const double decay = decayed_[i] ? 1.0 - lr * config_.weightDecay : 1.0;
    float *p = weights[i], *m = m_[i].data(), *v = v_[i].data();
    const float *g = grads[i].data();
    for (size_t k = 0, n = m_[i].size(); k < n; ++k) {
      double gk = g[k];
      double mk = b1 * m[k] + (1.0 - b1) * gk;
      double vk = b2 * v[k] + (1.0 - b2) * gk * gk;
      m[k] = static_cast<float>(mk);
      v[k] = static_cast<float>(vk);
      double pk = static_cast<double>(p[k]) * decay;
      pk -= lr * (mk / bc1) / (std::sqrt(vk / bc2) + eps);
      p[k] = static_cast<float>(pk);
    }
  }
  return Status();
}

Status AdamW::setState(int64_t t, std::vector<std::vector<float>> m,
                       std::vector<std::vector<float>> v) {
  if (t < 0)
    return HYBRID_ERROR("AdamW: negative step count ", t);
  if (m.size() != m_.size() || v.size() != v_.size())
    return HYBRID_ERROR("AdamW: state for ", m.size(), " weights, expected ", m_.size());
  for (size_t i = 0; i < m_.size(); ++i)
    if (m[i].size() != m_[i].size() || v[i].size() != v_[i].size())
      return HYBRID_ERROR("AdamW: moments of weight ", i, " have ", m[i].size(), "/", v[i].size(),
                          " elements, expected ", m_[i].size());
  t_ = t;
  m_ = std::move(m);
  v_ = std::move(v);
  return Status();
}

} // namespace hybrid
