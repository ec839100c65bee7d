// mamba_bwd_bench.cu - the Mamba-2 backward glue kernels (mamba_bwd.cuh):
// gated RMSNorm backward, dt (softplus + clamp) backward, depthwise causal
// conv + SiLU backward and the fixed-order partial reduction, against a
// double-precision host reference written here from the formulas of
// runtime/cpu/CpuGradNorms.cpp, CpuGrad.cpp and CpuGradScan.cpp (not calling
// the kernels), on ragged small shapes and a model shape (B2 L256 D2048
// C2304 H32), bf16 and fp32 inputs; then a determinism check (two runs, same
// bits), a negative control per kernel (a perturbed device input must FAIL),
// and timings at B8 L2048 (inner 2048, H32, C2304) against the bytes each
// kernel must move. Exit 1 on any failure.
// Build and run: tests/gpu/kernels/build-and-run.sh mamba_bwd_bench.
#include "mamba_bwd.cuh"

#include "BenchUtil.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using hyb::bf16_t;
using hyb::ColReduceArgs;
using hyb::ConvGradArgs;
using hyb::DtGradArgs;
using hyb::GatedNormGradArgs;

// ---- Instances (what the emitter would write) ------------------------------
#define NORM(NAME, D, G, NBG, TH, ZT)                                                        \
  extern "C" __global__ void __launch_bounds__(TH) NAME(const GatedNormGradArgs a) {        \
    hyb::gated_norm_bwd_kernel<D, G, NBG, TH, ZT>(a);                                        \
  }
NORM(n64g1_f, 64, 1, false, 64, float)          // per-group sums
NORM(n64g2nbg_b, 64, 2, true, 64, bf16_t)       // per-chunk sums (GS 32)
NORM(n64g4_b, 64, 4, false, 64, bf16_t)         // generic (GS 16)
NORM(n96g1nbg_f, 96, 1, true, 64, float)        // generic (D % Threads != 0)
NORM(n256g1_b, 256, 1, false, 128, bf16_t)      // tiny model
NORM(n2048g1_b, 2048, 1, false, 256, bf16_t)    // the model
NORM(n2048g1_f, 2048, 1, false, 256, float)
NORM(n2048g1nbg_b, 2048, 1, true, 256, bf16_t)
NORM(n2048g8_f, 2048, 8, false, 256, float)     // per-group, GS 256
NORM(n2048g16nbg_b, 2048, 16, true, 256, bf16_t)  // per-chunk, GS 128
NORM(n2048g1_b512, 2048, 1, false, 512, bf16_t)   // fewer registers a thread
extern "C" __global__ void __launch_bounds__(64) gate64_b(const GatedNormGradArgs a) {
  hyb::gate_silu_bwd_kernel<64, 64, bf16_t>(a);
}
extern "C" __global__ void __launch_bounds__(256) gate2048_f(const GatedNormGradArgs a) {
  hyb::gate_silu_bwd_kernel<2048, 256, float>(a);
}
NORM(n2048g1_b1024, 2048, 1, false, 1024, bf16_t)

extern "C" __global__ void __launch_bounds__(256) dt_b(const DtGradArgs a) {
  hyb::dt_bwd_kernel<bf16_t, 256>(a);
}
extern "C" __global__ void __launch_bounds__(256) dt_f(const DtGradArgs a) {
  hyb::dt_bwd_kernel<float, 256>(a);
}

#define CONV(NAME, K, V, XT)                                                                 \
  extern "C" __global__ void __launch_bounds__(hyb::convBwdThreads) NAME(const ConvGradArgs a) { \
    hyb::conv_silu_bwd_kernel<K, V, XT>(a);                                                  \
  }
CONV(c4v4_b, 4, 4, bf16_t)
CONV(c4v4_f, 4, 4, float)
CONV(c4v1_f, 4, 1, float)
CONV(c4v1_b, 4, 1, bf16_t)
CONV(c3v1_b, 3, 1, bf16_t)
CONV(c8v4_f, 8, 4, float)
CONV(c1v4_f, 1, 4, float)
CONV(c2v4_b, 2, 4, bf16_t)
CONV(c4v2_b, 4, 2, bf16_t)
CONV(c4v2_f, 4, 2, float)
#define CONVR(NAME, K, V, XT, R)                                                             \
  extern "C" __global__ void __launch_bounds__(hyb::convBwdThreads) NAME(const ConvGradArgs a) { \
    hyb::conv_silu_bwd_kernel<K, V, XT, R>(a);                                               \
  }
CONVR(c4v4r2_b, 4, 4, bf16_t, 2)
CONVR(c4v4r8_b, 4, 4, bf16_t, 8)
CONVR(c4v2r8_b, 4, 2, bf16_t, 8)

extern "C" __global__ void __launch_bounds__(hyb::colReduceThreads) red4(const ColReduceArgs a) {
  hyb::col_reduce_kernel<4>(a);
}
extern "C" __global__ void __launch_bounds__(hyb::colReduceThreads) red1(const ColReduceArgs a) {
  hyb::col_reduce_kernel<1>(a);
}

using NormK = void (*)(const GatedNormGradArgs);
using DtK = void (*)(const DtGradArgs);
using ConvK = void (*)(const ConvGradArgs);

// ---- Host helpers ------------------------------------------------------------
static double sigm(double x) { return 1.0 / (1.0 + std::exp(-x)); }
static double siluP(double x) {
  const double s = sigm(x);
  return s * (1.0 + x * (1.0 - s));
}

struct Rng {
  std::mt19937 g;
  explicit Rng(unsigned s) : g(s) {}
  float operator()(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(g); }
  std::vector<float> vec(size_t n, float lo, float hi) {
    std::vector<float> v(n);
    for (float &f : v)
      f = (*this)(lo, hi);
    return v;
  }
};

/// v as the device stores it (bf16 or fp32); rounds v in place to what the
/// device holds, so the reference sees the same inputs.
static void *uploadAs(std::vector<float> &v, bool bf) {
  if (!bf)
    return upload(v);
  std::vector<bf16_t> b(v.size());
  for (size_t i = 0; i < v.size(); ++i)
    b[i] = f2bf(v[i]), v[i] = bf2f(b[i]);
  return upload(b);
}
static float *sentinelBuf(size_t n) {  // all-ones bits (NaN): untouched stays so
  float *d;
  CK(cudaMalloc(&d, std::max<size_t>(n, 1) * 4));
  CK(cudaMemset(d, 0xff, std::max<size_t>(n, 1) * 4));
  return d;
}

/// max |got - ref| / max |ref|; +inf when got has a non-finite value.
static double relErr(const std::vector<float> &got, const std::vector<double> &ref) {
  for (float g : got)
    if (!std::isfinite(g))
      return INFINITY;
  return hybrid::bench::maxDiffOverMaxRef(got, ref);
}
/// Columns [col, col + w) of a [T, ld] buffer.
static std::vector<float> cols(const std::vector<float> &buf, int T, int ld, int col, int w) {
  std::vector<float> out((size_t)T * w);
  for (int t = 0; t < T; ++t)
    std::memcpy(&out[(size_t)t * w], &buf[(size_t)t * ld + col], (size_t)w * 4);
  return out;
}
/// Every element of [T, ld] outside columns [col, col + w) still all-ones bits.
static bool untouchedOutside(const std::vector<float> &buf, int T, int ld, int col, int w) {
  for (int t = 0; t < T; ++t)
    for (int c = 0; c < ld; ++c) {
      if (c >= col && c < col + w)
        continue;
      uint32_t u;
      std::memcpy(&u, &buf[(size_t)t * ld + c], 4);
      if (u != 0xffffffffu)
        return false;
    }
  return true;
}
static bool sameBits(const std::vector<float> &a, const std::vector<float> &b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
}

static void reduce(const float *part, float *out0, float *out1, int rows, int cols, int split) {
  ColReduceArgs r{};
  r.part = part, r.out0 = out0, r.out1 = out1, r.rows = rows, r.cols = cols, r.split = split;
  r.accumulate = 0;
  (cols % 4 == 0 ? red4 : red1)<<<(cols + 31) / 32, hyb::colReduceThreads>>>(r);
  CK(cudaGetLastError());
}

static int fails = 0;
static void verdict(bool ok, const std::string &line) {
  std::printf("%s %s\n", ok ? "PASS" : "FAIL", line.c_str());
  fails += !ok;
}
__attribute__((format(printf, 1, 2))) static std::string fmt(const char *f, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, f);
  std::vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}
constexpr double kTol = 1e-3;  // bf16 inputs are exact in the reference too

// ---- Gated norm ---------------------------------------------------------------
/// Reference: CpuGradNorms.cpp gatedRmsNormGrad (w null: out = y * silu(z)).
static void refNorm(const std::vector<float> &y, const std::vector<float> &z, int ldz,
                    const std::vector<float> *w, const std::vector<float> &dout, int T, int D,
                    int G, double eps, bool nbg, std::vector<double> &dy,
                    std::vector<double> &dz, std::vector<double> &dw) {
  const int gs = D / G;
  dy.assign((size_t)T * D, 0), dz.assign((size_t)T * D, 0), dw.assign(D, 0);
  std::vector<double> v(gs), e(gs);
  for (int t = 0; t < T; ++t)
    for (int g = 0; g < G; ++g) {
      const size_t base = (size_t)t * D + g * gs;
      auto Z = [&](int i) { return (double)z[(size_t)t * ldz + g * gs + i]; };
      if (!w) {
        for (int i = 0; i < gs; ++i) {
          dy[base + i] = dout[base + i] * Z(i) * sigm(Z(i));
          dz[base + i] = dout[base + i] * (double)y[base + i] * siluP(Z(i));
        }
        continue;
      }
      double ss = 0, gv = 0;
      for (int i = 0; i < gs; ++i) {
        const double sz = Z(i) * sigm(Z(i));
        v[i] = nbg ? y[base + i] : y[base + i] * sz;
        e[i] = nbg ? dout[base + i] * sz : dout[base + i];
        ss += v[i] * v[i], gv += e[i] * (*w)[g * gs + i] * v[i];
      }
      const double r = 1.0 / std::sqrt(ss / gs + eps), k = r * r * r * gv / gs;
      for (int i = 0; i < gs; ++i) {
        const double wi = (*w)[g * gs + i], dv = r * e[i] * wi - k * v[i];
        dw[g * gs + i] += e[i] * v[i] * r;
        dy[base + i] = nbg ? dv : dv * Z(i) * sigm(Z(i));
        dz[base + i] = nbg ? dout[base + i] * v[i] * r * wi * siluP(Z(i))
                           : dv * y[base + i] * siluP(Z(i));
      }
    }
}

struct NormCase {
  const char *name;
  NormK k;
  int threads, B, L, D, G, ldz, grid;
  bool nbg, zbf, hasW;
};

/// perturb: eps on the device 100x the reference's: must fail.
static bool runNorm(const NormCase &c, bool perturb = false) {
  const int T = c.B * c.L, D = c.D;
  Rng rng(1000 + D + c.G * 7 + c.nbg);
  std::vector<float> y = rng.vec((size_t)T * D, -2, 2), dout = rng.vec((size_t)T * D, -1, 1);
  std::vector<float> z = rng.vec((size_t)T * c.ldz, -4, 4), w = rng.vec(D, 0.5f, 1.5f);
  const double eps = 1e-2;  // large enough that the perturbation shows
  void *dZ = uploadAs(z, c.zbf);
  float *dY = upload(y), *dO = upload(dout), *dW = upload(w);
  float *dDy = sentinelBuf((size_t)T * D), *dDz = sentinelBuf((size_t)T * c.ldz);
  float *dPart = sentinelBuf((size_t)c.grid * D), *dDw = sentinelBuf(D);
  GatedNormGradArgs a{};
  a.y = dY, a.z = dZ, a.w = c.hasW ? dW : nullptr, a.dout = dO, a.dy = dDy, a.dz = dDz;
  a.partial = dPart, a.T = T, a.ldz = c.ldz, a.lddz = c.ldz;
  a.eps = (float)(perturb ? eps * 100 : eps);
  std::vector<float> got[2][3];
  for (int run = 0; run < 2; ++run) {
    CK(cudaMemset(dDy, 0xff, (size_t)T * D * 4));
    CK(cudaMemset(dDz, 0xff, (size_t)T * c.ldz * 4));
    CK(cudaMemset(dDw, 0xff, D * 4));
    c.k<<<c.grid, c.threads>>>(a);
    CK(cudaGetLastError());
    if (c.hasW)
      reduce(dPart, dDw, nullptr, c.grid, D, D);
    CK(cudaDeviceSynchronize());
    got[run][0] = download(dDy, (size_t)T * D);
    got[run][1] = download(dDz, (size_t)T * c.ldz);
    got[run][2] = download(dDw, D);
  }
  std::vector<double> ry, rz, rw;
  refNorm(y, z, c.ldz, c.hasW ? &w : nullptr, dout, T, D, c.G, eps, c.nbg, ry, rz, rw);
  const double ey = relErr(got[0][0], ry), ez = relErr(cols(got[0][1], T, c.ldz, 0, D), rz);
  const double ew = c.hasW ? relErr(got[0][2], rw) : 0.0;
  const bool cols_ok = untouchedOutside(got[0][1], T, c.ldz, 0, D);
  const bool det = sameBits(got[0][0], got[1][0]) && sameBits(got[0][1], got[1][1]) &&
                   sameBits(got[0][2], got[1][2]);
  const bool ok = std::max({ey, ez, ew}) <= kTol && cols_ok && det;
  if (perturb)
    verdict(!ok, fmt("negative control: %s with eps x100 on the device %s (dy %.1e dz %.1e dw %.1e)",
                     c.name, ok ? "still passes" : "fails", ey, ez, ew));
  else
    verdict(ok, fmt("gated_norm_bwd %-40s dy %.1e dz %.1e dw %.1e%s%s", c.name, ey, ez, ew,
                    cols_ok ? "" : " WROTE OUTSIDE dz COLUMNS", det ? "" : " NOT DETERMINISTIC"));
  cudaFree(dZ), cudaFree(dY), cudaFree(dO), cudaFree(dW), cudaFree(dDy), cudaFree(dDz);
  cudaFree(dPart), cudaFree(dDw);
  return ok;
}

// ---- dt ---------------------------------------------------------------------
/// Reference: CpuGradFused.cpp (dtPre = raw + bias in fp32, softplus in double
/// rounded to fp32, clampGrad on it with the bounds passing, softplusGrad).
static void refDt(const std::vector<float> &raw, int ld, int col, const std::vector<float> &bias,
                  const std::vector<float> &ddt, int T, int H, bool limited, double lo,
                  double hi, std::vector<double> &dRaw, std::vector<double> &dBias) {
  dRaw.assign((size_t)T * H, 0), dBias.assign(H, 0);
  for (int t = 0; t < T; ++t)
    for (int h = 0; h < H; ++h) {
      const float pre = raw[(size_t)t * ld + col + h] + bias[h];
      const float sp = (float)(pre > 20.f ? (double)pre : std::log1p(std::exp((double)pre)));
      double d = ddt[(size_t)t * H + h];
      if (limited && !(sp >= lo && sp <= hi))
        d = 0;
      d *= pre > 20.f ? 1.0 : sigm(pre);
      dRaw[(size_t)t * H + h] = d;
      dBias[h] += d;
    }
}

struct DtCase {
  const char *name;
  DtK k;
  int B, L, H, ld, col;  // dtRaw / d(dtRaw) at columns [col, col + H) of rows of ld
  bool bf, limited;
  float lo, hi;
};

/// perturb: dt_bias + 0.05 on the device: must fail.
static bool runDt(const DtCase &c, bool perturb = false) {
  const int T = c.B * c.L, H = c.H;
  Rng rng(2000 + H + c.L);
  std::vector<float> raw = rng.vec((size_t)T * c.ld, -4, 4), bias = rng.vec(H, -1, 1);
  std::vector<float> ddt = rng.vec((size_t)T * H, -1, 1);
  if (c.limited) {  // head 0, rows 0-2: inside, on the upper bound 25 (passes), above
    bias[0] = 0.5f;
    const float planted[3] = {24.f, 24.5f, 25.f};  // pre 24.5, 25, 25.5
    for (int i = 0; i < 3 && i < T; ++i)
      raw[(size_t)i * c.ld + c.col] = planted[i];
  }
  void *dRaw = uploadAs(raw, c.bf);
  std::vector<float> biasDev = bias;
  if (perturb)
    for (float &b : biasDev)
      b += 0.05f;
  float *dBias = upload(biasDev), *dDdt = upload(ddt);
  float *dOut = sentinelBuf((size_t)T * c.ld), *dDb = sentinelBuf(H);
  const int grid = hyb::dtBwdBlocks(T, H, 256);
  float *dPart = sentinelBuf((size_t)grid * H);
  DtGradArgs a{};
  a.dtRaw = c.bf ? (const void *)((const bf16_t *)dRaw + c.col) : (const float *)dRaw + c.col;
  a.dtBias = dBias, a.ddt = dDdt, a.ddtRaw = dOut + c.col, a.partial = dPart;
  a.T = T, a.H = H, a.lddt = c.ld, a.ldddt = H, a.ldddtRaw = c.ld;
  a.dtLo = c.limited ? c.lo : -INFINITY, a.dtHi = c.limited ? c.hi : INFINITY;
  std::vector<float> got[2][2];
  for (int run = 0; run < 2; ++run) {
    CK(cudaMemset(dOut, 0xff, (size_t)T * c.ld * 4));
    CK(cudaMemset(dDb, 0xff, H * 4));
    c.k<<<grid, 256>>>(a);
    CK(cudaGetLastError());
    reduce(dPart, dDb, nullptr, grid, H, H);
    CK(cudaDeviceSynchronize());
    got[run][0] = download(dOut, (size_t)T * c.ld);
    got[run][1] = download(dDb, H);
  }
  std::vector<double> rRaw, rBias;
  refDt(raw, c.ld, c.col, bias, ddt, T, H, c.limited, c.lo, c.hi, rRaw, rBias);
  const std::vector<float> gotRaw = cols(got[0][0], T, c.ld, c.col, H);
  const double er = relErr(gotRaw, rRaw), eb = relErr(got[0][1], rBias);
  bool planted = true;  // the boundary convention, exactly
  if (c.limited && T >= 3 && !perturb) {
    const double want[3] = {ddt[0] * 1.0, ddt[H] * 1.0, 0.0};
    for (int i = 0; i < 3; ++i)
      planted = planted && gotRaw[(size_t)i * H] == (float)want[i];
  }
  const bool cols_ok = untouchedOutside(got[0][0], T, c.ld, c.col, H);
  const bool det = sameBits(got[0][0], got[1][0]) && sameBits(got[0][1], got[1][1]);
  const bool ok = std::max(er, eb) <= kTol && cols_ok && det && planted;
  if (perturb)
    verdict(!ok, fmt("negative control: %s with dt_bias + 0.05 on the device %s (ddtRaw %.1e "
                     "ddtBias %.1e)", c.name, ok ? "still passes" : "fails", er, eb));
  else
    verdict(ok, fmt("dt_bwd %-48s ddtRaw %.1e ddtBias %.1e%s%s%s", c.name, er, eb,
                    planted ? "" : " BOUNDARY CONVENTION WRONG",
                    cols_ok ? "" : " WROTE OUTSIDE ITS COLUMNS", det ? "" : " NOT DETERMINISTIC"));
  cudaFree(dRaw), cudaFree(dBias), cudaFree(dDdt), cudaFree(dOut), cudaFree(dDb), cudaFree(dPart);
  return ok;
}

// ---- conv + SiLU ------------------------------------------------------------
/// Reference: CpuGradFused.cpp (conv1dCausal, siluGrad) + CpuGradScan.cpp
/// conv1dCausalGrad, in double.
static void refConv(const std::vector<float> &x, int ld, int col, const std::vector<float> &w,
                    const std::vector<float> *bias, const std::vector<float> &dact, int B, int L,
                    int C, int K, std::vector<double> &dx, std::vector<double> &dw,
                    std::vector<double> &db) {
  const size_t T = (size_t)B * L;
  std::vector<double> g(T * C);
  auto X = [&](int b, int p, int c) {
    return p < 0 ? 0.0 : (double)x[((size_t)b * L + p) * ld + col + c];
  };
  for (int b = 0; b < B; ++b)
    for (int l = 0; l < L; ++l)
      for (int c = 0; c < C; ++c) {
        double pre = bias ? (*bias)[c] : 0.0;
        for (int k = 0; k < K; ++k)
          pre += (double)w[(size_t)c * K + k] * X(b, l - K + 1 + k, c);
        g[((size_t)b * L + l) * C + c] = dact[((size_t)b * L + l) * C + c] * siluP(pre);
      }
  dx.assign(T * C, 0), dw.assign((size_t)C * K, 0), db.assign(C, 0);
  for (int b = 0; b < B; ++b)
    for (int l = 0; l < L; ++l)
      for (int c = 0; c < C; ++c) {
        const double gv = g[((size_t)b * L + l) * C + c];
        db[c] += gv;
        for (int k = 0; k < K; ++k) {
          dw[(size_t)c * K + k] += gv * X(b, l - K + 1 + k, c);
          const int p = l - K + 1 + k;  // x[p] feeds out[l] through w[k]
          if (p >= 0)
            dx[((size_t)b * L + p) * C + c] += w[(size_t)c * K + k] * gv;
        }
      }
}

struct ConvCase {
  const char *name;
  ConvK k;
  int K, V, B, L, C, ld, col;  // x / dx at columns [col, col + C) of rows of ld
  bool bf, hasBias;
};

/// perturb: w[c = 1, k = K - 1] + 0.05 on the device: must fail.
static bool runConv(const ConvCase &c, bool perturb = false) {
  const int T = c.B * c.L, C = c.C, K = c.K;
  Rng rng(3000 + C + K + c.L);
  std::vector<float> x = rng.vec((size_t)T * c.ld, -2, 2), w = rng.vec((size_t)C * K, -0.5f, 0.5f);
  std::vector<float> bias = rng.vec(C, -0.5f, 0.5f), dact = rng.vec((size_t)T * C, -1, 1);
  void *dX = uploadAs(x, c.bf);
  std::vector<float> wDev = w;
  if (perturb)
    wDev[1 * K + K - 1] += 0.05f;
  float *dW = upload(wDev), *dB = upload(bias), *dA = upload(dact);
  float *dOut = sentinelBuf((size_t)T * c.ld), *dDw = sentinelBuf((size_t)C * K);
  float *dDb = sentinelBuf(C);
  const int parts = hyb::convBwdPartials(c.B, c.L);
  float *dPart = sentinelBuf((size_t)parts * C * (K + 1));
  ConvGradArgs a{};
  a.x = c.bf ? (const void *)((const bf16_t *)dX + c.col) : (const float *)dX + c.col;
  a.w = dW, a.bias = c.hasBias ? dB : nullptr, a.dact = dA, a.dx = dOut + c.col;
  a.partial = dPart, a.B = c.B, a.L = c.L, a.C = C, a.ldx = c.ld, a.lddx = c.ld;
  const dim3 grid((C + 32 * c.V - 1) / (32 * c.V), parts);
  std::vector<float> got[2][3];
  for (int run = 0; run < 2; ++run) {
    CK(cudaMemset(dOut, 0xff, (size_t)T * c.ld * 4));
    CK(cudaMemset(dDw, 0xff, (size_t)C * K * 4));
    CK(cudaMemset(dDb, 0xff, C * 4));
    c.k<<<grid, hyb::convBwdThreads>>>(a);
    CK(cudaGetLastError());
    reduce(dPart, dDw, c.hasBias ? dDb : nullptr, parts, C * (K + 1), C * K);
    CK(cudaDeviceSynchronize());
    got[run][0] = download(dOut, (size_t)T * c.ld);
    got[run][1] = download(dDw, (size_t)C * K);
    got[run][2] = download(dDb, C);
  }
  std::vector<double> rx, rw, rb;
  refConv(x, c.ld, c.col, w, c.hasBias ? &bias : nullptr, dact, c.B, c.L, C, K, rx, rw, rb);
  const double ex = relErr(cols(got[0][0], T, c.ld, c.col, C), rx), ew = relErr(got[0][1], rw);
  const double eb = relErr(got[0][2], rb);
  bool biasUntouched = true;  // no bias: dbias is not written
  if (!c.hasBias)
    for (float f : got[0][2]) {
      uint32_t u;
      std::memcpy(&u, &f, 4);
      biasUntouched = biasUntouched && u == 0xffffffffu;
    }
  const bool cols_ok = untouchedOutside(got[0][0], T, c.ld, c.col, C);
  const bool det = sameBits(got[0][0], got[1][0]) && sameBits(got[0][1], got[1][1]) &&
                   sameBits(got[0][2], got[1][2]);
  const bool ok = std::max({ex, ew, c.hasBias ? eb : 0.0}) <= kTol && cols_ok && det &&
                  biasUntouched;
  if (perturb)
    verdict(!ok, fmt("negative control: %s with one conv weight + 0.05 on the device %s (dx "
                     "%.1e dw %.1e dbias %.1e)", c.name, ok ? "still passes" : "fails", ex, ew, eb));
  else
    verdict(ok, fmt("conv_silu_bwd %-41s dx %.1e dw %.1e dbias %s%s%s", c.name, ex, ew,
                    c.hasBias ? fmt("%.1e", eb).c_str() : (biasUntouched ? "-" : "WRITTEN"),
                    cols_ok ? "" : " WROTE OUTSIDE ITS COLUMNS", det ? "" : " NOT DETERMINISTIC"));
  cudaFree(dX), cudaFree(dW), cudaFree(dB), cudaFree(dA), cudaFree(dOut), cudaFree(dDw);
  cudaFree(dDb), cudaFree(dPart);
  return ok;
}

// ---- Timing -------------------------------------------------------------------
__global__ void fillF(float *p, int64_t n, uint32_t seed, float lo, float hi) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    uint32_t h = (uint32_t)i * 2654435761u ^ seed;
    h ^= h >> 15, h *= 2246822519u, h ^= h >> 13, h *= 3266489917u, h ^= h >> 16;
    p[i] = lo + (hi - lo) * (h >> 8) * (1.f / 16777216.f);
  }
}
__global__ void toBf(const float *s, bf16_t *d, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    hyb::st(d, i, s[i]);
}
static void fill(float *p, int64_t n, uint32_t seed, float lo, float hi) {
  fillF<<<1024, 256>>>(p, n, seed, lo, hi);
  CK(cudaGetLastError());
}

static void bench(int nSM) {
  const int B = 8, L = 2048, T = B * L, H = 32, P = 64, D = H * P, G = 1, N = 128;
  const int C = D + 2 * G * N, K = 4, W = D + C + H;  // zxbcdt row: z | xBC | dt
  constexpr double peak = 3000.0;  // GB/s, H100 SXM HBM3 (nominal 3.35)
  std::printf("timings B%d L%d: inner %d, H %d, C %d, K %d, zxbcdt row %d, %d SMs\n", B, L, D, H,
              C, K, W, nSM);
  float *zxF, *dzx, *y, *dout, *dy, *dact, *ddt, *nw, *cw, *cb, *dtb, *dwN, *dwC, *dbC, *ddtb;
  bf16_t *zxB;
  const int64_t nzx = (int64_t)T * W, nd = (int64_t)T * D;
  CK(cudaMalloc(&zxF, nzx * 4));
  CK(cudaMalloc(&zxB, nzx * 2));
  CK(cudaMalloc(&dzx, nzx * 4));
  CK(cudaMalloc(&y, nd * 4));
  CK(cudaMalloc(&dout, nd * 4));
  CK(cudaMalloc(&dy, nd * 4));
  CK(cudaMalloc(&dact, (int64_t)T * C * 4));
  CK(cudaMalloc(&ddt, (int64_t)T * H * 4));
  CK(cudaMalloc(&nw, D * 4));
  CK(cudaMalloc(&cw, C * K * 4));
  CK(cudaMalloc(&cb, C * 4));
  CK(cudaMalloc(&dtb, H * 4));
  CK(cudaMalloc(&dwN, D * 4));
  CK(cudaMalloc(&dwC, C * K * 4));
  CK(cudaMalloc(&dbC, C * 4));
  CK(cudaMalloc(&ddtb, H * 4));
  fill(zxF, nzx, 1, -3, 3);
  toBf<<<1024, 256>>>(zxF, zxB, nzx);
  fill(y, nd, 2, -2, 2), fill(dout, nd, 3, -1, 1), fill(dact, (int64_t)T * C, 4, -1, 1);
  fill(ddt, (int64_t)T * H, 5, -1, 1), fill(nw, D, 6, 0.5f, 1.5f), fill(cw, C * K, 7, -0.5f, 0.5f);
  fill(cb, C, 8, -0.5f, 0.5f), fill(dtb, H, 9, -1, 1);
  CK(cudaDeviceSynchronize());
  auto occ = [&](const void *k, int threads) {
    int n = 0;
    CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, k, threads, 0));
    return n;
  };
  const int partsC = hyb::convBwdPartials(B, L), gridDt = hyb::dtBwdBlocks(T, H, 256);
  float *part;
  const int64_t partElems = std::max<int64_t>(
      {(int64_t)16 * nSM * D, (int64_t)partsC * C * (K + 1), (int64_t)gridDt * H});
  CK(cudaMalloc(&part, partElems * 4));
  auto report = [&](const std::string &name, double ms, double bytes) {
    const double gbs = bytes / (ms * 1e-3) / 1e9;
    std::printf("BENCH %-56s %8.4f ms %7.0f GB/s (%3.0f%% of %.0f) %6.1f MB\n", name.c_str(), ms,
                gbs, 100 * gbs / peak, peak, bytes / 1e6);
  };
  const int warm = 3, runs = 21;
  double totalMs = 0, totalBytes = 0;
  // 1. Gated norm backward (+ dw reduce); one wave of resident blocks, and two.
  struct NormV {
    NormK k;
    int threads;
    bool zbf;
    const char *name;
  } normVs[] = {{n2048g1_b, 256, true, "z bf16, 256 threads"},
                {n2048g1_b512, 512, true, "z bf16, 512 threads"},
                {n2048g1_b1024, 1024, true, "z bf16, 1024 threads"},
                {n2048g1_f, 256, false, "z fp32, 256 threads"}};
  for (const NormV &nv : normVs)
    for (int waves = 1; waves <= 2; ++waves) {
      const int perSM = occ((const void *)nv.k, nv.threads);
      const int grid = waves * hyb::gatedNormBwdBlocks(T, nSM, perSM);
      GatedNormGradArgs a{};
      a.y = y, a.z = nv.zbf ? (const void *)zxB : (const void *)zxF, a.w = nw, a.dout = dout;
      a.dy = dy, a.dz = dzx, a.partial = part, a.T = T, a.ldz = W, a.lddz = W, a.eps = 1e-5f;
      const double ms =
          hybrid::bench::medianMs([&](int) { nv.k<<<grid, nv.threads>>>(a); }, warm, runs);
      const double rms = hybrid::bench::medianMs(
          [&](int) { reduce(part, dwN, nullptr, grid, D, D); }, warm, runs);
      const double bytes = (double)nd * (4 + (nv.zbf ? 2 : 4) + 4 + 4 + 4) + (double)grid * D * 4;
      report(fmt("gated_norm_bwd %s, %d blocks (%d/SM x %d)", nv.name, grid, perSM, waves), ms,
             bytes);
      report(fmt("  + dw reduce of %d partial rows", grid), rms, (double)grid * D * 4 + D * 4);
      if (nv.k == n2048g1_b && waves == 1)
        totalMs += ms + rms, totalBytes += bytes + (double)grid * D * 4;
    }
  // 2. dt backward (+ ddtBias reduce).
  for (int bf = 1; bf >= 0; --bf) {
    DtGradArgs a{};
    a.dtRaw = bf ? (const void *)(zxB + D + C) : (const void *)(zxF + D + C);
    a.dtBias = dtb, a.ddt = ddt, a.ddtRaw = dzx + D + C, a.partial = part;
    a.T = T, a.H = H, a.lddt = W, a.ldddt = H, a.ldddtRaw = W, a.dtLo = 0.f, a.dtHi = INFINITY;
    DtK k = bf ? dt_b : dt_f;
    const double ms = hybrid::bench::medianMs([&](int) { k<<<gridDt, 256>>>(a); }, warm, runs);
    const double rms = hybrid::bench::medianMs(
        [&](int) { reduce(part, ddtb, nullptr, gridDt, H, H); }, warm, runs);
    const double bytes = (double)T * H * ((bf ? 2 : 4) + 4 + 4) + (double)gridDt * H * 4;
    report(fmt("dt_bwd dtRaw %s, %d blocks (%d/SM resident)", bf ? "bf16" : "fp32", gridDt,
               occ((const void *)k, 256)), ms, bytes);
    report("  + ddtBias reduce", rms, (double)gridDt * H * 4);
    if (bf)
      totalMs += ms + rms, totalBytes += bytes + (double)gridDt * H * 4;
  }
  // 3. conv + SiLU backward (+ dw, dbias reduce).
  struct ConvV {
    ConvK k;
    int V;
    bool bf;
    const char *name;
  } convVs[] = {{c4v4_b, 4, true, "x bf16 V4 R4"}, {c4v4r2_b, 4, true, "x bf16 V4 R2"},
                {c4v4r8_b, 4, true, "x bf16 V4 R8"}, {c4v2_b, 2, true, "x bf16 V2 R4"},
                {c4v2r8_b, 2, true, "x bf16 V2 R8"}, {c4v4_f, 4, false, "x fp32 V4 R4"}};
  for (const ConvV &cv : convVs) {
    ConvGradArgs a{};
    a.x = cv.bf ? (const void *)(zxB + D) : (const void *)(zxF + D);
    a.w = cw, a.bias = cb, a.dact = dact, a.dx = dzx + D, a.partial = part;
    a.B = B, a.L = L, a.C = C, a.ldx = W, a.lddx = W;
    const dim3 grid((C + 32 * cv.V - 1) / (32 * cv.V), partsC);
    const double ms =
        hybrid::bench::medianMs([&](int) { cv.k<<<grid, hyb::convBwdThreads>>>(a); }, warm, runs);
    const double pb = (double)partsC * C * (K + 1) * 4;
    const double bytes = (double)T * C * ((cv.bf ? 2 : 4) + 4 + 4) + pb;
    report(fmt("conv_silu_bwd K%d %s, %d x %d blocks (%d/SM)", K, cv.name, grid.x, grid.y,
               occ((const void *)cv.k, hyb::convBwdThreads)), ms, bytes);
    if (cv.k == c4v4_b) {
      const double rms = hybrid::bench::medianMs(
          [&](int) { reduce(part, dwC, dbC, partsC, C * (K + 1), C * K); }, warm, runs);
      report(fmt("  + dw/dbias reduce of %d partial rows", partsC), rms, pb);
      totalMs += ms + rms, totalBytes += bytes + pb;
    }
  }
  report("all three + reduces (bf16 inputs, default grids)", totalMs, totalBytes);
  for (void *p : {(void *)zxF, (void *)zxB, (void *)dzx, (void *)y, (void *)dout, (void *)dy,
                  (void *)dact, (void *)ddt, (void *)nw, (void *)cw, (void *)cb, (void *)dtb,
                  (void *)dwN, (void *)dwC, (void *)dbC, (void *)ddtb, (void *)part})
    cudaFree(p);
}

int main() {
  int nSM = 0;
  CK(cudaDeviceGetAttribute(&nSM, cudaDevAttrMultiProcessorCount, 0));
  // Small ragged shapes (B2 L37: tiny model D 64, C 96, H 2) and the model shape
  // (B2 L256: D 2048, C 2304, H 32, zxbcdt row 4384). z, xBC, dt live in the
  // rows of one zxbcdt buffer; the gradients go to the same columns of dzxbcdt.
  const int W = 2048 + 2304 + 32;
  const NormCase norms[] = {
      {"D64 G1 z fp32 B2 L37 (per-group)", n64g1_f, 64, 2, 37, 64, 1, 162, 7, false, false, true},
      {"D64 G2 nbg z bf16 B2 L37 (per-chunk)", n64g2nbg_b, 64, 2, 37, 64, 2, 162, 7, true, true, true},
      {"D64 G4 z bf16 B2 L37 (generic)", n64g4_b, 64, 2, 37, 64, 4, 162, 7, false, true, true},
      {"D96 G1 nbg z fp32 B2 L37 (generic)", n96g1nbg_f, 64, 2, 37, 96, 1, 99, 5, true, false, true},
      {"D64 no norm z bf16 B2 L37 (gate_silu_bwd)", gate64_b, 64, 2, 37, 64, 1, 162, 7, false, true,
       false},
      {"D256 G1 z bf16 B3 L37", n256g1_b, 128, 3, 37, 256, 1, 552, 200, false, true, true},
      {"D2048 G1 z bf16 B2 L256", n2048g1_b, 256, 2, 256, 2048, 1, W, 100, false, true, true},
      {"D2048 G1 z fp32 B2 L256", n2048g1_f, 256, 2, 256, 2048, 1, W, 528, false, false, true},
      {"D2048 G1 nbg z bf16 B2 L256", n2048g1nbg_b, 256, 2, 256, 2048, 1, W, 100, true, true, true},
      {"D2048 G8 z fp32 B2 L256 (per-group)", n2048g8_f, 256, 2, 256, 2048, 8, W, 100, false, false,
       true},
      {"D2048 G16 nbg z bf16 B2 L256 (per-chunk)", n2048g16nbg_b, 256, 2, 256, 2048, 16, W, 100,
       true, true, true},
      {"D2048 no norm z fp32 B2 L256 (gate_silu_bwd)", gate2048_f, 256, 2, 256, 2048, 1, W, 100,
       false, false, false},
      {"D2048 G1 z bf16 B2 L256, 512 threads", n2048g1_b512, 512, 2, 256, 2048, 1, W, 100, false,
       true, true},
      {"D2048 G1 z bf16 B2 L256, 1024 threads", n2048g1_b1024, 1024, 2, 256, 2048, 1, W, 100,
       false, true, true},
  };
  for (const NormCase &c : norms)
    runNorm(c);
  const DtCase dts[] = {
      {"H2 bf16 B2 L37 limit [0.05, 25] (bounds planted)", dt_b, 2, 37, 2, 162, 160, true, true,
       0.05f, 25.f},
      {"H2 fp32 B2 L37 no limit", dt_f, 2, 37, 2, 162, 160, false, false, 0, 0},
      {"H8 fp32 B3 L37 limit [0.05, 25] (bounds planted)", dt_f, 3, 37, 8, 552, 544, false, true,
       0.05f, 25.f},
      {"H32 bf16 B2 L256 no limit", dt_b, 2, 256, 32, W, W - 32, true, false, 0, 0},
      {"H32 fp32 B2 L256 limit [0.05, 25] (bounds planted)", dt_f, 2, 256, 32, W, W - 32, false,
       true, 0.05f, 25.f},
  };
  for (const DtCase &c : dts)
    runDt(c);
  const ConvCase convs[] = {
      {"K4 V1 C96 x bf16 B2 L37 (row 162)", c4v1_b, 4, 1, 2, 37, 96, 162, 64, true, true},
      {"K4 V4 C96 x fp32 B2 L37 (row 164)", c4v4_f, 4, 4, 2, 37, 96, 164, 64, false, true},
      {"K3 V1 C288 x bf16 B3 L37 no bias", c3v1_b, 3, 1, 3, 37, 288, 552, 256, true, false},
      {"K4 V4 C288 x bf16 B2 L300 (2 blocks/seq)", c4v4_b, 4, 4, 2, 300, 288, 552, 256, true, true},
      {"K8 V4 C96 x fp32 B2 L37", c8v4_f, 8, 4, 2, 37, 96, 164, 64, false, true},
      {"K1 V4 C96 x fp32 B2 L37", c1v4_f, 1, 4, 2, 37, 96, 164, 64, false, true},
      {"K2 V4 C96 x bf16 B3 L5", c2v4_b, 2, 4, 3, 5, 96, 164, 64, true, true},
      {"K4 V1 C96 x fp32 B3 L2 (L < K - 1)", c4v1_f, 4, 1, 3, 2, 96, 162, 64, false, true},
      {"K4 V2 C96 x bf16 B2 L37 (row 162)", c4v2_b, 4, 2, 2, 37, 96, 162, 64, true, true},
      {"K4 V2 C288 x fp32 B2 L300 no bias", c4v2_f, 4, 2, 2, 300, 288, 552, 256, false, false},
      {"K4 V4 R2 C288 x bf16 B2 L300", c4v4r2_b, 4, 4, 2, 300, 288, 552, 256, true, true},
      {"K4 V4 R8 C288 x bf16 B2 L300", c4v4r8_b, 4, 4, 2, 300, 288, 552, 256, true, true},
      {"K4 V2 R8 C2304 x bf16 B2 L256", c4v2r8_b, 4, 2, 2, 256, 2304, W, 2048, true, true},
      {"K4 V4 C2304 x bf16 B2 L256", c4v4_b, 4, 4, 2, 256, 2304, W, 2048, true, true},
      {"K4 V4 C2304 x fp32 B2 L256", c4v4_f, 4, 4, 2, 256, 2304, W, 2048, false, true},
  };
  for (const ConvCase &c : convs)
    runConv(c);
  // Negative controls: each check must fail on a wrong result.
  runNorm(norms[6], true);   // D2048 G1 z bf16 B2 L256
  runDt(dts[4], true);       // H32 fp32 B2 L256 limited
  runConv(convs[13], true);  // K4 V4 C2304 x bf16 B2 L256
  const int checks = fails;
  bench(nSM);
  std::printf("mamba_bwd: %d failed\n", checks);
  return checks ? 1 : 0;
}
