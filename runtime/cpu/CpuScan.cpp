//===- CpuScan.cpp - Mamba-2 causal conv1d and SSD scan -------------------===//
//
// ssdScan follows the chunked SSD algorithm of Mamba-2 (the structure of
// mamba_ssm's ssd_minimal), per (batch row, head):
//   1. intra-chunk outputs:  y_t += sum_{s<=t in chunk} (C_t . B_s)
//                                   exp(segsum(t, s)) dt_s x_s
//   2. chunk states:         S_c = sum_{s in c} exp(segsum(end, s)) dt_s x_s B_s^T
//   3. state passing:        H_{c+1} = exp(sum_{u in c} dt_u A) H_c + S_c
//   4. state to output:      y_t += exp(segsum(t, start - 1)) C_t H_c
// with segsum(t, s) = sum_{u=s+1..t} dt_u A, accumulated directly (never as a
// difference of two cumulative sums, which cancels badly for long chunks).
// Everything is double; the chunk length changes only the summation order.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/CpuKernels.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace hybrid::cpu {

void conv1dCausal(const float *x, const float *w, const float *bias, int64_t B, int64_t L,
                  int64_t C, int64_t K, float *state, float *out) {
  const int64_t S = K - 1; // state rows
  std::vector<float> newState(static_cast<size_t>(std::max<int64_t>(S, 0) * C));
  for (int64_t b = 0; b < B; ++b) {
    const float *xb = x + b * L * C;
    float *sb = state ? state + b * S * C : nullptr;
    // Input at sequence position p (p >= -S): x, or the carried state before it.
    auto xin = [&](int64_t p, int64_t c) -> double {
      if (p >= 0)
        return xb[p * C + c];
      return sb ? sb[(S + p) * C + c] : 0.0;
    };
    for (int64_t l = 0; l < L; ++l)
      for (int64_t c = 0; c < C; ++c) {
        double acc = bias ? bias[c] : 0.0;
        for (int64_t k = 0; k < K; ++k)
          acc += w[c * K + k] * xin(l - K + 1 + k, c);
        out[(b * L + l) * C + c] = static_cast<float>(acc);
      }
    if (!sb)
      continue;
    // The last S inputs of (state ++ x); built aside because they may read
    // the old state when L < S.
    for (int64_t j = 0; j < S; ++j)
      for (int64_t c = 0; c < C; ++c)
        newState[j * C + c] = static_cast<float>(xin(L - S + j, c));
    std::copy(newState.begin(), newState.end(), sb);
  }
}

namespace {
Status checkScan(const char *name, int64_t H, int64_t G, int64_t chunk) {
  if (G <= 0 || H % G)
    return HYBRID_ERROR(name, ": ", G, " B/C groups do not divide ", H, " heads");
  if (chunk < 1)
    return HYBRID_ERROR(name, ": chunk must be >= 1, got ", chunk);
  return Status();
}

/// Strided views of the scan operands for one (batch row, head).
struct ScanView {
  const float *x, *dt, *bm, *cm;
  int64_t H, P, G, N, h, g;
  double xAt(int64_t t, int64_t p) const { return x[(t * H + h) * P + p]; }
  double dtAt(int64_t t) const { return dt[t * H + h]; }
  const float *bAt(int64_t t) const { return bm + (t * G + g) * N; }
  const float *cAt(int64_t t) const { return cm + (t * G + g) * N; }
};

double dot(const float *a, const float *b, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i)
    s += static_cast<double>(a[i]) * b[i];
  return s;
}
} // namespace

Status ssdScan(const float *x, const float *dt, const float *aLog, const float *bm,
               const float *cm, const float *d, int64_t B, int64_t L, int64_t H, int64_t P,
               int64_t G, int64_t N, int64_t chunk, float *state, float *y) {
  HYBRID_RETURN_IF_ERROR(checkScan("ssd_scan", H, G, chunk));
  const int64_t nChunks = (L + chunk - 1) / chunk;
  const int64_t PN = P * N;
  std::vector<double> yAcc(static_cast<size_t>(L * P));
  std::vector<double> dA(static_cast<size_t>(L));
  // hIn[c] is the state entering chunk c; hIn[nChunks] the final state.
  std::vector<double> hIn(static_cast<size_t>((nChunks + 1) * PN));
  std::vector<double> chunkState(static_cast<size_t>(PN));

  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < H; ++h) {
      ScanView v{x + b * L * H * P, dt + b * L * H, bm + b * L * G * N, cm + b * L * G * N,
                 H, P, G, N, h, h / (H / G)};
      const double A = -std::exp(static_cast<double>(aLog[h]));
      for (int64_t t = 0; t < L; ++t)
        dA[t] = v.dtAt(t) * A;
      std::fill(yAcc.begin(), yAcc.end(), 0.0);
      float *st = state ? state + (b * H + h) * PN : nullptr;
      for (int64_t i = 0; i < PN; ++i)
        hIn[i] = st ? st[i] : 0.0;

      for (int64_t c = 0; c < nChunks; ++c) {
        const int64_t start = c * chunk, end = std::min(L, start + chunk);
        // 1. Intra-chunk (diagonal block): the masked C B^T "attention".
        for (int64_t t = start; t < end; ++t) {
          double seg = 0.0; // segsum(t, s) as s walks down from t
          for (int64_t s = t; s >= start; --s) {
            if (s < t)
              seg += dA[s + 1];
            double coef = dot(v.cAt(t), v.bAt(s), N) * std::exp(seg) * v.dtAt(s);
            for (int64_t p = 0; p < P; ++p)
              yAcc[t * P + p] += coef * v.xAt(s, p);
          }
        }
        // 2. The chunk's own state (from zero), decayed to the chunk end.
        std::fill(chunkState.begin(), chunkState.end(), 0.0);
        double toEnd = 0.0; // segsum(end - 1, s)
        for (int64_t s = end - 1; s >= start; --s) {
          if (s < end - 1)
            toEnd += dA[s + 1];
          double coef = std::exp(toEnd) * v.dtAt(s);
          const float *bs = v.bAt(s);
          for (int64_t p = 0; p < P; ++p) {
            double xp = coef * v.xAt(s, p);
            for (int64_t n = 0; n < N; ++n)
              chunkState[p * N + n] += xp * bs[n];
          }
        }
        // 3. State passing: decay the incoming state over the whole chunk.
        double chunkDecay = 0.0;
        for (int64_t s = start; s < end; ++s)
          chunkDecay += dA[s];
        const double *hc = &hIn[c * PN];
        double *hNext = &hIn[(c + 1) * PN];
        for (int64_t i = 0; i < PN; ++i)
          hNext[i] = std::exp(chunkDecay) * hc[i] + chunkState[i];
        // 4. State to output: the incoming state seen through C_t, decayed
        //    from the chunk start to t (inclusive).
        double fromStart = 0.0;
        for (int64_t t = start; t < end; ++t) {
          fromStart += dA[t];
          const float *ct = v.cAt(t);
          double decay = std::exp(fromStart);
          for (int64_t p = 0; p < P; ++p) {
            double s = 0.0;
            for (int64_t n = 0; n < N; ++n)
              s += ct[n] * hc[p * N + n];
            yAcc[t * P + p] += decay * s;
          }
        }
      }

      const double dh = d ? d[h] : 0.0;
      for (int64_t t = 0; t < L; ++t)
        for (int64_t p = 0; p < P; ++p)
          y[((b * L + t) * H + h) * P + p] =
              static_cast<float>(yAcc[t * P + p] + dh * v.xAt(t, p));
      if (st)
        for (int64_t i = 0; i < PN; ++i)
          st[i] = static_cast<float>(hIn[nChunks * PN + i]);
    }
  }
  return Status();
}

Status ssdScanNaive(const float *x, const float *dt, const float *aLog, const float *bm,
                    const float *cm, const float *d, int64_t B, int64_t L, int64_t H, int64_t P,
                    int64_t G, int64_t N, int64_t /*chunk*/, float *state, float *y) {
  HYBRID_RETURN_IF_ERROR(checkScan("ssd_scan", H, G, 1));
  const int64_t PN = P * N;
  std::vector<double> hs(static_cast<size_t>(PN));
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < H; ++h) {
      ScanView v{x + b * L * H * P, dt + b * L * H, bm + b * L * G * N, cm + b * L * G * N,
                 H, P, G, N, h, h / (H / G)};
      const double A = -std::exp(static_cast<double>(aLog[h]));
      float *st = state ? state + (b * H + h) * PN : nullptr;
      for (int64_t i = 0; i < PN; ++i)
        hs[i] = st ? st[i] : 0.0;
      for (int64_t t = 0; t < L; ++t) {
        double dtt = v.dtAt(t), decay = std::exp(dtt * A);
        const float *bt = v.bAt(t), *ct = v.cAt(t);
        for (int64_t p = 0; p < P; ++p) {
          double xp = v.xAt(t, p), out = 0.0;
          for (int64_t n = 0; n < N; ++n) {
            double &hv = hs[p * N + n];
            hv = decay * hv + dtt * xp * bt[n];
            out += ct[n] * hv;
          }
          y[((b * L + t) * H + h) * P + p] =
              static_cast<float>(out + (d ? d[h] * xp : 0.0));
        }
      }
      if (st)
        for (int64_t i = 0; i < PN; ++i)
          st[i] = static_cast<float>(hs[i]);
    }
  }
  return Status();
}

} // namespace hybrid::cpu
