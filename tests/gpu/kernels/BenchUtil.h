//===- BenchUtil.h - Helpers of the kernel checks and micro-benchmarks ----===//
//
// Host code shared by tests/gpu/kernels/*_bench.cu: CUDA runtime error
// checks, bf16 <-> fp32 on the host, device upload / download, the error
// measure against a host reference, and the median time of repeated launches
// (CUDA events, after warm-up).
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_TESTS_GPU_KERNELS_BENCHUTIL_H
#define HYBRIDC_TESTS_GPU_KERNELS_BENCHUTIL_H

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
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

/// bf16 bits -> fp32, and fp32 -> bf16 bits rounded to nearest even (finite
/// inputs), on the host.
static inline float bf2f(uint16_t v) {
  uint32_t u = (uint32_t)v << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
static inline uint16_t f2bf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

/// A device copy of v (at least one element allocated), and back.
template <typename T> T *upload(const std::vector<T> &v) {
  T *d;
  CK(cudaMalloc(&d, std::max<size_t>(v.size(), 1) * sizeof(T)));
  CK(cudaMemcpy(d, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
  return d;
}
template <typename T> std::vector<T> download(const T *d, size_t n) {
  std::vector<T> v(n);
  CK(cudaMemcpy(v.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost));
  return v;
}

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
