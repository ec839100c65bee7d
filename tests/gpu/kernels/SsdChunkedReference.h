//===- SsdChunkedReference.h - The SSD backward in chunked form (host) ----===//
//
// The gradients of the Mamba-2 scan computed the way the CUDA backward will
// compute them: chunk by chunk in reverse, with the state gradient dh carried
// across chunk boundaries, every product a small matrix product inside a
// chunk (C B^T, dY x^T, dY h^T, x^T dh ...). Double precision, host only.
// Checked against the reverse-time recurrence of runtime/cpu (ssdScanGrad)
// by tests/unit/runtime/SsdChunkedReferenceTest.cpp; it is the host oracle
// the CUDA backward kernel will be checked against in tests/gpu/kernels.
//
// Forward, per (batch row, head), chunk c with local positions i, j and
// cum_i = sum_{k<=i} dt_k A (A = -exp(aLog)), h the state entering the chunk:
//   y_i  = e^cum_i C_i h^T + sum_{j<=i} e^(cum_i - cum_j) dt_j (C_i . B_j) x_j + D x_i
//   h'   = e^cum_last h + sum_j e^(cum_last - cum_j) dt_j x_j B_j^T
// Backward of one chunk, given dY and dh' (the gradient of the state leaving it):
//   S_ij = C_i . B_j, W_ij = dY_i . x_j, L_ij = e^(cum_i - cum_j) (j <= i),
//   E_j = e^(cum_last - cum_j), K_j = x_j^T dh' B_j (a scalar):
//   dx_j = sum_{i>=j} L_ij dt_j S_ij dY_i + E_j dt_j dh' B_j + D dY_j
//   dB_j = sum_{i>=j} L_ij dt_j W_ij C_i + E_j dt_j dh'^T x_j
//   dC_i = e^cum_i h^T dY_i + sum_{j<=i} L_ij dt_j W_ij B_j
//   ddt_j (as the multiplier) = sum_{i>=j} L_ij S_ij W_ij + E_j K_j
//   dcum_i = e^cum_i dY_i . (C_i h^T) + sum_{j<=i} L_ij dt_j S_ij W_ij
//            - sum_{i'>=i} L_i'i dt_i S_i'i W_i'i - E_i dt_i K_i
//            (+ at the last position: e^cum_last <h, dh'> + sum_j E_j dt_j K_j)
//   da_k = sum_{i>=k} dcum_i;  ddt_k += A da_k;  dA += dt_k da_k
//   dD += dY_i . x_i;  dh = e^cum_last dh' + sum_i e^cum_i dY_i C_i^T
// Groups: dB, dC sum over the heads of a group; daLog = dA * A.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_TESTS_GPU_KERNELS_SSDCHUNKEDREFERENCE_H
#define HYBRIDC_TESTS_GPU_KERNELS_SSDCHUNKEDREFERENCE_H

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace hybrid::reference {

/// Same layout and contract as ssdScanGrad (runtime/cpu/CpuGrad.h): zero
/// initial state; x, dy [B, L, H, P]; dt [B, L, H]; bm, cm [B, L, G, N];
/// d [H] or null. Outputs are overwritten (dd only when d is non-null).
inline void ssdChunkedGrad(const float *x, const float *dt, const float *aLog, const float *bm,
                           const float *cm, const float *d, const float *dy, int64_t B,
                           int64_t L, int64_t H, int64_t P, int64_t G, int64_t N, int64_t Q,
                           float *dx, float *ddt, float *daLog, float *dbm, float *dcm,
                           float *dd) {
  const int64_t hpg = H / G;
  std::vector<double> gdbm(B * L * G * N, 0.0), gdcm(B * L * G * N, 0.0), gdA(H, 0.0),
      gdD(H, 0.0);
  auto X = [&](int64_t b, int64_t l, int64_t h, int64_t p) {
    return (double)x[((b * L + l) * H + h) * P + p];
  };
  auto DY = [&](int64_t b, int64_t l, int64_t h, int64_t p) {
    return (double)dy[((b * L + l) * H + h) * P + p];
  };
  auto BM = [&](int64_t b, int64_t l, int64_t g, int64_t n) {
    return (double)bm[((b * L + l) * G + g) * N + n];
  };
  auto CM = [&](int64_t b, int64_t l, int64_t g, int64_t n) {
    return (double)cm[((b * L + l) * G + g) * N + n];
  };
  const int64_t nChunks = (L + Q - 1) / Q;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t g = h / hpg;
      const double A = -std::exp((double)aLog[h]);
      const double Dh = d ? (double)d[h] : 0.0;
      // Forward: the state entering every chunk.
      std::vector<std::vector<double>> hin(nChunks, std::vector<double>(P * N, 0.0));
      std::vector<double> st(P * N, 0.0);
      for (int64_t c = 0; c < nChunks; ++c) {
        hin[c] = st;
        for (int64_t l = c * Q; l < std::min(L, (c + 1) * Q); ++l) {
          const double dtv = dt[(b * L + l) * H + h], dA = std::exp(dtv * A);
          for (int64_t p = 0; p < P; ++p)
            for (int64_t n = 0; n < N; ++n)
              st[p * N + n] = dA * st[p * N + n] + dtv * X(b, l, h, p) * BM(b, l, g, n);
        }
      }
      // Backward, chunks in reverse, dh = gradient of the state leaving the chunk.
      std::vector<double> dh(P * N, 0.0);
      for (int64_t c = nChunks - 1; c >= 0; --c) {
        const int64_t c0 = c * Q, q = std::min(L, c0 + Q) - c0;
        const std::vector<double> &hc = hin[c];
        std::vector<double> dtl(q), cum(q);
        double run = 0.0;
        for (int64_t i = 0; i < q; ++i) {
          dtl[i] = dt[(b * L + c0 + i) * H + h];
          run += dtl[i] * A;
          cum[i] = run;
        }
        const double last = cum[q - 1];
        // Small matrices of the chunk.
        std::vector<double> S(q * q, 0.0), W(q * q, 0.0), Lm(q * q, 0.0), E(q), K(q, 0.0),
            Ch(q * P, 0.0);
        for (int64_t i = 0; i < q; ++i) {
          for (int64_t j = 0; j <= i; ++j) {
            double s = 0.0, w = 0.0;
            for (int64_t n = 0; n < N; ++n)
              s += CM(b, c0 + i, g, n) * BM(b, c0 + j, g, n);
            for (int64_t p = 0; p < P; ++p)
              w += DY(b, c0 + i, h, p) * X(b, c0 + j, h, p);
            S[i * q + j] = s, W[i * q + j] = w, Lm[i * q + j] = std::exp(cum[i] - cum[j]);
          }
          E[i] = std::exp(last - cum[i]);
          for (int64_t p = 0; p < P; ++p)
            for (int64_t n = 0; n < N; ++n) {
              K[i] += X(b, c0 + i, h, p) * dh[p * N + n] * BM(b, c0 + i, g, n);
              Ch[i * P + p] += CM(b, c0 + i, g, n) * hc[p * N + n];
            }
        }
        std::vector<double> dcum(q, 0.0);
        double hdh = 0.0;
        for (int64_t k = 0; k < P * N; ++k)
          hdh += hc[k] * dh[k];
        dcum[q - 1] += std::exp(last) * hdh;
        for (int64_t i = 0; i < q; ++i) {
          const int64_t li = c0 + i;
          // dx_i, dB_i, ddt_i (as the multiplier) from the positions i' >= i.
          double ddtDirect = E[i] * K[i];
          for (int64_t p = 0; p < P; ++p) {
            double v = Dh * DY(b, li, h, p);
            for (int64_t ip = i; ip < q; ++ip)
              v += Lm[ip * q + i] * dtl[i] * S[ip * q + i] * DY(b, c0 + ip, h, p);
            double hb = 0.0;
            for (int64_t n = 0; n < N; ++n)
              hb += dh[p * N + n] * BM(b, li, g, n);
            v += E[i] * dtl[i] * hb;
            dx[((b * L + li) * H + h) * P + p] = (float)v;
            gdD[h] += DY(b, li, h, p) * X(b, li, h, p);
          }
          for (int64_t n = 0; n < N; ++n) {
            double vb = 0.0, vc = 0.0, xdh = 0.0, dyh = 0.0;
            for (int64_t ip = i; ip < q; ++ip)
              vb += Lm[ip * q + i] * dtl[i] * W[ip * q + i] * CM(b, c0 + ip, g, n);
            for (int64_t p = 0; p < P; ++p) {
              xdh += X(b, li, h, p) * dh[p * N + n];
              dyh += DY(b, li, h, p) * hc[p * N + n];
            }
            vb += E[i] * dtl[i] * xdh;
            vc = std::exp(cum[i]) * dyh;
            for (int64_t j = 0; j <= i; ++j)
              vc += Lm[i * q + j] * dtl[j] * W[i * q + j] * BM(b, c0 + j, g, n);
            gdbm[((b * L + li) * G + g) * N + n] += vb;
            gdcm[((b * L + li) * G + g) * N + n] += vc;
          }
          for (int64_t ip = i; ip < q; ++ip)
            ddtDirect += Lm[ip * q + i] * S[ip * q + i] * W[ip * q + i];
          ddt[(b * L + li) * H + h] = (float)ddtDirect;
          // dcum_i.
          double dyCh = 0.0;
          for (int64_t p = 0; p < P; ++p)
            dyCh += DY(b, li, h, p) * Ch[i * P + p];
          dcum[i] += std::exp(cum[i]) * dyCh;
          for (int64_t j = 0; j <= i; ++j)
            dcum[i] += Lm[i * q + j] * dtl[j] * S[i * q + j] * W[i * q + j];
          for (int64_t ip = i; ip < q; ++ip)
            dcum[i] -= Lm[ip * q + i] * dtl[i] * S[ip * q + i] * W[ip * q + i];
          dcum[i] -= E[i] * dtl[i] * K[i];
          dcum[q - 1] += E[i] * dtl[i] * K[i];
        }
        // cum_i = sum_{k<=i} dt_k A: reverse cumulative sum.
        double da = 0.0;
        for (int64_t k = q - 1; k >= 0; --k) {
          da += dcum[k];
          ddt[(b * L + c0 + k) * H + h] += (float)(A * da);
          gdA[h] += dtl[k] * da;
        }
        // The state gradient entering this chunk.
        std::vector<double> dhIn(P * N);
        for (int64_t p = 0; p < P; ++p)
          for (int64_t n = 0; n < N; ++n) {
            double v = std::exp(last) * dh[p * N + n];
            for (int64_t i = 0; i < q; ++i)
              v += std::exp(cum[i]) * DY(b, c0 + i, h, p) * CM(b, c0 + i, g, n);
            dhIn[p * N + n] = v;
          }
        dh.swap(dhIn);
      }
    }
  for (size_t k = 0; k < gdbm.size(); ++k)
    dbm[k] = (float)gdbm[k], dcm[k] = (float)gdcm[k];
  for (int64_t h = 0; h < H; ++h) {
    daLog[h] = (float)(gdA[h] * -std::exp((double)aLog[h]));
    if (d)
      dd[h] = (float)gdD[h];
  }
}

} // namespace hybrid::reference

#endif // HYBRIDC_TESTS_GPU_KERNELS_SSDCHUNKEDREFERENCE_H
