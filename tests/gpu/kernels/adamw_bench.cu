// adamw_bench.cu - the device optimizer step (optim.cuh) against a double
// precision host AdamW with clip_grad_norm_ (the update of
// runtime/train/Optimizer.h) over several tensors and steps, then timed on
// the parameter count of the inter-1:5 model (416M) against its byte floor.
// Build and run: tests/gpu/kernels/build-and-run.sh adamw_bench.
#include "all.cuh"

#include "BenchUtil.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>


using hyb::OptimArgs;
extern "C" __global__ void __launch_bounds__(256) adamw(const OptimArgs a) { hyb::adamw_kernel(a); }
extern "C" __global__ void __launch_bounds__(256) gradSq(const OptimArgs a) {
  hyb::grad_sq_partial_kernel(a);
}
extern "C" __global__ void __launch_bounds__(1024) clipScale(const OptimArgs a) {
  hyb::grad_clip_scale_kernel(a);
}

struct DeviceOptim {
  std::vector<int64_t> sizes;
  std::vector<float *> p, g, m, v;
  std::vector<uint16_t *> copy;
  hyb::OptimTensor *dTensors = nullptr;
  hyb::OptimBlock *dBlocks = nullptr;
  double *dPartial = nullptr;
  float *dScalars = nullptr;  // scale, norm
  int numBlocks = 0;
  DeviceOptim(const std::vector<int64_t> &n, const std::vector<int> &decay) : sizes(n) {
    std::vector<hyb::OptimTensor> ts;
    std::vector<hyb::OptimBlock> bs;
    for (size_t i = 0; i < n.size(); ++i) {
      float *pp, *gg, *mm, *vv;
      uint16_t *cc;
      CK(cudaMalloc(&pp, n[i] * 4));
      CK(cudaMalloc(&gg, n[i] * 4));
      CK(cudaMalloc(&mm, n[i] * 4));
      CK(cudaMalloc(&vv, n[i] * 4));
      CK(cudaMalloc(&cc, n[i] * 2));
      CK(cudaMemset(mm, 0, n[i] * 4));
      CK(cudaMemset(vv, 0, n[i] * 4));
      p.push_back(pp), g.push_back(gg), m.push_back(mm), v.push_back(vv), copy.push_back(cc);
      ts.push_back({pp, gg, mm, vv, cc, n[i], decay[i]});
      for (int64_t c = 0; c * hyb::optimBlockElems < n[i]; ++c)
        bs.push_back({(int32_t)i, (int32_t)c});
    }
    numBlocks = (int)bs.size();
    CK(cudaMalloc(&dTensors, ts.size() * sizeof(ts[0])));
    CK(cudaMalloc(&dBlocks, bs.size() * sizeof(bs[0])));
    CK(cudaMalloc(&dPartial, bs.size() * sizeof(double)));
    CK(cudaMalloc(&dScalars, 2 * sizeof(float)));
    CK(cudaMemcpy(dTensors, ts.data(), ts.size() * sizeof(ts[0]), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dBlocks, bs.data(), bs.size() * sizeof(bs[0]), cudaMemcpyHostToDevice));
  }
  void step(int t, double lr, double maxNorm) {
    OptimArgs a{};
    a.tensors = dTensors, a.blocks = dBlocks, a.partial = dPartial;
    a.scale = dScalars, a.norm = dScalars + 1, a.numBlocks = numBlocks;
    a.lr = (float)lr, a.beta1 = 0.9f, a.beta2 = 0.95f, a.eps = 1e-8f, a.weightDecay = 0.1f;
    a.biasCorr1 = (float)(1.0 - std::pow(0.9, t)), a.biasCorr2 = (float)(1.0 - std::pow(0.95, t));
    a.maxNorm = (float)maxNorm;
    gradSq<<<numBlocks, 256>>>(a);
    clipScale<<<1, 1024>>>(a);
    adamw<<<numBlocks, 256>>>(a);
  }
};

// torch.optim.AdamW + clip_grad_norm_, in double.
struct HostOptim {
  std::vector<std::vector<double>> p, m, v;
  std::vector<int> decay;
  double lastNorm = 0;
  void step(const std::vector<std::vector<float>> &g, int t, double lr, double maxNorm) {
    double sq = 0;
    for (auto &gi : g)
      for (float x : gi)
        sq += (double)x * x;
    lastNorm = std::sqrt(sq);
    const double scale = maxNorm > 0 && lastNorm > maxNorm ? maxNorm / (lastNorm + 1e-6) : 1.0;
    const double bc1 = 1 - std::pow(0.9, t), bc2 = 1 - std::pow(0.95, t);
    for (size_t i = 0; i < p.size(); ++i)
      for (size_t k = 0; k < p[i].size(); ++k) {
        const double gk = g[i][k] * scale;
        if (decay[i])
          p[i][k] *= 1 - lr * 0.1;
        m[i][k] = 0.9 * m[i][k] + 0.1 * gk;
        v[i][k] = 0.95 * v[i][k] + 0.05 * gk * gk;
        p[i][k] -= lr * (m[i][k] / bc1) / (std::sqrt(v[i][k] / bc2) + 1e-8);
      }
  }
};

static uint16_t bf16Of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

int main() {
  int fails = 0;
  {  // 1. Correctness: 4 tensors (one smaller than a block, ragged ends), 3 steps, clipping on.
    const std::vector<int64_t> n = {1000, 4096, 9000, 70000};
    const std::vector<int> decay = {0, 1, 1, 0};
    DeviceOptim dev(n, decay);
    HostOptim host;
    host.decay = decay;
    std::mt19937 rng(5);
    std::normal_distribution<float> nd(0.f, 1.f);
    for (size_t i = 0; i < n.size(); ++i) {
      std::vector<float> p0(n[i]);
      for (float &f : p0)
        f = 0.02f * nd(rng);
      CK(cudaMemcpy(dev.p[i], p0.data(), n[i] * 4, cudaMemcpyHostToDevice));
      host.p.emplace_back(p0.begin(), p0.end());
      host.m.emplace_back(n[i], 0.0), host.v.emplace_back(n[i], 0.0);
    }
    for (int t = 1; t <= 3; ++t) {
      std::vector<std::vector<float>> g(n.size());
      for (size_t i = 0; i < n.size(); ++i) {
        g[i].resize(n[i]);
        for (float &f : g[i])
          f = (t == 2 ? 5.f : 0.01f) * nd(rng);  // step 2 is clipped
        CK(cudaMemcpy(dev.g[i], g[i].data(), n[i] * 4, cudaMemcpyHostToDevice));
      }
      dev.step(t, 1e-3, 1.0);
      host.step(g, t, 1e-3, 1.0);
      CK(cudaDeviceSynchronize());
      float norm = 0;
      CK(cudaMemcpy(&norm, dev.dScalars + 1, 4, cudaMemcpyDeviceToHost));
      const bool okNorm = std::fabs(norm - host.lastNorm) <= 1e-6 * host.lastNorm;
      double worst = 0;
      int badCopy = 0;
      for (size_t i = 0; i < n.size(); ++i) {
        std::vector<float> p(n[i]), m(n[i]);
        std::vector<uint16_t> c(n[i]);
        CK(cudaMemcpy(p.data(), dev.p[i], n[i] * 4, cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(m.data(), dev.m[i], n[i] * 4, cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(c.data(), dev.copy[i], n[i] * 2, cudaMemcpyDeviceToHost));
        // m against the tensor's largest |m| (m = 0.9 m' + 0.1 g cancels to
        // ~0 in places, where an element-wise relative error means nothing).
        double mMax = 0, mDiff = 0;
        for (int64_t k = 0; k < n[i]; ++k) {
          worst = std::max(worst, std::fabs(p[k] - host.p[i][k]) / (std::fabs(host.p[i][k]) + 1e-3));
          mMax = std::max(mMax, std::fabs((double)host.m[i][k]));
          mDiff = std::max(mDiff, std::fabs(m[k] - host.m[i][k]));
          badCopy += c[k] != bf16Of(p[k]);
        }
        worst = std::max(worst, mDiff / (mMax + 1e-30));
      }
      const bool ok = okNorm && worst <= 1e-5 && badCopy == 0;
      std::printf("%s adamw step %d (clip %s): norm %.6g vs %.6g, worst rel %.2e, bf16 copy "
                  "mismatches %d\n",
                  ok ? "PASS" : "FAIL", t, t == 2 ? "active" : "off", norm, host.lastNorm, worst,
                  badCopy);
      fails += !ok;
    }
  }
  {  // 2. Timing: the 416M parameters of inter-1:5 in 3 tensors.
    const std::vector<int64_t> n = {32768000, 350000000, 33000000};
    DeviceOptim dev(n, {1, 1, 0});
    int64_t total = 0;
    for (int64_t k : n)
      total += k;
    // p, m, v read + written, g read twice (norm, update), the bf16 copy written.
    const double bytes = total * 34.0;
    // Steps 1, 2 warm up; then 11 timed steps (t counts on).
    const double t = hybrid::bench::medianMs([&](int i) { dev.step(1 + i, 1e-3, 1.0); }, 2, 11);
    std::printf("BENCH adamw + clip, %lld params: %.3f ms (%.0f GB/s; byte floor %.3f ms at 2.95 "
                "TB/s)\n",
                (long long)total, t, bytes / t * 1e-6, bytes / 2.95e12 * 1e3);
  }
  std::printf("adamw: %d failed\n", fails);
  return fails ? 1 : 0;
}
