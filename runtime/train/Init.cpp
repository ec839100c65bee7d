//===- Init.cpp - Reference initialisation of a model's weights -----------===//
#include "runtime/train/Init.h"

#include "runtime/exec/Executor.h"
#include "runtime/support/Sampling.h"

#include <algorithm>
#include <cmath>

namespace hybrid {
namespace {

bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// The last path component: "layers.3.mamba.A_log" -> "A_log".
std::string leaf(const std::string &name) {
  size_t dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

/// FNV-1a of the name mixed into the seed: one independent stream per tensor.
uint64_t tensorSeed(uint64_t seed, const std::string &name) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : name)
    h = (h ^ c) * 0x100000001b3ull;
  return seed * 0x9E3779B97F4A7C15ull ^ h;
}

} // namespace

InitKind initKindFor(const std::string &name) {
  std::string last = leaf(name);
  if (last == "A_log")
    return InitKind::ALog;
  if (last == "dt_bias")
    return InitKind::DtBias;
  if (last == "D")
    return InitKind::One;
  if (endsWith(name, "conv1d.weight"))
    return InitKind::ConvWeight;
  if (endsWith(name, "_bias") || endsWith(name, ".bias"))
    return InitKind::Zero;
  if (name.find("norm") != std::string::npos)
    return InitKind::One;
  if (endsWith(name, "attn.o") || endsWith(name, "mamba.out_proj") ||
      endsWith(name, "mix.out_proj") || endsWith(name, "ffn.down"))
    return InitKind::ResidualNormal;
  return InitKind::Normal;
}

void initTensor(const std::string &name, const std::vector<int64_t> &shape, int64_t layers,
                uint64_t seed, std::vector<float> *out) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  out->assign(static_cast<size_t>(std::max<int64_t>(n, 0)), 0.f);
  Rng rng(tensorSeed(seed, name));
  auto normal = [&rng]() { // Box-Muller; 1 - u keeps the log finite
    double u1 = 1.0 - rng.uniform(), u2 = rng.uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  };
  switch (initKindFor(name)) {
  case InitKind::Normal:
  case InitKind::ResidualNormal: {
    double std = 0.02;
    if (initKindFor(name) == InitKind::ResidualNormal)
      std /= std::sqrt(2.0 * static_cast<double>(std::max<int64_t>(layers, 1)));
    for (float &x : *out)
      x = static_cast<float>(std * normal());
    break;
  }
  case InitKind::One:
    std::fill(out->begin(), out->end(), 1.f);
    break;
  case InitKind::Zero:
    break;
  case InitKind::ALog: // A ~ U[1, 16], stored as log(A)
    for (float &x : *out)
      x = static_cast<float>(std::log(1.0 + 15.0 * rng.uniform()));
    break;
  case InitKind::DtBias: // dt log-uniform in [1e-3, 1e-1]; dt_bias = dt + log(1 - e^-dt)
    for (float &x : *out) {
      double dt = std::exp(std::log(1e-3) + rng.uniform() * (std::log(1e-1) - std::log(1e-3)));
      dt = std::max(dt, 1e-4);
      x = static_cast<float>(dt + std::log(-std::expm1(-dt)));
    }
    break;
  case InitKind::ConvWeight: { // [C, 1, K]: fan-in K (depthwise)
    double k = shape.empty() ? 1.0 : static_cast<double>(std::max<int64_t>(shape.back(), 1));
    double bound = 1.0 / std::sqrt(k);
    for (float &x : *out)
      x = static_cast<float>(bound * (2.0 * rng.uniform() - 1.0));
    break;
  }
  }
}

void initWeights(Model &model, uint64_t seed) {
  const auto *ws = model.artifact().root().weights();
  int64_t layers = model.artifact().model().layers();
  for (uint32_t i = 0; i < ws->size(); ++i) {
    const hyb::Weight *w = ws->Get(i);
    std::vector<int64_t> shape(w->shape()->begin(), w->shape()->end());
    initTensor(w->name()->str(), shape, layers, seed, &model.weight(static_cast<int>(i)));
  }
}

} // namespace hybrid
