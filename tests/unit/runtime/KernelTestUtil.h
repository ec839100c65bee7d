//===- KernelTestUtil.h - Helpers of the CPU kernel tests -------*- C++ -*-===//
//
// Random tensors, OpContext building blocks and the error measure shared by
// CpuKernelsTest, FusedOpsTest and FusedGradTest.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRID_TESTS_UNIT_RUNTIME_KERNELTESTUTIL_H
#define HYBRID_TESTS_UNIT_RUNTIME_KERNELTESTUTIL_H

#include "runtime/exec/OpContext.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace hybrid::ktest {

using Vec = std::vector<float>;

inline Vec randn(size_t n, std::mt19937 &rng, double stddev = 1.0) {
  std::normal_distribution<double> dist(0.0, stddev);
  Vec v(n);
  for (auto &x : v)
    x = static_cast<float>(dist(rng));
  return v;
}

/// max_i |a_i - b_i| / max(|b_i|, 1e-2 * max|b|): relative where b is not
/// tiny, absolute (scaled to b's magnitude) where it is.
inline double maxRelErr(const Vec &a, const Vec &b) {
  EXPECT_EQ(a.size(), b.size());
  double mx = 0.0, err = 0.0;
  for (float v : b)
    mx = std::max(mx, std::fabs(static_cast<double>(v)));
  double floor = std::max(1e-2 * mx, 1e-30);
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    err = std::max(err, std::fabs(static_cast<double>(a[i]) - b[i]) /
                            std::max(std::fabs(static_cast<double>(b[i])), floor));
  return err;
}

inline TensorRef ref(Vec &v, std::vector<int64_t> shape) {
  TensorRef t;
  t.data = v.data();
  t.shape = std::move(shape);
  return t;
}

inline AttrValue f64(double v) {
  AttrValue a;
  a.kind = AttrValue::Float;
  a.f = v;
  return a;
}
inline AttrValue i64(int64_t v) {
  AttrValue a;
  a.kind = AttrValue::Int;
  a.i = v;
  return a;
}
inline AttrValue floats(std::vector<double> v) {
  AttrValue a;
  a.kind = AttrValue::Floats;
  a.floats = std::move(v);
  return a;
}
inline AttrValue ints(std::vector<int64_t> v) {
  AttrValue a;
  a.kind = AttrValue::Ints;
  a.ints = std::move(v);
  return a;
}
inline AttrValue str(const std::string &s) {
  AttrValue a;
  a.kind = AttrValue::Str;
  a.s = s;
  return a;
}

} // namespace hybrid::ktest

#endif // HYBRID_TESTS_UNIT_RUNTIME_KERNELTESTUTIL_H
