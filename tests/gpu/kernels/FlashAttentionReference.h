//===- FlashAttentionReference.h - attention backward, tiled (host) -------===//
//
// Causal GQA attention gradients computed the way the device backward will
// (FlashAttention-2): the forward keeps only each query row's log-sum-exp,
// the backward walks key tiles and query tiles, recomputing P from it, with
// D_i = dO_i . O_i:
//   P_ij = exp(s q_i . k_j - lse_i) (masked: causal, window)
//   dV_j += P_ij dO_i;  dP_ij = dO_i . v_j;  dS_ij = P_ij (dP_ij - D_i)
//   dQ_i += s dS_ij k_j;  dK_j += s dS_ij q_i   (dK, dV summed over the query
//                                                  heads of a kv head)
// Double precision, host only; checked against the CPU reference's
// attentionGrad (tests/unit/runtime/FlashAttentionReferenceTest.cpp). Layout
// as attentionGrad: q, dout [B, L, Hq, Dh]; k, v [B, L, Hkv, Dh].
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_TESTS_GPU_KERNELS_FLASHATTENTIONREFERENCE_H
#define HYBRIDC_TESTS_GPU_KERNELS_FLASHATTENTIONREFERENCE_H

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace hybrid::reference {

inline void flashAttentionGrad(const float *q, const float *k, const float *v, const float *dout,
                               int64_t B, int64_t L, int64_t Hq, int64_t Hkv, int64_t Dh,
                               int64_t window, double scale, int64_t tile, float *dq, float *dk,
                               float *dv) {
  if (scale <= 0)
    scale = 1.0 / std::sqrt((double)Dh);
  const int64_t group = Hq / Hkv;
  auto at = [&](const float *t, int64_t H, int64_t b, int64_t l, int64_t h) {
    return t + ((b * L + l) * H + h) * Dh;
  };
  auto visible = [&](int64_t i, int64_t j) { return j <= i && (window <= 0 || j > i - window); };
  std::vector<double> gk(B * L * Hkv * Dh, 0.0), gv(B * L * Hkv * Dh, 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < Hq; ++h) {
      const int64_t kh = h / group;
      // Forward by key tiles (online softmax): O and the log-sum-exp per row.
      std::vector<double> O(L * Dh, 0.0), lse(L), Dd(L);
      for (int64_t i = 0; i < L; ++i) {
        double m = -std::numeric_limits<double>::infinity(), l = 0.0;
        std::vector<double> acc(Dh, 0.0);
        for (int64_t j0 = 0; j0 <= i; j0 += tile)
          for (int64_t j = j0; j < std::min(j0 + tile, i + 1); ++j) {
            if (!visible(i, j))
              continue;
            double s = 0.0;
            for (int64_t e = 0; e < Dh; ++e)
              s += (double)at(q, Hq, b, i, h)[e] * at(k, Hkv, b, j, kh)[e];
            s *= scale;
            const double mNew = std::max(m, s), corr = std::exp(m - mNew), p = std::exp(s - mNew);
            l = l * corr + p;
            for (int64_t e = 0; e < Dh; ++e)
              acc[e] = acc[e] * corr + p * at(v, Hkv, b, j, kh)[e];
            m = mNew;
          }
        lse[i] = m + std::log(l);
        double dsum = 0.0;
        for (int64_t e = 0; e < Dh; ++e) {
          O[i * Dh + e] = acc[e] / l;
          dsum += (double)at(dout, Hq, b, i, h)[e] * O[i * Dh + e];
        }
        Dd[i] = dsum;
      }
      // Backward: key tiles outside, query tiles inside (dK, dV stay local to
      // a key tile; dQ accumulates across them).
      std::vector<double> gq(L * Dh, 0.0);
      for (int64_t j0 = 0; j0 < L; j0 += tile)
        for (int64_t i0 = j0 - (j0 % tile); i0 < L; i0 += tile)
          for (int64_t j = j0; j < std::min(j0 + tile, L); ++j)
            for (int64_t i = std::max(i0, j); i < std::min(i0 + tile, L); ++i) {
              if (!visible(i, j))
                continue;
              double s = 0.0, dp = 0.0;
              for (int64_t e = 0; e < Dh; ++e) {
                s += (double)at(q, Hq, b, i, h)[e] * at(k, Hkv, b, j, kh)[e];
                dp += (double)at(dout, Hq, b, i, h)[e] * at(v, Hkv, b, j, kh)[e];
              }
              const double p = std::exp(s * scale - lse[i]), ds = p * (dp - Dd[i]);
              for (int64_t e = 0; e < Dh; ++e) {
                gv[((b * L + j) * Hkv + kh) * Dh + e] += p * at(dout, Hq, b, i, h)[e];
                gq[i * Dh + e] += scale * ds * at(k, Hkv, b, j, kh)[e];
                gk[((b * L + j) * Hkv + kh) * Dh + e] += scale * ds * at(q, Hq, b, i, h)[e];
              }
            }
      for (int64_t i = 0; i < L; ++i)
        for (int64_t e = 0; e < Dh; ++e)
          dq[((b * L + i) * Hq + h) * Dh + e] = (float)gq[i * Dh + e];
    }
  for (size_t n = 0; n < gk.size(); ++n)
    dk[n] = (float)gk[n], dv[n] = (float)gv[n];
}

} // namespace hybrid::reference

#endif // HYBRIDC_TESTS_GPU_KERNELS_FLASHATTENTIONREFERENCE_H
