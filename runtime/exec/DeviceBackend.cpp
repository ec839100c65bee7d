//===- DeviceBackend.cpp - Load the CUDA backend at run time --------------===//
#include "runtime/exec/DeviceBackend.h"

#include <cstdlib>
#include <dlfcn.h>
#include <limits.h>
#include <string>
#include <unistd.h>

namespace hybrid {
namespace {

struct Backend {
  void *handle = nullptr;
  Session *(*create)(const Model *, int64_t, std::string *) = nullptr;
  int (*bench)(const Model *, int64_t, int64_t, int64_t, int, CudaBenchResult *,
               std::string *) = nullptr;
  DeviceTrainer *(*trainer)(const Model *, int64_t, std::string *) = nullptr;
  Status status;
};

std::string exeDir() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0)
    return "";
  std::string p(buf, static_cast<size_t>(n));
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? "" : p.substr(0, slash);
}

Backend load() {
  Backend b;
  std::vector<std::string> candidates;
  if (const char *env = std::getenv("HYBRIDC_CUDA_BACKEND"))
    candidates.push_back(env);
  std::string dir = exeDir();
  if (!dir.empty())
    candidates.push_back(dir + "/../lib/libhybrid_cuda.so");
  candidates.push_back("libhybrid_cuda.so");
  std::string tried;
  for (const std::string &path : candidates) {
    b.handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (b.handle)
      break;
    const char *why = ::dlerror();
    tried += "\n  " + path + ": " + (why ? why : "not found");
  }
  if (!b.handle) {
    b.status = HYBRID_ERROR("--device cuda: the CUDA backend could not be loaded (it needs an "
                            "NVIDIA driver, libcuda.so.1, and libhybrid_cuda.so):",
                            tried);
    return b;
  }
  auto version = reinterpret_cast<int (*)()>(::dlsym(b.handle, "hybrid_cuda_abi_version"));
  b.create = reinterpret_cast<decltype(b.create)>(::dlsym(b.handle, "hybrid_cuda_create_session"));
  b.bench = reinterpret_cast<decltype(b.bench)>(::dlsym(b.handle, "hybrid_cuda_bench"));
  b.trainer =
      reinterpret_cast<decltype(b.trainer)>(::dlsym(b.handle, "hybrid_cuda_create_trainer"));
  if (!version || !b.create || !b.bench || !b.trainer)
    b.status = HYBRID_ERROR("libhybrid_cuda.so lacks its entry points");
  else if (version() != kCudaBackendAbi)
    b.status = HYBRID_ERROR("libhybrid_cuda.so has ABI version ", version(), ", this tool needs ",
                            kCudaBackendAbi, ": rebuild them together");
  return b;
}

const Backend &backend() {
  static const Backend b = load();
  return b;
}

} // namespace

StatusOr<std::unique_ptr<Session>> createCudaSessionDynamic(const Model &model, int64_t batch) {
  const Backend &b = backend();
  if (!b.status.ok())
    return b.status;
  std::string error;
  Session *s = b.create(&model, batch, &error);
  if (!s)
    return Status::error(error);
  return std::unique_ptr<Session>(s);
}

StatusOr<std::unique_ptr<DeviceTrainer>> createCudaTrainerDynamic(const Model &model,
                                                                  int64_t batch) {
  const Backend &b = backend();
  if (!b.status.ok())
    return b.status;
  std::string error;
  DeviceTrainer *t = b.trainer(&model, batch, &error);
  if (!t)
    return Status::error(error);
  return std::unique_ptr<DeviceTrainer>(t);
}

StatusOr<CudaBenchResult> cudaBenchDynamic(const Model &model, int64_t batch, int64_t seq,
                                           int64_t decodeTokens, int reps) {
  const Backend &b = backend();
  if (!b.status.ok())
    return b.status;
  CudaBenchResult r;
  std::string error;
  if (b.bench(&model, batch, seq, decodeTokens, reps, &r, &error) != 0)
    return Status::error(error);
  return r;
}

} // namespace hybrid
