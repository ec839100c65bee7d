//===- train.cuh - Glue kernels of the CUDA train_step --------------------===//
//
// Grid-stride element-wise kernels between the backward kernels: gradient
// accumulation (axpby), bf16 operand copies of fp32 gradients for cuBLASLt,
// strided fp32 column copies, and the Mamba-2 dt the scan backward reads.
//
//===----------------------------------------------------------------------===//
#pragma once
#include "TrainArgs.h"
#include "common.cuh"

namespace hyb {

__device__ __forceinline__ void axpby_kernel(const AxpbyArgs &a) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < a.n;
       i += (int64_t)gridDim.x * blockDim.x) {
    float v = a.alpha * a.x[i];
    if (a.y)
      v += a.beta * a.y[i];
    a.out[i] = v;
  }
}

/// OutT bf16: the GEMM operand copy; fp32: a strided copy.
template <typename OutT>
__device__ __forceinline__ void cast_kernel(const CastArgs &a) {
  OutT *dst = static_cast<OutT *>(a.dst);
  const int64_t n = a.rows * a.width;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t r = i / a.width, c = i % a.width;
    st(dst, r * a.ldd + c, a.src[r * a.lds + c]);
  }
}

template <typename DtT>
__device__ __forceinline__ void dt_forward_kernel(const DtArgs &a) {
  const DtT *raw = static_cast<const DtT *>(a.dtRaw);
  const int64_t n = a.T * a.H;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t t = i / a.H;
    const int h = (int)(i % a.H);
    const float v = softplusf(ld(raw, t * a.lddt + h) + a.bias[h]);
    a.dt[i] = fminf(fmaxf(v, a.lo), a.hi);
  }
}

} // namespace hyb
