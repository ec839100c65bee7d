//===- CpuNorms.cpp - RMSNorm, group norm, Mamba-2 gated RMSNorm ----------===//
//
// All statistics are taken in double over fp32 inputs and the result is
// rounded once, which is what transformers' fp32 path (hidden.float()) gives
// up to rounding.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/CpuKernels.h"

#include <cmath>
#include <vector>

namespace hybrid::cpu {

namespace {
double siluD(double x) { return x / (1.0 + std::exp(-x)); }

/// 1 / sqrt(mean(v^2) + eps) over n values.
double invRms(const double *v, int64_t n, double eps) {
  double ss = 0.0;
  for (int64_t i = 0; i < n; ++i)
    ss += v[i] * v[i];
  return 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
}
} // namespace

void rmsnorm(const float *x, const float *w, int64_t T, int64_t D, double eps, float *out) {
  for (int64_t t = 0; t < T; ++t) {
    const float *xr = x + t * D;
    double ss = 0.0;
    for (int64_t i = 0; i < D; ++i)
      ss += static_cast<double>(xr[i]) * xr[i];
    double inv = 1.0 / std::sqrt(ss / static_cast<double>(D) + eps);
    for (int64_t i = 0; i < D; ++i)
      out[t * D + i] = static_cast<float>(xr[i] * inv * w[i]);
  }
}

Status groupNorm(const float *x, const float *w, int64_t T, int64_t D, int64_t groups, double eps,
                 float *out) {
  if (groups <= 0 || D % groups)
    return HYBRID_ERROR("group_norm: ", groups, " groups do not divide the last dim ", D);
  int64_t gs = D / groups;
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t g = 0; g < groups; ++g) {
      const float *xr = x + t * D + g * gs;
      double mean = 0.0;
      for (int64_t i = 0; i < gs; ++i)
        mean += xr[i];
      mean /= static_cast<double>(gs);
      // Two-pass biased variance: no cancellation for large means.
      double var = 0.0;
      for (int64_t i = 0; i < gs; ++i)
        var += (xr[i] - mean) * (xr[i] - mean);
      var /= static_cast<double>(gs);
      double inv = 1.0 / std::sqrt(var + eps);
      for (int64_t i = 0; i < gs; ++i)
        out[t * D + g * gs + i] = static_cast<float>((xr[i] - mean) * inv * w[g * gs + i]);
    }
  }
  return Status();
}

Status gatedRmsNorm(const float *y, const float *z, const float *w, int64_t T, int64_t D,
                    int64_t groups, double eps, bool normBeforeGate, float *out) {
  if (groups <= 0 || D % groups)
    return HYBRID_ERROR("gated_rmsnorm: ", groups, " groups do not divide the last dim ", D);
  int64_t gs = D / groups;
  std::vector<double> v(gs);
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t g = 0; g < groups; ++g) {
      int64_t base = t * D + g * gs;
      // Default (mamba_ssm norm_before_gate=False): normalise y * silu(z).
      for (int64_t i = 0; i < gs; ++i)
        v[i] = normBeforeGate ? static_cast<double>(y[base + i])
                              : y[base + i] * siluD(z[base + i]);
      double inv = invRms(v.data(), gs, eps);
      for (int64_t i = 0; i < gs; ++i) {
        double r = v[i] * inv * w[g * gs + i];
        if (normBeforeGate)
          r *= siluD(z[base + i]);
        out[base + i] = static_cast<float>(r);
      }
    }
  }
  return Status();
}

} // namespace hybrid::cpu
