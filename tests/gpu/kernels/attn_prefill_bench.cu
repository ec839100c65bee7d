// attn_prefill_bench.cu - correctness and speed of the tensor-core attention
// prefill (attn_prefill_mma_kernel, codegen/kernels/attention_mma.cuh)
// against a host fp32/fp64 reference and the CUDA-core attn_prefill_kernel.
// Standalone: build with tests/gpu/kernels/build-and-run.sh (needs a GPU).
// Exit status: 0 all checks passed, 1 a check failed, 2 CUDA error / no GPU.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

// The two attention headers only (all.cuh includes them too), so the bench
// does not depend on the other kernel files.
#include "attention.cuh"
#include "attention_mma.cuh"
#include "BenchUtil.h"

using hyb::AttnArgs;
using hyb::bf16_t;

// The wrappers mirror the generated ones (codegen/Emitter.cpp): args by
// value, __launch_bounds__(threads).
constexpr int kMmaThreads64 = hyb::attnPrefillMmaThreads<64>();
constexpr int kMmaThreads128 = hyb::attnPrefillMmaThreads<128>();
extern "C" __global__ void __launch_bounds__(kMmaThreads64) attn_mma_64(const AttnArgs a) {
  hyb::attn_prefill_mma_kernel<64>(a);
}
extern "C" __global__ void __launch_bounds__(kMmaThreads128) attn_mma_128(const AttnArgs a) {
  hyb::attn_prefill_mma_kernel<128>(a);
}
// Head dims whose tile copy takes the generic path (16-byte chunks per row
// do not divide the block).
extern "C" __global__ void __launch_bounds__(128) attn_mma_80(const AttnArgs a) {
  hyb::attn_prefill_mma_kernel<80>(a);
}
extern "C" __global__ void __launch_bounds__(128) attn_mma_96(const AttnArgs a) {
  hyb::attn_prefill_mma_kernel<96>(a);
}
extern "C" __global__ void __launch_bounds__(64) attn_old_64(const AttnArgs a) {
  hyb::attn_prefill_kernel<64>(a);
}
// Tiling variant (informative; measured slower on the H100): 32 rows per
// warp, 2 warps, 32-key softmax steps.
extern "C" __global__ void __launch_bounds__(64) attn_mma_64_mt2(const AttnArgs a) {
  hyb::amma::attnPrefillMma<64, 2, 64, 32>(a);
}



static uint64_t rngState = 0x9e3779b97f4a7c15ull;
static float urand() {  // uniform [-1, 1)
  rngState ^= rngState << 13;
  rngState ^= rngState >> 7;
  rngState ^= rngState << 17;
  return (float)((rngState >> 40) * (1.0 / 8388608.0)) - 1.f;
}

using Kernel = void (*)(const AttnArgs);
struct KernelRef {
  const char *name;
  Kernel fn;
  int threads, dh;
};

struct Problem {
  int B, L, Hq, Hkv, Dh, pos, window, ctx;
  float scale;
  std::vector<bf16_t> q, k, v;
  bf16_t *dq = nullptr, *dk = nullptr, *dv = nullptr, *dout = nullptr;
  int32_t *dpos = nullptr;
  size_t outN = 0, guardN = 0;
};

static const bf16_t kNaN = 0x7fc0, kSentinel = 0x7f81;  // quiet NaN; a signalling-NaN pattern

static void setup(Problem &P, bool fillData) {
  const int B = P.B, L = P.L, Hq = P.Hq, Hkv = P.Hkv, Dh = P.Dh;
  const size_t qN = (size_t)B * L * Hq * Dh, kvN = (size_t)B * P.ctx * Hkv * Dh;
  P.q.assign(qN, 0);
  P.k.assign(kvN, kNaN);
  P.v.assign(kvN, kNaN);
  if (fillData) {
    for (auto &x : P.q) x = f2bf(2.f * urand());
    // Valid keys: [first visible to any query, pos + L); the rest stays NaN.
    const int kvLo = P.window > 0 ? std::max(0, P.pos - P.window + 1) : 0;
    for (int b = 0; b < B; ++b)
      for (int kk = kvLo; kk < P.pos + L; ++kk)
        for (int e = 0; e < Hkv * Dh; ++e) {
          const size_t i = ((size_t)b * P.ctx + kk) * Hkv * Dh + e;
          P.k[i] = f2bf(2.f * urand());
          P.v[i] = f2bf(urand());
        }
  } else {
    for (auto &x : P.q) x = f2bf(urand());
    for (size_t i = 0; i < kvN; ++i) P.k[i] = f2bf(urand()), P.v[i] = f2bf(urand());
  }
  P.outN = qN;
  P.guardN = 4096;
  CK(cudaMalloc(&P.dq, qN * 2));
  CK(cudaMalloc(&P.dk, kvN * 2));
  CK(cudaMalloc(&P.dv, kvN * 2));
  CK(cudaMalloc(&P.dout, (P.outN + P.guardN) * 2));
  CK(cudaMalloc(&P.dpos, 4));
  CK(cudaMemcpy(P.dq, P.q.data(), qN * 2, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(P.dk, P.k.data(), kvN * 2, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(P.dv, P.v.data(), kvN * 2, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(P.dpos, &P.pos, 4, cudaMemcpyHostToDevice));
}
static void release(Problem &P) {
  cudaFree(P.dq), cudaFree(P.dk), cudaFree(P.dv), cudaFree(P.dout), cudaFree(P.dpos);
}
static AttnArgs argsOf(const Problem &P) {
  AttnArgs a{};
  a.q = P.dq, a.k = P.dk, a.v = P.dv, a.out = P.dout, a.pos = P.dpos;
  a.B = P.B, a.L = P.L, a.Hq = P.Hq, a.Hkv = P.Hkv, a.ctx = P.ctx, a.window = P.window;
  a.scale = P.scale;
  a.splits = 1;
  return a;
}
static void launch(const KernelRef &K, const Problem &P) {
  dim3 grid((P.L + 63) / 64, P.Hq, P.B);
  K.fn<<<grid, K.threads>>>(argsOf(P));
}

// Host reference (fp64 accumulation from the same bf16 values).
static std::vector<float> reference(const Problem &P) {
  const int Dh = P.Dh, grp = P.Hq / P.Hkv;
  std::vector<float> out((size_t)P.B * P.L * P.Hq * Dh);
  std::vector<double> s, acc(Dh);
  for (int b = 0; b < P.B; ++b)
    for (int l = 0; l < P.L; ++l)
      for (int h = 0; h < P.Hq; ++h) {
        const int p = P.pos + l, kvh = h / grp;
        const int lo = P.window > 0 ? std::max(0, p - P.window + 1) : 0;
        const bf16_t *q = &P.q[(((size_t)b * P.L + l) * P.Hq + h) * Dh];
        s.assign(p - lo + 1, 0.0);
        double mx = -INFINITY;
        for (int kk = lo; kk <= p; ++kk) {
          const bf16_t *kr = &P.k[(((size_t)b * P.ctx + kk) * P.Hkv + kvh) * Dh];
          double d = 0;
          for (int e = 0; e < Dh; ++e) d += (double)bf2f(q[e]) * bf2f(kr[e]);
          s[kk - lo] = d * P.scale;
          mx = std::max(mx, s[kk - lo]);
        }
        double den = 0;
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int kk = lo; kk <= p; ++kk) {
          const double w = std::exp(s[kk - lo] - mx);
          den += w;
          const bf16_t *vr = &P.v[(((size_t)b * P.ctx + kk) * P.Hkv + kvh) * Dh];
          for (int e = 0; e < Dh; ++e) acc[e] += w * bf2f(vr[e]);
        }
        float *o = &out[(((size_t)b * P.L + l) * P.Hq + h) * Dh];
        for (int e = 0; e < Dh; ++e) o[e] = (float)(acc[e] / den);
      }
  return out;
}

static int failures = 0;

static void check(const char *what, const KernelRef &K, Problem &P, const std::vector<float> &ref) {
  std::vector<bf16_t> init(P.outN + P.guardN, kSentinel);
  CK(cudaMemcpy(P.dout, init.data(), init.size() * 2, cudaMemcpyHostToDevice));
  launch(K, P);
  CK(cudaGetLastError());
  CK(cudaDeviceSynchronize());
  std::vector<bf16_t> got(P.outN + P.guardN);
  CK(cudaMemcpy(got.data(), P.dout, got.size() * 2, cudaMemcpyDeviceToHost));
  double maxDiff = 0, maxRef = 0;
  size_t bad = 0;
  for (size_t i = 0; i < P.outN; ++i) {
    const float g = bf2f(got[i]);
    if (!std::isfinite(g)) {
      ++bad;
      continue;
    }
    maxDiff = std::max(maxDiff, (double)std::fabs(g - ref[i]));
    maxRef = std::max(maxRef, (double)std::fabs(ref[i]));
  }
  size_t guardHit = 0;
  for (size_t i = P.outN; i < got.size(); ++i) guardHit += got[i] != kSentinel;
  const double rel = maxRef > 0 ? maxDiff / maxRef : maxDiff;
  const bool ok = bad == 0 && guardHit == 0 && rel <= 1e-2;
  std::printf("%s %-18s %-46s max|diff|/max|ref| = %.3e%s%s\n", ok ? "PASS" : "FAIL", K.name, what,
              rel, bad ? " (non-finite outputs)" : "", guardHit ? " (wrote past the output)" : "");
  if (bad) std::printf("     %zu non-finite outputs\n", bad);
  if (!ok) ++failures;
}

static double timeMs(const KernelRef &K, const Problem &P, int warm, int runs) {
  return hybrid::bench::medianMs([&](int) { launch(K, P); }, warm, runs);
}

static void bench(const char *what, const KernelRef &K, const Problem &P, int runs, double peerMs) {
  const double ms = timeMs(K, P, 3, runs);
  const double flops = 4.0 * P.B * P.Hq * P.Dh * (double)P.L * (P.L + 1) / 2;
  const double tf = flops / (ms * 1e-3) / 1e12;
  std::printf("BENCH %-18s %-34s %9.3f ms  %7.1f TFLOP/s", K.name, what, ms, tf);
  if (peerMs > 0)
    std::printf("  (peer cuDNN %.3f ms = %.0f TFLOP/s: %.2fx)", peerMs, flops / (peerMs * 1e-3) / 1e12,
                peerMs / ms);
  std::printf("\n");
}

int main(int argc, char **argv) {
  int dev = 0;
  cudaDeviceProp prop;
  if (cudaGetDeviceCount(&dev) != cudaSuccess || dev == 0) {
    std::printf("no CUDA device\n");
    return 2;
  }
  CK(cudaGetDeviceProperties(&prop, 0));
  std::printf("device: %s (sm_%d%d, %d SMs)\n", prop.name, prop.major, prop.minor,
              prop.multiProcessorCount);
  bool skipOld = false, checkOnly = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--no-old")) skipOld = true;
    else if (!std::strcmp(argv[i], "--check-only")) checkOnly = true;
    else {
      std::fprintf(stderr, "usage: %s [--no-old] [--check-only]\n", argv[0]);
      return 2;
    }
  }

  const KernelRef mma64{"mma<64>", attn_mma_64, kMmaThreads64, 64};
  const KernelRef mma128{"mma<128>", attn_mma_128, kMmaThreads128, 128};
  const KernelRef old64{"old<64>", attn_old_64, 64, 64};
  const KernelRef mt2{"mma<64> 2x32rows", attn_mma_64_mt2, 64, 64};
  const KernelRef mma80{"mma<80>", attn_mma_80, hyb::attnPrefillMmaThreads<80>(), 80};
  const KernelRef mma96{"mma<96>", attn_mma_96, hyb::attnPrefillMmaThreads<96>(), 96};
  for (const KernelRef *K : {&mma64, &mma128, &old64, &mt2, &mma80, &mma96}) {
    cudaFuncAttributes fa;
    CK(cudaFuncGetAttributes(&fa, K->fn));
    std::printf("kernel %-18s threads %3d  regs %3d  static smem %6zu B  local %zu B\n", K->name,
                K->threads, fa.numRegs, fa.sharedSizeBytes, fa.localSizeBytes);
  }

  // --- correctness -------------------------------------------------------
  struct Case {
    const char *what;
    int B, L, Hq, Hkv, Dh, pos, window;
    float scale;
  };
  const Case cases[] = {
      {"B2 L200 Hq4 Hkv2 Dh64 pos0", 2, 200, 4, 2, 64, 0, 0, 0.125f},
      {"B1 L130 Hq2 Hkv1 Dh128 pos0", 1, 130, 2, 1, 128, 0, 0, 0.08838835f},
      {"B1 L100 Hq4 Hkv2 Dh64 pos37", 1, 100, 4, 2, 64, 37, 0, 0.125f},
      {"B2 L200 Hq4 Hkv1 Dh64 pos0 window48", 2, 200, 4, 1, 64, 0, 48, 0.125f},
      {"B1 L150 Hq2 Hkv2 Dh64 pos70 window100", 1, 150, 2, 2, 64, 70, 100, 0.125f},
      {"B1 L77 Hq2 Hkv1 Dh128 pos19 window30", 1, 77, 2, 1, 128, 19, 30, 0.08838835f},
      {"B1 L1 Hq4 Hkv4 Dh64 pos5", 1, 1, 4, 4, 64, 5, 0, 0.125f},
      {"B1 L300 Hq2 Hkv1 Dh64 pos0 scale-0.1", 1, 300, 2, 1, 64, 0, 0, -0.1f},
      {"B2 L90 Hq4 Hkv2 Dh80 pos11", 2, 90, 4, 2, 80, 11, 0, 0.1118034f},
      {"B1 L140 Hq2 Hkv1 Dh96 pos0 window40", 1, 140, 2, 1, 96, 0, 40, 0.10206207f},
  };
  for (const Case &c : cases) {
    Problem P{c.B, c.L, c.Hq, c.Hkv, c.Dh, c.pos, c.window, c.pos + c.L + 70, c.scale};
    setup(P, true);
    const std::vector<float> ref = reference(P);
    if (c.Dh == 64) {
      check(c.what, mma64, P, ref);
      check(c.what, mt2, P, ref);
      check(c.what, old64, P, ref);
    } else if (c.Dh == 128) {
      check(c.what, mma128, P, ref);
    } else {
      check(c.what, c.Dh == 80 ? mma80 : mma96, P, ref);
    }
    release(P);
  }

  // --- speed -------------------------------------------------------------
  if (!checkOnly) {
    Problem P{8, 2048, 16, 4, 64, 0, 0, 2048, 0.125f};
    setup(P, false);
    const char *w = "B8 L2048 Hq16 Hkv4 Dh64 causal";
    bench(w, mma64, P, 20, 0.210);
    bench(w, mt2, P, 20, 0.210);
    if (!skipOld) bench(w, old64, P, 20, 0.210);
    release(P);
  }
  if (!checkOnly) {
    Problem P{1, 32768, 16, 4, 64, 0, 0, 32768, 0.125f};
    setup(P, false);
    bench("B1 L32768 Hq16 Hkv4 Dh64 causal", mma64, P, 20, 0);
    release(P);
  }
  if (!checkOnly) {
    Problem P{8, 2048, 16, 4, 128, 0, 0, 2048, 0.08838835f};
    setup(P, false);
    bench("B8 L2048 Hq16 Hkv4 Dh128 causal", mma128, P, 20, 0);
    release(P);
  }
  std::printf("%s: %d check(s) failed\n", failures ? "FAIL" : "PASS", failures);
  return failures ? 1 : 0;
}
