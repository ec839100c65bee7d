// ssd_chunk_bwd_bench.cu - the chunked SSD backward (ssd_chunk_bwd.cuh, v0)
// against the host chunked reference (SsdChunkedReference.h, equal to the
// CPU recurrence's gradients), then timed at B8 L2048 H32 P64 N128 (the
// peer's mamba_ssm Triton fwd+bwd: 3.37 ms, PERFORMANCE.md).
// Build and run: tests/gpu/kernels/build-and-run.sh ssd_chunk_bwd_bench.
#include "all.cuh"

#include "BenchUtil.h"
#include "SsdChunkedReference.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>


using hyb::ScanGradArgs;
extern "C" __global__ void __launch_bounds__(256) bwd32x32(const ScanGradArgs a) {
  hyb::ssd_chunk_bwd_kernel<32, 32>(a);
}
extern "C" __global__ void __launch_bounds__(256) bwd128x64(const ScanGradArgs a) {
  hyb::ssd_chunk_bwd_kernel<128, 64>(a);
}

// The forward that stores the chunk states (training instances).
extern "C" __global__ void __launch_bounds__(256, 2) fwd32x32(const hyb::ScanArgs a) {
  hyb::ssd_chunk_kernel<32, 32, float, float, float, true>(a);
}
extern "C" __global__ void __launch_bounds__(256, 2) fwd128x64(const hyb::ScanArgs a) {
  hyb::ssd_chunk_kernel<128, 64, float, float, float, true>(a);
}

template <typename T> T *upload(const std::vector<T> &v) {
  T *d;
  CK(cudaMalloc(&d, std::max<size_t>(v.size(), 1) * sizeof(T)));
  CK(cudaMemcpy(d, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
  return d;
}
template <typename T> std::vector<T> download(const T *d, size_t n) {
  std::vector<T> v(n);
  CK(cudaMemcpy(v.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost));
  return v;
}

struct Problem {
  int B, L, H, P, G, N;
  std::vector<float> x, dt, aLog, d, bm, cm, dy, states;
  int nChunks() const { return (L + hyb::ssdChunkLen - 1) / hyb::ssdChunkLen; }
  Problem(int b, int l, int h, int p, int g, int n, unsigned seed, bool exactStates)
      : B(b), L(l), H(h), P(p), G(g), N(n) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.f, 1.f), pos(0.05f, 0.6f), al(-0.5f, 1.5f);
    auto fill = [&](std::vector<float> &v, size_t k, auto &dist) {
      v.resize(k);
      for (float &f : v)
        f = dist(rng);
    };
    fill(x, (size_t)B * L * H * P, u);
    fill(dy, (size_t)B * L * H * P, u);
    fill(dt, (size_t)B * L * H, pos);
    fill(aLog, H, al);
    fill(d, H, u);
    fill(bm, (size_t)B * L * G * N, u);
    fill(cm, (size_t)B * L * G * N, u);
    states.assign((size_t)B * H * nChunks() * P * N, 0.f);
    if (!exactStates) {
      fill(states, states.size(), u);
      return;
    }
    // The forward recurrence in double: the state entering every chunk.
    for (int bb = 0; bb < B; ++bb)
      for (int hh = 0; hh < H; ++hh) {
        const int gg = hh / (H / G);
        const double A = -std::exp((double)aLog[hh]);
        std::vector<double> st((size_t)P * N, 0.0);
        for (int l = 0; l < L; ++l) {
          if (l % hyb::ssdChunkLen == 0) {
            float *dst = &states[(((size_t)bb * H + hh) * nChunks() + l / hyb::ssdChunkLen) * P * N];
            for (size_t k = 0; k < st.size(); ++k)
              dst[k] = (float)st[k];
          }
          const double dtv = dt[((size_t)bb * L + l) * H + hh], dA = std::exp(dtv * A);
          for (int pp = 0; pp < P; ++pp)
            for (int nn = 0; nn < N; ++nn)
              st[pp * N + nn] = dA * st[pp * N + nn] +
                                dtv * x[(((size_t)bb * L + l) * H + hh) * P + pp] *
                                    bm[(((size_t)bb * L + l) * G + gg) * N + nn];
        }
      }
  }
};

struct DeviceRun {
  ScanGradArgs a{};
  size_t nx, nbc, nt;
  explicit DeviceRun(const Problem &p) {
    nx = p.x.size(), nbc = p.bm.size(), nt = p.dt.size();
    a.x = upload(p.x), a.dt = upload(p.dt), a.bm = upload(p.bm), a.cm = upload(p.cm);
    a.dy = upload(p.dy), a.aLog = upload(p.aLog), a.d = upload(p.d);
    a.chunkStates = upload(p.states);
    CK(cudaMalloc(&a.dx, nx * 4));
    CK(cudaMalloc(&a.ddt, nt * 4));
    CK(cudaMalloc(&a.dbm, nbc * 4));
    CK(cudaMalloc(&a.dcm, nbc * 4));
    CK(cudaMalloc(&a.daLog, p.H * 4));
    CK(cudaMalloc(&a.dd, p.H * 4));
    a.B = p.B, a.L = p.L, a.H = p.H, a.P = p.P, a.G = p.G;
    a.ldx = p.H * p.P, a.lddt = p.H, a.ldbc = p.G * p.N;
  }
  /// The forward on the device, storing the chunk states into a.chunkStates.
  void forward(void (*k)(const hyb::ScanArgs), int N, int P) {
    hyb::ScanArgs f{};
    f.x = a.x, f.dt = a.dt, f.bm = a.bm, f.cm = a.cm, f.aLog = a.aLog, f.d = a.d;
    CK(cudaMalloc(&f.y, nx * 4));
    f.B = a.B, f.L = a.L, f.H = a.H, f.P = a.P, f.G = a.G;
    f.ldx = a.ldx, f.lddt = a.lddt, f.ldbc = a.ldbc;
    f.dtLo = -INFINITY, f.dtHi = INFINITY;
    f.chunkStates = const_cast<float *>(a.chunkStates);
    const int smem = hyb::ssdChunkSmemBytes(N, P);  // one slice of all P channels
    CK(cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    k<<<dim3(a.H, a.B), hyb::ssdChunkThreads, smem>>>(f);
    CK(cudaDeviceSynchronize());
    CK(cudaFree(f.y));
  }
  void launch(void (*k)(const ScanGradArgs), int N, int P) {
    CK(cudaMemsetAsync(a.dbm, 0, nbc * 4));
    CK(cudaMemsetAsync(a.dcm, 0, nbc * 4));
    CK(cudaMemsetAsync(a.daLog, 0, a.H * 4));
    CK(cudaMemsetAsync(a.dd, 0, a.H * 4));
    const int smem = hyb::ssdChunkBwdSmemBytes(N, P);
    CK(cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    k<<<dim3(a.H, a.B), hyb::ssdChunkThreads, smem>>>(a);
  }
};

static double relErr(const std::vector<float> &got, const std::vector<float> &want) {
  return hybrid::bench::maxDiffOverMaxRef(got, want);
}

int main() {
  int fails = 0;
  struct Case {
    int B, L, H, P, G, N;
    void (*k)(const ScanGradArgs);
    void (*fwd)(const hyb::ScanArgs);  // null: the host's chunk states
    const char *name;
  } cases[] = {{2, 70, 4, 32, 2, 32, bwd32x32, nullptr, "N32 P32 B2 L70 G2 (ragged last chunk)"},
               {1, 100, 2, 64, 1, 128, bwd128x64, nullptr, "N128 P64 B1 L100"},
               {2, 70, 4, 32, 2, 32, bwd32x32, fwd32x32, "N32 P32 B2 L70 G2, states from the GPU"},
               {1, 100, 2, 64, 1, 128, bwd128x64, fwd128x64, "N128 P64 B1 L100, states from the GPU"}};
  for (const Case &c : cases) {
    Problem p(c.B, c.L, c.H, c.P, c.G, c.N, 31, true);
    const size_t nx = p.x.size(), nbc = p.bm.size();
    std::vector<float> rx(nx), rdt(p.dt.size()), raLog(c.H), rbm(nbc), rcm(nbc), rd(c.H);
    hybrid::reference::ssdChunkedGrad(p.x.data(), p.dt.data(), p.aLog.data(), p.bm.data(),
                                      p.cm.data(), p.d.data(), p.dy.data(), c.B, c.L, c.H, c.P,
                                      c.G, c.N, hyb::ssdChunkLen, rx.data(), rdt.data(),
                                      raLog.data(), rbm.data(), rcm.data(), rd.data());
    DeviceRun run(p);
    double stateErr = 0;
    if (c.fwd) {  // replace the host states by the forward kernel's (tf32 inputs)
      CK(cudaMemset(const_cast<float *>(run.a.chunkStates), 0xff, p.states.size() * 4));
      run.forward(c.fwd, c.N, c.P);
      stateErr = relErr(download(run.a.chunkStates, p.states.size()), p.states);
    }
    run.launch(c.k, c.N, c.P);
    CK(cudaDeviceSynchronize());
    const double e[6] = {relErr(download(run.a.dx, nx), rx),
                         relErr(download(run.a.ddt, p.dt.size()), rdt),
                         relErr(download(run.a.dbm, nbc), rbm),
                         relErr(download(run.a.dcm, nbc), rcm),
                         relErr(download(run.a.daLog, c.H), raLog),
                         relErr(download(run.a.dd, c.H), rd)};
    const double worst = *std::max_element(e, e + 6);
    // fp32 accumulation; with the GPU's states also their tf32 inputs (~5e-4).
    const bool ok = worst <= (c.fwd ? 3e-3 : 1e-3) && stateErr <= 2e-3;
    std::printf("%s %-46s dx %.1e ddt %.1e dB %.1e dC %.1e daLog %.1e dD %.1e states %.1e\n",
                ok ? "PASS" : "FAIL", c.name, e[0], e[1], e[2], e[3], e[4], e[5], stateErr);
    fails += !ok;
  }
  {  // Timing (random states: the values do not change the work).
    Problem p(8, 2048, 32, 64, 1, 128, 7, false);
    DeviceRun run(p);
    const double ms =
        hybrid::bench::medianMs([&](int) { run.launch(bwd128x64, 128, 64); }, 1, 5);
    std::printf("BENCH ssd backward v0 B8 L2048 H32 P64 N128: %.3f ms (peer mamba_ssm fwd+bwd "
                "3.37 ms; our forward 0.45 ms)\n",
                ms);
  }
  std::printf("ssd_chunk_bwd: %d failed\n", fails);
  return fails ? 1 : 0;
}
