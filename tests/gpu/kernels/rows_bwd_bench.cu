// rows_bwd_bench.cu - the row-wise backward kernels of training on the device
// (codegen/kernels/rows_bwd.cuh: rmsnorm / add_rmsnorm, swiglu, embedding,
// LM head cross entropy, branch_combine, column sum, casts, add / scale)
// against double precision host references written here from the formulas
// (the semantics of runtime/cpu/CpuGrad*.cpp and LMHeadLoss.cpp), on small
// ragged shapes and on model shapes, bf16 and fp32 variants; then each is
// timed at T = 16384 on the model shapes (D 1024, F 2816, V 32000) against
// the bytes it must move.
// Build and run: tests/gpu/kernels/build-and-run.sh rows_bwd_bench.
// Exit status: 0 when every check passes, 1 otherwise, 2 on a CUDA error.
#include "rows_bwd.cuh"

#include "BenchUtil.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace hyb;
using hybrid::bench::maxDiffOverMaxRef;
using hybrid::bench::medianMs;

namespace {

//===----------------------------------------------------------------------===//
// Host helpers
//===----------------------------------------------------------------------===//

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x2545F4914F6CDD1Dull + 1) {}
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  float uni() { return (float)(next() >> 40) * (1.0f / 16777216.0f); }  // [0, 1)
  float sym() { return 2.f * uni() - 1.f; }                              // [-1, 1)
  int below(int n) { return (int)(next() % (uint64_t)n); }
};

uint16_t bf16Of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}
float fOfBf(uint16_t h) {
  const uint32_t u = (uint32_t)h << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
std::vector<float> fOfBf(const std::vector<uint16_t> &h) {
  std::vector<float> f(h.size());
  for (size_t i = 0; i < h.size(); ++i)
    f[i] = fOfBf(h[i]);
  return f;
}
/// The value a store of element type XT keeps.
template <typename XT> float asStored(float v) {
  return std::is_same<XT, bf16_t>::value ? fOfBf(bf16Of(v)) : v;
}
template <typename XT> std::vector<XT> toStore(const std::vector<float> &v) {
  std::vector<XT> o(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if constexpr (std::is_same<XT, bf16_t>::value)
      o[i] = bf16Of(v[i]);
    else
      o[i] = v[i];
  }
  return o;
}

template <typename T> struct Dev {
  T *p = nullptr;
  size_t n = 0;
  explicit Dev(size_t n_) : n(n_) { CK(cudaMalloc(&p, std::max<size_t>(n, 1) * sizeof(T))); }
  explicit Dev(const std::vector<T> &h) : Dev(h.size()) { up(h); }
  ~Dev() { cudaFree(p); }
  Dev(const Dev &) = delete;
  Dev &operator=(const Dev &) = delete;
  void up(const std::vector<T> &h) {
    if (n)
      CK(cudaMemcpy(p, h.data(), n * sizeof(T), cudaMemcpyHostToDevice));
  }
  std::vector<T> down() const {
    std::vector<T> h(n);
    if (n)
      CK(cudaMemcpy(h.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
  }
  void fillBytes(int b) { CK(cudaMemset(p, b, std::max<size_t>(n, 1) * sizeof(T))); }
};

int gFails = 0, gChecks = 0, gSms = 132;

/// max |got - ref| / max |ref|; infinite when got has a NaN or infinity.
double relErr(const std::vector<float> &got, const std::vector<double> &ref) {
  for (float g : got)
    if (!std::isfinite(g))
      return INFINITY;
  return maxDiffOverMaxRef(got, ref);
}
bool check(const std::string &what, const std::vector<float> &got, const std::vector<double> &ref,
           double tol) {
  const double e = got.size() == ref.size() ? relErr(got, ref) : INFINITY;
  const bool ok = e <= tol;
  std::printf("%s %s: max|diff|/max|ref| %.2e (tol %.0e)\n", ok ? "PASS" : "FAIL", what.c_str(), e,
              tol);
  ++gChecks;
  gFails += !ok;
  return ok;
}
bool checkTrue(const std::string &what, bool ok) {
  std::printf("%s %s\n", ok ? "PASS" : "FAIL", what.c_str());
  ++gChecks;
  gFails += !ok;
  return ok;
}
/// The check must notice one perturbed value (max|ref| / 100 off).
void selfTest(const std::string &what, std::vector<float> got, const std::vector<double> &ref,
              double tol) {
  double mr = 0;
  for (double r : ref)
    mr = std::max(mr, std::fabs(r));
  const double before = relErr(got, ref);
  got[got.size() / 2] += (float)(0.01 * mr);
  const double after = relErr(got, ref);
  checkTrue("self-test " + what + ": the check fails on a perturbed output (" +
                std::to_string(before) + " -> " + std::to_string(after) + ")",
            before <= tol && after > tol);
}
template <typename T> bool sameBits(const std::vector<T> &a, const std::vector<T> &b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

void report(const char *what, double ms, double bytes) {
  const double gbs = bytes / ms * 1e-6;
  std::printf("BENCH %-52s %8.3f ms  %7.0f GB/s  (%3.0f%% of 3.0 TB/s; %.1f MB)\n", what, ms, gbs,
              gbs / 30.0, bytes * 1e-6);
}

//===----------------------------------------------------------------------===//
// Device wrappers (the emitter writes the real ones; same bounds)
//===----------------------------------------------------------------------===//

__global__ void kFill(float *p, int64_t n, uint32_t seed, float scale, float offset) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    uint32_t h = (uint32_t)i * 0x9E3779B1u ^ seed ^ (uint32_t)(i >> 32) * 0x85EBCA77u;
    h ^= h >> 16, h *= 0x7FEB352Du, h ^= h >> 15, h *= 0x846CA68Bu, h ^= h >> 16;
    p[i] = offset + scale * ((float)(h >> 8) * (2.f / 16777216.f) - 1.f);
  }
}
__global__ void kToBf(const float *s, bf16_t *d, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    st(d, i, s[i]);
}
void fillDev(float *p, int64_t n, uint32_t seed, float scale, float offset = 0.f) {
  kFill<<<4 * gSms, 256>>>(p, n, seed, scale, offset);
  CK(cudaGetLastError());
}

template <int D, int Th, typename XT>
__global__ void __launch_bounds__(Th) kRms(const RmsNormBwdArgs a) {
  rmsnorm_bwd_kernel<D, Th, XT>(a);
}
template <int Th> __global__ void __launch_bounds__(Th) kColSum(const RowsColSumArgs a) {
  rows_colsum_kernel<Th>(a);
}
template <typename GT, int VEC>
__global__ void __launch_bounds__(256) kSwiglu(const SwigluBwdArgs a) {
  swiglu_bwd_kernel<GT, VEC>(a);
}
__global__ void __launch_bounds__(256) kEmbCount(const EmbeddingBwdArgs a) {
  emb_bwd_count_kernel(a);
}
__global__ void __launch_bounds__(1024) kEmbScan(const EmbeddingBwdArgs a) {
  emb_bwd_scan_kernel<1024>(a);
}
__global__ void __launch_bounds__(256) kEmbScatter(const EmbeddingBwdArgs a) {
  emb_bwd_scatter_kernel(a);
}
__global__ void __launch_bounds__(256) kEmbRank(const EmbeddingBwdArgs a) {
  emb_bwd_rank_kernel(a);
}
template <int D, int Th> __global__ void __launch_bounds__(Th) kEmbChunk(const EmbeddingBwdArgs a) {
  emb_bwd_chunk_kernel<D, Th>(a);
}
template <int D, int Th>
__global__ void __launch_bounds__(Th) kEmbFinish(const EmbeddingBwdArgs a) {
  emb_bwd_finish_kernel<D, Th>(a);
}
template <int V, int Th, int VEC> __global__ void __launch_bounds__(Th) kCeRows(const CeRowsArgs a) {
  ce_rows_kernel<V, Th, VEC>(a);
}
template <int Th, int VEC> __global__ void __launch_bounds__(Th) kCeAny(const CeRowsArgs a) {
  ce_rows_any_kernel<Th, VEC>(a);
}
template <int Th> __global__ void __launch_bounds__(Th) kCeScale(const CeLossArgs a) {
  ce_grad_scale_kernel<Th>(a);
}
template <int Th> __global__ void __launch_bounds__(Th) kCeMean(const CeLossArgs a) {
  ce_loss_mean_kernel<Th>(a);
}
template <int DA, int DB, int GA, int GB, int Mode, int Th>
__global__ void __launch_bounds__(Th) kBranch(const BranchCombineBwdArgs a) {
  branch_combine_bwd_kernel<DA, DB, GA, GB, Mode, Th>(a);
}
template <int VEC> __global__ void __launch_bounds__(256) kCast(const RowsCastArgs a) {
  rows_cast_kernel<VEC, bf16_t>(a);
}
template <int VEC> __global__ void __launch_bounds__(256) kAdd(const RowsF32Args a) {
  f32_add_kernel<VEC>(a);
}
template <int VEC> __global__ void __launch_bounds__(256) kScale(const RowsF32Args a) {
  f32_scale_kernel<VEC>(a);
}

void colsum(const float *partial, float *out, int P, int N, int ldp, int accumulate) {
  kColSum<1024><<<(N + 31) / 32, 1024>>>(RowsColSumArgs{partial, out, P, N, ldp, accumulate});
  CK(cudaGetLastError());
}

//===----------------------------------------------------------------------===//
// 1. rmsnorm / add_rmsnorm backward
//===----------------------------------------------------------------------===//

template <int D, typename XT>
void testRms(const char *tag, int T, int P, bool withDsum, bool withBf, bool self = false) {
  constexpr int Th = rmsNormBwdThreads(D);
  const std::string name = std::string("rmsnorm_bwd ") + tag + " D " + std::to_string(D) + " T " +
                           std::to_string(T) + " P " + std::to_string(P) +
                           (std::is_same<XT, bf16_t>::value ? " bf16" : " fp32") +
                           (withDsum ? " +dsum" : "");
  Rng rng(T * 131 + D * 7 + withDsum);
  const float eps = 1e-5f;
  std::vector<float> x((size_t)T * D), w(D), dout((size_t)T * D), ds(withDsum ? (size_t)T * D : 0);
  for (auto &v : x)
    v = asStored<XT>(1.5f * rng.sym() + 0.2f);
  for (auto &v : w)
    v = 1.f + 0.5f * rng.sym();
  for (auto &v : dout)
    v = rng.sym();
  for (auto &v : ds)
    v = rng.sym();
  Dev<XT> dX(toStore<XT>(x));
  Dev<float> dW(w), dDout(dout), dDs(ds), dDx((size_t)T * D), dPart((size_t)P * D), dDw(D);
  Dev<bf16_t> dDxBf(withBf ? (size_t)T * D : 0);
  RmsNormBwdArgs a{dX.p, dW.p, dDout.p, withDsum ? dDs.p : nullptr, dDx.p,
                   withBf ? dDxBf.p : nullptr, dPart.p, T, eps};
  auto launch = [&] {
    kRms<D, Th, XT><<<P, Th>>>(a);
    CK(cudaGetLastError());
    colsum(dPart.p, dDw.p, P, D, D, 0);
  };
  launch();
  CK(cudaDeviceSynchronize());
  // Reference: r = 1/sqrt(mean(x^2) + eps), g = dout w,
  // dx = r g - r^3 x (g . x) / D + dsum, dw = sum_t dout x r.
  std::vector<double> rdx((size_t)T * D), rdw(D, 0.0);
  for (int t = 0; t < T; ++t) {
    const float *xr = &x[(size_t)t * D], *dr = &dout[(size_t)t * D];
    double ss = 0, gx = 0;
    for (int i = 0; i < D; ++i)
      ss += (double)xr[i] * xr[i], gx += (double)dr[i] * w[i] * xr[i];
    const double r = 1.0 / std::sqrt(ss / D + (double)eps);
    for (int i = 0; i < D; ++i) {
      rdx[(size_t)t * D + i] = r * dr[i] * w[i] - r * r * r * xr[i] * gx / D +
                               (withDsum ? (double)ds[(size_t)t * D + i] : 0.0);
      rdw[i] += (double)dr[i] * xr[i] * r;
    }
  }
  const auto gotDx = dDx.down(), gotDw = dDw.down();
  check(name + " dx", gotDx, rdx, 1e-3);
  if (withBf)
    check(name + " dx bf16", fOfBf(dDxBf.down()), rdx, 1e-2);
  check(name + " dw", gotDw, rdw, 1e-3);
  if (self)
    selfTest(name + " dx", gotDx, rdx, 1e-3);
  launch();
  CK(cudaDeviceSynchronize());
  checkTrue(name + " deterministic (dx, dw bitwise on a rerun)",
            sameBits(gotDx, dDx.down()) && sameBits(gotDw, dDw.down()));
}

//===----------------------------------------------------------------------===//
// 2. swiglu backward
//===----------------------------------------------------------------------===//

template <typename GT, int VEC> void testSwiglu(int T, int F, int pad, float gs) {
  const std::string name = "swiglu_bwd T " + std::to_string(T) + " F " + std::to_string(F) +
                           (std::is_same<GT, bf16_t>::value ? " bf16" : " fp32") + " VEC " +
                           std::to_string(VEC);
  Rng rng(T * 7 + F);
  const int ld = 2 * F + pad, ldo = 2 * F + 2 * pad;
  std::vector<float> gu((size_t)T * ld), dout((size_t)T * F);
  for (auto &v : gu)
    v = asStored<GT>(3.f * rng.sym());
  for (auto &v : dout)
    v = rng.sym();
  Dev<GT> dGu(toStore<GT>(gu));
  Dev<float> dDout(dout);
  Dev<bf16_t> dOut((size_t)T * ldo);
  SwigluBwdArgs a{dGu.p, dGu.p + F, dDout.p, dOut.p, dOut.p + F, T, F, ld, ld, ldo, ldo, gs};
  kSwiglu<GT, VEC><<<rowsElemBlocks((long long)T * F / VEC, gSms), 256>>>(a);
  CK(cudaGetLastError());
  const auto out = fOfBf(dOut.down());
  // z = gs g, s = sigmoid(z): dg = gs dout u s (1 + z (1 - s)), du = dout z s.
  std::vector<double> rdg((size_t)T * F), rdu((size_t)T * F);
  std::vector<float> gdg((size_t)T * F), gdu((size_t)T * F);
  for (int t = 0; t < T; ++t)
    for (int c = 0; c < F; ++c) {
      const double g = gu[(size_t)t * ld + c], u = gu[(size_t)t * ld + F + c];
      const double d = dout[(size_t)t * F + c], z = gs * g, s = 1.0 / (1.0 + std::exp(-z));
      rdg[(size_t)t * F + c] = gs * d * u * s * (1.0 + z * (1.0 - s));
      rdu[(size_t)t * F + c] = d * z * s;
      gdg[(size_t)t * F + c] = out[(size_t)t * ldo + c];
      gdu[(size_t)t * F + c] = out[(size_t)t * ldo + F + c];
    }
  check(name + " dg", gdg, rdg, 1e-2);
  check(name + " du", gdu, rdu, 1e-2);
}

//===----------------------------------------------------------------------===//
// 3. embedding backward
//===----------------------------------------------------------------------===//

struct EmbScratch {
  Dev<int> counts, offsets, slots, order;
  Dev<float> partial;
  EmbScratch(int T, int V, int D)
      : counts(V), offsets(V + 1), slots(T), order(T),
        partial((size_t)2 * ((T + embBwdChunk - 1) / embBwdChunk) * D) {
    counts.fillBytes(0);  // once: the kernels leave it zero
  }
};

template <int D> void runEmb(const EmbeddingBwdArgs &a) {
  constexpr int Th = embBwdThreads(D);
  const int tb = (a.T + 255) / 256;
  kEmbCount<<<tb, 256>>>(a);
  kEmbScan<<<1, 1024>>>(a);
  kEmbScatter<<<tb, 256>>>(a);
  kEmbRank<<<tb, 256>>>(a);
  kEmbChunk<D, Th><<<(a.T + embBwdChunk - 1) / embBwdChunk, Th>>>(a);
  kEmbFinish<D, Th><<<(a.V + embBwdIdsPerBlock - 1) / embBwdIdsPerBlock, Th>>>(a);
  CK(cudaGetLastError());
}

/// mode 0: skewed (30% one id, the rest ~ V u^3), 1: one id only, 2: uniform.
std::vector<int32_t> makeIds(int T, int V, int mode, uint64_t seed) {
  Rng rng(seed);
  std::vector<int32_t> ids(T);
  for (auto &v : ids) {
    if (mode == 1)
      v = V - 1;
    else if (mode == 2)
      v = rng.below(V);
    else
      v = rng.uni() < 0.3f ? 3 % V : std::min(V - 1, (int)(V * std::pow(rng.uni(), 3.f)));
  }
  return ids;
}

template <int D> void testEmb(int T, int V, int mode) {
  const std::string name = "embedding_bwd T " + std::to_string(T) + " V " + std::to_string(V) +
                           " D " + std::to_string(D) + " ids " +
                           (mode == 0 ? "skewed" : mode == 1 ? "one id" : "uniform");
  Rng rng(T + V + D);
  const auto ids = makeIds(T, V, mode, T * 3 + mode);
  std::vector<float> dout((size_t)T * D);
  for (auto &v : dout)
    v = rng.sym();
  Dev<int32_t> dIds(ids);
  Dev<float> dDout(dout), dTable((size_t)V * D);
  EmbScratch s(T, V, D);
  dTable.fillBytes(0xff);  // NaN: every row must be overwritten
  EmbeddingBwdArgs a{dIds.p,     dDout.p,     dTable.p, s.counts.p, s.offsets.p,
                     s.slots.p, s.order.p, s.partial.p, T,        V};
  runEmb<D>(a);
  CK(cudaDeviceSynchronize());
  const auto got = dTable.down();
  // Reference: the used ids' rows (double sums); every other row zero.
  std::vector<int> rowOf(V, -1);
  std::vector<int> used;
  for (int t = 0; t < T; ++t)
    if (rowOf[ids[t]] < 0)
      rowOf[ids[t]] = (int)used.size(), used.push_back(ids[t]);
  std::vector<double> ref(used.size() * D, 0.0);
  for (int t = 0; t < T; ++t)
    for (int k = 0; k < D; ++k)
      ref[(size_t)rowOf[ids[t]] * D + k] += dout[(size_t)t * D + k];
  std::vector<float> gotUsed(used.size() * D);
  for (size_t r = 0; r < used.size(); ++r)
    std::copy(&got[(size_t)used[r] * D], &got[(size_t)used[r] * D] + D, &gotUsed[r * D]);
  check(name + " used rows", gotUsed, ref, 1e-3);
  size_t badZero = 0;
  for (int v = 0; v < V; ++v)
    if (rowOf[v] < 0)
      for (int k = 0; k < D; ++k)
        badZero += got[(size_t)v * D + k] != 0.f;  // NaN counts too
  checkTrue(name + " unused rows zero (" + std::to_string(badZero) + " bad values)", badZero == 0);
  const auto cnt = s.counts.down();
  checkTrue(name + " counts left zero",
            std::all_of(cnt.begin(), cnt.end(), [](int c) { return c == 0; }));
  dTable.fillBytes(0xff);
  runEmb<D>(a);
  CK(cudaDeviceSynchronize());
  checkTrue(name + " deterministic (bitwise on a rerun)", sameBits(got, dTable.down()));
}

//===----------------------------------------------------------------------===//
// 4. LM head cross entropy
//===----------------------------------------------------------------------===//

/// T rows in chunks of `chunk`; launch(args) runs the rows kernel of a chunk.
template <typename Launch>
void testCe(const std::string &name, int T, int V, int vec, int chunk, double ignored,
            Launch launch) {
  Rng rng(T * 17 + V);
  const int pad = vec == 4 ? 4 : vec == 2 ? 2 : 3, ldl = V + pad, ldd = V + pad;
  std::vector<float> logits((size_t)T * ldl);
  std::vector<int32_t> labels(T);
  for (int t = 0; t < T; ++t) {
    for (int v = 0; v < V; ++v)
      logits[(size_t)t * ldl + v] = 4.f * rng.sym() + (rng.uni() < 0.001f ? 8.f : 0.f);
    for (int v = V; v < ldl; ++v)
      logits[(size_t)t * ldl + v] = 1e4f;  // padding: must not be read
    labels[t] = rng.uni() < ignored ? -1 : rng.below(V);
  }
  const float dloss = 0.7f, lossScale = 0.5f;
  Dev<float> dLogits(logits), dRowLoss(T), dScalars(3);  // dloss, loss, gradScale
  Dev<int32_t> dLabels(labels);
  Dev<int> dCount(1);
  Dev<bf16_t> dD((size_t)T * ldd);
  dD.fillBytes(0xff);
  dRowLoss.fillBytes(0xff);
  dScalars.up({dloss, -1.f, -1.f});
  CeLossArgs la{dLabels.p, dRowLoss.p, dScalars.p, dScalars.p + 1, dScalars.p + 2,
                dCount.p,  T,          lossScale};
  kCeScale<1024><<<1, 1024>>>(la);
  for (int r0 = 0; r0 < T; r0 += chunk) {
    CeRowsArgs a{dLogits.p + (size_t)r0 * ldl, dLabels.p + r0, dScalars.p + 2, 0.f,
                 dRowLoss.p + r0, dD.p + (size_t)r0 * ldd, std::min(chunk, T - r0), V, ldl, ldd};
    launch(a);
  }
  kCeMean<1024><<<1, 1024>>>(la);
  CK(cudaGetLastError());
  CK(cudaDeviceSynchronize());
  const auto sc = dScalars.down();
  const int count = dCount.down()[0];
  const auto rowLoss = dRowLoss.down();
  const auto dl = fOfBf(dD.down());
  // Reference: lse - x_y per counted row; k = dloss * scale / count;
  // dlogits = k (softmax - onehot); loss = mean over counted rows.
  int rc = 0;
  for (int t = 0; t < T; ++t)
    rc += labels[t] >= 0;
  const double k = rc ? (double)dloss * lossScale / rc : 0.0;
  std::vector<double> rLoss(T, 0.0), rD((size_t)T * V, 0.0);
  std::vector<float> gD((size_t)T * V);
  double total = 0, worstElem = 0;
  for (int t = 0; t < T; ++t) {
    const float *x = &logits[(size_t)t * ldl];
    for (int v = 0; v < V; ++v)
      gD[(size_t)t * V + v] = dl[(size_t)t * ldd + v];
    if (labels[t] < 0)
      continue;
    double m = -INFINITY, s = 0;
    for (int v = 0; v < V; ++v)
      m = std::max(m, (double)x[v]);
    for (int v = 0; v < V; ++v)
      s += std::exp(x[v] - m);
    const double lse = m + std::log(s);
    rLoss[t] = lse - x[labels[t]];
    total += rLoss[t];
    for (int v = 0; v < V; ++v) {
      const double r = k * (std::exp(x[v] - lse) - (v == labels[t] ? 1.0 : 0.0));
      rD[(size_t)t * V + v] = r;
      if (r != 0)  // element-wise relative error: every probability, not just the largest
        worstElem = std::max(worstElem, std::fabs(gD[(size_t)t * V + v] - r) / std::fabs(r));
    }
  }
  const double rMean = rc ? total / rc : 0.0;
  checkTrue(name + " count " + std::to_string(count) + " vs " + std::to_string(rc), count == rc);
  checkTrue(name + " gradScale " + std::to_string(sc[2]) + " vs " + std::to_string(k),
            std::fabs(sc[2] - k) <= 1e-6 * std::max(k, 1e-30) || (k == 0 && sc[2] == 0.f));
  checkTrue(name + " mean loss " + std::to_string(sc[1]) + " vs " + std::to_string(rMean),
            std::fabs(sc[1] - rMean) <= 1e-5 * std::max(std::fabs(rMean), 1.0));
  if (rc) {
    check(name + " rowLoss", rowLoss, rLoss, 1e-3);
    check(name + " dlogits bf16", gD, rD, 1e-2);
    checkTrue(name + " dlogits bf16 element-wise rel err " + std::to_string(worstElem) +
                  " <= 1e-2",
              worstElem <= 1e-2);
  } else {
    bool zero = std::all_of(gD.begin(), gD.end(), [](float f) { return f == 0.f; }) &&
                std::all_of(rowLoss.begin(), rowLoss.end(), [](float f) { return f == 0.f; });
    checkTrue(name + " no counted label: zero dlogits and row losses", zero);
  }
}

template <int V, int Th, int VEC> void testCeRows(int T, int chunk, double ignored) {
  testCe("ce_rows<" + std::to_string(V) + "," + std::to_string(Th) + "," + std::to_string(VEC) +
             "> T " + std::to_string(T),
         T, V, VEC, chunk, ignored, [](const CeRowsArgs &a) {
           kCeRows<V, Th, VEC><<<a.rows, Th>>>(a);
           CK(cudaGetLastError());
         });
}
template <int Th, int VEC> void testCeAny(int T, int V, int chunk, double ignored) {
  testCe("ce_rows_any<" + std::to_string(Th) + "," + std::to_string(VEC) + "> V " +
             std::to_string(V) + " T " + std::to_string(T),
         T, V, VEC, chunk, ignored, [](const CeRowsArgs &a) {
           kCeAny<Th, VEC><<<a.rows, Th>>>(a);
           CK(cudaGetLastError());
         });
}

//===----------------------------------------------------------------------===//
// 5. branch_combine backward
//===----------------------------------------------------------------------===//

/// The norm backward of one row from the textbook formulas: rms (G = 0)
/// dx = r g - r^3 x (g . x) / n, dw += up x r; group norm per group
/// dx = r (g - mean(g) - xh mean(g xh)), dw += up xh; g = up w.
void normBwdRef(const float *x, const float *w, const double *up, int W, int G, double eps,
                double *dx, double *dw) {
  if (G == 0) {
    double ss = 0, gx = 0;
    for (int i = 0; i < W; ++i)
      ss += (double)x[i] * x[i], gx += up[i] * w[i] * x[i];
    const double r = 1.0 / std::sqrt(ss / W + eps);
    for (int i = 0; i < W; ++i) {
      dx[i] = r * up[i] * w[i] - r * r * r * x[i] * gx / W;
      dw[i] += up[i] * x[i] * r;
    }
    return;
  }
  const int gs = W / G;
  for (int g = 0; g < G; ++g) {
    const float *xg = x + g * gs;
    double mean = 0, var = 0;
    for (int i = 0; i < gs; ++i)
      mean += xg[i];
    mean /= gs;
    for (int i = 0; i < gs; ++i)
      var += (xg[i] - mean) * (xg[i] - mean);
    const double r = 1.0 / std::sqrt(var / gs + eps);
    double gm = 0, gxm = 0;
    for (int i = 0; i < gs; ++i) {
      const double gi = up[g * gs + i] * w[g * gs + i];
      gm += gi, gxm += gi * (xg[i] - mean) * r;
    }
    gm /= gs, gxm /= gs;
    for (int i = 0; i < gs; ++i) {
      const double xh = (xg[i] - mean) * r, gi = up[g * gs + i] * w[g * gs + i];
      dx[g * gs + i] = r * (gi - gm - xh * gxm);
      dw[g * gs + i] += up[g * gs + i] * xh;
    }
  }
}

template <int DA, int DB, int GA, int GB, int Mode, int Th> void testBranch(int T, int P) {
  const char *modes[] = {"add", "mean", "diff", "concat"};
  const std::string name = std::string("branch_combine_bwd ") + modes[Mode] + " DA " +
                           std::to_string(DA) + "/G" + std::to_string(GA) + " DB " +
                           std::to_string(DB) + "/G" + std::to_string(GB) + " T " +
                           std::to_string(T);
  constexpr int DO = Mode == 3 ? DA + DB : DA;
  const int lda = DA + 8, ldb = DB + 4;
  const float eps = 1e-5f, sA = 0.8f, sB = 1.3f;
  Rng rng(T + DA * 3 + DB * 5 + Mode);
  std::vector<float> av((size_t)T * lda), bv((size_t)T * ldb), wa(DA), wb(DB), dout((size_t)T * DO);
  for (auto &v : av)
    v = asStored<bf16_t>(0.5f + rng.sym());
  for (auto &v : bv)
    v = asStored<bf16_t>(-0.3f + 2.f * rng.sym());
  for (auto &v : wa)
    v = 1.f + 0.5f * rng.sym();
  for (auto &v : wb)
    v = 1.f + 0.5f * rng.sym();
  for (auto &v : dout)
    v = rng.sym();
  Dev<bf16_t> dA(toStore<bf16_t>(av)), dB(toStore<bf16_t>(bv));
  Dev<float> dWa(wa), dWb(wb), dDout(dout), dDa((size_t)T * DA), dDb((size_t)T * DB);
  Dev<float> dPa((size_t)P * DA), dPb((size_t)P * DB), dDwa(DA), dDwb(DB);
  BranchCombineBwdArgs a{dA.p, dB.p, dWa.p, dWb.p, dDout.p, dDa.p, dDb.p, dPa.p, dPb.p,
                         T,    lda,  ldb,   eps,   sA,      sB};
  kBranch<DA, DB, GA, GB, Mode, Th><<<P, Th>>>(a);
  CK(cudaGetLastError());
  colsum(dPa.p, dDwa.p, P, DA, DA, 0);
  colsum(dPb.p, dDwb.p, P, DB, DB, 0);
  CK(cudaDeviceSynchronize());
  const double fA = sA * (Mode == 1 ? 0.5 : 1.0);
  const double fB = sB * (Mode == 1 ? 0.5 : Mode == 2 ? -1.0 : 1.0);
  std::vector<double> rda((size_t)T * DA), rdb((size_t)T * DB), rdwa(DA, 0.0), rdwb(DB, 0.0);
  std::vector<double> upA(DA), upB(DB);
  for (int t = 0; t < T; ++t) {
    for (int c = 0; c < DA; ++c)
      upA[c] = fA * dout[(size_t)t * DO + c];
    for (int c = 0; c < DB; ++c)
      upB[c] = fB * dout[(size_t)t * DO + (Mode == 3 ? DA : 0) + c];
    normBwdRef(&av[(size_t)t * lda], wa.data(), upA.data(), DA, GA, eps, &rda[(size_t)t * DA],
               rdwa.data());
    normBwdRef(&bv[(size_t)t * ldb], wb.data(), upB.data(), DB, GB, eps, &rdb[(size_t)t * DB],
               rdwb.data());
  }
  check(name + " da", dDa.down(), rda, 1e-3);
  check(name + " db", dDb.down(), rdb, 1e-3);
  check(name + " dwa", dDwa.down(), rdwa, 1e-3);
  check(name + " dwb", dDwb.down(), rdwb, 1e-3);
}

//===----------------------------------------------------------------------===//
// 6. Utilities
//===----------------------------------------------------------------------===//

void testColSum(int P, int N, int ldp) {
  Rng rng(P * 31 + N);
  std::vector<float> part((size_t)P * ldp), init(N);
  for (auto &v : part)
    v = rng.sym();
  for (auto &v : init)
    v = rng.sym();
  Dev<float> dPart(part), dOut(init);
  std::vector<double> ref(N), refAcc(N);
  for (int n = 0; n < N; ++n) {
    double s = 0;
    for (int p = 0; p < P; ++p)
      s += part[(size_t)p * ldp + n];
    ref[n] = s, refAcc[n] = s + init[n];
  }
  const std::string name = "rows_colsum P " + std::to_string(P) + " N " + std::to_string(N);
  kColSum<256><<<(N + 31) / 32, 256>>>(RowsColSumArgs{dPart.p, dOut.p, P, N, ldp, 1});
  CK(cudaGetLastError());
  check(name + " accumulate (256 threads)", dOut.down(), refAcc, 1e-4);
  colsum(dPart.p, dOut.p, P, N, ldp, 0);
  check(name + " (1024 threads)", dOut.down(), ref, 1e-4);
}

template <int VEC> void testCast(int T, int width, int lds, int ldd) {
  Rng rng(T * width + VEC);
  std::vector<float> src((size_t)T * lds);
  for (auto &v : src)
    v = 10.f * rng.sym();
  Dev<float> dSrc(src);
  Dev<bf16_t> dDst((size_t)T * ldd);
  dDst.fillBytes(0x5a);
  kCast<VEC><<<rowsElemBlocks((long long)T * width / VEC, gSms), 256>>>(
      RowsCastArgs{dSrc.p, dDst.p, T, width, lds, ldd});
  CK(cudaGetLastError());
  const auto got = dDst.down();
  size_t bad = 0;
  for (int t = 0; t < T; ++t)
    for (int c = 0; c < ldd; ++c)
      bad += got[(size_t)t * ldd + c] !=
             (c < width ? bf16Of(src[(size_t)t * lds + c]) : (uint16_t)0x5a5a);
  checkTrue("rows_cast<" + std::to_string(VEC) + "> T " + std::to_string(T) + " width " +
                std::to_string(width) + ": bf16 bits exact, padding untouched (" +
                std::to_string(bad) + " bad)",
            bad == 0);
}

template <int VEC> void testAddScale(int64_t n) {
  Rng rng(n + VEC);
  std::vector<float> x(n), y(n);
  for (auto &v : x)
    v = rng.sym();
  for (auto &v : y)
    v = rng.sym();
  Dev<float> dX(x), dY(y), dO(n);
  Dev<bf16_t> dOb(n);
  const int blocks = rowsElemBlocks(n / VEC, gSms);
  kAdd<VEC><<<blocks, 256>>>(RowsF32Args{dX.p, dY.p, dO.p, dOb.p, n, 0.f});
  CK(cudaGetLastError());
  auto o = dO.down();
  auto ob = dOb.down();
  size_t bad = 0;
  for (int64_t i = 0; i < n; ++i)
    bad += o[i] != x[i] + y[i] || ob[i] != bf16Of(x[i] + y[i]);
  checkTrue("f32_add<" + std::to_string(VEC) + "> n " + std::to_string(n) + " (+bf16 copy): " +
                std::to_string(bad) + " bad",
            bad == 0);
  dOb.fillBytes(0);
  kScale<VEC><<<blocks, 256>>>(RowsF32Args{dX.p, nullptr, dX.p, dOb.p, n, -1.75f});  // in place
  CK(cudaGetLastError());
  o = dX.down(), ob = dOb.down();
  bad = 0;
  for (int64_t i = 0; i < n; ++i)
    bad += o[i] != -1.75f * x[i] || ob[i] != bf16Of(-1.75f * x[i]);
  checkTrue("f32_scale<" + std::to_string(VEC) + "> n " + std::to_string(n) +
                " (in place, +bf16 copy): " + std::to_string(bad) + " bad",
            bad == 0);
}

//===----------------------------------------------------------------------===//
// Timing at T = 16384 on the model shapes
//===----------------------------------------------------------------------===//

void timeAll() {
  const int T = 16384, D = 1024, F = 2816, V = 32000, Dt = 128;
  const int warm = 3, runs = 21;
  constexpr int ThR = rmsNormBwdThreads(1024);
  const int P = rmsNormBwdBlocks(T, D, gSms);
  {  // rmsnorm / add_rmsnorm
    Dev<float> x((size_t)T * D), w(D), dout((size_t)T * D), ds((size_t)T * D), dx((size_t)T * D);
    Dev<float> part((size_t)P * D), dw(D);
    Dev<bf16_t> xb((size_t)T * D), dxb((size_t)T * D);
    fillDev(x.p, x.n, 1, 2.f), fillDev(w.p, w.n, 2, 0.5f, 1.f), fillDev(dout.p, dout.n, 3, 1.f);
    fillDev(ds.p, ds.n, 4, 1.f);
    kToBf<<<4 * gSms, 256>>>(x.p, xb.p, xb.n);
    const double n = (double)T * D, pb = 4.0 * P * D;
    RmsNormBwdArgs a{x.p, w.p, dout.p, ds.p, dx.p, dxb.p, part.p, T, 1e-5f};
    double ms = medianMs([&](int) { kRms<1024, ThR, float><<<P, ThR>>>(a); }, warm, runs);
    report("add_rmsnorm_bwd fp32 sum, dsum, dx + bf16 dx, D 1024", ms, n * 18 + pb);
    a.x = xb.p;
    ms = medianMs([&](int) { kRms<1024, ThR, bf16_t><<<P, ThR>>>(a); }, warm, runs);
    report("add_rmsnorm_bwd bf16 sum, dsum, dx + bf16 dx, D 1024", ms, n * 16 + pb);
    RmsNormBwdArgs p{x.p, w.p, dout.p, nullptr, dx.p, nullptr, part.p, T, 1e-5f};
    ms = medianMs([&](int) { kRms<1024, ThR, float><<<P, ThR>>>(p); }, warm, runs);
    report("rmsnorm_bwd fp32 x, dx only, D 1024", ms, n * 12 + pb);
    ms = medianMs([&](int) { colsum(part.p, dw.p, P, D, D, 0); }, warm, runs);
    std::printf("  (P = %d partial rows, %d threads)\n", P, ThR);
    report("rows_colsum of the dw partials", ms, pb + 4.0 * D);
    // The rows_cast / add / scale utilities on [T, D].
    ms = medianMs(
        [&](int) {
          kCast<4><<<rowsElemBlocks(n / 4, gSms), 256>>>(RowsCastArgs{dout.p, dxb.p, T, D, D, D});
        },
        warm, runs);
    report("rows_cast fp32 -> bf16 [T, 1024]", ms, n * 6);
    ms = medianMs(
        [&](int) {
          kAdd<4><<<rowsElemBlocks(n / 4, gSms), 256>>>(
              RowsF32Args{dout.p, ds.p, dx.p, nullptr, (int64_t)n, 0.f});
        },
        warm, runs);
    report("f32_add [T, 1024]", ms, n * 12);
    ms = medianMs(
        [&](int) {
          kScale<4><<<rowsElemBlocks(n / 4, gSms), 256>>>(
              RowsF32Args{dout.p, nullptr, dx.p, nullptr, (int64_t)n, 0.5f});
        },
        warm, runs);
    report("f32_scale [T, 1024]", ms, n * 8);
    // Embedding backward, skewed and uniform ids (all six launches).
    Dev<float> table((size_t)V * D);
    EmbScratch s(T, V, D);
    for (int mode : {0, 2}) {
      Dev<int32_t> ids(makeIds(T, V, mode, 99));
      EmbeddingBwdArgs e{ids.p,     dout.p,  table.p,   s.counts.p, s.offsets.p,
                         s.slots.p, s.order.p, s.partial.p, T,          V};
      ms = medianMs([&](int) { runEmb<1024>(e); }, warm, runs);
      report(mode ? "embedding_bwd V 32000 D 1024, uniform ids (6 launches)"
                  : "embedding_bwd V 32000 D 1024, skewed ids (6 launches)",
             ms, n * 4 + 4.0 * V * D);
    }
  }
  {  // swiglu
    Dev<float> gu32((size_t)T * 2 * F), dout((size_t)T * F);
    Dev<bf16_t> gu16((size_t)T * 2 * F), out((size_t)T * 2 * F);
    fillDev(gu32.p, gu32.n, 5, 3.f), fillDev(dout.p, dout.n, 6, 1.f);
    kToBf<<<4 * gSms, 256>>>(gu32.p, gu16.p, gu16.n);
    const double n = (double)T * F;
    const int blocks = rowsElemBlocks((long long)T * F / 4, gSms);
    SwigluBwdArgs a{gu16.p, gu16.p + F, dout.p, out.p, out.p + F, T, F, 2 * F, 2 * F, 2 * F,
                    2 * F,  1.f};
    double ms = medianMs([&](int) { kSwiglu<bf16_t, 4><<<blocks, 256>>>(a); }, warm, runs);
    report("swiglu_bwd bf16 g/u, F 2816", ms, n * 12);
    a.g = gu32.p, a.u = gu32.p + F;
    ms = medianMs([&](int) { kSwiglu<float, 4><<<blocks, 256>>>(a); }, warm, runs);
    report("swiglu_bwd fp32 g/u, F 2816", ms, n * 16);
  }
  {  // LM head cross entropy: all T rows as one chunk (3.1 GB)
    Dev<float> logits((size_t)T * V), rowLoss(T), sc(3);
    Dev<bf16_t> dl((size_t)T * V);
    fillDev(logits.p, logits.n, 7, 6.f);
    std::vector<int32_t> lab(T);
    Rng rng(5);
    for (auto &l : lab)
      l = rng.uni() < 0.05f ? -1 : rng.below(V);
    Dev<int32_t> labels(lab);
    Dev<int> cnt(1);
    sc.up({1.f, 0.f, 0.f});
    CeLossArgs la{labels.p, rowLoss.p, sc.p, sc.p + 1, sc.p + 2, cnt.p, T, 1.f};
    kCeScale<1024><<<1, 1024>>>(la);
    CeRowsArgs a{logits.p, labels.p, sc.p + 2, 0.f, rowLoss.p, dl.p, T, V, V, V};
    const double bytes = (double)T * V * 6;
    double ms = medianMs([&](int) { kCeRows<32000, 1024, 4><<<T, 1024>>>(a); }, warm, runs);
    report("ce_rows<32000,1024,4> (logits -> loss, bf16 dlogits)", ms, bytes);
    ms = medianMs([&](int) { kCeAny<512, 4><<<T, 512>>>(a); }, warm, runs);
    report("ce_rows_any<512,4> V 32000", ms, bytes);
    ms = medianMs(
        [&](int) {
          kCeScale<1024><<<1, 1024>>>(la);
          kCeMean<1024><<<1, 1024>>>(la);
        },
        warm, runs);
    report("ce_grad_scale + ce_loss_mean (T labels, T losses)", ms, T * 12.0);
  }
  {  // branch_combine (tiny model: D 128, add, rms)
    const int Pb = branchBwdBlocks(T, gSms);
    Dev<bf16_t> av((size_t)T * Dt), bv((size_t)T * Dt);
    Dev<float> tmp((size_t)T * Dt), w(Dt), dout((size_t)T * Dt), da((size_t)T * Dt),
        db((size_t)T * Dt), pa((size_t)Pb * Dt), pb((size_t)Pb * Dt);
    fillDev(tmp.p, tmp.n, 8, 1.f);
    kToBf<<<4 * gSms, 256>>>(tmp.p, av.p, av.n);
    kToBf<<<4 * gSms, 256>>>(tmp.p, bv.p, bv.n);
    fillDev(w.p, w.n, 9, 0.5f, 1.f), fillDev(dout.p, dout.n, 10, 1.f);
    BranchCombineBwdArgs a{av.p, bv.p, w.p, w.p, dout.p, da.p, db.p, pa.p, pb.p,
                           T,    Dt,   Dt,  1e-5f, 1.f,  1.f};
    double ms = medianMs([&](int) { kBranch<128, 128, 0, 0, 0, 128><<<Pb, 128>>>(a); }, warm, runs);
    report("branch_combine_bwd add rms/rms D 128", ms, (double)T * Dt * (2 + 2 + 4 + 4 + 4));
    ms = medianMs([&](int) { kBranch<128, 128, 4, 4, 1, 128><<<Pb, 128>>>(a); }, warm, runs);
    report("branch_combine_bwd mean group4/group4 D 128", ms, (double)T * Dt * (2 + 2 + 4 + 4 + 4));
  }
}

} // namespace

int main(int argc, char **argv) {
  CK(cudaDeviceGetAttribute(&gSms, cudaDevAttrMultiProcessorCount, 0));
  cudaDeviceProp prop;
  CK(cudaGetDeviceProperties(&prop, 0));
  std::printf("device: %s, %d SMs\n", prop.name, gSms);

  // 1. rmsnorm / add_rmsnorm: ragged widths (VEC 4, 2, 1), more blocks than
  // rows, model and max widths.
  testRms<1024, float>("add", 300, rmsNormBwdBlocks(300, 1024, gSms), true, true, true);
  testRms<1024, bf16_t>("add", 2100, rmsNormBwdBlocks(2100, 1024, gSms), true, true);
  testRms<1024, float>("plain", 517, 64, false, false);
  testRms<128, bf16_t>("plain", 77, 100, false, true);  // more blocks than rows
  testRms<128, float>("add", 1000, rmsNormBwdBlocks(1000, 128, gSms), true, false);
  testRms<100, float>("add", 37, 5, true, true);
  testRms<130, bf16_t>("add", 29, 7, true, true);
  testRms<7, float>("plain", 13, 3, false, true);
  testRms<16384, float>("add", 9, 4, true, true);
  testRms<1024, float>("add model", 16384, rmsNormBwdBlocks(16384, 1024, gSms), true, true);

  // 2. swiglu: g | u side by side at a padded stride, dg | du likewise.
  testSwiglu<bf16_t, 4>(33, 384, 4, 1.f);
  testSwiglu<float, 4>(33, 384, 8, 0.7f);
  testSwiglu<bf16_t, 2>(17, 30, 2, 1.3f);
  testSwiglu<float, 1>(11, 7, 1, 1.f);
  testSwiglu<bf16_t, 4>(1024, 2816, 0, 1.f);

  // 3. embedding: ragged, heavy ids spanning many pieces, one id only, model.
  testEmb<128>(1000, 256, 0);
  testEmb<128>(3001, 256, 1);
  testEmb<6>(45, 50, 2);
  testEmb<100>(333, 40, 0);
  testEmb<1024>(16384, 32000, 0);
  testEmb<1024>(16384, 32000, 2);

  // 4. cross entropy: register rows (model, tiny, ragged V), the any-V
  // kernel, several chunks, ignored labels, no counted label.
  testCeRows<32000, 1024, 4>(300, 128, 0.1);
  testCeRows<256, 64, 4>(1000, 333, 0.2);
  testCeRows<1001, 128, 1>(50, 50, 0.1);
  testCeRows<1000, 128, 2>(40, 16, 0.0);
  testCeRows<256, 64, 4>(20, 20, 1.0);
  testCeAny<512, 4>(200, 32000, 64, 0.1);
  testCeAny<256, 1>(60, 1001, 25, 0.1);
  testCeAny<128, 2>(20, 250, 20, 1.0);

  // 5. branch_combine: every mode, rms and group norms (one group, several,
  // groups narrower than a warp), concat of unequal widths.
  testBranch<128, 128, 0, 0, 0, 128>(50, 7);
  testBranch<128, 128, 4, 8, 1, 128>(61, 9);
  testBranch<96, 96, 3, 1, 2, 64>(33, 40);
  testBranch<128, 64, 0, 4, 3, 128>(45, 6);
  testBranch<100, 60, 0, 0, 3, 64>(21, 4);
  testBranch<100, 100, 5, 0, 0, 64>(30, 8);
  testBranch<128, 128, 0, 0, 0, 128>(4096, branchBwdBlocks(4096, gSms));

  // 6. utilities.
  testColSum(37, 70, 72);
  testColSum(1, 5, 5);
  testColSum(1056, 1024, 1024);
  testCast<4>(5, 12, 16, 20);
  testCast<1>(7, 7, 9, 11);
  testAddScale<4>(4096 + 4);
  testAddScale<1>(1001);

  std::printf("rows_bwd: %d of %d checks failed\n", gFails, gChecks);
  if (!(argc > 1 && std::string(argv[1]) == "--check-only"))
    timeAll();
  return gFails ? 1 : 0;
}
