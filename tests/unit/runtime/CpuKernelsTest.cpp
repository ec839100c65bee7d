//===- CpuKernelsTest.cpp - the CPU reference kernels vs independent oracles ===//
//
// Every kernel is compared to something computed another way: a naive
// formula written out here (explicit mask matrices, the per-token recurrence,
// triple loops, std::complex rotations) or values computed by hand (Python,
// double precision) and pasted as literals. Properties: the chunked SSD scan
// equals the recurrence for any chunk, and splitting a sequence into a
// prefill plus token-by-token decode (with state/caches) equals one pass.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/CpuKernels.h"

#include "tests/unit/runtime/KernelTestUtil.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <random>
#include <vector>

using namespace hybrid;
using namespace hybrid::cpu;

namespace {

using namespace hybrid::ktest;


/// Tokens [l0, l0 + n) of a [B, L, inner] tensor, as [B, n, inner].
Vec sliceSeq(const Vec &v, int64_t B, int64_t L, int64_t inner, int64_t l0, int64_t n) {
  Vec out(static_cast<size_t>(B * n * inner));
  for (int64_t b = 0; b < B; ++b)
    std::copy(v.begin() + (b * L + l0) * inner, v.begin() + (b * L + l0 + n) * inner,
              out.begin() + b * n * inner);
  return out;
}

/// Writes a [B, n, inner] piece at tokens [l0, l0 + n) of a [B, L, inner] tensor.
void placeSeq(Vec &dst, int64_t B, int64_t L, int64_t inner, int64_t l0, const Vec &piece,
              int64_t n) {
  for (int64_t b = 0; b < B; ++b)
    std::copy(piece.begin() + b * n * inner, piece.begin() + (b + 1) * n * inner,
              dst.begin() + (b * L + l0) * inner);
}

double softplusRef(double x) { return std::log(1.0 + std::exp(x)); }
double siluRef(double x) { return x / (1.0 + std::exp(-x)); }

//===----------------------------------------------------------------------===//
// SSD scan
//===----------------------------------------------------------------------===//

struct ScanCase {
  int64_t B, L, H, P, G, N, chunk;
};

struct ScanInputs {
  Vec x, dt, aLog, bm, cm, d, state;
};

ScanInputs makeScan(const ScanCase &c, std::mt19937 &rng) {
  ScanInputs in;
  in.x = randn(c.B * c.L * c.H * c.P, rng);
  in.dt = randn(c.B * c.L * c.H, rng);
  for (auto &v : in.dt)
    v = static_cast<float>(softplusRef(v - 0.5));
  // A = -exp(A_log) in [-4, -0.05]: some heads decay fast, some barely.
  std::uniform_real_distribution<double> u(std::log(0.05), std::log(4.0));
  in.aLog.resize(c.H);
  for (auto &v : in.aLog)
    v = static_cast<float>(u(rng));
  in.bm = randn(c.B * c.L * c.G * c.N, rng);
  in.cm = randn(c.B * c.L * c.G * c.N, rng);
  in.d = randn(c.H, rng);
  in.state = randn(c.B * c.H * c.P * c.N, rng);
  return in;
}

TEST(CpuSsdScan, NaiveMatchesHandComputedRecurrence) {
  // B=1, L=2, H=1, P=1, G=1, N=1: h1 = dt1 x1 b1, y1 = c1 h1 + D x1,
  // h2 = exp(dt2 A) h1 + dt2 x2 b2, y2 = c2 h2 + D x2 with A = -exp(0) = -1.
  Vec x{2.0f, -1.0f}, dt{0.5f, 0.25f}, aLog{0.0f}, bm{3.0f, 4.0f}, cm{1.5f, -2.0f}, d{0.5f};
  Vec y(2), state{0.0f};
  ASSERT_TRUE(ssdScanNaive(x.data(), dt.data(), aLog.data(), bm.data(), cm.data(), d.data(), 1,
                           2, 1, 1, 1, 1, 1, state.data(), y.data())
                  .ok());
  double h1 = 0.5 * 2 * 3, y1 = 1.5 * h1 + 0.5 * 2;
  double h2 = std::exp(-0.25) * h1 + 0.25 * -1 * 4, y2 = -2.0 * h2 + 0.5 * -1;
  EXPECT_NEAR(y[0], y1, 1e-5);
  EXPECT_NEAR(y[1], y2, 1e-5);
  EXPECT_NEAR(state[0], h2, 1e-5);
}

void expectChunkedEqualsNaive(const ScanCase &c, uint32_t seed, bool withState, bool withD) {
  SCOPED_TRACE(testing::Message() << "B=" << c.B << " L=" << c.L << " H=" << c.H << " P=" << c.P
                                  << " G=" << c.G << " N=" << c.N << " chunk=" << c.chunk
                                  << " state=" << withState << " D=" << withD);
  std::mt19937 rng(seed);
  ScanInputs in = makeScan(c, rng);
  Vec yC(in.x.size()), yN(in.x.size());
  Vec sC = in.state, sN = in.state;
  const float *d = withD ? in.d.data() : nullptr;
  ASSERT_TRUE(ssdScan(in.x.data(), in.dt.data(), in.aLog.data(), in.bm.data(), in.cm.data(), d,
                      c.B, c.L, c.H, c.P, c.G, c.N, c.chunk, withState ? sC.data() : nullptr,
                      yC.data())
                  .ok());
  ASSERT_TRUE(ssdScanNaive(in.x.data(), in.dt.data(), in.aLog.data(), in.bm.data(), in.cm.data(),
                           d, c.B, c.L, c.H, c.P, c.G, c.N, c.chunk,
                           withState ? sN.data() : nullptr, yN.data())
                  .ok());
  EXPECT_LE(maxRelErr(yC, yN), 1e-5);
  if (withState) {
    EXPECT_LE(maxRelErr(sC, sN), 1e-5);
  }
}

TEST(CpuSsdScan, ChunkedEqualsRecurrenceOnChosenShapes) {
  std::vector<ScanCase> cases = {
      {1, 37, 4, 3, 2, 5, 7},  // chunk does not divide L
      {2, 37, 4, 3, 2, 5, 16}, // last chunk shorter
      {1, 37, 2, 4, 1, 3, 37}, // chunk == L
      {2, 20, 6, 2, 3, 4, 64}, // chunk > L
      {3, 1, 2, 2, 2, 2, 4},   // one token
      {1, 70, 4, 8, 4, 8, 1},  // chunk 1: pure state passing
  };
  uint32_t seed = 1;
  for (const auto &c : cases)
    for (bool st : {false, true})
      for (bool withD : {false, true})
        expectChunkedEqualsNaive(c, seed++, st, withD);
}

TEST(CpuSsdScan, ChunkedEqualsRecurrenceOnRandomShapes) {
  std::mt19937 rng(1234);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  for (int i = 0; i < 40; ++i) {
    ScanCase c;
    c.B = pick(1, 3);
    c.L = pick(1, 70);
    c.G = pick(1, 3);
    c.H = c.G * pick(1, 3);
    c.P = pick(1, 8);
    c.N = pick(1, 8);
    const int64_t chunks[] = {1, 7, 16, c.L, c.L + 5, pick(1, 70)};
    c.chunk = chunks[pick(0, 5)];
    expectChunkedEqualsNaive(c, 100 + i, i % 2 == 0, i % 3 != 0);
  }
}

TEST(CpuSsdScan, PrefillThenDecodeEqualsOnePass) {
  const ScanCase c{2, 37, 4, 3, 2, 5, 7};
  std::mt19937 rng(7);
  ScanInputs in = makeScan(c, rng);
  Vec yFull(in.x.size()), sFull = in.state;
  ASSERT_TRUE(ssdScan(in.x.data(), in.dt.data(), in.aLog.data(), in.bm.data(), in.cm.data(),
                      in.d.data(), c.B, c.L, c.H, c.P, c.G, c.N, c.chunk, sFull.data(),
                      yFull.data())
                  .ok());

  const int64_t HP = c.H * c.P, GN = c.G * c.N;
  Vec ySplit(in.x.size()), s = in.state;
  auto run = [&](int64_t l0, int64_t n) {
    Vec x = sliceSeq(in.x, c.B, c.L, HP, l0, n), dt = sliceSeq(in.dt, c.B, c.L, c.H, l0, n);
    Vec bm = sliceSeq(in.bm, c.B, c.L, GN, l0, n), cm = sliceSeq(in.cm, c.B, c.L, GN, l0, n);
    Vec y(x.size());
    ASSERT_TRUE(ssdScan(x.data(), dt.data(), in.aLog.data(), bm.data(), cm.data(), in.d.data(),
                        c.B, n, c.H, c.P, c.G, c.N, c.chunk, s.data(), y.data())
                    .ok());
    placeSeq(ySplit, c.B, c.L, HP, l0, y, n);
  };
  const int64_t prefill = 20;
  run(0, prefill);
  for (int64_t l = prefill; l < c.L; ++l)
    run(l, 1);
  EXPECT_LE(maxRelErr(ySplit, yFull), 1e-5);
  EXPECT_LE(maxRelErr(s, sFull), 1e-5);
}

TEST(CpuSsdScan, RejectsGroupsNotDividingHeads) {
  Vec dummy(64);
  Status st = ssdScan(dummy.data(), dummy.data(), dummy.data(), dummy.data(), dummy.data(),
                      nullptr, 1, 1, 3, 1, 2, 1, 4, nullptr, dummy.data());
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("2 B/C groups do not divide 3 heads"), std::string::npos)
      << st.message();
  EXPECT_FALSE(ssdScan(dummy.data(), dummy.data(), dummy.data(), dummy.data(), dummy.data(),
                       nullptr, 1, 1, 2, 1, 2, 1, 0, nullptr, dummy.data())
                   .ok());
}

//===----------------------------------------------------------------------===//
// conv1d
//===----------------------------------------------------------------------===//

TEST(CpuConv1dCausal, MatchesZeroPaddedFormula) {
  const int64_t B = 2, L = 9, C = 3, K = 4;
  std::mt19937 rng(3);
  Vec x = randn(B * L * C, rng), w = randn(C * K, rng), bias = randn(C, rng);
  Vec out(x.size());
  conv1dCausal(x.data(), w.data(), bias.data(), B, L, C, K, nullptr, out.data());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t l = 0; l < L; ++l)
      for (int64_t c = 0; c < C; ++c) {
        // Written the other way round: j = how far back the input is.
        double ref = bias[c];
        for (int64_t j = 0; j < K; ++j)
          if (l - j >= 0)
            ref += w[c * K + (K - 1 - j)] * x[(b * L + l - j) * C + c];
        EXPECT_NEAR(out[(b * L + l) * C + c], ref, 1e-5) << b << "," << l << "," << c;
      }
  // No bias: the same minus bias.
  Vec out2(x.size());
  conv1dCausal(x.data(), w.data(), nullptr, B, L, C, K, nullptr, out2.data());
  for (int64_t i = 0; i < B * L * C; ++i)
    EXPECT_NEAR(out2[i], out[i] - bias[i % C], 1e-5);
}

TEST(CpuConv1dCausal, PiecewiseWithStateEqualsOnePass) {
  const int64_t B = 2, L = 13, C = 5, K = 4;
  std::mt19937 rng(5);
  Vec x = randn(B * L * C, rng), w = randn(C * K, rng), bias = randn(C, rng);
  // A non-zero starting state: the K-1 inputs before the sequence.
  Vec state0 = randn(B * (K - 1) * C, rng);
  // Reference: one pass over (state0 ++ x) without state, outputs of x only.
  const int64_t Lx = L + K - 1;
  Vec xx(B * Lx * C), outX(B * Lx * C);
  for (int64_t b = 0; b < B; ++b) {
    std::copy(state0.begin() + b * (K - 1) * C, state0.begin() + (b + 1) * (K - 1) * C,
              xx.begin() + b * Lx * C);
    std::copy(x.begin() + b * L * C, x.begin() + (b + 1) * L * C,
              xx.begin() + (b * Lx + K - 1) * C);
  }
  conv1dCausal(xx.data(), w.data(), bias.data(), B, Lx, C, K, nullptr, outX.data());
  Vec ref = sliceSeq(outX, B, Lx, C, K - 1, L);

  // Pieces shorter than K-1 exercise the state shifting through itself.
  Vec state = state0, got(x.size());
  int64_t l0 = 0;
  for (int64_t n : {5, 1, 2, 1, 4}) {
    Vec piece = sliceSeq(x, B, L, C, l0, n), out(piece.size());
    conv1dCausal(piece.data(), w.data(), bias.data(), B, n, C, K, state.data(), out.data());
    placeSeq(got, B, L, C, l0, out, n);
    l0 += n;
  }
  ASSERT_EQ(l0, L);
  EXPECT_LE(maxRelErr(got, ref), 1e-5);
  // Final state: the last K-1 inputs.
  EXPECT_EQ(state, sliceSeq(x, B, L, C, L - (K - 1), K - 1));
}

//===----------------------------------------------------------------------===//
// Attention and RoPE
//===----------------------------------------------------------------------===//

/// softmax(q k^T * scale + mask) v for one batch row over a full sequence of
/// S positions, with an explicit S x S mask matrix; q [S, Hq, Dh], k/v
/// [S, Hkv, Dh].
Vec naiveAttention(const float *q, const float *k, const float *v, int64_t S, int64_t Hq,
                   int64_t Hkv, int64_t Dh, int64_t window, double scale) {
  std::vector<std::vector<double>> mask(S, std::vector<double>(S, -INFINITY));
  for (int64_t i = 0; i < S; ++i)
    for (int64_t j = 0; j < S; ++j)
      if (j <= i && (window == 0 || i - j < window))
        mask[i][j] = 0.0;
  Vec out(S * Hq * Dh);
  for (int64_t h = 0; h < Hq; ++h) {
    int64_t kvh = h * Hkv / Hq;
    std::vector<std::vector<double>> p(S, std::vector<double>(S));
    for (int64_t i = 0; i < S; ++i) {
      for (int64_t j = 0; j < S; ++j) {
        double s = 0;
        for (int64_t e = 0; e < Dh; ++e)
          s += double(q[(i * Hq + h) * Dh + e]) * k[(j * Hkv + kvh) * Dh + e];
        p[i][j] = s * scale + mask[i][j];
      }
      double mx = *std::max_element(p[i].begin(), p[i].end()), sum = 0;
      for (auto &e : p[i])
        sum += (e = std::exp(e - mx));
      for (auto &e : p[i])
        e /= sum;
    }
    for (int64_t i = 0; i < S; ++i)
      for (int64_t e = 0; e < Dh; ++e) {
        double s = 0;
        for (int64_t j = 0; j < S; ++j)
          s += p[i][j] * v[(j * Hkv + kvh) * Dh + e];
        out[(i * Hq + h) * Dh + e] = float(s);
      }
  }
  return out;
}

TEST(CpuAttention, MatchesNaiveMaskedSoftmaxWithGqaAndWindow) {
  const int64_t B = 2, L = 12, Hq = 6, Hkv = 2, Dh = 8;
  std::mt19937 rng(11);
  Vec q = randn(B * L * Hq * Dh, rng), k = randn(B * L * Hkv * Dh, rng),
      v = randn(B * L * Hkv * Dh, rng);
  for (int64_t window : {0, 1, 5, 12, 40})
    for (double scale : {0.0, 0.3}) {
      SCOPED_TRACE(testing::Message() << "window=" << window << " scale=" << scale);
      Vec out(q.size());
      ASSERT_TRUE(attention(q.data(), k.data(), v.data(), B, L, Hq, Hkv, Dh, window, scale,
                            nullptr, nullptr, 0, nullptr, out.data())
                      .ok());
      double s = scale > 0 ? scale : 1.0 / std::sqrt(double(Dh));
      Vec ref(q.size());
      for (int64_t b = 0; b < B; ++b) {
        Vec r = naiveAttention(&q[b * L * Hq * Dh], &k[b * L * Hkv * Dh], &v[b * L * Hkv * Dh], L,
                               Hq, Hkv, Dh, window, s);
        std::copy(r.begin(), r.end(), ref.begin() + b * L * Hq * Dh);
      }
      EXPECT_LE(maxRelErr(out, ref), 1e-5);
    }
}

TEST(CpuAttention, CachedRowsAtDifferentOffsetsMatchNaive) {
  // Each batch row already holds pos0[b] tokens in the cache; the L new ones
  // must attend to them exactly as a full-sequence pass would.
  const int64_t B = 2, L = 5, Hq = 4, Hkv = 1, Dh = 4, maxCtx = 16, window = 6;
  const int64_t pos0[B] = {3, 9};
  std::mt19937 rng(13);
  const int64_t row = Hkv * Dh;
  Vec kc = randn(B * maxCtx * row, rng), vc = randn(B * maxCtx * row, rng);
  Vec q = randn(B * L * Hq * Dh, rng), k = randn(B * L * row, rng), v = randn(B * L * row, rng);
  Vec kCache = kc, vCache = vc, out(q.size());
  ASSERT_TRUE(attention(q.data(), k.data(), v.data(), B, L, Hq, Hkv, Dh, window, 0.0,
                        kCache.data(), vCache.data(), maxCtx, pos0, out.data())
                  .ok());
  for (int64_t b = 0; b < B; ++b) {
    const int64_t S = pos0[b] + L;
    // The full sequence: old cache prefix, then the new tokens; the queries of
    // the prefix are don't-care (zeros).
    Vec qs(S * Hq * Dh, 0.0f), ks(S * row), vs(S * row);
    std::copy(&kc[b * maxCtx * row], &kc[b * maxCtx * row] + pos0[b] * row, ks.begin());
    std::copy(&vc[b * maxCtx * row], &vc[b * maxCtx * row] + pos0[b] * row, vs.begin());
    std::copy(&k[b * L * row], &k[(b + 1) * L * row], ks.begin() + pos0[b] * row);
    std::copy(&v[b * L * row], &v[(b + 1) * L * row], vs.begin() + pos0[b] * row);
    std::copy(&q[b * L * Hq * Dh], &q[(b + 1) * L * Hq * Dh], qs.begin() + pos0[b] * Hq * Dh);
    Vec r = naiveAttention(qs.data(), ks.data(), vs.data(), S, Hq, Hkv, Dh, window,
                           1.0 / std::sqrt(double(Dh)));
    Vec got(&out[b * L * Hq * Dh], &out[(b + 1) * L * Hq * Dh]);
    Vec want(r.begin() + pos0[b] * Hq * Dh, r.end());
    EXPECT_LE(maxRelErr(got, want), 1e-5) << "batch row " << b;
    // The cache now holds the new keys at pos0.. and is untouched elsewhere.
    for (int64_t j = 0; j < maxCtx; ++j)
      for (int64_t e = 0; e < row; ++e) {
        bool fresh = j >= pos0[b] && j < pos0[b] + L;
        float want_k = fresh ? k[(b * L + j - pos0[b]) * row + e] : kc[(b * maxCtx + j) * row + e];
        EXPECT_EQ(kCache[(b * maxCtx + j) * row + e], want_k);
      }
  }
}

TEST(CpuAttention, PrefillThenDecodeEqualsOnePass) {
  const int64_t B = 2, L = 11, Hq = 4, Hkv = 2, Dh = 8, maxCtx = 16;
  std::mt19937 rng(17);
  Vec q = randn(B * L * Hq * Dh, rng), k = randn(B * L * Hkv * Dh, rng),
      v = randn(B * L * Hkv * Dh, rng);
  for (int64_t window : {0, 3}) {
    SCOPED_TRACE(testing::Message() << "window=" << window);
    Vec ref(q.size());
    ASSERT_TRUE(attention(q.data(), k.data(), v.data(), B, L, Hq, Hkv, Dh, window, 0.0, nullptr,
                          nullptr, 0, nullptr, ref.data())
                    .ok());
    Vec kCache(B * maxCtx * Hkv * Dh, 0.0f), vCache(kCache.size(), 0.0f), got(q.size());
    auto run = [&](int64_t l0, int64_t n) {
      Vec qs = sliceSeq(q, B, L, Hq * Dh, l0, n), ks = sliceSeq(k, B, L, Hkv * Dh, l0, n),
          vs = sliceSeq(v, B, L, Hkv * Dh, l0, n), o(qs.size());
      int64_t pos0[B] = {l0, l0};
      ASSERT_TRUE(attention(qs.data(), ks.data(), vs.data(), B, n, Hq, Hkv, Dh, window, 0.0,
                            kCache.data(), vCache.data(), maxCtx, pos0, o.data())
                      .ok());
      placeSeq(got, B, L, Hq * Dh, l0, o, n);
    };
    run(0, 6);
    for (int64_t l = 6; l < L; ++l)
      run(l, 1);
    EXPECT_LE(maxRelErr(got, ref), 1e-5);
  }
}

TEST(CpuAttention, Errors) {
  Vec buf(256);
  int64_t pos0[1] = {14};
  Status st = attention(buf.data(), buf.data(), buf.data(), 1, 3, 2, 1, 4, 0, 0.0, buf.data(),
                        buf.data(), 16, pos0, buf.data());
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("[14, 17)"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("16 positions"), std::string::npos) << st.message();
  st = attention(buf.data(), buf.data(), buf.data(), 1, 3, 3, 2, 4, 0, 0.0, nullptr, nullptr, 0,
                 nullptr, buf.data());
  EXPECT_FALSE(st.ok());
  st = attention(buf.data(), buf.data(), buf.data(), 1, 3, 2, 1, 4, 0, 0.0, buf.data(), nullptr,
                 16, nullptr, buf.data());
  EXPECT_FALSE(st.ok());
}

TEST(CpuRope, Llama3InverseFrequenciesByBand) {
  // Llama-3.2 settings. Hand computed (Python, double) with wavelen = 2 pi /
  // inv_freq against 8192 / 1 (low) and 8192 / 4 (high):
  //  i = 0:  wavelen 6.28    -> high band, unchanged          1.0
  //  i = 16: wavelen 4442.9  -> mid band, smooth = 0.28128    4.2955679655936815e-4
  //  i = 24: wavelen 118143  -> low band, inv_freq / 32       1.6619674677953088e-6
  RopeScaling s;
  s.kind = RopeScaling::Kind::Llama3;
  s.factor = 32.0;
  s.lowFreqFactor = 1.0;
  s.highFreqFactor = 4.0;
  s.originalMaxPosition = 8192;
  std::vector<float> inv = ropeInvFreq(500000.0, 64, s);
  ASSERT_EQ(inv.size(), 32u);
  EXPECT_FLOAT_EQ(inv[0], 1.0f);
  EXPECT_NEAR(inv[16], 4.2955679655936815e-4, 4.2955679655936815e-4 * 1e-6);
  EXPECT_NEAR(inv[24], 1.6619674677953088e-6, 1.6619674677953088e-6 * 1e-6);
  // Unscaled and linear for the same index.
  RopeScaling none, lin;
  lin.kind = RopeScaling::Kind::Linear;
  lin.factor = 4.0;
  EXPECT_NEAR(ropeInvFreq(500000.0, 64, none)[16], 0.001414213562373095, 1e-9);
  EXPECT_NEAR(ropeInvFreq(500000.0, 64, lin)[16], 0.001414213562373095 / 4, 1e-9);
}

TEST(CpuRope, MatchesComplexRotation) {
  const int64_t B = 2, L = 5, H = 3, Dh = 10;
  const int64_t pos0[B] = {0, 1000};
  std::mt19937 rng(19);
  Vec x = randn(B * L * H * Dh, rng);
  const double theta = 10000.0;
  for (int64_t rotaryDim : {0, 6}) {
    for (double linear : {1.0, 4.0}) {
      SCOPED_TRACE(testing::Message() << "rotaryDim=" << rotaryDim << " linear=" << linear);
      RopeScaling s;
      if (linear != 1.0) {
        s.kind = RopeScaling::Kind::Linear;
        s.factor = linear;
      }
      Vec out(x.size());
      ASSERT_TRUE(rope(x.data(), B, L, H, Dh, pos0, theta, s, rotaryDim, out.data()).ok());
      const int64_t rd = rotaryDim ? rotaryDim : Dh, half = rd / 2;
      Vec ref = x;
      for (int64_t b = 0; b < B; ++b)
        for (int64_t l = 0; l < L; ++l)
          for (int64_t h = 0; h < H; ++h)
            for (int64_t i = 0; i < half; ++i) {
              // (x_i + j x_{i+half}) * e^{j angle}; the angle as fp32
              // position * fp32 inv_freq (the documented convention).
              float inv = float(std::pow(theta, -2.0 * i / rd) / linear);
              float angle = float(pos0[b] + l) * inv;
              size_t o = ((b * L + l) * H + h) * Dh;
              std::complex<double> z(x[o + i], x[o + i + half]);
              z *= std::polar(1.0, double(angle));
              ref[o + i] = float(z.real());
              ref[o + i + half] = float(z.imag());
            }
      EXPECT_LE(maxRelErr(out, ref), 1e-5);
      // In place gives the same.
      Vec inPlace = x;
      ASSERT_TRUE(rope(inPlace.data(), B, L, H, Dh, pos0, theta, s, rotaryDim, inPlace.data()).ok());
      EXPECT_EQ(inPlace, out);
    }
  }
  Vec out(x.size());
  EXPECT_FALSE(rope(x.data(), B, L, H, Dh, nullptr, theta, {}, 5, out.data()).ok());
  EXPECT_FALSE(rope(x.data(), B, L, H, Dh, nullptr, theta, {}, 12, out.data()).ok());
}

//===----------------------------------------------------------------------===//
// Norms
//===----------------------------------------------------------------------===//

TEST(CpuNorms, RmsNormHandValues) {
  // [3, -4]: mean square 12.5; eps 1e-6.
  Vec x{3, -4}, w{1, 1}, out(2);
  rmsnorm(x.data(), w.data(), 1, 2, 1e-6, out.data());
  EXPECT_NEAR(out[0], 0.8485281034827336, 1e-6);
  EXPECT_NEAR(out[1], -1.1313708046436448, 1e-6);
  Vec w2{2, 0.5f};
  rmsnorm(x.data(), w2.data(), 1, 2, 1e-6, out.data());
  EXPECT_NEAR(out[0], 2 * 0.8485281034827336, 1e-6);
  EXPECT_NEAR(out[1], 0.5 * -1.1313708046436448, 1e-6);
}

TEST(CpuNorms, GroupNormHandValues) {
  // Two rows to check the row stride; the second is the first shifted by 7,
  // which group norm removes.
  Vec x{1, 2, 3, 6, 10, 20, 30, 40, 8, 9, 10, 13, 17, 27, 37, 47};
  Vec w{1, 1, 2, 2, 1, -1, 0.5f, 1}, out(16);
  ASSERT_TRUE(groupNorm(x.data(), w.data(), 2, 8, 2, 1e-5, out.data()).ok());
  const double want[8] = {-1.0690434404458735, -0.5345217202229368, 0.0,
                          3.2071303213376203,  -1.3416407328342457, 0.4472135776114152,
                          0.2236067888057076,  1.3416407328342457};
  for (int i = 0; i < 16; ++i)
    EXPECT_NEAR(out[i], want[i % 8], 1e-5) << i;
  EXPECT_FALSE(groupNorm(x.data(), w.data(), 2, 8, 3, 1e-5, out.data()).ok());
}

TEST(CpuNorms, GatedRmsNormHandValues) {
  // y = [1, 2, 3, 4], z = [0, 1, -1, 2], w = [1, 0.5, 2, 1], groups 2, eps 1e-5.
  Vec y{1, 2, 3, 4}, z{0, 1, -1, 2}, w{1, 0.5f, 2, 1}, out(4);
  ASSERT_TRUE(gatedRmsNorm(y.data(), z.data(), w.data(), 1, 4, 2, 1e-5, false, out.data()).ok());
  const double gated[4] = {0.0, 0.7071034735513241, -0.3217581471381455, 1.4050327855594726};
  for (int i = 0; i < 4; ++i)
    EXPECT_NEAR(out[i], gated[i], 1e-6) << i;
  ASSERT_TRUE(gatedRmsNorm(y.data(), z.data(), w.data(), 1, 4, 2, 1e-5, true, out.data()).ok());
  const double before[4] = {0.0, 0.4623611175739122, -0.4564085441390322, 1.9930154801938293};
  for (int i = 0; i < 4; ++i)
    EXPECT_NEAR(out[i], before[i], 1e-6) << i;
  EXPECT_FALSE(gatedRmsNorm(y.data(), z.data(), w.data(), 1, 4, 3, 1e-5, false, out.data()).ok());
}

TEST(CpuNorms, GatedRmsNormOneGroupIsRmsNormOfGatedInput) {
  const int64_t T = 3, D = 16;
  std::mt19937 rng(23);
  Vec y = randn(T * D, rng), z = randn(T * D, rng), w = randn(D, rng), out(T * D), g(T * D),
      ref(T * D);
  ASSERT_TRUE(gatedRmsNorm(y.data(), z.data(), w.data(), T, D, 1, 1e-5, false, out.data()).ok());
  for (int64_t i = 0; i < T * D; ++i)
    g[i] = float(y[i] * siluRef(z[i]));
  rmsnorm(g.data(), w.data(), T, D, 1e-5, ref.data());
  EXPECT_LE(maxRelErr(out, ref), 1e-5);
}

//===----------------------------------------------------------------------===//
// Embedding, linear, loss
//===----------------------------------------------------------------------===//

TEST(CpuLinear, MatchesTripleLoop) {
  std::mt19937 rng(29);
  for (int64_t T : {1, 4, 7}) {
    const int64_t K = 33, N = 5;
    Vec x = randn(T * K, rng), w = randn(N * K, rng), bias = randn(N, rng);
    for (bool withBias : {false, true}) {
      Vec out(T * N), ref(T * N, 0.0f);
      linear(x.data(), w.data(), withBias ? bias.data() : nullptr, T, K, N, out.data());
      for (int64_t t = 0; t < T; ++t)
        for (int64_t n = 0; n < N; ++n) {
          double s = withBias ? bias[n] : 0.0;
          for (int64_t kk = 0; kk < K; ++kk)
            s += double(x[t * K + kk]) * w[n * K + kk];
          ref[t * N + n] = float(s);
        }
      EXPECT_LE(maxRelErr(out, ref), 1e-6) << "T=" << T << " bias=" << withBias;
    }
  }
}

TEST(CpuEmbedding, GathersRowsAndRejectsOutOfRangeIds) {
  const int64_t V = 4, D = 3;
  Vec table(V * D);
  for (int64_t i = 0; i < V * D; ++i)
    table[i] = float(i);
  std::vector<int32_t> ids{2, 0, 3};
  Vec out(3 * D);
  ASSERT_TRUE(embedding(table.data(), ids.data(), 3, V, D, out.data()).ok());
  EXPECT_EQ(out, (Vec{6, 7, 8, 0, 1, 2, 9, 10, 11}));
  ids = {1, 4, 0};
  Status st = embedding(table.data(), ids.data(), 3, V, D, out.data());
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("token id 4 at position 1"), std::string::npos) << st.message();
  ids = {-1};
  EXPECT_FALSE(embedding(table.data(), ids.data(), 1, V, D, out.data()).ok());
}

TEST(CpuCrossEntropy, HandValueIgnoredLabelsAndStability) {
  // Row 0: uniform over 3 -> log 3; row 1 ignored; row 2: logits 1,2,3,
  // label 2 -> log(e + e^2 + e^3) - 3. Mean over 2 rows = 0.7531091265562448.
  Vec logits{0, 0, 0, 5, -5, 1, 1, 2, 3};
  std::vector<int32_t> labels{0, -100, 2};
  auto loss = crossEntropy(logits.data(), labels.data(), 3, 3);
  ASSERT_TRUE(loss.ok());
  EXPECT_NEAR(*loss, 0.7531091265562448, 1e-9);
  // Shifting a row by 1000 changes nothing (log-sum-exp is max-subtracted).
  for (auto &v : logits)
    v += 1000.0f;
  loss = crossEntropy(logits.data(), labels.data(), 3, 3);
  ASSERT_TRUE(loss.ok());
  EXPECT_NEAR(*loss, 0.7531091265562448, 1e-9);
  labels = {-1, -1, -1};
  loss = crossEntropy(logits.data(), labels.data(), 3, 3);
  ASSERT_TRUE(loss.ok());
  EXPECT_EQ(*loss, 0.0);
  labels = {0, 3, 0};
  loss = crossEntropy(logits.data(), labels.data(), 3, 3);
  ASSERT_FALSE(loss.ok());
  EXPECT_NE(loss.status().message().find("label 3 at position 1"), std::string::npos);
}

TEST(CpuLmHead, IsLinearWithoutBias) {
  std::mt19937 rng(31);
  Vec x = randn(5 * 8, rng), w = randn(11 * 8, rng), a(5 * 11), b(5 * 11);
  lmHead(x.data(), w.data(), 5, 8, 11, a.data());
  linear(x.data(), w.data(), nullptr, 5, 8, 11, b.data());
  EXPECT_EQ(a, b);
}

//===----------------------------------------------------------------------===//
// Element-wise
//===----------------------------------------------------------------------===//

TEST(CpuElementwise, SoftplusLargeAndSmallInputs) {
  Vec x{30.0f, 20.5f, 19.0f, 0.0f, -30.0f, -100.0f}, out(x.size());
  softplus(x.data(), int64_t(x.size()), out.data());
  EXPECT_EQ(out[0], 30.0f);
  EXPECT_EQ(out[1], 20.5f);
  EXPECT_FLOAT_EQ(out[2], 19.000000005602796f);
  EXPECT_FLOAT_EQ(out[3], float(std::log(2.0)));
  EXPECT_NEAR(out[4], 9.357622968840175e-14, 9.357622968840175e-14 * 1e-6); // not 0
  EXPECT_GT(out[4], 0.0f);
  EXPECT_GE(out[5], 0.0f);
  EXPECT_TRUE(std::isfinite(out[5]));
}

TEST(CpuElementwise, SiluRelu2ClampScaleSwiglu) {
  Vec x{-2.0f, 0.0f, 1.5f, 100.0f, -100.0f}, out(5), u{2, 2, 2, 2, 2};
  silu(x.data(), 5, out.data());
  for (int i = 0; i < 5; ++i)
    EXPECT_FLOAT_EQ(out[i], float(siluRef(x[i]))) << i;
  swiglu(x.data(), u.data(), 5, out.data());
  for (int i = 0; i < 5; ++i)
    EXPECT_FLOAT_EQ(out[i], float(2 * siluRef(x[i]))) << i;
  relu2(x.data(), 5, out.data());
  EXPECT_EQ(out, (Vec{0, 0, 2.25f, 10000, 0}));
  clamp(x.data(), 5, -1.0, INFINITY, out.data());
  EXPECT_EQ(out, (Vec{-1, 0, 1.5f, 100, -1}));
  scale(x.data(), 5, 0.5, out.data());
  EXPECT_EQ(out, (Vec{-1, 0, 0.75f, 50, -50}));
}

TEST(CpuElementwise, AddMulTrailingBroadcast) {
  // lhs [2, 3, 2]
  Vec lhs(12);
  for (int i = 0; i < 12; ++i)
    lhs[i] = float(i);
  const int64_t ls[3] = {2, 3, 2};
  Vec out(12);
  // rhs [2] (a bias over the last dim)
  Vec bias{100, 200};
  const int64_t bs[1] = {2};
  ASSERT_TRUE(add(lhs.data(), ls, 3, bias.data(), bs, 1, out.data()).ok());
  for (int i = 0; i < 12; ++i)
    EXPECT_EQ(out[i], lhs[i] + bias[i % 2]);
  // rhs [3, 1]: one value per middle index.
  Vec mid{1, 10, 100};
  const int64_t ms[2] = {3, 1};
  ASSERT_TRUE(mul(lhs.data(), ls, 3, mid.data(), ms, 2, out.data()).ok());
  for (int i = 0; i < 12; ++i)
    EXPECT_EQ(out[i], lhs[i] * mid[(i / 2) % 3]) << i;
  // Same shape.
  ASSERT_TRUE(add(lhs.data(), ls, 3, lhs.data(), ls, 3, out.data()).ok());
  for (int i = 0; i < 12; ++i)
    EXPECT_EQ(out[i], 2 * lhs[i]);
  // [3] against trailing dim 2: error naming both shapes.
  const int64_t bad[1] = {3};
  Status st = add(lhs.data(), ls, 3, mid.data(), bad, 1, out.data());
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("[3]"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("[2x3x2]"), std::string::npos) << st.message();
}

TEST(CpuElementwise, CombineModesAndSplit) {
  Vec a{1, 2, 3, 4}, b{10, 20, 30, 40}, out(8);
  ASSERT_TRUE(combine(a.data(), b.data(), 2, 2, 2, CombineMode::Add, out.data()).ok());
  EXPECT_EQ(Vec(out.begin(), out.begin() + 4), (Vec{11, 22, 33, 44}));
  ASSERT_TRUE(combine(a.data(), b.data(), 2, 2, 2, CombineMode::Mean, out.data()).ok());
  EXPECT_EQ(Vec(out.begin(), out.begin() + 4), (Vec{5.5f, 11, 16.5f, 22}));
  ASSERT_TRUE(combine(a.data(), b.data(), 2, 2, 2, CombineMode::Diff, out.data()).ok());
  EXPECT_EQ(Vec(out.begin(), out.begin() + 4), (Vec{-9, -18, -27, -36}));
  ASSERT_TRUE(combine(a.data(), b.data(), 2, 2, 2, CombineMode::Concat, out.data()).ok());
  EXPECT_EQ(out, (Vec{1, 2, 10, 20, 3, 4, 30, 40}));
  // Concat of unequal widths: a1 [2, 1], b3 [2, 3].
  Vec a1{1, 2}, b3{10, 20, 30, 40, 50, 60};
  ASSERT_TRUE(combine(a1.data(), b3.data(), 2, 1, 3, CombineMode::Concat, out.data()).ok());
  EXPECT_EQ(out, (Vec{1, 10, 20, 30, 2, 40, 50, 60}));
  EXPECT_FALSE(combine(a1.data(), b3.data(), 2, 1, 3, CombineMode::Diff, out.data()).ok());

  // split [2, 5] into 2, 3.
  Vec x{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, p0(4), p1(6);
  int64_t sizes[2] = {2, 3};
  float *outs[2] = {p0.data(), p1.data()};
  ASSERT_TRUE(split(x.data(), 2, 5, sizes, 2, outs).ok());
  EXPECT_EQ(p0, (Vec{0, 1, 5, 6}));
  EXPECT_EQ(p1, (Vec{2, 3, 4, 7, 8, 9}));
  int64_t badSizes[2] = {2, 2};
  Status st = split(x.data(), 2, 5, badSizes, 2, outs);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("sum to 4"), std::string::npos) << st.message();
}

} // namespace
