//===- CpuKernels.cpp - embedding, projections, loss, element-wise --------===//
//
// Reference kernels that need no sequence structure. Norms live in
// CpuNorms.cpp, conv1d and the SSD scan in CpuScan.cpp, RoPE and attention in
// CpuAttention.cpp. Sums accumulate in double (see CpuKernels.h).
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/CpuKernels.h"
#include "runtime/cpu/Parallel.h"

#include <algorithm>
#include <vector>
#include <cmath>
#include <string>

namespace hybrid::cpu {

Status embedding(const float *table, const int32_t *ids, int64_t T, int64_t V, int64_t D,
                 float *out) {
  for (int64_t t = 0; t < T; ++t) {
    int64_t id = ids[t];
    if (id < 0 || id >= V)
      return HYBRID_ERROR("embedding: token id ", id, " at position ", t,
                          " is outside the vocabulary [0, ", V, ")");
    std::copy(table + id * D, table + (id + 1) * D, out + t * D);
  }
  return Status();
}

// Compiled for AVX2 as well as the baseline; the loader picks the one the
// CPU supports (GCC function multi-versioning). No FMA: without contraction
// every sum rounds the same way on both, so results do not depend on the CPU.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
void linear(const float *x, const float *w, const float *bias, int64_t T, int64_t K, int64_t N,
            float *out) {
  // out[t, :] = sum_k x[t, k] * w^T[k, :], accumulated in double in k order.
  // With w transposed once (N x K copies, small next to T x N x K work), the
  // inner loop runs over n, contiguous in both w^T and the accumulators, and
  // vectorises; four rows of x share each pass over w^T.
  std::vector<float> wt(static_cast<size_t>(N * K));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      wt[k * N + n] = w[n * K + k];
  constexpr int64_t R = 4;
  const int64_t blocks = (T + R - 1) / R;
  parallelFor(blocks, double(T) * N * K, [&](int64_t b0, int64_t b1) {
    std::vector<double> acc(static_cast<size_t>(R * N));
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t t0 = blk * R, rows = std::min(R, T - t0);
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t k = 0; k < K; ++k) {
        const float *wk = wt.data() + k * N;
        for (int64_t r = 0; r < rows; ++r) {
          const double xk = x[(t0 + r) * K + k];
          double *a = acc.data() + r * N;
          for (int64_t n = 0; n < N; ++n)
            a[n] += xk * static_cast<double>(wk[n]);
        }
      }
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t n = 0; n < N; ++n)
          out[(t0 + r) * N + n] =
              static_cast<float>(acc[r * N + n] + (bias ? static_cast<double>(bias[n]) : 0.0));
    }
  });
}

void lmHead(const float *x, const float *w, int64_t T, int64_t D, int64_t V, float *out) {
  linear(x, w, nullptr, T, D, V, out);
}

StatusOr<double> crossEntropy(const float *logits, const int32_t *labels, int64_t T, int64_t V) {
  double total = 0.0;
  int64_t counted = 0;
  for (int64_t t = 0; t < T; ++t) {
    int64_t label = labels[t];
    if (label < 0)
      continue;
    if (label >= V)
      return HYBRID_ERROR("cross_entropy: label ", label, " at position ", t,
                          " is outside the vocabulary [0, ", V, ")");
    const float *row = logits + t * V;
    double mx = *std::max_element(row, row + V);
    double sum = 0.0;
    for (int64_t v = 0; v < V; ++v)
      sum += std::exp(row[v] - mx);
    // -log softmax = logsumexp - logit, with the max factored out.
    total += mx + std::log(sum) - row[label];
    ++counted;
  }
  return counted ? total / static_cast<double>(counted) : 0.0;
}

//===----------------------------------------------------------------------===//
// Element-wise
//===----------------------------------------------------------------------===//

static inline double siluD(double x) { return x / (1.0 + std::exp(-x)); }

void silu(const float *x, int64_t n, float *out) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = static_cast<float>(siluD(x[i]));
}

void softplus(const float *x, int64_t n, float *out) {
  for (int64_t i = 0; i < n; ++i) {
    double v = x[i];
    // Above 20, log1p(exp(x)) == x in fp32; PyTorch switches at the same point.
    out[i] = static_cast<float>(v > 20.0 ? v : std::log1p(std::exp(v)));
  }
}

void relu2(const float *x, int64_t n, float *out) {
  for (int64_t i = 0; i < n; ++i) {
    double v = x[i] > 0.0f ? x[i] : 0.0;
    out[i] = static_cast<float>(v * v);
  }
}

void clamp(const float *x, int64_t n, double lo, double hi, float *out) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = static_cast<float>(std::min(std::max(static_cast<double>(x[i]), lo), hi));
}

void scale(const float *x, int64_t n, double factor, float *out) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = static_cast<float>(x[i] * factor);
}

void swiglu(const float *g, const float *u, int64_t n, float *out) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = static_cast<float>(siluD(g[i]) * u[i]);
}

static std::string shapeStr(const int64_t *shape, int rank) {
  std::string s = "[";
  for (int i = 0; i < rank; ++i)
    s += (i ? "x" : "") + std::to_string(shape[i]);
  return s + "]";
}

Status broadcastOffsets(const char *name, const int64_t *lhsShape, int lhsRank,
                        const int64_t *rhsShape, int rhsRank, std::vector<int64_t> &offsets,
                        int64_t &rhsNumel) {
  bool ok = rhsRank >= 0 && rhsRank <= lhsRank;
  for (int i = 0; ok && i < rhsRank; ++i) {
    int64_t r = rhsShape[i], l = lhsShape[lhsRank - rhsRank + i];
    ok = r == l || r == 1;
  }
  if (!ok)
    return HYBRID_ERROR(name, ": rhs ", shapeStr(rhsShape, rhsRank),
                        " does not broadcast against the trailing dims of lhs ",
                        shapeStr(lhsShape, lhsRank));
  int64_t total = 1;
  for (int i = 0; i < lhsRank; ++i)
    total *= lhsShape[i];
  rhsNumel = 1;
  for (int i = 0; i < rhsRank; ++i)
    rhsNumel *= rhsShape[i];
  // The rhs offset of an lhs element: walk its trailing coordinates, skipping
  // the broadcast (size 1) ones.
  offsets.resize(static_cast<size_t>(total));
  for (int64_t idx = 0; idx < total; ++idx) {
    int64_t rem = idx, roff = 0, rstride = 1;
    for (int i = rhsRank - 1; i >= 0; --i) {
      int64_t l = lhsShape[lhsRank - rhsRank + i];
      int64_t c = rem % l;
      rem /= l;
      if (rhsShape[i] != 1)
        roff += c * rstride;
      rstride *= rhsShape[i];
    }
    offsets[idx] = roff;
  }
  return Status();
}

template <typename Fn>
static Status broadcastBinary(const char *name, const float *lhs, const int64_t *lhsShape,
                              int lhsRank, const float *rhs, const int64_t *rhsShape,
                              int rhsRank, float *out, Fn fn) {
  std::vector<int64_t> off;
  int64_t rn = 0;
  HYBRID_RETURN_IF_ERROR(broadcastOffsets(name, lhsShape, lhsRank, rhsShape, rhsRank, off, rn));
  for (size_t idx = 0; idx < off.size(); ++idx)
    out[idx] = fn(lhs[idx], rhs[off[idx]]);
  return Status();
}

Status add(const float *lhs, const int64_t *lhsShape, int lhsRank, const float *rhs,
           const int64_t *rhsShape, int rhsRank, float *out) {
  return broadcastBinary("add", lhs, lhsShape, lhsRank, rhs, rhsShape, rhsRank, out,
                         [](float a, float b) { return a + b; });
}

Status mul(const float *lhs, const int64_t *lhsShape, int lhsRank, const float *rhs,
           const int64_t *rhsShape, int rhsRank, float *out) {
  return broadcastBinary("mul", lhs, lhsShape, lhsRank, rhs, rhsShape, rhsRank, out,
                         [](float a, float b) { return a * b; });
}

Status combine(const float *a, const float *b, int64_t T, int64_t Da, int64_t Db,
               CombineMode mode, float *out) {
  if (mode == CombineMode::Concat) {
    for (int64_t t = 0; t < T; ++t) {
      std::copy(a + t * Da, a + (t + 1) * Da, out + t * (Da + Db));
      std::copy(b + t * Db, b + (t + 1) * Db, out + t * (Da + Db) + Da);
    }
    return Status();
  }
  if (Da != Db)
    return HYBRID_ERROR("combine: the branches have widths ", Da, " and ", Db,
                        "; add/mean/diff need equal widths");
  int64_t n = T * Da;
  for (int64_t i = 0; i < n; ++i) {
    switch (mode) {
    case CombineMode::Add:
      out[i] = a[i] + b[i];
      break;
    case CombineMode::Mean:
      out[i] = static_cast<float>((static_cast<double>(a[i]) + b[i]) * 0.5);
      break;
    case CombineMode::Diff:
      out[i] = a[i] - b[i];
      break;
    case CombineMode::Concat:
      break;
    }
  }
  return Status();
}

Status split(const float *x, int64_t T, int64_t D, const int64_t *sizes, int count,
             float *const *outs) {
  int64_t sum = 0;
  for (int i = 0; i < count; ++i) {
    if (sizes[i] <= 0)
      return HYBRID_ERROR("split: piece ", i, " has size ", sizes[i], "; sizes must be positive");
    sum += sizes[i];
  }
  if (sum != D)
    return HYBRID_ERROR("split: sizes sum to ", sum, " but the last dim is ", D);
  for (int64_t t = 0; t < T; ++t) {
    const float *row = x + t * D;
    for (int i = 0; i < count; ++i) {
      std::copy(row, row + sizes[i], outs[i] + t * sizes[i]);
      row += sizes[i];
    }
  }
  return Status();
}

} // namespace hybrid::cpu
