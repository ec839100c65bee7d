//===- Loop.h - The training loop -------------------------------*- C++ -*-===//
//
// Drives any TrainTarget (the compiled model through runtime/exec/Train.h, or
// a fake in tests): per update, `accum` micro-batches (gradients averaged),
// global-norm clipping, the warmup+cosine learning rate, AdamW; validation
// every `valEvery` steps and at the end; a progress line; checkpoints.
// Everything that shapes the trajectory (weights, AdamW moments and step,
// the step number that seeds the batches, the configuration) is saved, so
// a run resumed from a checkpoint continues bit for bit as if never stopped.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_RUNTIME_TRAIN_LOOP_H
#define HYBRID_RUNTIME_TRAIN_LOOP_H

#include "runtime/io/Json.h"
#include "runtime/train/Data.h"
#include "runtime/train/LossPlot.h"
#include "runtime/train/Optimizer.h"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace hybrid {

/// Every option of a run (hybrid-run train's flags). Negative "auto" values
/// are resolved by resolveDefaults().
struct TrainConfig {
  std::string model;              // the .hyb (for the record and --resume)
  std::vector<std::string> data;  // files, concatenated
  DataFormat dataFormat = DataFormat::Bytes;
  std::string weights;            // initial weights; empty: initWeights(seed)
  int64_t steps = 0, batch = 0, seq = 0;
  int64_t accum = 1;
  double lr = 3e-3;
  double minLr = -1;              // auto: lr / 10
  int64_t warmup = -1;            // auto: min(100, steps / 10)
  double weightDecay = 0.1;
  double clip = 1.0;              // <= 0: no clipping
  double valFraction = 0.05;
  int64_t valEvery = -1;          // auto: max(1, steps / 20)
  int64_t valBatches = 4;         // fixed validation batches per evaluation
  uint64_t seed = 0;
  int64_t saveEvery = 0;          // 0: only at the end
  /// This session stops, with a checkpoint, after this step (0: run to
  /// `steps`); as if interrupted there. Not part of the run's identity.
  int64_t stopAfter = 0;
  int64_t logEvery = 1;
  std::string out;                // checkpoint directory; empty: none
  std::string device = "cpu";

  void resolveDefaults();
  /// Positive sizes, fractions in range, and so on.
  Status validate() const;
};

/// The configuration as a JSON object (state.json's "config") and back.
std::string trainConfigJson(const TrainConfig &config);
StatusOr<TrainConfig> trainConfigFromJson(const JsonValue &json, const std::string &what);
/// The "config" of DIR/state.json.
StatusOr<TrainConfig> readCheckpointConfig(const std::string &dir);

/// What the loop trains: named fp32 weights plus a loss-and-gradient step.
class TrainTarget {
public:
  virtual ~TrainTarget() = default;
  virtual size_t numWeights() const = 0;
  /// Canonical name (decay groups) and the tensor name in weights.safetensors.
  virtual std::string name(size_t i) const = 0;
  virtual std::string fileName(size_t i) const = 0;
  virtual std::vector<int64_t> shape(size_t i) const = 0;
  virtual std::vector<float> &weight(size_t i) = 0;
  /// Mean loss of the batch; overwrites `grads` (one vector per weight).
  virtual StatusOr<double> trainStep(const Batch &batch,
                                     std::vector<std::vector<float>> *grads) = 0;
  virtual StatusOr<double> evalLoss(const Batch &batch) = 0;

  /// Targets that keep the gradients and the optimizer where they compute
  /// (the GPU) return true and implement the three calls below instead of
  /// trainStep; the loop then never sees a gradient.
  virtual bool updatesItself() const { return false; }
  /// train_step on a micro-batch; the gradients replace (first) or add to
  /// the target's accumulators.
  virtual StatusOr<double> accumulate(const Batch &batch, bool first) {
    return HYBRID_ERROR("this target does not accumulate gradients itself");
  }
  /// AdamW (`config`, learning rate `lr`, update number `t` from 1) on the
  /// mean accumulated gradient, clipped to `clip`; the norm before clipping.
  virtual StatusOr<double> update(const AdamWConfig &config, double lr, double clip, int64_t t,
                                  const std::vector<bool> &decayed) {
    return HYBRID_ERROR("this target does not update itself");
  }
  /// Weights into weight(i) and the moments into m, v (checkpoints); and
  /// moments from the host (resume).
  virtual Status syncToHost(std::vector<std::vector<float>> *m,
                            std::vector<std::vector<float>> *v) {
    return Status();
  }
  virtual Status setMoments(const std::vector<std::vector<float>> &m,
                            const std::vector<std::vector<float>> &v) {
    return Status();
  }
};

/// The data a run trained on, recorded so that --resume can check it.
struct DataInfo {
  int64_t tokens = 0;
  uint64_t fingerprint = 0;
};

struct TrainResult {
  /// Mean loss of the last max(1, min(10, steps / 10)) steps.
  double trainLoss = 0;
  double valLoss = 0;   // NaN without a held-out part
  int64_t steps = 0;
  int64_t tokens = 0;
  double seconds = 0;
};

class Trainer {
public:
  /// `config` must be resolved and valid; `target` and `data` must outlive
  /// the trainer.
  Trainer(TrainConfig config, TrainTarget &target, const BatchSampler &data, DataInfo info);

  /// Restores weights, optimizer, step and history from checkpoint `dir`.
  /// Fails when the checkpoint's data or weights do not match this run.
  Status resume(const std::string &dir);
  /// Trains from the current step to config.steps. Progress lines and the
  /// final line go to `log` (may be null).
  StatusOr<TrainResult> run(std::FILE *log);
  /// Writes a checkpoint of the current state (first bringing a device
  /// target's weights and moments to the host).
  Status save(const std::string &dir);

  int64_t step() const { return step_; }
  const std::vector<HistoryRow> &history() const { return history_; }
  const LrSchedule &schedule() const { return schedule_; }
  /// Mean loss over the fixed validation batches (NaN without them).
  StatusOr<double> validate();

private:
  TrainConfig config_;
  TrainTarget &target_;
  const BatchSampler &data_;
  DataInfo info_;
  LrSchedule schedule_;
  AdamW optimizer_;
  int64_t step_ = 0;
  int64_t tokens_ = 0;
  double elapsed_ = 0; // seconds over all sessions of this run
  std::vector<HistoryRow> history_;
};

/// "2.9e-3", "1.2K", "3m10s" as in the progress line.
std::string formatLr(double lr);
std::string formatCount(double v);
std::string formatDuration(double seconds);

} // namespace hybrid

#endif // HYBRID_RUNTIME_TRAIN_LOOP_H
