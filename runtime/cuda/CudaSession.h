//===- CudaSession.h - The CUDA executor ------------------------*- C++ -*-===//
//
// Runs a .hyb compiled with `hybridc compile --target cuda` on an NVIDIA GPU
// through the driver API: the artifact's fatbin is loaded as a module, its
// generated kernels (codegen/KernelPlan.h names them) run every op but the
// GEMMs, which go to cuBLASLt (bf16 in, fp32 accumulate). Activations are
// bf16 in one device arena (the logits fp32), weights bf16 (GEMM operands,
// embedding) or fp32 (norm/conv/scan vectors), KV caches bf16, conv and SSM
// states fp32. The decode program is captured once as a CUDA graph and
// replayed (HYBRIDC_CUDA_GRAPH=0 turns that off; HYBRIDC_CUDA_SYNC=1 checks
// every launch synchronously, for debugging).
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_RUNTIME_CUDA_CUDASESSION_H
#define HYBRID_RUNTIME_CUDA_CUDASESSION_H

#include "runtime/exec/Executor.h"

#include <string>

namespace hybrid {

/// Version of the C entry points of libhybrid_cuda.so (CudaPlugin.cpp);
/// the loader refuses a library of another version.
constexpr int kCudaBackendAbi = 2;

/// Fails clearly when there is no device, the artifact has no fatbin (it
/// was compiled for the CPU), an op has no CUDA kernel, or memory runs out.
StatusOr<std::unique_ptr<Session>> createCudaSession(const Model &model, int64_t batch);

/// One AdamW update on the device over the accumulated gradients (their
/// mean over the micro-batches), as the CPU trainer's (runtime/train/):
/// global-norm clipping, decoupled decay for the weights marked `decay`.
struct DeviceAdamW {
  double lr = 0, beta1 = 0.9, beta2 = 0.95, eps = 1e-8, weightDecay = 0.1;
  double clip = 1.0;           // <= 0: no clipping
  int64_t t = 1;               // the step's number, from 1 (bias correction)
  std::vector<bool> decay;     // by weight index
};

/// Training on the GPU: the artifact's train_step with the executor's own
/// backward kernels, gradients accumulated and AdamW applied on the device
/// (fp32 master weights and moments; the GEMMs read bf16 copies the update
/// writes). The host sees the loss, and the weights, moments and gradients
/// only when it asks (checkpoints, checks).
class DeviceTrainer {
public:
  virtual ~DeviceTrainer() = default;
  /// train_step on ids/labels [batch, seq]: the mean loss; the gradients go
  /// to the device accumulators (replacing them unless `accumulate`).
  virtual StatusOr<double> step(const int32_t *ids, const int32_t *labels, int64_t seq,
                                bool accumulate) = 0;
  /// The forward's loss only (validation).
  virtual StatusOr<double> evalLoss(const int32_t *ids, const int32_t *labels, int64_t seq) = 0;
  /// The accumulated gradients, mean over the micro-batches, by weight index.
  virtual Status gradients(std::vector<std::vector<float>> *grads) = 0;
  /// AdamW on the accumulated gradients; returns the norm before clipping.
  virtual StatusOr<double> update(const DeviceAdamW &u) = 0;
  virtual Status weights(std::vector<std::vector<float>> *w) = 0;
  virtual Status moments(std::vector<std::vector<float>> *m, std::vector<std::vector<float>> *v) = 0;
  virtual Status setMoments(const std::vector<std::vector<float>> &m,
                            const std::vector<std::vector<float>> &v) = 0;
  virtual std::string deviceName() const = 0;
  /// Device memory the training state holds (weights, gradients, moments, arena).
  virtual double deviceBytes() const = 0;
};

/// Fails clearly without a device, without train_step (compile with --train
/// --target cuda), or when an op of train_step has no CUDA backward.
StatusOr<std::unique_ptr<DeviceTrainer>> createCudaTrainer(const Model &model, int64_t batch);

/// Timings of `hybrid-run bench` (CUDA events, median of `reps` runs).
struct CudaBenchResult {
  std::string device;
  double prefillMs = 0;        // one prefill of batch x seq tokens
  double decodeMsPerToken = 0; // one decode step (all batch rows) at context seq
  double weightBytes = 0;      // bytes of weights on the device
  double decodeCacheBytes = 0; // cache bytes one decode step reads (KV at context + states)
};

/// Prefill of `seq` tokens (random ids) then `decodeTokens` decode steps,
/// each timed `reps` times after warm-up.
StatusOr<CudaBenchResult> cudaBench(const Model &model, int64_t batch, int64_t seq,
                                    int64_t decodeTokens, int reps);

} // namespace hybrid

#endif // HYBRID_RUNTIME_CUDA_CUDASESSION_H
