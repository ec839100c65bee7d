//===- Emitter.h - CUDA code generation for a compiled .hyb ---------------===//
//
// From an artifact (the bytes ArtifactWriter produced), writes ONE CUDA C++
// translation unit instantiating exactly the kernels its programs launch
// (codegen/KernelPlan.h), compiles it with nvcc into a fatbin (sm_90a and
// sm_80 SASS plus compute_80 PTX) and returns the artifact with the fatbin
// and the kernel names stored in it. No MLIR and no GPU needed.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_CODEGEN_EMITTER_H
#define HYBRID_CODEGEN_EMITTER_H

#include <string>
#include <vector>

namespace hybrid::codegen {

struct CudaOptions {
  std::string nvcc;        // default: $HYBRIDC_NVCC, else /usr/local/cuda/bin/nvcc
  std::string kernelsDir;  // default: $HYBRIDC_KERNELS_DIR, else the source tree's codegen/kernels
  std::string workDir;     // where the .cu and the fatbin go (default: a fresh temp dir)
  bool keep = false;       // keep workDir (always kept on failure)
};

/// The generated translation unit for `artifactBytes` (a .hyb); fills
/// `kernelNames`. False with `error` when an op has no CUDA kernel.
bool emitCudaSource(const std::string &artifactBytes, std::string &source,
                    std::vector<std::string> &kernelNames, std::string &error);

/// emitCudaSource + nvcc + store: `out` is the artifact with target "cuda",
/// its fatbin and kernel names. On nvcc failure `error` holds nvcc's log and
/// the exact command to rerun.
bool buildCudaArtifact(const std::string &artifactBytes, const CudaOptions &opts, std::string &out,
                       std::string &error);

} // namespace hybrid::codegen

#endif // HYBRID_CODEGEN_EMITTER_H
