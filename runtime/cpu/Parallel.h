//===- Parallel.h - Split independent rows over the CPU cores ---*- C++ -*-===//
//
// parallelFor(n, work, f) calls f(begin, end) on disjoint ranges covering
// [0, n), on up to HYBRIDC_THREADS (default: every core) threads when the
// work is large enough to pay for them. Every index is computed by exactly
// one thread with the same arithmetic, so results do not depend on the
// thread count.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_RUNTIME_CPU_PARALLEL_H
#define HYBRID_RUNTIME_CPU_PARALLEL_H

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <thread>
#include <vector>

namespace hybrid::cpu {

inline int cpuThreads() {
  static const int n = [] {
    if (const char *env = std::getenv("HYBRIDC_THREADS")) {
      int v = std::atoi(env);
      if (v > 0)
        return v;
    }
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }();
  return n;
}

/// `work`: multiply-adds of the whole loop; below ~1M one thread does it all.
template <typename F> void parallelFor(int64_t n, double work, F &&f) {
  int threads = static_cast<int>(std::min<int64_t>(cpuThreads(), n));
  if (threads <= 1 || work < 1e6) {
    f(int64_t(0), n);
    return;
  }
  std::vector<std::thread> pool;
  int64_t chunk = (n + threads - 1) / threads;
  for (int i = 1; i < threads; ++i) {
    int64_t b = i * chunk, e = std::min(n, b + chunk);
    if (b < e)
      pool.emplace_back([&f, b, e] { f(b, e); });
  }
  f(int64_t(0), std::min(n, chunk));
  for (std::thread &t : pool)
    t.join();
}

} // namespace hybrid::cpu

#endif // HYBRID_RUNTIME_CPU_PARALLEL_H
