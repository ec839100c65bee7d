//===- TrainArgs.h - Parameter blocks of the training glue kernels -------===//
//
// The Mamba-2 dt forward of the CUDA train_step (train.cuh). Plain C++.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_CODEGEN_KERNELS_TRAINARGS_H
#define HYBRID_CODEGEN_KERNELS_TRAINARGS_H

#include "KernelArgs.h"

namespace hyb {

/// dt[t, h] = clamp(softplus(dtRaw[t * lddt + h] + bias[h]), lo, hi), fp32.
struct DtArgs {
  const void *dtRaw;   // bf16 or fp32 (template)
  const float *bias;   // [H]
  float *dt;           // [T, H]
  int64_t T;
  int H, lddt;
  float lo, hi;
};

} // namespace hyb

#endif // HYBRID_CODEGEN_KERNELS_TRAINARGS_H
