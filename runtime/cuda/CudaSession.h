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
constexpr int kCudaBackendAbi = 1;

/// Fails clearly when there is no device, the artifact has no fatbin (it
/// was compiled for the CPU), an op has no CUDA kernel, or memory runs out.
StatusOr<std::unique_ptr<Session>> createCudaSession(const Model &model, int64_t batch);

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
