//===- TrainArgs.h - Parameter blocks of the training glue kernels -------===//
//
// The small kernels the CUDA train_step executor puts between the backward
// kernels (train.cuh): fp32 vector arithmetic, fp32 -> bf16 operand copies,
// strided fp32 column copies and the Mamba-2 dt forward. Plain C++.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_CODEGEN_KERNELS_TRAINARGS_H
#define HYBRID_CODEGEN_KERNELS_TRAINARGS_H

#include "KernelArgs.h"

namespace hyb {

/// out[i] = alpha * x[i] + beta * y[i] over n fp32 values (y null: 0).
struct AxpbyArgs {
  const float *x, *y;
  float *out;
  int64_t n;
  float alpha, beta;
};

/// dst[r, c] = src[r, c] for r < rows, c < width, row strides in elements;
/// fp32 -> bf16 (cast_bf16_kernel) or fp32 -> fp32 (copy_f32_kernel).
struct CastArgs {
  const float *src;
  void *dst;
  int64_t rows;
  int width, lds, ldd;
};

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
