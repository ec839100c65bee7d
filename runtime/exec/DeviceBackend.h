//===- DeviceBackend.h - Load the CUDA backend at run time ------*- C++ -*-===//
//
// The CUDA executor lives in libhybrid_cuda.so (runtime/cuda/), loaded with
// dlopen on first use: from $HYBRIDC_CUDA_BACKEND, else next to the
// executable (../lib), else the loader's search path. A machine without an
// NVIDIA driver gets a clear error for --device cuda and nothing else
// changes.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_RUNTIME_EXEC_DEVICEBACKEND_H
#define HYBRID_RUNTIME_EXEC_DEVICEBACKEND_H

#include "runtime/cuda/CudaSession.h"

namespace hybrid {

StatusOr<std::unique_ptr<Session>> createCudaSessionDynamic(const Model &model, int64_t batch);
StatusOr<std::unique_ptr<DeviceTrainer>> createCudaTrainerDynamic(const Model &model,
                                                                  int64_t batch);
StatusOr<CudaBenchResult> cudaBenchDynamic(const Model &model, int64_t batch, int64_t seq,
                                           int64_t decodeTokens, int reps);

} // namespace hybrid

#endif // HYBRID_RUNTIME_EXEC_DEVICEBACKEND_H
