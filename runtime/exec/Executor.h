//===- Executor.h - Run a compiled model ------------------------*- C++ -*-===//
//
// Backends behind one small interface (as ggml's backends and IREE's HAL
// drivers): a Backend prepares a loaded Model and creates Sessions; a
// Session owns the caches and the activation arena of `batch` sequences and
// runs the artifact's programs. The CPU reference backend lives here; the
// CUDA one implements the same interface in runtime/cuda/.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_RUNTIME_EXEC_EXECUTOR_H
#define HYBRID_RUNTIME_EXEC_EXECUTOR_H

#include "runtime/exec/OpContext.h"
#include "runtime/hyb/Artifact.h"
#include "runtime/support/Status.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hybrid {

/// A loaded artifact with its weights in fp32 host memory, by weight index.
class Model {
public:
  /// Loads the artifact and reads every weight of its table from the
  /// safetensors file by HF tensor name (converting bf16/f16 to f32).
  static StatusOr<std::unique_ptr<Model>> load(const std::string &hybPath,
                                               const std::string &weightsPath);
  /// Loads the artifact and initialises the weights from `seed` with the
  /// reference inits of runtime/train/Init.h: an untrained model.
  static StatusOr<std::unique_ptr<Model>> loadWithRandomWeights(const std::string &hybPath,
                                                                uint64_t seed);
  static StatusOr<std::unique_ptr<Model>> fromArtifact(std::unique_ptr<Artifact> artifact);

  const Artifact &artifact() const { return *artifact_; }
  const std::vector<float> &weight(int index) const { return weights_[index]; }
  std::vector<float> &weight(int index) { return weights_[index]; }
  int64_t vocab() const { return artifact_->model().vocab(); }
  int64_t maxContext() const { return artifact_->model().max_context(); }

  Status readWeights(const std::string &weightsPath);
  void randomWeights(uint64_t seed);

  /// The weights a device executor stores in bf16 (by weight index): the
  /// 2-D operands of GEMM ops (linear, lm_head, linear_group, linear_sum,
  /// fused_linear, swiglu_linear) and embedding tables of the prefill and
  /// decode programs. Norm weights, biases, conv and SSM parameters stay fp32.
  std::vector<bool> bf16StorageMask() const;
  /// Rounds those weights to bf16 in place (nearest even), so that the fp32
  /// CPU reference computes with exactly the values the CUDA executor holds
  /// (`hybrid-run --bf16-weights`): GPU-vs-CPU differences are then the
  /// executor's arithmetic, not the storage format.
  void roundToBf16Storage();

private:
  std::unique_ptr<Artifact> artifact_;
  std::vector<std::vector<float>> weights_;
};

/// Caches and arena of `batch` sequences; runs prefill then decode steps.
class Session {
public:
  virtual ~Session() = default;
  /// Runs `seq` new tokens of each sequence (ids [batch, seq]) from the
  /// current position; logits [batch, seq, vocab]. The program is "prefill"
  /// for seq > 1 and "decode" for seq == 1.
  virtual Status forward(const int32_t *ids, int64_t seq, std::vector<float> *logits) = 0;
  /// Tokens already in the caches (the same for every sequence).
  virtual int64_t position() const = 0;
  /// Forgets the caches.
  virtual void reset() = 0;
};

struct CpuSessionOptions {
  /// Round every activation the CUDA executor stores in bf16 (its plan:
  /// codegen/KernelPlan.h ProgramView) to bf16 as soon as it is written;
  /// the arithmetic stays fp32/fp64. With Model::roundToBf16Storage() the
  /// reference then holds the GPU's storage format exactly, so GPU-vs-CPU
  /// differences are the kernels' arithmetic (`hybrid-run --cuda-storage`).
  bool cudaStorage = false;
};

/// The CPU reference backend: fp32, one thread, every op of runtime/cpu.
StatusOr<std::unique_ptr<Session>> createCpuSession(const Model &model, int64_t batch,
                                                    CpuSessionOptions options = {});

} // namespace hybrid

#endif // HYBRID_RUNTIME_EXEC_EXECUTOR_H
