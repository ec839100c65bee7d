//===- elementwise.cuh - embedding, unary/binary element-wise, swiglu, ----===//
//                       split/concat/combine column copies, GEMM bias
//
// Grid-stride loops over flat indices; fp32 math, bf16 (or fp32) storage.
//
//===----------------------------------------------------------------------===//
#pragma once
#include "common.cuh"

namespace hyb {

/// One block per token; 4-byte moves (activation rows are 4-byte aligned).
template <int D>
__device__ __forceinline__ void embedding_kernel(const EmbeddingArgs &a) {
  static_assert(D % 2 == 0, "embedding: width must be even");
  const int64_t t = blockIdx.x;
  if (t >= a.T)
    return;
  const int64_t id = a.ids[t];  // range-checked on the host before the upload
  const uint32_t *src = reinterpret_cast<const uint32_t *>(a.table + id * D);
  uint32_t *dst = reinterpret_cast<uint32_t *>(a.out + t * D);
  for (int i = threadIdx.x; i < D / 2; i += blockDim.x)
    dst[i] = src[i];
}

enum UnaryOp { kSilu = 0, kSoftplus = 1, kRelu2 = 2, kClamp = 3, kScale = 4 };

template <int Op, typename InT, typename OutT>
__device__ __forceinline__ void unary_kernel(const UnaryArgs &a) {
  const InT *x = static_cast<const InT *>(a.x);
  OutT *o = static_cast<OutT *>(a.out);
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < a.n;
       i += (int64_t)gridDim.x * blockDim.x) {
    float v = ld(x, i), r;
    if (Op == kSilu)
      r = siluf(v);
    else if (Op == kSoftplus)
      r = softplusf(v);
    else if (Op == kRelu2)
      r = v > 0.f ? v * v : 0.f;
    else if (Op == kClamp)
      r = fminf(fmaxf(v, a.p0), a.p1);
    else
      r = v * a.p0;
    st(o, i, r);
  }
}

/// add (Op 0) / mul (Op 1): out[i] = a[i] op b[i % bN]; BT bf16_t or float.
template <int Op, typename BT>
__device__ __forceinline__ void binary_kernel(const BinaryArgs &a) {
  const BT *b = static_cast<const BT *>(a.b);
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < a.n;
       i += (int64_t)gridDim.x * blockDim.x) {
    float x = ld(a.a, i), y = ld(b, i % a.bN);
    st(a.out, i, Op == 0 ? x + y : x * y);
  }
}

/// swiglu over rows of `width`: out = silu(gs * (g + bg)) * (u + bu); g, u
/// at row strides ldA, ldB (the two GEMM outputs, or a swiglu op's inputs).
__device__ __forceinline__ void swiglu_kernel(const BinaryArgs &a) {
  const bf16_t *u = static_cast<const bf16_t *>(a.b);
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < a.n;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t t = i / a.width, c = i % a.width;
    float g = ld(a.a, t * a.ldA + c), v = ld(u, t * a.ldB + c);
    if (a.biasA)
      g += a.biasA[c];
    if (a.biasB)
      v += a.biasB[c];
    st(a.out, i, siluf(g * a.gateScale) * v);
  }
}

/// Column copies (split, concat) and element-wise combine of two views.
__device__ __forceinline__ void cols_kernel(const ColsArgs &a) {
  const int64_t n = (int64_t)a.T * a.width;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t t = i / a.width, c = i % a.width;
    float x = ld(a.src, t * a.lds + c), r = x;
    if (a.mode) {
      float y = ld(a.src2, t * a.lds2 + c);
      r = a.mode == 1 ? x + y : a.mode == 2 ? (x + y) * 0.5f : x - y;
    }
    st(a.dst, t * a.ldd + c, r);
  }
}

__device__ __forceinline__ void bias_kernel(const BiasArgs &a) {
  const int64_t n = (int64_t)a.T * a.N;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t t = i / a.N, c = i % a.N;
    int64_t o = t * a.ldo + c;
    st(a.out, o, ld(a.out, o) + a.scale * a.bias[c]);
  }
}

} // namespace hyb
