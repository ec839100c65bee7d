//===- train.cuh - Glue kernels of the CUDA train_step --------------------===//
//
// The Mamba-2 dt the scan backward reads (grid-stride). The other glue of the
// train_step (gradient sums and scales, bf16 operand copies, strided fp32
// copies) is rows_bwd.cuh's vector kernels.
//
//===----------------------------------------------------------------------===//
#pragma once
#include "TrainArgs.h"
#include "common.cuh"

namespace hyb {

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
