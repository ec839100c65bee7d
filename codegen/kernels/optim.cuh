//===- optim.cuh - AdamW and the global gradient norm on the GPU ----------===//
//
// The optimizer step of training on the device (issue 5), the same update as
// runtime/train/Optimizer.h (torch.optim.AdamW: decoupled decay, bias-
// corrected moments) over fp32 master weights and moments, in fp32:
//   g <- g * scale;  p <- p (1 - lr wd) (decay group);
//   m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
//   p <- p - lr (m / bc1) / (sqrt(v / bc2) + eps);  copy <- bf16(p)
// Every tensor of the model in one launch: the host lays out a table of
// blocks (tensor, first element), each block updates up to optimBlockElems
// elements of one tensor. The clip scale (clip_grad_norm_) is computed on the
// device: grad_sq_partial_kernel writes one double per block of the same
// table, grad_clip_scale_kernel sums them in order (deterministic) and
// writes scale = maxNorm / (norm + 1e-6) when norm > maxNorm, else 1.
//
//===----------------------------------------------------------------------===//
#pragma once
#include "common.cuh"

namespace hyb {

__device__ __forceinline__ void optimBlock(const OptimArgs &a, int &ti, int64_t &begin,
                                           int64_t &end) {
  const OptimBlock e = a.blocks[blockIdx.x];
  ti = e.tensor;
  begin = (int64_t)e.chunk * optimBlockElems;
  end = min(begin + (int64_t)optimBlockElems, a.tensors[ti].n);
}

__device__ __forceinline__ void adamw_kernel(const OptimArgs &a) {
  int ti;
  int64_t begin, end;
  optimBlock(a, ti, begin, end);
  const OptimTensor &t = a.tensors[ti];
  const float scale = a.scale ? *a.scale : 1.f;
  const float decay = t.decay ? 1.f - a.lr * a.weightDecay : 1.f;
  const float stepSize = a.lr / a.biasCorr1;
  const float invSqrtBc2 = rsqrtf(a.biasCorr2);
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    const float g = t.g[i] * scale;
    float p = t.p[i] * decay;
    const float m = a.beta1 * t.m[i] + (1.f - a.beta1) * g;
    const float v = a.beta2 * t.v[i] + (1.f - a.beta2) * g * g;
    p -= stepSize * m / (sqrtf(v) * invSqrtBc2 + a.eps);
    t.p[i] = p, t.m[i] = m, t.v[i] = v;
    if (t.copy)
      st(t.copy, i, p);
  }
}

/// partial[blockIdx.x] = sum of g^2 over the block's elements (double).
__device__ __forceinline__ void grad_sq_partial_kernel(const OptimArgs &a) {
  int ti;
  int64_t begin, end;
  optimBlock(a, ti, begin, end);
  const float *g = a.tensors[ti].g;
  double s = 0.0;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x)
    s += (double)g[i] * g[i];
  __shared__ double red[32];
  const double sum = blockSumFixed(s, red);
  if (threadIdx.x == 0)
    a.partial[blockIdx.x] = sum;
}

/// One block: norm = sqrt(sum of the partials in order); *scale and *norm.
__device__ __forceinline__ void grad_clip_scale_kernel(const OptimArgs &a) {
  double s = 0.0;
  // Fixed assignment of partials to threads and a fixed reduction tree: the
  // same bits on every run.
  for (int i = threadIdx.x; i < a.numBlocks; i += blockDim.x)
    s += a.partial[i];
  __shared__ double red[32];
  const double sum = blockSumFixed(s, red);
  if (threadIdx.x == 0) {
    const double norm = sqrt(sum);
    *a.norm = (float)norm;
    *a.scale = a.maxNorm > 0.f && norm > a.maxNorm ? (float)(a.maxNorm / (norm + 1e-6)) : 1.f;
  }
}

} // namespace hyb
