//===- Bench.cpp - hybrid-run bench: prefill and decode throughput --------===//
//
//   hybrid-run bench model.hyb (--random-weights SEED | --weights W)
//       [--batch B] [--seq L] [--decode-tokens N] [--reps R] [--device cuda]
//       [--json FILE]
//
// Prefill of B x L tokens and decode steps at context L, timed with CUDA
// events (median of R runs after warm-up). Prints tok/s, ms/token and the
// achieved TFLOP/s and GB/s against the H100 ceilings of
// shared/PERFORMANCE.md (781 TFLOP/s bf16 GEMM, 2.95 TB/s copy).
//
//===----------------------------------------------------------------------===//
#include "tools/hybrid-run/Bench.h"

#include "codegen/KernelPlan.h"
#include "runtime/exec/DeviceBackend.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>

namespace hybrid {

StatusOr<std::unique_ptr<Session>> createDeviceSession(const Model &model, int64_t batch) {
  return createCudaSessionDynamic(model, batch);
}

namespace {
constexpr double kPeakTflops = 781.0;  // bf16 GEMM 8192^3 on the H100 (PERFORMANCE.md)
constexpr double kPeakGBs = 2950.0;    // device-to-device copy, read + write

struct Work {
  double gemmFlopsPerToken = 0;  // 2 * N * K over every GEMM weight
  double attnFlopsPerPair = 0;   // 4 * heads * head_dim per (query, key) pair, all layers
  double scanFlopsPerToken = 0;  // ~6 * H * P * N per Mamba-2 layer
  double decodeWeightBytes = 0;  // bytes of weights one decode step reads
};

Work countWork(const Model &m) {
  Work w;
  const hyb::Artifact &a = m.artifact().root();
  const hyb::Program *p = m.artifact().program("decode");
  codegen::ProgramView pv(a, *p);
  std::set<int> gemmW, otherW;
  for (const hyb::Instr *in : *p->instrs()) {
    std::string op = in->op()->str();
    codegen::InstrAttrs at{*in};
    bool gemm = op == "linear" || op == "lm_head" || op == "linear_group" || op == "linear_sum" ||
                op == "fused_linear" || op == "swiglu_linear";
    for (int32_t id : *in->inputs()) {
      if (!pv.isWeight(id))
        continue;
      int wi = pv.val(pv.root(id))->weight();
      if (gemm && pv.shape(id).size() == 2)
        gemmW.insert(wi);
      else if (op != "embedding")
        otherW.insert(wi);
    }
    if (op == "rope_attention" || op == "attention") {
      auto q = pv.shape(in->inputs()->Get(0));
      w.attnFlopsPerPair += 4.0 * q[0] * q[1];
    }
    if (op == "mamba2_core")
      w.scanFlopsPerToken += 6.0 * at.i("heads", 0) * at.i("head_dim", 0) * at.i("state", 0);
  }
  for (int wi : gemmW) {
    const auto *s = a.weights()->Get(wi)->shape();
    w.gemmFlopsPerToken += 2.0 * s->Get(0) * s->Get(1);
    w.decodeWeightBytes += 2.0 * s->Get(0) * s->Get(1);
  }
  for (int wi : otherW) {
    double n = 1;
    for (int64_t d : *a.weights()->Get(wi)->shape())
      n *= d;
    w.decodeWeightBytes += 4.0 * n;
  }
  return w;
}

int usage() {
  std::fprintf(stderr, "usage: hybrid-run bench MODEL.hyb (--random-weights SEED | --weights W)\n"
                       "       [--batch B (1)] [--seq L (2048)] [--decode-tokens N (64)]\n"
                       "       [--reps R (10)] [--device cuda] [--json FILE]\n");
  return 2;
}
} // namespace

int runBenchCommand(int argc, char **argv) {
  std::string model, weights, json, device = "cuda";
  long long seed = -1, batch = 1, seq = 2048, decodeTokens = 64, reps = 10;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char * { return i + 1 < argc ? argv[++i] : nullptr; };
    const char *v = nullptr;
    if (a == "--random-weights" && (v = next()))
      seed = std::atoll(v);
    else if (a == "--weights" && (v = next()))
      weights = v;
    else if (a == "--batch" && (v = next()))
      batch = std::atoll(v);
    else if (a == "--seq" && (v = next()))
      seq = std::atoll(v);
    else if (a == "--decode-tokens" && (v = next()))
      decodeTokens = std::atoll(v);
    else if (a == "--reps" && (v = next()))
      reps = std::atoll(v);
    else if (a == "--device" && (v = next()))
      device = v;
    else if (a == "--json" && (v = next()))
      json = v;
    else if (a[0] != '-' && model.empty())
      model = a;
    else
      return usage();
  }
  if (model.empty() || weights.empty() == (seed < 0) || batch < 1 || seq < 2 || reps < 1)
    return usage();
  if (device != "cuda") {
    std::fprintf(stderr, "hybrid-run: error: bench times the CUDA executor: use --device cuda\n");
    return 2;
  }
  auto m = weights.empty() ? Model::loadWithRandomWeights(model, (uint64_t)seed)
                           : Model::load(model, weights);
  if (!m.ok()) {
    std::fprintf(stderr, "hybrid-run: error: %s\n", m.status().toString().c_str());
    return 1;
  }
  if (seq + 1 > (*m)->maxContext()) {
    std::fprintf(stderr, "hybrid-run: error: --seq %lld leaves no room to decode (max context %lld)\n",
                 seq, (long long)(*m)->maxContext());
    return 1;
  }
  auto r = cudaBenchDynamic(**m, batch, seq, decodeTokens, (int)reps);
  if (!r.ok()) {
    std::fprintf(stderr, "hybrid-run: error: %s\n", r.status().toString().c_str());
    return 1;
  }
  Work w = countWork(**m);
  const double tokens = (double)batch * seq;
  const double preFlops = w.gemmFlopsPerToken * tokens +
                          w.attnFlopsPerPair * batch * (double)seq * (seq + 1) / 2 +
                          w.scanFlopsPerToken * tokens;
  const double preTokS = tokens / (r->prefillMs * 1e-3);
  const double preTflops = preFlops / (r->prefillMs * 1e-3) / 1e12;
  const double decBytes = w.decodeWeightBytes + r->decodeCacheBytes;
  const double decTokS = batch / (r->decodeMsPerToken * 1e-3);
  const double decGBs = decBytes / (r->decodeMsPerToken * 1e-3) / 1e9;
  const double decFloor = decBytes / (kPeakGBs * 1e9) * 1e3;
  std::printf("bench %s on %s: batch %lld, context %lld, %lld reps (median, CUDA events)\n",
              model.c_str(), r->device.c_str(), batch, seq, reps);
  std::printf("  prefill %lld tok: %9.3f ms  %10.0f tok/s  %6.1f TFLOP/s (%4.1f%% of %.0f)\n",
              (long long)tokens, r->prefillMs, preTokS, preTflops, 100 * preTflops / kPeakTflops,
              kPeakTflops);
  std::printf("  decode  1 tok/seq: %7.4f ms/token %8.0f tok/s  %6.0f GB/s (%4.1f%% of %.0f), "
              "byte floor %.4f ms (%.1f MB/token)\n",
              r->decodeMsPerToken, decTokS, decGBs, 100 * decGBs / kPeakGBs, kPeakGBs, decFloor,
              decBytes / 1e6);
  if (!json.empty()) {
    std::ofstream f(json);
    f << "{\"model\": \"" << model << "\", \"device\": \"" << r->device << "\", \"batch\": " << batch
      << ", \"seq\": " << seq << ", \"reps\": " << reps << ", \"prefill_ms\": " << r->prefillMs
      << ", \"prefill_tok_s\": " << preTokS << ", \"prefill_tflops\": " << preTflops
      << ", \"decode_ms_per_token\": " << r->decodeMsPerToken << ", \"decode_tok_s\": " << decTokS
      << ", \"decode_gb_s\": " << decGBs << ", \"decode_bytes_per_token\": " << decBytes
      << ", \"peak_tflops\": " << kPeakTflops << ", \"peak_gb_s\": " << kPeakGBs << "}\n";
  }
  return 0;
}

} // namespace hybrid
