//===- gradcheck.cpp - Model-level gradient check (test helper) -----------===//
//
//   gradcheck model.hyb [--seed S] [--samples K] [--batch B] [--seq L]
// Runs the artifact's train_step on random tokens with seeded random weights
// and compares the gradient of K random elements of every weight with a
// Richardson-extrapolated central difference of the fp32 forward loss,
// fd = (4 D(h/2) - D(h)) / 3 with D(h) = (L(w + h) - L(w - h)) / 2h and
// h = 2e-3 max(1, |w|): its truncation error is O(h^4) (plain central
// differences were off by 10% on conv biases of freshly initialised Mamba
// layers, whose loss curves sharply). The forward runs in fp32 (double
// accumulation, one rounding per op), so the loss carries a relative noise
// of about eps = 3e-7 and fd an absolute noise of about 3 eps |L| / h. We
// require, per weight and over all samples,
//   ||fd - grad|| <= tol ||fd|| + 4 sqrt(K) noise
// with tol = 0.1 per weight and 2e-2 overall. Prints one line per weight and
// the totals; exit 1 on failure.
//
//===----------------------------------------------------------------------===//
#include "runtime/exec/Train.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

using namespace hybrid;

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: gradcheck model.hyb [--seed S] [--samples K] [--batch B] [--seq L]\n");
    return 2;
  }
  uint64_t seed = 5;
  int samples = 4, B = 2, L = 9;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--seed"))
      seed = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--samples"))
      samples = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--batch"))
      B = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--seq"))
      L = std::atoi(argv[i + 1]);
  }
  auto loaded = Model::loadWithRandomWeights(argv[1], seed);
  if (!loaded.ok()) {
    std::fprintf(stderr, "gradcheck: %s\n", loaded.status().toString().c_str());
    return 1;
  }
  Model &model = **loaded;
  std::mt19937_64 rng(seed);
  std::vector<int32_t> ids(B * L), labels(B * L);
  for (int i = 0; i < B * L; ++i) {
    ids[i] = static_cast<int32_t>(rng() % model.vocab());
    labels[i] = i % 7 == 3 ? -1 : static_cast<int32_t>(rng() % model.vocab()); // some ignored
  }
  Gradients grads;
  auto loss = runTrainStep(model, ids.data(), labels.data(), B, L, &grads);
  if (!loss.ok()) {
    std::fprintf(stderr, "gradcheck: %s\n", loss.status().toString().c_str());
    return 1;
  }
  auto eval = [&]() {
    auto l = evalLoss(model, ids.data(), labels.data(), B, L);
    return l.ok() ? *l : NAN;
  };
  const auto *ws = model.artifact().root().weights();
  double totalDiff = 0, totalRef = 0;
  const double noise = 3 * 3e-7 * std::fabs(*loss) / 2e-3;
  int totalSamples = 0;
  bool ok = true;
  for (uint32_t w = 0; w < ws->size(); ++w) {
    std::vector<float> &W = model.weight(w);
    double diff = 0, ref = 0, an = 0;
    for (int k = 0; k < samples; ++k) {
      size_t i = rng() % W.size();
      float orig = W[i];
      double h = 2e-3 * std::max(1.0, std::fabs(double(orig)));
      auto central = [&](double step) {
        W[i] = static_cast<float>(orig + step);
        double hp = double(W[i]) - orig, lp = eval();
        W[i] = static_cast<float>(orig - step);
        double hm = orig - double(W[i]), lm = eval();
        W[i] = orig;
        return (lp - lm) / (hp + hm);
      };
      double fd = (4 * central(h / 2) - central(h)) / 3, g = grads.byWeight[w][i];
      diff += (fd - g) * (fd - g);
      ref += fd * fd;
      an += g * g;
    }
    double rel = std::sqrt(diff) / std::max(std::sqrt(ref), 1e-12);
    bool pass = std::sqrt(diff) <= 0.1 * std::sqrt(ref) + 4 * std::sqrt(double(samples)) * noise;
    totalSamples += samples;
    ok &= pass;
    totalDiff += diff;
    totalRef += ref;
    std::printf("%-40s |fd| %.3e |grad| %.3e rel %.3e%s\n", ws->Get(w)->name()->c_str(),
                std::sqrt(ref), std::sqrt(an), rel, pass ? "" : "  FAIL");
  }
  double total = std::sqrt(totalDiff) / std::max(std::sqrt(totalRef), 1e-12);
  ok &= std::sqrt(totalDiff) <=
        2e-2 * std::sqrt(totalRef) + 4 * std::sqrt(double(totalSamples)) * noise;
  std::printf("loss %.6f; weights %u; normwise error %.3e (limit 2e-2 + noise %.1e): %s\n",
              *loss, ws->size(), total, noise, ok ? "ok" : "FAIL");
  return ok ? 0 : 1;
}
