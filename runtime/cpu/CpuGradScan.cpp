//===- CpuGradScan.cpp - backward of the causal conv1d and the SSD scan ----===//
//
// The scan's backward runs the recurrence
//   h_t = a_t h_{t-1} + dt_t x_t B_t^T,   a_t = exp(dt_t A),  A = -exp(A_log)
//   y_t = h_t C_t + D x_t
// backwards in time, in double, per (batch row, head), carrying
// G_t = dL/dh_t (P x N), G_{L-1} starting from dy only:
//   G_t    = a_{t+1} G_{t+1} + dy_t C_t^T
//   dC_t   = h_t^T dy_t            dB_t = dt_t G_t^T x_t
//   dx_t   = dt_t G_t B_t + D dy_t dD   = sum_t dy_t . x_t
//   ddt_t  = x_t^T G_t B_t + A a_t <G_t, h_{t-1}>
//   dA_log = sum_t A a_t dt_t <G_t, h_{t-1}>      (dA/dA_log = A)
// Only the states at chunk starts are kept from a forward sweep; the states
// inside a chunk are recomputed from them when the reverse sweep reaches it,
// so scratch is (L / chunk + chunk) * P * N instead of L * P * N.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/CpuGrad.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace hybrid::cpu {

void conv1dCausalGrad(const float *x, const float *w, const float *dout, int64_t B, int64_t L,
                      int64_t C, int64_t K, float *dx, float *dw, float *dbias) {
  // out[b, l, c] = bias[c] + sum_k w[c, k] x[b, l - K + 1 + k, c] (x = 0 before 0).
  std::vector<double> dwAcc(static_cast<size_t>(C * K), 0.0), dbAcc(static_cast<size_t>(C), 0.0);
  for (int64_t b = 0; b < B; ++b) {
    const float *xb = x + b * L * C, *gb = dout + b * L * C;
    for (int64_t l = 0; l < L; ++l)
      for (int64_t c = 0; c < C; ++c) {
        double g = gb[l * C + c];
        dbAcc[c] += g;
        for (int64_t k = 0; k < K; ++k) {
          int64_t p = l - K + 1 + k;
          if (p >= 0)
            dwAcc[c * K + k] += g * xb[p * C + c];
        }
      }
    if (dx) // x[p] feeds out[p + K - 1 - k] through w[k].
      for (int64_t p = 0; p < L; ++p)
        for (int64_t c = 0; c < C; ++c) {
          double s = 0.0;
          for (int64_t k = 0; k < K; ++k) {
            int64_t l = p + K - 1 - k;
            if (l < L)
              s += static_cast<double>(w[c * K + k]) * gb[l * C + c];
          }
          dx[(b * L + p) * C + c] = static_cast<float>(s);
        }
  }
  if (dw)
    for (int64_t i = 0; i < C * K; ++i)
      dw[i] = static_cast<float>(dwAcc[i]);
  if (dbias)
    for (int64_t c = 0; c < C; ++c)
      dbias[c] = static_cast<float>(dbAcc[c]);
}

Status ssdScanGrad(const float *x, const float *dt, const float *aLog, const float *bm,
                   const float *cm, const float *d, const float *dy, int64_t B, int64_t L,
                   int64_t H, int64_t P, int64_t G, int64_t N, int64_t chunk, float *dx,
                   float *ddt, float *daLog, float *dbm, float *dcm, float *dd) {
  if (G <= 0 || H % G)
    return HYBRID_ERROR("ssd_scan.grad: ", G, " B/C groups do not divide ", H, " heads");
  if (chunk < 1)
    return HYBRID_ERROR("ssd_scan.grad: chunk must be >= 1, got ", chunk);
  const int64_t PN = P * N, nChunks = (L + chunk - 1) / chunk, hpg = H / G;
  // B and C are shared by the H/G heads of a group: accumulate aside.
  std::vector<double> dB(static_cast<size_t>(B * L * G * N), 0.0), dC(dB.size(), 0.0);
  std::vector<double> dA(static_cast<size_t>(H), 0.0), dD(static_cast<size_t>(H), 0.0);
  std::vector<double> starts(static_cast<size_t>(nChunks * PN)); // h entering each chunk
  std::vector<double> hs(static_cast<size_t>(std::min(chunk, L) * PN)); // h_t inside a chunk
  std::vector<double> gh(static_cast<size_t>(PN)), dxT(static_cast<size_t>(P));

  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t g = h / hpg;
      const double A = -std::exp(static_cast<double>(aLog[h]));
      const double Dh = d ? d[h] : 0.0;
      auto xAt = [&](int64_t t, int64_t p) -> double { return x[((b * L + t) * H + h) * P + p]; };
      auto dtAt = [&](int64_t t) -> double { return dt[(b * L + t) * H + h]; };
      auto bAt = [&](int64_t t) { return bm + ((b * L + t) * G + g) * N; };
      auto cAt = [&](int64_t t) { return cm + ((b * L + t) * G + g) * N; };
      // One step of the recurrence from `prev` into `next`.
      auto step = [&](int64_t t, const double *prev, double *next) {
        const double dtt = dtAt(t), a = std::exp(dtt * A);
        const float *bt = bAt(t);
        for (int64_t p = 0; p < P; ++p) {
          double xp = dtt * xAt(t, p);
          for (int64_t n = 0; n < N; ++n)
            next[p * N + n] = a * (prev ? prev[p * N + n] : 0.0) + xp * bt[n];
        }
      };

      // Forward sweep: keep the state entering each chunk.
      std::fill(starts.begin(), starts.begin() + PN, 0.0);
      for (int64_t c = 1; c < nChunks; ++c) {
        std::copy(starts.begin() + (c - 1) * PN, starts.begin() + c * PN, hs.begin());
        for (int64_t t = (c - 1) * chunk; t < c * chunk; ++t) {
          step(t, hs.data(), gh.data()); // gh as a temporary
          std::copy(gh.begin(), gh.end(), hs.begin());
        }
        std::copy(hs.begin(), hs.begin() + PN, starts.begin() + c * PN);
      }

      // Reverse sweep.
      std::fill(gh.begin(), gh.end(), 0.0);
      for (int64_t c = nChunks - 1; c >= 0; --c) {
        const int64_t start = c * chunk, end = std::min(L, start + chunk);
        const double *h0 = &starts[c * PN];
        for (int64_t t = start; t < end; ++t)
          step(t, t == start ? h0 : &hs[(t - start - 1) * PN], &hs[(t - start) * PN]);
        for (int64_t t = end - 1; t >= start; --t) {
          const double *ht = &hs[(t - start) * PN];
          const double *hp = t == start ? h0 : &hs[(t - start - 1) * PN];
          const float *gy = dy + ((b * L + t) * H + h) * P;
          const float *bt = bAt(t), *ct = cAt(t);
          double *dBt = &dB[((b * L + t) * G + g) * N], *dCt = &dC[((b * L + t) * G + g) * N];
          // y_t = h_t C_t + D x_t.
          for (int64_t p = 0; p < P; ++p) {
            const double gp = gy[p];
            dxT[p] = Dh * gp;
            dD[h] += gp * xAt(t, p);
            for (int64_t n = 0; n < N; ++n) {
              dCt[n] += gp * ht[p * N + n];
              gh[p * N + n] += gp * ct[n];
            }
          }
          // h_t = a_t h_{t-1} + dt_t x_t B_t^T.
          const double dtt = dtAt(t), a = std::exp(dtt * A);
          double gDecay = 0.0, gDt = 0.0; // dL/da_t, dL/ddt_t through the input term
          for (int64_t p = 0; p < P; ++p) {
            const double xp = xAt(t, p);
            double gB = 0.0;
            for (int64_t n = 0; n < N; ++n) {
              const double gv = gh[p * N + n];
              gDecay += gv * hp[p * N + n];
              gB += gv * bt[n];
              dBt[n] += dtt * xp * gv;
            }
            gDt += gB * xp;
            dxT[p] += dtt * gB;
          }
          // a_t = exp(dt_t A), A = -exp(A_log): da/ddt = a A, da/dA_log = a dt A.
          if (ddt)
            ddt[(b * L + t) * H + h] = static_cast<float>(gDt + gDecay * a * A);
          dA[h] += gDecay * a * dtt * A;
          if (dx)
            for (int64_t p = 0; p < P; ++p)
              dx[((b * L + t) * H + h) * P + p] = static_cast<float>(dxT[p]);
          for (double &v : gh)
            v *= a; // into dL/dh_{t-1}
        }
      }
    }
  auto store = [](const std::vector<double> &src, float *dst) {
    if (dst)
      for (size_t i = 0; i < src.size(); ++i)
        dst[i] = static_cast<float>(src[i]);
  };
  store(dB, dbm);
  store(dC, dcm);
  store(dA, daLog);
  if (d)
    store(dD, dd);
  return Status();
}

} // namespace hybrid::cpu
