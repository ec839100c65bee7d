//===- Optimizer.h - AdamW, gradient clipping, LR schedule ------*- C++ -*-===//
//
// AdamW exactly as torch.optim.AdamW (decoupled weight decay, bias-corrected
// moments), over fp32 master weights (the Model's host copy), with fp32
// moment buffers; each element's update is computed in double and rounded
// once, so results are reproducible bit for bit on any machine.
//   p <- p * (1 - lr * wd)                     (decay group only)
//   m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
//   p <- p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
// Weight-decay groups by canonical name: no decay for norms (any name
// containing "norm"), biases, A_log, D and dt_bias; matrices and embeddings
// are decayed.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_RUNTIME_TRAIN_OPTIMIZER_H
#define HYBRID_RUNTIME_TRAIN_OPTIMIZER_H

#include "runtime/support/Status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hybrid {

struct AdamWConfig {
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weightDecay = 0.1;
};

/// True when weight `name` (canonical) is in the weight-decay group.
bool isDecayed(const std::string &name);

/// Linear warmup then cosine decay. `step` counts updates from 0: step s
/// (0 <= s < warmup) gets maxLr (s + 1) / warmup, so the last warmup step
/// reaches maxLr; then the cosine runs from maxLr at s = warmup down to
/// minLr at the last step s = total - 1 (and stays there after).
struct LrSchedule {
  double maxLr = 3e-3;
  double minLr = 3e-4;
  int64_t warmup = 0;
  int64_t total = 1;
  double at(int64_t step) const;
};

/// sqrt of the sum of squares of every element (accumulated in double).
double globalGradNorm(const std::vector<std::vector<float>> &grads);

/// Scales every gradient by maxNorm / (norm + 1e-6) when the global norm
/// exceeds maxNorm (torch.nn.utils.clip_grad_norm_); maxNorm <= 0 disables.
/// Returns the norm before clipping.
double clipGradNorm(std::vector<std::vector<float>> *grads, double maxNorm);

class AdamW {
public:
  /// One weight per entry: its element count and whether it decays.
  AdamW(AdamWConfig config, std::vector<size_t> sizes, std::vector<bool> decayed);

  /// One update with learning rate `lr`; weights[i] points at the size(i)
  /// elements of weight i. Fails, naming the weight, when the counts differ.
  Status step(const std::vector<float *> &weights, const std::vector<std::vector<float>> &grads,
              double lr);
  Status step(std::vector<std::vector<float>> *weights,
              const std::vector<std::vector<float>> &grads, double lr);
  size_t size(size_t i) const { return m_[i].size(); }

  /// Updates done so far (t of the bias correction).
  int64_t stepCount() const { return t_; }
  /// Counts an update a device applied with this optimizer's configuration
  /// (TrainTarget::updatesItself): the moments live there until
  /// setState brings them back for a checkpoint.
  void countDeviceStep() { ++t_; }
  /// The moments, for checkpoints; setState restores them (and t).
  const std::vector<std::vector<float>> &m() const { return m_; }
  const std::vector<std::vector<float>> &v() const { return v_; }
  Status setState(int64_t t, std::vector<std::vector<float>> m, std::vector<std::vector<float>> v);
  const AdamWConfig &config() const { return config_; }
  bool decayed(size_t i) const { return decayed_[i]; }

private:
  AdamWConfig config_;
  std::vector<bool> decayed_;
  std::vector<std::vector<float>> m_, v_;
  int64_t t_ = 0;
};

} // namespace hybrid

#endif // HYBRID_RUNTIME_TRAIN_OPTIMIZER_H
