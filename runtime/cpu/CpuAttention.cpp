//===- CpuAttention.cpp - RoPE and causal GQA attention -------------------===//
//
// RoPE mirrors transformers (LlamaRotaryEmbedding + apply_rotary_pos_emb):
// inv_freq is held in fp32 and the angle is the fp32 product position *
// inv_freq, so that this oracle and an fp32 GPU kernel agree at long
// positions (the angle's rounding error grows with the position). The
// rotation itself is done in double.
//
// Attention is computed one query row at a time (scores for that row only),
// so memory is O(context), never O(L^2).
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/CpuKernels.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace hybrid::cpu {

std::vector<float> ropeInvFreq(double theta, int64_t rotaryDim, const RopeScaling &scaling) {
  const int64_t half = rotaryDim / 2;
  std::vector<float> inv(static_cast<size_t>(half));
  const double kPi = 3.14159265358979323846;
  for (int64_t i = 0; i < half; ++i) {
    double f = 1.0 / std::pow(theta, static_cast<double>(2 * i) / static_cast<double>(rotaryDim));
    switch (scaling.kind) {
    case RopeScaling::Kind::None:
      break;
    case RopeScaling::Kind::Linear:
      // Dividing inv_freq by the factor == dividing positions by it.
      f /= scaling.factor;
      break;
    case RopeScaling::Kind::Llama3: {
      // transformers' _compute_llama3_parameters: long wavelengths (beyond
      // original_max / low_freq_factor) are slowed by `factor`, short ones
      // (below original_max / high_freq_factor) kept, the band between
      // interpolated linearly in original_max / wavelen.
      double oldCtx = static_cast<double>(scaling.originalMaxPosition);
      double lowWavelen = oldCtx / scaling.lowFreqFactor;
      double highWavelen = oldCtx / scaling.highFreqFactor;
      double wavelen = 2.0 * kPi / f;
      if (wavelen > lowWavelen) {
        f /= scaling.factor;
      } else if (wavelen >= highWavelen) {
        double smooth = (oldCtx / wavelen - scaling.lowFreqFactor) /
                        (scaling.highFreqFactor - scaling.lowFreqFactor);
        f = (1.0 - smooth) * f / scaling.factor + smooth * f;
      }
      break;
    }
    }
    inv[i] = static_cast<float>(f);
  }
  return inv;
}

Status rope(const float *x, int64_t B, int64_t L, int64_t H, int64_t Dh, const int64_t *pos0,
            double theta, const RopeScaling &scaling, int64_t rotaryDim, float *out) {
  const int64_t rd = rotaryDim == 0 ? Dh : rotaryDim;
  if (rd < 0 || rd > Dh || rd % 2)
    return HYBRID_ERROR("rope: rotary_dim ", rotaryDim, " must be even and at most the head dim ",
                        Dh);
  const int64_t half = rd / 2;
  std::vector<float> inv = ropeInvFreq(theta, rd, scaling);
  std::vector<double> cosv(static_cast<size_t>(half)), sinv(static_cast<size_t>(half));
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t l = 0; l < L; ++l) {
      const int64_t pos = (pos0 ? pos0[b] : 0) + l;
      for (int64_t i = 0; i < half; ++i) {
        float angle = static_cast<float>(pos) * inv[i]; // fp32, as transformers
        cosv[i] = std::cos(static_cast<double>(angle));
        sinv[i] = std::sin(static_cast<double>(angle));
      }
      for (int64_t h = 0; h < H; ++h) {
        const float *xr = x + ((b * L + l) * H + h) * Dh;
        float *orow = out + ((b * L + l) * H + h) * Dh;
        for (int64_t i = 0; i < half; ++i) {
          // Read both halves before writing: out may alias x.
          double a = xr[i], c = xr[i + half];
          orow[i] = static_cast<float>(a * cosv[i] - c * sinv[i]);
          orow[i + half] = static_cast<float>(c * cosv[i] + a * sinv[i]);
        }
        if (orow != xr)
          std::copy(xr + rd, xr + Dh, orow + rd);
      }
    }
  }
  return Status();
}

Status attention(const float *q, const float *k, const float *v, int64_t B, int64_t L, int64_t Hq,
                 int64_t Hkv, int64_t Dh, int64_t window, double scale, float *kCache,
                 float *vCache, int64_t maxCtx, const int64_t *pos0, float *out) {
  if (Hkv <= 0 || Hq % Hkv)
    return HYBRID_ERROR("attention: ", Hkv, " kv heads do not divide ", Hq, " query heads");
  if ((kCache == nullptr) != (vCache == nullptr))
    return HYBRID_ERROR("attention: the K and V caches must be given together");
  const bool cached = kCache != nullptr;
  if (cached)
    for (int64_t b = 0; b < B; ++b) {
      int64_t p0 = pos0 ? pos0[b] : 0;
      if (p0 < 0 || p0 + L > maxCtx)
        return HYBRID_ERROR("attention: batch row ", b, " writes positions [", p0, ", ", p0 + L,
                            ") beyond the KV cache of ", maxCtx, " positions");
    }
  if (scale <= 0.0)
    scale = 1.0 / std::sqrt(static_cast<double>(Dh));
  const int64_t rowStride = Hkv * Dh; // one position of k / v / a cache
  const int64_t group = Hq / Hkv;

  std::vector<double> scores, acc(static_cast<size_t>(Dh));
  for (int64_t b = 0; b < B; ++b) {
    const int64_t p0 = cached && pos0 ? pos0[b] : 0;
    const float *keys = k + b * L * rowStride, *vals = v + b * L * rowStride;
    if (cached) {
      // Store the new tokens first; causality comes from the key range below.
      float *kc = kCache + b * maxCtx * rowStride, *vc = vCache + b * maxCtx * rowStride;
      std::copy(keys, keys + L * rowStride, kc + p0 * rowStride);
      std::copy(vals, vals + L * rowStride, vc + p0 * rowStride);
      keys = kc;
      vals = vc;
    }
    for (int64_t l = 0; l < L; ++l) {
      const int64_t p = p0 + l; // position of the query = index of its own key
      const int64_t lo = window > 0 ? std::max<int64_t>(0, p - window + 1) : 0;
      scores.resize(static_cast<size_t>(p - lo + 1));
      for (int64_t h = 0; h < Hq; ++h) {
        const int64_t kvh = h / group;
        const float *qr = q + ((b * L + l) * Hq + h) * Dh;
        double mx = -INFINITY;
        for (int64_t j = lo; j <= p; ++j) {
          const float *kr = keys + j * rowStride + kvh * Dh;
          double s = 0.0;
          for (int64_t e = 0; e < Dh; ++e)
            s += static_cast<double>(qr[e]) * kr[e];
          scores[j - lo] = s * scale;
          mx = std::max(mx, scores[j - lo]);
        }
        double denom = 0.0;
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t j = lo; j <= p; ++j) {
          double wgt = std::exp(scores[j - lo] - mx);
          denom += wgt;
          const float *vr = vals + j * rowStride + kvh * Dh;
          for (int64_t e = 0; e < Dh; ++e)
            acc[e] += wgt * vr[e];
        }
        float *orow = out + ((b * L + l) * Hq + h) * Dh;
        for (int64_t e = 0; e < Dh; ++e)
          orow[e] = static_cast<float>(acc[e] / denom);
      }
    }
  }
  return Status();
}

} // namespace hybrid::cpu
