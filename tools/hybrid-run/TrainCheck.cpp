//===- TrainCheck.cpp - hybrid-run train-check and train-bench ------------===//
//
// train-check: the GPU's train_step against the CPU reference on the same
// bf16-rounded weights and the same batch: the loss and, per weight, the
// gradient's max|gpu - cpu| / max|cpu|. The CPU (fp32, double sums) is the
// oracle; the GPU computes with bf16 GEMM operands.
// train-bench: optimizer steps (train_step + AdamW) on the GPU at a batch
// shape, timed after warm-up: tokens/s, ms/step, achieved TFLOP/s against
// 6 x params x tokens, device memory; JSON with --json.
//
//===----------------------------------------------------------------------===//
#include "tools/hybrid-run/TrainCheck.h"

#include "runtime/exec/DeviceBackend.h"
#include "runtime/exec/Train.h"
#include "runtime/io/Json.h"
#include "runtime/support/FileUtil.h"
#include "runtime/train/Optimizer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

namespace hybrid {
namespace {

struct Options {
  std::string model;
  uint64_t seed = 0;
  int64_t batch = 2, seq = 64, steps = 10, warmup = 2;
  double tolerance = 2e-2;
  std::string json;
};

int usage(const char *cmd) {
  std::fprintf(stderr,
               "usage: hybrid-run %s MODEL.hyb [--random-weights SEED] [--batch B] [--seq L]\n"
               "  train-check: [--tolerance X] (default 2e-2: bf16 GEMM operands)\n"
               "  train-bench: [--steps N] [--warmup N] [--json FILE]\n"
               "MODEL.hyb compiled with `hybridc compile --train --target cuda`.\n",
               cmd);
  return 2;
}

StatusOr<Options> parse(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> StatusOr<std::string> {
      if (i + 1 >= argc)
        return HYBRID_ERROR(a, " needs a value");
      return std::string(argv[++i]);
    };
    auto number = [&](double lo) -> StatusOr<double> {
      HYBRID_ASSIGN_OR_RETURN(std::string v, value());
      char *end = nullptr;
      double d = std::strtod(v.c_str(), &end);
      if (!end || *end || !(d >= lo))
        return HYBRID_ERROR(a, " needs a number >= ", lo, ", got '", v, "'");
      return d;
    };
    if (a == "--random-weights") {
      HYBRID_ASSIGN_OR_RETURN(double v, number(0));
      o.seed = static_cast<uint64_t>(v);
    } else if (a == "--batch") {
      HYBRID_ASSIGN_OR_RETURN(double v, number(1));
      o.batch = static_cast<int64_t>(v);
    } else if (a == "--seq") {
      HYBRID_ASSIGN_OR_RETURN(double v, number(1));
      o.seq = static_cast<int64_t>(v);
    } else if (a == "--steps") {
      HYBRID_ASSIGN_OR_RETURN(double v, number(1));
      o.steps = static_cast<int64_t>(v);
    } else if (a == "--warmup") {
      HYBRID_ASSIGN_OR_RETURN(double v, number(0));
      o.warmup = static_cast<int64_t>(v);
    } else if (a == "--tolerance") {
      HYBRID_ASSIGN_OR_RETURN(o.tolerance, number(0));
    } else if (a == "--json") {
      HYBRID_ASSIGN_OR_RETURN(o.json, value());
    } else if (!a.empty() && a[0] == '-') {
      return HYBRID_ERROR("unknown option '", a, "'");
    } else if (o.model.empty()) {
      o.model = a;
    } else {
      return HYBRID_ERROR("unexpected argument '", a, "'");
    }
  }
  if (o.model.empty())
    return HYBRID_ERROR("no MODEL.hyb given");
  return o;
}

/// Token ids and next-token labels of a seeded random batch.
void randomBatch(uint64_t seed, int64_t n, int64_t vocab, std::vector<int32_t> *ids,
                 std::vector<int32_t> *labels, int64_t seq) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  ids->resize(n);
  labels->resize(n);
  for (int64_t i = 0; i < n; ++i) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    (*ids)[i] = static_cast<int32_t>((s >> 33) % static_cast<uint64_t>(vocab));
  }
  for (int64_t i = 0; i < n; ++i)  // the next id; the last position of a row is ignored
    (*labels)[i] = (i + 1) % seq == 0 ? -1 : (*ids)[i + 1];
}

int fail(const Status &s) {
  std::fprintf(stderr, "error: %s\n", s.toString().c_str());
  return 1;
}

} // namespace

int runTrainCheckCommand(int argc, char **argv) {
  auto o = parse(argc, argv);
  if (!o.ok()) {
    std::fprintf(stderr, "error: %s\n", o.status().message().c_str());
    return usage("train-check");
  }
  auto model = Model::loadWithRandomWeights(o->model, o->seed);
  if (!model.ok())
    return fail(model.status());
  (*model)->roundToBf16Storage();  // both executors on the weights the GPU holds
  std::vector<int32_t> ids, labels;
  const int64_t T = o->batch * o->seq;
  randomBatch(o->seed + 1, T, (*model)->vocab(), &ids, &labels, o->seq);
  Gradients cpu;
  auto cpuLoss = runTrainStep(**model, ids.data(), labels.data(), o->batch, o->seq, &cpu);
  if (!cpuLoss.ok())
    return fail(cpuLoss.status());
  auto trainer = createCudaTrainerDynamic(**model, o->batch);
  if (!trainer.ok())
    return fail(trainer.status());
  auto gpuLoss = (*trainer)->step(ids.data(), labels.data(), o->seq, false);
  if (!gpuLoss.ok())
    return fail(gpuLoss.status());
  std::vector<std::vector<float>> gpu;
  Status st = (*trainer)->gradients(&gpu);
  if (!st.ok())
    return fail(st);
  const auto &weights = *(*model)->artifact().root().weights();
  std::printf("train-check %s on %s: batch %lld x seq %lld, loss cpu %.6f gpu %.6f (rel %.2e)\n",
              o->model.c_str(), (*trainer)->deviceName().c_str(), (long long)o->batch,
              (long long)o->seq, *cpuLoss, *gpuLoss,
              std::fabs(*gpuLoss - *cpuLoss) / std::max(1e-12, std::fabs(*cpuLoss)));
  double worst = std::fabs(*gpuLoss - *cpuLoss) / std::max(1e-12, std::fabs(*cpuLoss));
  std::string worstName = "loss";
  int failed = worst > o->tolerance;
  // The GPU's GEMMs read bf16 activations (relative error ~4e-3 each). A
  // weight gradient that is a sum over every token with heavy cancellation
  // (a Mamba head's D, dt_bias, A_log) can be orders of magnitude below its
  // terms, and its error is that of the terms: such tensors are judged
  // against 1e-2 of the largest gradient of their layer ("layers.N.", or the
  // whole model outside the layers) instead of their own maximum.
  auto groupOf = [&](size_t i) {
    const std::string n = weights.Get(static_cast<uint32_t>(i))->name()->str();
    if (n.rfind("layers.", 0) != 0)
      return std::string();
    size_t dot = n.find('.', 7);
    return n.substr(0, dot == std::string::npos ? n.size() : dot + 1);
  };
  std::map<std::string, double> groupMax;  // "" : the whole model
  for (size_t i = 0; i < cpu.byWeight.size(); ++i) {
    double &g = groupMax[groupOf(i)], &all = groupMax[""];
    for (float v : cpu.byWeight[i])
      g = std::max(g, std::fabs((double)v)), all = std::max(all, std::fabs((double)v));
  }
  for (size_t i = 0; i < cpu.byWeight.size(); ++i) {
    const std::vector<float> &c = cpu.byWeight[i];
    if (c.empty())
      continue;
    const std::string name = weights.Get(static_cast<uint32_t>(i))->name()->str();
    if (i >= gpu.size() || gpu[i].size() != c.size()) {
      std::printf("FAIL %-40s no GPU gradient\n", name.c_str());
      ++failed;
      continue;
    }
    double maxRef = 0, maxDiff = 0;
    for (size_t k = 0; k < c.size(); ++k) {
      maxRef = std::max(maxRef, std::fabs((double)c[k]));
      double d = std::fabs((double)gpu[i][k] - c[k]);
      maxDiff = std::max(maxDiff, std::isnan(d) ? INFINITY : d);
    }
    const double floor = 1e-2 * groupMax[groupOf(i)];
    const double rel = maxDiff / std::max({maxRef, floor, 1e-30});
    const bool ok = rel <= o->tolerance;
    failed += !ok;
    if (rel > worst)
      worst = rel, worstName = name;
    std::printf("%s %-40s max|gpu-cpu| %.3e  max|cpu| %.3e  rel %.2e%s\n", ok ? "ok  " : "FAIL",
                name.c_str(), maxDiff, maxRef, rel,
                floor > maxRef ? strCat(" (vs 1e-2 of the layer's largest gradient; ",
                                        maxDiff / std::max(maxRef, 1e-30), " of its own)")
                                     .c_str()
                               : "");
  }
  std::printf("train-check: %d of %zu gradients above %.1e; worst %s at %.2e\n", failed,
              cpu.byWeight.size(), o->tolerance, worstName.c_str(), worst);
  return failed ? 1 : 0;
}

int runTrainBenchCommand(int argc, char **argv) {
  auto o = parse(argc, argv);
  if (!o.ok()) {
    std::fprintf(stderr, "error: %s\n", o.status().message().c_str());
    return usage("train-bench");
  }
  auto model = Model::loadWithRandomWeights(o->model, o->seed);
  if (!model.ok())
    return fail(model.status());
  auto trainer = createCudaTrainerDynamic(**model, o->batch);
  if (!trainer.ok())
    return fail(trainer.status());
  std::vector<int32_t> ids, labels;
  const int64_t T = o->batch * o->seq;
  randomBatch(o->seed + 1, T, (*model)->vocab(), &ids, &labels, o->seq);
  double params = 0;
  for (size_t i = 0; i < (*model)->artifact().root().weights()->size(); ++i)
    params += (double)(*model)->weight((int)i).size();
  std::vector<bool> decay;
  for (const auto *w : *(*model)->artifact().root().weights())
    decay.push_back(isDecayed(w->name()->str()));
  std::vector<double> ms, updMs;
  double loss = 0;
  for (int64_t s = 0; s < o->warmup + o->steps; ++s) {
    auto t0 = std::chrono::steady_clock::now();
    auto l = (*trainer)->step(ids.data(), labels.data(), o->seq, false);  // returns synchronized
    if (!l.ok())
      return fail(l.status());
    auto t1 = std::chrono::steady_clock::now();
    DeviceAdamW u;
    u.lr = 1e-4, u.t = s + 1, u.decay = decay;
    auto norm = (*trainer)->update(u);  // returns after the device finished
    if (!norm.ok())
      return fail(norm.status());
    auto t2 = std::chrono::steady_clock::now();
    loss = *l;
    if (s >= o->warmup) {
      ms.push_back(std::chrono::duration<double, std::milli>(t2 - t0).count());
      updMs.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
    }
  }
  std::sort(ms.begin(), ms.end());
  std::sort(updMs.begin(), updMs.end());
  const double med = ms[ms.size() / 2];
  const double tokS = (double)T / (med / 1e3);
  const double tflops = 6.0 * params * (double)T / (med / 1e3) / 1e12;
  const double memGB = (*trainer)->deviceBytes() / 1e9;
  std::printf("train-bench %s on %s: batch %lld x seq %lld, %.1fM params: %.2f ms/step "
              "(median of %lld), %.1fK tok/s, %.0f TFLOP/s (6 x params x tokens; 989 dense "
              "bf16 peak; AdamW + clipping %.2f ms of it), %.1f GB device memory, last loss "
              "%.4f\n",
              o->model.c_str(), (*trainer)->deviceName().c_str(), (long long)o->batch,
              (long long)o->seq, params / 1e6, med, (long long)ms.size(), tokS / 1e3, tflops,
              updMs[updMs.size() / 2], memGB, loss);
  if (!o->json.empty()) {
    std::string j = strCat("{\"model\": ", jsonQuote(o->model), ", \"device\": ",
                           jsonQuote((*trainer)->deviceName()), ", \"batch\": ", o->batch,
                           ", \"seq\": ", o->seq, ", \"params\": ", params, ", \"ms_per_step\": ",
                           med, ", \"tok_per_s\": ", tokS, ", \"tflops\": ", tflops,
                           ", \"device_gb\": ", memGB, "}\n");
    Status st = writeFileAtomic(o->json, j.data(), j.size());
    if (!st.ok())
      return fail(st);
  }
  return 0;
}

} // namespace hybrid
