//===- BenchUtil.h - Helpers of the kernel checks and micro-benchmarks ----===//
//
// Host code shared by tests/gpu/kernels/*_bench.cu: CUDA runtime error
// checks, the error measure against a host reference, and the median time of
// repeated launches (CUDA events, after warm-up).
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_TESTS_GPU_KERNELS_BENCHUTIL_H
#define HYBRIDC_TESTS_GPU_KERNELS_BENCHUTIL_H

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

/// Exits with status 2 (a CUDA failure, not a wrong result) on any error.
#define CK(x)                                                                                 \
  do {                                                                                        \
    cudaError_t e_ = (x);                                                                     \
    if (e_ != cudaSuccess) {                                                                  \
      std::fprintf(stderr, "CUDA error %s at %s:%d: %s\n", cudaGetErrorName(e_), __FILE__,   \
                   __LINE__, cudaGetErrorString(e_));                                         \
      std::exit(2);                                                                           \
    }                                                                                         \
  } while (0)

namespace hybrid::bench {

/// max |got - want| / max |want|.
template <typename T>
double maxDiffOverMaxRef(const std::vector<float> &got, const std::vector<T> &want) {
  double md = 0, mr = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    md = std::max(md, std::fabs((double)got[i] - (double)want[i]));
    mr = std::max(mr, std::fabs((double)want[i]));
  }
  return md / std::max(mr, 1e-30);
}

/// Median milliseconds of `runs` calls of fn (each timed alone with CUDA
/// events) after `warm` untimed ones; fn(i) gets the call's index.
template <typename Fn> double medianMs(Fn fn, int warm, int runs) {
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  for (int i = 0; i < warm; ++i)
    fn(i);
  CK(cudaGetLastError());
  CK(cudaDeviceSynchronize());
  std::vector<float> t(runs);
  for (int i = 0; i < runs; ++i) {
    CK(cudaEventRecord(e0));
    fn(warm + i);
    CK(cudaEventRecord(e1));
    CK(cudaEventSynchronize(e1));
    CK(cudaEventElapsedTime(&t[i], e0, e1));
  }
  CK(cudaGetLastError());
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  std::sort(t.begin(), t.end());
  return runs % 2 ? t[runs / 2] : 0.5 * (t[runs / 2 - 1] + t[runs / 2]);
}

} // namespace hybrid::bench

#endif // HYBRIDC_TESTS_GPU_KERNELS_BENCHUTIL_H
