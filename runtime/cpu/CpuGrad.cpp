//===- CpuGrad.cpp - backward of embedding, projections, loss, element-wise -===//
//
// Norm backward lives in CpuGradNorms.cpp, conv1d/scan in CpuGradScan.cpp,
// RoPE/attention in CpuGradAttention.cpp, the fused ops in CpuGradFused.cpp.
// Sums accumulate in double (see CpuGrad.h).
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/CpuGrad.h"
#include "runtime/cpu/Parallel.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace hybrid::cpu {

namespace {
double sigmoidD(double x) { return 1.0 / (1.0 + std::exp(-x)); }
/// d silu / dx = s (1 + x (1 - s)), s = sigmoid(x).
double siluPrimeD(double x) {
  double s = sigmoidD(x);
  return s * (1.0 + x * (1.0 - s));
}
} // namespace

Status embeddingGrad(const int32_t *ids, const float *dout, int64_t T, int64_t V, int64_t D,
                     float *dtable) {
  if (!dtable)
    return Status();
  for (int64_t t = 0; t < T; ++t)
    if (ids[t] < 0 || ids[t] >= V)
      return HYBRID_ERROR("embedding.grad: token id ", ids[t], " at position ", t,
                          " is outside the vocabulary [0, ", V, ")");
  // Scatter-add in double without a [V, D] double buffer (V*D can be GBs):
  // visit the tokens grouped by id, summing each id's rows in one D-vector.
  std::vector<int64_t> order(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t)
    order[t] = t;
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return ids[a] < ids[b]; });
  std::fill(dtable, dtable + V * D, 0.0f);
  std::vector<double> acc(static_cast<size_t>(D));
  for (size_t i = 0; i < order.size();) {
    const int32_t id = ids[order[i]];
    std::fill(acc.begin(), acc.end(), 0.0);
    for (; i < order.size() && ids[order[i]] == id; ++i)
      for (int64_t k = 0; k < D; ++k)
        acc[k] += dout[order[i] * D + k];
    for (int64_t k = 0; k < D; ++k)
      dtable[id * D + k] = static_cast<float>(acc[k]);
  }
  return Status();
}

// Multi-versioned like cpu::linear (AVX2 or baseline, no FMA); rows are
// split over the cores (runtime/cpu/Parallel.h), each row computed by one
// thread in a fixed order.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
void linearGrad(const float *x, const float *w, const float *dout, int64_t T, int64_t K,
                int64_t N, float *dx, float *dw, float *dbias) {
  const double work = double(T) * N * K;
  if (dx) // dx[t, k] = sum_n dout[t, n] w[n, k]
    parallelFor(T, work, [&](int64_t t0, int64_t t1) {
      std::vector<double> acc(static_cast<size_t>(K));
      for (int64_t t = t0; t < t1; ++t) {
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t n = 0; n < N; ++n) {
          double g = dout[t * N + n];
          const float *wr = w + n * K;
          for (int64_t k = 0; k < K; ++k)
            acc[k] += g * wr[k];
        }
        for (int64_t k = 0; k < K; ++k)
          dx[t * K + k] = static_cast<float>(acc[k]);
      }
    });
  if (dw) // dw[n, k] = sum_t dout[t, n] x[t, k]
    parallelFor(N, work, [&](int64_t n0, int64_t n1) {
      std::vector<double> acc(static_cast<size_t>(K));
      for (int64_t n = n0; n < n1; ++n) {
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t t = 0; t < T; ++t) {
          double g = dout[t * N + n];
          const float *xr = x + t * K;
          for (int64_t k = 0; k < K; ++k)
            acc[k] += g * xr[k];
        }
        for (int64_t k = 0; k < K; ++k)
          dw[n * K + k] = static_cast<float>(acc[k]);
      }
    });
  if (dbias)
    for (int64_t n = 0; n < N; ++n) {
      double s = 0.0;
      for (int64_t t = 0; t < T; ++t)
        s += dout[t * N + n];
      dbias[n] = static_cast<float>(s);
    }
}

void lmHeadGrad(const float *x, const float *w, const float *dout, int64_t T, int64_t D,
                int64_t V, float *dx, float *dw) {
  linearGrad(x, w, dout, T, D, V, dx, dw, nullptr);
}

Status crossEntropyGrad(const float *logits, const int32_t *labels, int64_t T, int64_t V,
                        double dloss, float *dlogits) {
  int64_t counted = 0;
  for (int64_t t = 0; t < T; ++t) {
    if (labels[t] >= V)
      return HYBRID_ERROR("cross_entropy.grad: label ", labels[t], " at position ", t,
                          " is outside the vocabulary [0, ", V, ")");
    counted += labels[t] >= 0;
  }
  if (!dlogits)
    return Status();
  const double g = counted ? dloss / static_cast<double>(counted) : 0.0;
  std::vector<double> e(static_cast<size_t>(V));
  for (int64_t t = 0; t < T; ++t) {
    float *drow = dlogits + t * V;
    if (labels[t] < 0) {
      std::fill(drow, drow + V, 0.0f);
      continue;
    }
    const float *row = logits + t * V;
    double mx = *std::max_element(row, row + V), sum = 0.0;
    for (int64_t v = 0; v < V; ++v)
      sum += e[v] = std::exp(row[v] - mx);
    for (int64_t v = 0; v < V; ++v)
      drow[v] = static_cast<float>(g * (e[v] / sum - (v == labels[t] ? 1.0 : 0.0)));
  }
  return Status();
}

//===----------------------------------------------------------------------===//
// Element-wise
//===----------------------------------------------------------------------===//

void siluGrad(const float *x, const float *dout, int64_t n, float *dx) {
  for (int64_t i = 0; i < n; ++i)
    dx[i] = static_cast<float>(dout[i] * siluPrimeD(x[i]));
}

void softplusGrad(const float *x, const float *dout, int64_t n, float *dx) {
  // The forward returns x itself above 20, whose slope is exactly 1.
  for (int64_t i = 0; i < n; ++i)
    dx[i] = static_cast<float>(x[i] > 20.0f ? dout[i] : dout[i] * sigmoidD(x[i]));
}

void relu2Grad(const float *x, const float *dout, int64_t n, float *dx) {
  for (int64_t i = 0; i < n; ++i)
    dx[i] = static_cast<float>(x[i] > 0.0f ? 2.0 * x[i] * dout[i] : 0.0);
}

void clampGrad(const float *x, const float *dout, int64_t n, double lo, double hi, float *dx) {
  // PyTorch's convention: the bounds themselves pass the gradient.
  for (int64_t i = 0; i < n; ++i)
    dx[i] = x[i] >= lo && x[i] <= hi ? dout[i] : 0.0f;
}

void scaleGrad(const float *dout, int64_t n, double factor, float *dx) {
  for (int64_t i = 0; i < n; ++i)
    dx[i] = static_cast<float>(dout[i] * factor);
}

void swigluGrad(const float *g, const float *u, const float *dout, int64_t n, float *dg,
                float *du) {
  for (int64_t i = 0; i < n; ++i) {
    double gi = g[i], d = dout[i];
    // Read everything before writing: dg/du may alias dout.
    double a = d * u[i] * siluPrimeD(gi), b = d * gi * sigmoidD(gi);
    if (dg)
      dg[i] = static_cast<float>(a);
    if (du)
      du[i] = static_cast<float>(b);
  }
}

//===----------------------------------------------------------------------===//
// Broadcasting binary ops, combine, split
//===----------------------------------------------------------------------===//

Status addGrad(const int64_t *lhsShape, int lhsRank, const int64_t *rhsShape, int rhsRank,
               const float *dout, float *dlhs, float *drhs) {
  std::vector<int64_t> off;
  int64_t rn = 0;
  HYBRID_RETURN_IF_ERROR(
      broadcastOffsets("add.grad", lhsShape, lhsRank, rhsShape, rhsRank, off, rn));
  std::vector<double> acc(static_cast<size_t>(rn), 0.0);
  for (size_t i = 0; i < off.size(); ++i)
    acc[off[i]] += dout[i];
  if (dlhs && dlhs != dout)
    std::copy(dout, dout + off.size(), dlhs);
  if (drhs)
    for (int64_t r = 0; r < rn; ++r)
      drhs[r] = static_cast<float>(acc[r]);
  return Status();
}

Status mulGrad(const float *lhs, const int64_t *lhsShape, int lhsRank, const float *rhs,
               const int64_t *rhsShape, int rhsRank, const float *dout, float *dlhs,
               float *drhs) {
  std::vector<int64_t> off;
  int64_t rn = 0;
  HYBRID_RETURN_IF_ERROR(
      broadcastOffsets("mul.grad", lhsShape, lhsRank, rhsShape, rhsRank, off, rn));
  std::vector<double> acc(static_cast<size_t>(rn), 0.0);
  for (size_t i = 0; i < off.size(); ++i) {
    double d = dout[i];
    acc[off[i]] += d * lhs[i];
    if (dlhs)
      dlhs[i] = static_cast<float>(d * rhs[off[i]]);
  }
  if (drhs)
    for (int64_t r = 0; r < rn; ++r)
      drhs[r] = static_cast<float>(acc[r]);
  return Status();
}

Status combineGrad(const float *dout, int64_t T, int64_t Da, int64_t Db, CombineMode mode,
                   float *da, float *db) {
  if (mode == CombineMode::Concat) {
    for (int64_t t = 0; t < T; ++t) {
      const float *row = dout + t * (Da + Db);
      if (da)
        std::copy(row, row + Da, da + t * Da);
      if (db)
        std::copy(row + Da, row + Da + Db, db + t * Db);
    }
    return Status();
  }
  if (Da != Db)
    return HYBRID_ERROR("combine.grad: the branches have widths ", Da, " and ", Db,
                        "; add/mean/diff need equal widths");
  const double fa = mode == CombineMode::Mean ? 0.5 : 1.0;
  const double fb = mode == CombineMode::Mean ? 0.5 : mode == CombineMode::Diff ? -1.0 : 1.0;
  for (int64_t i = 0; i < T * Da; ++i) {
    double d = dout[i];
    if (da)
      da[i] = static_cast<float>(fa * d);
    if (db)
      db[i] = static_cast<float>(fb * d);
  }
  return Status();
}

Status splitGrad(const float *const *douts, int64_t T, int64_t D, const int64_t *sizes, int count,
                 float *dx) {
  int64_t sum = 0;
  for (int i = 0; i < count; ++i) {
    if (sizes[i] <= 0)
      return HYBRID_ERROR("split.grad: piece ", i, " has size ", sizes[i],
                          "; sizes must be positive");
    sum += sizes[i];
  }
  if (sum != D)
    return HYBRID_ERROR("split.grad: sizes sum to ", sum, " but the last dim is ", D);
  if (!dx)
    return Status();
  for (int64_t t = 0; t < T; ++t) {
    float *row = dx + t * D;
    for (int i = 0; i < count; ++i) {
      if (douts[i])
        std::copy(douts[i] + t * sizes[i], douts[i] + (t + 1) * sizes[i], row);
      else
        std::fill(row, row + sizes[i], 0.0f);
      row += sizes[i];
    }
  }
  return Status();
}

} // namespace hybrid::cpu
