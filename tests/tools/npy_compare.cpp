//===- npy_compare.cpp - Compare two float32 .npy files (test helper) -----===//
//
//   npy-compare GOT.npy WANT.npy [--max-rel R]
// Prints the shapes, the max absolute difference and the relative error
// max|got - want| / max|want| (the error relative to the largest reference
// magnitude: element-wise ratios are meaningless for logits near zero).
// Exits 1 when the shapes differ or the relative error exceeds R (1e-4).
//
//===----------------------------------------------------------------------===//
#include "runtime/support/FileUtil.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char **argv) {
  if (argc != 3 && !(argc == 5 && std::strcmp(argv[3], "--max-rel") == 0)) {
    std::fprintf(stderr, "usage: npy-compare GOT.npy WANT.npy [--max-rel R]\n");
    return 2;
  }
  double maxRel = argc == 5 ? std::atof(argv[4]) : 1e-4;
  std::vector<int64_t> sa, sb;
  auto a = hybrid::readNpyFloat32(argv[1], &sa);
  auto b = hybrid::readNpyFloat32(argv[2], &sb);
  if (!a.ok() || !b.ok()) {
    std::fprintf(stderr, "npy-compare: %s\n",
                 (!a.ok() ? a.status() : b.status()).toString().c_str());
    return 1;
  }
  if (sa != sb) {
    std::fprintf(stderr, "npy-compare: shapes differ\n");
    return 1;
  }
  double maxAbs = 0, maxRef = 0;
  for (size_t i = 0; i < a->size(); ++i) {
    double d = std::fabs(double((*a)[i]) - (*b)[i]);
    if (!(d <= maxAbs))  // also catches NaN
      maxAbs = std::isnan(d) ? INFINITY : d;
    maxRef = std::fmax(maxRef, std::fabs((*b)[i]));
  }
  double rel = maxRef > 0 ? maxAbs / maxRef : maxAbs;
  std::printf("shape [");
  for (size_t i = 0; i < sa.size(); ++i)
    std::printf("%s%lld", i ? ", " : "", (long long)sa[i]);
  std::printf("] max_abs %.3g max_rel %.3g (limit %.3g): %s\n", maxAbs, rel, maxRel,
              rel <= maxRel ? "ok" : "FAIL");
  return rel <= maxRel ? 0 : 1;
}
