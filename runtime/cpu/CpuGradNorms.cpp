//===- CpuGradNorms.cpp - backward of RMSNorm, group norm, gated RMSNorm ---===//
//
// With r = 1 / sqrt(mean(v^2) + eps) over a group of n values and the
// upstream gradient g_i of the normalised value v_i r (already times the
// weight), d/dv_j = r g_j - r^3 v_j (sum_i g_i v_i) / n. For the group norm
// (mean removed) it is r (g_j - mean(g) - vhat_j mean(g vhat)). Statistics
// are recomputed from the inputs in double.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/CpuGrad.h"

#include <cmath>
#include <vector>

namespace hybrid::cpu {

namespace {
double sigmoidD(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double siluD(double x) { return x * sigmoidD(x); }
double siluPrimeD(double x) {
  double s = sigmoidD(x);
  return s * (1.0 + x * (1.0 - s));
}

/// dv (n values) of u = v * r(v) given du = g: r g - r^3 v (g . v) / n.
void rmsBackward(const double *v, const double *g, int64_t n, double eps, double *dv) {
  double ss = 0.0, gv = 0.0;
  for (int64_t i = 0; i < n; ++i)
    ss += v[i] * v[i], gv += g[i] * v[i];
  double r = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
  double k = r * r * r * gv / static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i)
    dv[i] = r * g[i] - k * v[i];
}

void storeDw(const std::vector<double> &acc, float *dw) {
  for (size_t i = 0; i < acc.size(); ++i)
    dw[i] = static_cast<float>(acc[i]);
}
} // namespace

void rmsnormGrad(const float *x, const float *w, const float *dout, int64_t T, int64_t D,
                 double eps, float *dx, float *dw) {
  std::vector<double> v(D), g(D), dv(D), dwAcc(D, 0.0);
  for (int64_t t = 0; t < T; ++t) {
    double ss = 0.0;
    for (int64_t i = 0; i < D; ++i) {
      v[i] = x[t * D + i];
      g[i] = static_cast<double>(dout[t * D + i]) * w[i];
      ss += v[i] * v[i];
    }
    double r = 1.0 / std::sqrt(ss / static_cast<double>(D) + eps);
    for (int64_t i = 0; i < D; ++i)
      dwAcc[i] += dout[t * D + i] * v[i] * r;
    if (dx) {
      rmsBackward(v.data(), g.data(), D, eps, dv.data());
      for (int64_t i = 0; i < D; ++i)
        dx[t * D + i] = static_cast<float>(dv[i]);
    }
  }
  if (dw)
    storeDw(dwAcc, dw);
}

Status groupNormGrad(const float *x, const float *w, const float *dout, int64_t T, int64_t D,
                     int64_t groups, double eps, float *dx, float *dw) {
  if (groups <= 0 || D % groups)
    return HYBRID_ERROR("group_norm.grad: ", groups, " groups do not divide the last dim ", D);
  const int64_t gs = D / groups;
  std::vector<double> xhat(gs), g(gs), dwAcc(D, 0.0);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t grp = 0; grp < groups; ++grp) {
      const int64_t base = t * D + grp * gs;
      double mean = 0.0, var = 0.0;
      for (int64_t i = 0; i < gs; ++i)
        mean += x[base + i];
      mean /= static_cast<double>(gs);
      for (int64_t i = 0; i < gs; ++i)
        var += (x[base + i] - mean) * (x[base + i] - mean);
      var /= static_cast<double>(gs);
      const double r = 1.0 / std::sqrt(var + eps);
      double gMean = 0.0, gxMean = 0.0;
      for (int64_t i = 0; i < gs; ++i) {
        xhat[i] = (x[base + i] - mean) * r;
        g[i] = static_cast<double>(dout[base + i]) * w[grp * gs + i];
        dwAcc[grp * gs + i] += dout[base + i] * xhat[i];
        gMean += g[i], gxMean += g[i] * xhat[i];
      }
      gMean /= static_cast<double>(gs), gxMean /= static_cast<double>(gs);
      if (dx)
        for (int64_t i = 0; i < gs; ++i)
          dx[base + i] = static_cast<float>(r * (g[i] - gMean - xhat[i] * gxMean));
    }
  if (dw)
    storeDw(dwAcc, dw);
  return Status();
}

Status gatedRmsNormGrad(const float *y, const float *z, const float *w, const float *dout,
                        int64_t T, int64_t D, int64_t groups, double eps, bool normBeforeGate,
                        float *dy, float *dz, float *dw) {
  if (groups <= 0 || D % groups)
    return HYBRID_ERROR("gated_rmsnorm.grad: ", groups, " groups do not divide the last dim ", D);
  const int64_t gs = D / groups;
  std::vector<double> v(gs), g(gs), dv(gs), dwAcc(D, 0.0);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t grp = 0; grp < groups; ++grp) {
      const int64_t base = t * D + grp * gs;
      const float *wg = w + grp * gs;
      // v: the normalised vector; e: the gradient reaching v * r * w.
      double ss = 0.0;
      for (int64_t i = 0; i < gs; ++i) {
        v[i] = normBeforeGate ? static_cast<double>(y[base + i])
                              : y[base + i] * siluD(z[base + i]);
        ss += v[i] * v[i];
      }
      const double r = 1.0 / std::sqrt(ss / static_cast<double>(gs) + eps);
      for (int64_t i = 0; i < gs; ++i) {
        double e = normBeforeGate ? dout[base + i] * siluD(z[base + i]) : dout[base + i];
        dwAcc[grp * gs + i] += e * v[i] * r;
        g[i] = e * wg[i];
      }
      rmsBackward(v.data(), g.data(), gs, eps, dv.data());
      for (int64_t i = 0; i < gs; ++i) {
        const double zi = z[base + i];
        double gy, gz;
        if (normBeforeGate) { // out = y r w silu(z)
          gy = dv[i];
          gz = dout[base + i] * v[i] * r * wg[i] * siluPrimeD(zi);
        } else { // v = y silu(z)
          gy = dv[i] * siluD(zi);
          gz = dv[i] * y[base + i] * siluPrimeD(zi);
        }
        if (dy)
          dy[base + i] = static_cast<float>(gy);
        if (dz)
          dz[base + i] = static_cast<float>(gz);
      }
    }
  if (dw)
    storeDw(dwAcc, dw);
  return Status();
}

} // namespace hybrid::cpu
