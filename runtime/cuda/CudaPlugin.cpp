//===- CudaPlugin.cpp - The C entry points of libhybrid_cuda.so -----------===//
//
// The CUDA backend is a shared library that tools load at run time
// (runtime/exec/DeviceBackend.cpp), so that hybrid-run starts on machines
// without an NVIDIA driver (no libcuda.so.1) and only --device cuda needs
// one. Both sides are built from the same headers by the same compiler.
//
//===----------------------------------------------------------------------===//
#include "runtime/cuda/CudaSession.h"

#define HYBRID_CUDA_EXPORT extern "C" __attribute__((visibility("default")))

HYBRID_CUDA_EXPORT int hybrid_cuda_abi_version() { return hybrid::kCudaBackendAbi; }

HYBRID_CUDA_EXPORT hybrid::Session *hybrid_cuda_create_session(const hybrid::Model *model,
                                                               int64_t batch,
                                                               std::string *error) {
  auto s = hybrid::createCudaSession(*model, batch);
  if (!s.ok()) {
    *error = s.status().toString();
    return nullptr;
  }
  return s->release();
}

HYBRID_CUDA_EXPORT hybrid::DeviceTrainer *hybrid_cuda_create_trainer(const hybrid::Model *model,
                                                                     int64_t batch,
                                                                     std::string *error) {
  auto t = hybrid::createCudaTrainer(*model, batch);
  if (!t.ok()) {
    *error = t.status().toString();
    return nullptr;
  }
  return t->release();
}

HYBRID_CUDA_EXPORT int hybrid_cuda_bench(const hybrid::Model *model, int64_t batch, int64_t seq,
                                         int64_t decodeTokens, int reps,
                                         hybrid::CudaBenchResult *out, std::string *error) {
  auto r = hybrid::cudaBench(*model, batch, seq, decodeTokens, reps);
  if (!r.ok()) {
    *error = r.status().toString();
    return 1;
  }
  *out = *r;
  return 0;
}
