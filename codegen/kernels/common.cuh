//===- common.cuh - Shared device helpers of the kernel templates ---------===//
//
// bf16 <-> fp32 loads and stores (math is always fp32), warp and block sums.
// Header-only; every kernel template includes it. No host code here.
//
//===----------------------------------------------------------------------===//
#pragma once
#include <cuda_bf16.h>
#include <cstdint>

#include "KernelArgs.h"

namespace hyb {

__device__ __forceinline__ float ld(const bf16_t *p, int64_t i) {
  return __bfloat162float(reinterpret_cast<const __nv_bfloat16 *>(p)[i]);
}
__device__ __forceinline__ float ld(const float *p, int64_t i) { return p[i]; }
__device__ __forceinline__ void st(bf16_t *p, int64_t i, float v) {
  reinterpret_cast<__nv_bfloat16 *>(p)[i] = __float2bfloat16(v);
}
__device__ __forceinline__ void st(float *p, int64_t i, float v) { p[i] = v; }
/// v rounded as a store to p's element type would round it.
__device__ __forceinline__ float roundAs(const bf16_t *, float v) {
  return __bfloat162float(__float2bfloat16(v));
}
__device__ __forceinline__ float roundAs(const float *, float v) { return v; }

/// Programmatic dependent launch (sm_90+; no-ops elsewhere and when the
/// launch did not ask for it). Every generated kernel lets the next kernel
/// of the stream start early (pdlLaunchDependents, in the emitted wrapper)
/// and waits for its predecessor (pdlWait) before it reads the
/// predecessor's outputs or writes anything: the wrapper waits first, except
/// in kernels that prefetch weights before waiting (the decode GEMV).
__device__ __forceinline__ void pdlWait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}
__device__ __forceinline__ void pdlLaunchDependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

__device__ __forceinline__ float siluf(float x) { return x / (1.f + __expf(-x)); }
__device__ __forceinline__ float softplusf(float x) { return x > 20.f ? x : log1pf(expf(x)); }

__device__ __forceinline__ float warpSum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warpMax(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

/// Lane i of a warp gets v_0 + ... + v_i (inclusive prefix sum).
__device__ __forceinline__ float warpPrefixSum(float v, int lane) {
#pragma unroll
  for (int o = 1; o < 32; o <<= 1) {
    const float u = __shfl_up_sync(0xffffffffu, v, o);
    if (lane >= o)
      v += u;
  }
  return v;
}
/// Lane i of a warp gets v_i + ... + v_31 (inclusive suffix sum).
__device__ __forceinline__ float warpSuffixSum(float v, int lane) {
#pragma unroll
  for (int o = 1; o < 32; o <<= 1) {
    const float u = __shfl_down_sync(0xffffffffu, v, o);
    if (lane + o < 32)
      v += u;
  }
  return v;
}

/// Sum over the block (blockDim.x a multiple of 32, <= 1024); every thread
/// gets the result. `scratch` holds 33 floats; reusable after the call.
__device__ __forceinline__ float blockSum(float v, float *scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  v = warpSum(v);
  __syncthreads();
  if (lane == 0)
    scratch[warp] = v;
  __syncthreads();
  float s = lane < nw ? scratch[lane] : 0.f;
  s = warpSum(s);
  return s;
}
__device__ __forceinline__ float blockMax(float v, float *scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  v = warpMax(v);
  __syncthreads();
  if (lane == 0)
    scratch[warp] = v;
  __syncthreads();
  float s = lane < nw ? scratch[lane] : -INFINITY;
  return warpMax(s);
}
/// Sum over the block by a fixed tree (the same bits on every run: the
/// deterministic losses, norms and counts); valid in thread 0 only. `red`:
/// 32 elements of shared memory, reusable after the call.
template <typename T> __device__ __forceinline__ T blockSumFixed(T s, T *red) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    s += __shfl_xor_sync(0xffffffffu, s, o);
  __syncthreads();
  if ((threadIdx.x & 31) == 0)
    red[threadIdx.x >> 5] = s;
  __syncthreads();
  T sum = 0;
  if (threadIdx.x == 0)
    for (int w = 0; w < (int)(blockDim.x >> 5); ++w)
      sum += red[w];
  return sum;
}

} // namespace hyb
