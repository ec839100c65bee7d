//===- CpuGradAttention.cpp - backward of RoPE and causal GQA attention ----===//
//
// RoPE rotates each pair by phi, so its gradient rotates by -phi (same fp32
// angle as the forward). Attention recomputes each query row's softmax P
// (no cache of probabilities) and applies, with dP_j = dout . v_j:
//   dv_j += P_j dout,  dS_j = P_j (dP_j - sum_i P_i dP_i),
//   dq   = scale sum_j dS_j k_j,  dk_j += scale dS_j q.
// dk / dv sum over the query heads of a kv head (GQA) and over rows, in
// double buffers the size of k and v.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/CpuGrad.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace hybrid::cpu {

Status ropeGrad(const float *dout, int64_t B, int64_t L, int64_t H, int64_t Dh,
                const int64_t *pos0, double theta, const RopeScaling &scaling, int64_t rotaryDim,
                float *dx) {
  const int64_t rd = rotaryDim == 0 ? Dh : rotaryDim;
  if (rd < 0 || rd > Dh || rd % 2)
    return HYBRID_ERROR("rope.grad: rotary_dim ", rotaryDim,
                        " must be even and at most the head dim ", Dh);
  const int64_t half = rd / 2;
  std::vector<float> inv = ropeInvFreq(theta, rd, scaling);
  std::vector<double> cosv(half), sinv(half);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t l = 0; l < L; ++l) {
      const int64_t pos = (pos0 ? pos0[b] : 0) + l;
      for (int64_t i = 0; i < half; ++i) {
        float angle = static_cast<float>(pos) * inv[i]; // the forward's fp32 angle
        cosv[i] = std::cos(static_cast<double>(angle));
        sinv[i] = std::sin(static_cast<double>(angle));
      }
      for (int64_t h = 0; h < H; ++h) {
        const float *g = dout + ((b * L + l) * H + h) * Dh;
        float *o = dx + ((b * L + l) * H + h) * Dh;
        for (int64_t i = 0; i < half; ++i) {
          double a = g[i], c = g[i + half]; // read both first: dx may alias dout
          o[i] = static_cast<float>(a * cosv[i] + c * sinv[i]);
          o[i + half] = static_cast<float>(c * cosv[i] - a * sinv[i]);
        }
        if (o != g)
          std::copy(g + rd, g + Dh, o + rd);
      }
    }
  return Status();
}

Status attentionGrad(const float *q, const float *k, const float *v, const float *dout,
                     int64_t B, int64_t L, int64_t Hq, int64_t Hkv, int64_t Dh, int64_t window,
                     double scale, float *dq, float *dk, float *dv) {
  if (Hkv <= 0 || Hq % Hkv)
    return HYBRID_ERROR("attention.grad: ", Hkv, " kv heads do not divide ", Hq, " query heads");
  if (scale <= 0.0)
    scale = 1.0 / std::sqrt(static_cast<double>(Dh));
  const int64_t rowStride = Hkv * Dh, group = Hq / Hkv;
  std::vector<double> dkAcc(static_cast<size_t>(B * L * rowStride), 0.0), dvAcc(dkAcc.size(), 0.0);
  std::vector<double> prob, dprob, dqRow(static_cast<size_t>(Dh));

  for (int64_t b = 0; b < B; ++b) {
    const float *keys = k + b * L * rowStride, *vals = v + b * L * rowStride;
    double *dkb = &dkAcc[b * L * rowStride], *dvb = &dvAcc[b * L * rowStride];
    for (int64_t l = 0; l < L; ++l) {
      const int64_t lo = window > 0 ? std::max<int64_t>(0, l - window + 1) : 0;
      prob.resize(static_cast<size_t>(l - lo + 1));
      dprob.resize(prob.size());
      for (int64_t h = 0; h < Hq; ++h) {
        const int64_t kvOff = (h / group) * Dh;
        const float *qr = q + ((b * L + l) * Hq + h) * Dh;
        const float *gr = dout + ((b * L + l) * Hq + h) * Dh;
        // The forward's softmax row, recomputed.
        double mx = -INFINITY, denom = 0.0;
        for (int64_t j = lo; j <= l; ++j) {
          const float *kr = keys + j * rowStride + kvOff;
          double s = 0.0;
          for (int64_t e = 0; e < Dh; ++e)
            s += static_cast<double>(qr[e]) * kr[e];
          prob[j - lo] = s * scale;
          mx = std::max(mx, prob[j - lo]);
        }
        for (double &p : prob)
          denom += p = std::exp(p - mx);
        double pdp = 0.0; // sum_i P_i dP_i
        for (int64_t j = lo; j <= l; ++j) {
          double &p = prob[j - lo];
          p /= denom;
          const float *vr = vals + j * rowStride + kvOff;
          double s = 0.0;
          for (int64_t e = 0; e < Dh; ++e)
            s += static_cast<double>(gr[e]) * vr[e];
          dprob[j - lo] = s;
          pdp += p * s;
          double *dvr = dvb + j * rowStride + kvOff;
          for (int64_t e = 0; e < Dh; ++e)
            dvr[e] += p * gr[e];
        }
        std::fill(dqRow.begin(), dqRow.end(), 0.0);
        for (int64_t j = lo; j <= l; ++j) {
          const double ds = prob[j - lo] * (dprob[j - lo] - pdp) * scale;
          const float *kr = keys + j * rowStride + kvOff;
          double *dkr = dkb + j * rowStride + kvOff;
          for (int64_t e = 0; e < Dh; ++e) {
            dqRow[e] += ds * kr[e];
            dkr[e] += ds * qr[e];
          }
        }
        if (dq)
          for (int64_t e = 0; e < Dh; ++e)
            dq[((b * L + l) * Hq + h) * Dh + e] = static_cast<float>(dqRow[e]);
      }
    }
  }
  for (size_t i = 0; i < dkAcc.size(); ++i) {
    if (dk)
      dk[i] = static_cast<float>(dkAcc[i]);
    if (dv)
      dv[i] = static_cast<float>(dvAcc[i]);
  }
  return Status();
}

} // namespace hybrid::cpu
