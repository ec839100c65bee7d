//===- hybrid-run.cpp - Run a compiled .hyb model -------------------------===//
//
//   hybrid-run generate model.hyb (--weights W.safetensors | --random-weights SEED)
//              (--prompt TEXT | --prompt-ids 1,2,3) [--max-new-tokens N] [--greedy]
//              [--temperature T] [--top-k K] [--top-p P] [--seed S] [--device cpu|cuda]
//   hybrid-run logits model.hyb ... -o logits.npy     (float32 [tokens, vocab])
//   hybrid-run train model.hyb --data FILE --steps N --batch B --seq L ...  (tools/hybrid-run/Train.cpp)
//
// Links only the runtime (no MLIR/LLVM). Errors from the library arrive as
// Status values; this main turns them into a message and exit code 1.
//
//===----------------------------------------------------------------------===//
#include "runtime/exec/Executor.h"
#include "tools/hybrid-run/TrainCheck.h"
#include "tools/hybrid-run/Bench.h"
#include "runtime/support/FileUtil.h"
#include "runtime/support/Sampling.h"
#include "runtime/support/Tokenizer.h"
#include "tools/hybrid-run/Train.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

using namespace hybrid;

namespace {

/// Every option with its default; --help prints this struct.
struct Options {
  std::string command;
  std::string model;
  std::string weights;
  long long randomSeed = -1;       // --random-weights SEED
  bool bf16Weights = false;        // --bf16-weights: round as the CUDA executor stores them
  bool cudaStorage = false;        // --cuda-storage: also the activations it stores in bf16
  std::string device = "cpu";
  std::string prompt;
  std::string promptIds;
  std::string output;              // logits: .npy path
  long long maxNewTokens = 32;
  long long decodeFrom = 0;        // logits: prefill this many, decode the rest one by one
  SamplingOptions sampling;        // greedy off, T 1, top-k 0, top-p 1, seed 0
};

void usage(std::FILE *out) {
  Options d;
  std::fprintf(out,
               "usage: hybrid-run generate|logits MODEL.hyb [options]\n"
               "       hybrid-run train MODEL.hyb --data FILE ... (hybrid-run train --help)\n"
               "       hybrid-run train-check|train-bench MODEL.hyb ... (GPU training checks)\n"
               "  --weights FILE.safetensors   weights by HF tensor name (bf16/f16/f32)\n"
               "  --random-weights SEED        untrained seeded weights instead\n"
               "  --bf16-weights               round the GEMM and embedding weights to bf16,\n"
               "                               as the CUDA executor stores them (CPU runs then\n"
               "                               isolate the GPU's arithmetic from storage)\n"
               "  --cuda-storage               --bf16-weights, and round every activation the\n"
               "                               CUDA executor keeps in bf16 where it is written\n"
               "                               (CPU only: the GPU's storage, fp32 arithmetic)\n"
               "  --prompt TEXT                byte-level text prompt (vocab >= 256)\n"
               "  --prompt-ids 1,2,3           token ids\n"
               "  --device cpu|cuda            (default %s)\n"
               "generate:\n"
               "  --max-new-tokens N           (default %lld)\n"
               "  --greedy                     argmax decoding\n"
               "  --temperature T              (default %g)\n"
               "  --top-k K                    (default %d: off)\n"
               "  --top-p P                    (default %g: off)\n"
               "  --seed S                     sampling seed (default %llu)\n"
               "logits:\n"
               "  -o FILE.npy                  float32 [tokens, vocab]\n"
               "  --decode-from K              prefill K tokens, then decode the rest one\n"
               "                               at a time through the caches (default 0: one\n"
               "                               prefill); the logits must not change\n",
               d.device.c_str(), d.maxNewTokens, d.sampling.temperature, d.sampling.topK,
               d.sampling.topP, (unsigned long long)d.sampling.seed);
}

int fail(const std::string &msg) {
  std::fprintf(stderr, "hybrid-run: error: %s\n", msg.c_str());
  return 1;
}

bool parseNumber(const char *s, double *out) {
  char *end = nullptr;
  *out = std::strtod(s, &end);
  return end && end != s && *end == '\0';
}

StatusOr<Options> parseArgs(int argc, char **argv) {
  Options o;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char *name) -> StatusOr<std::string> {
      if (i + 1 >= argc)
        return HYBRID_ERROR(name, " needs a value");
      return std::string(argv[++i]);
    };
    auto number = [&](const char *name, double lo, double hi) -> StatusOr<double> {
      HYBRID_ASSIGN_OR_RETURN(std::string v, value(name));
      double d;
      if (!parseNumber(v.c_str(), &d) || d < lo || d > hi)
        return HYBRID_ERROR(name, " takes a number in [", lo, ", ", hi, "], got '", v, "'");
      return d;
    };
    if (a == "--help" || a == "-h") {
      usage(stdout);
      std::exit(0);
    } else if (a == "--weights") {
      HYBRID_ASSIGN_OR_RETURN(o.weights, value("--weights"));
    } else if (a == "--random-weights") {
      HYBRID_ASSIGN_OR_RETURN(double d, number("--random-weights", 0, 1e18));
      o.randomSeed = static_cast<long long>(d);
    } else if (a == "--bf16-weights") {
      o.bf16Weights = true;
    } else if (a == "--cuda-storage") {
      o.cudaStorage = o.bf16Weights = true;
    } else if (a == "--device") {
      HYBRID_ASSIGN_OR_RETURN(o.device, value("--device"));
    } else if (a == "--prompt") {
      HYBRID_ASSIGN_OR_RETURN(o.prompt, value("--prompt"));
    } else if (a == "--prompt-ids") {
      HYBRID_ASSIGN_OR_RETURN(o.promptIds, value("--prompt-ids"));
    } else if (a == "-o") {
      HYBRID_ASSIGN_OR_RETURN(o.output, value("-o"));
    } else if (a == "--max-new-tokens") {
      HYBRID_ASSIGN_OR_RETURN(double d, number("--max-new-tokens", 0, 1e9));
      o.maxNewTokens = static_cast<long long>(d);
    } else if (a == "--decode-from") {
      HYBRID_ASSIGN_OR_RETURN(double d, number("--decode-from", 1, 1e9));
      o.decodeFrom = static_cast<long long>(d);
    } else if (a == "--greedy") {
      o.sampling.greedy = true;
    } else if (a == "--temperature") {
      HYBRID_ASSIGN_OR_RETURN(double d, number("--temperature", 0, 1e6));
      o.sampling.temperature = static_cast<float>(d);
    } else if (a == "--top-k") {
      HYBRID_ASSIGN_OR_RETURN(double d, number("--top-k", 0, 1e9));
      o.sampling.topK = static_cast<int>(d);
    } else if (a == "--top-p") {
      HYBRID_ASSIGN_OR_RETURN(double d, number("--top-p", 0, 1));
      o.sampling.topP = static_cast<float>(d);
    } else if (a == "--seed") {
      HYBRID_ASSIGN_OR_RETURN(double d, number("--seed", 0, 1.8e19));
      o.sampling.seed = static_cast<uint64_t>(d);
    } else if (!a.empty() && a[0] == '-') {
      return HYBRID_ERROR("unknown option '", a, "' (see --help)");
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() != 2)
    return HYBRID_ERROR("expected a command (generate | logits) and a model.hyb (see --help)");
  o.command = positional[0];
  o.model = positional[1];
  if (o.command != "generate" && o.command != "logits")
    return HYBRID_ERROR("unknown command '", o.command, "' (generate | logits)");
  if (o.weights.empty() == (o.randomSeed < 0))
    return HYBRID_ERROR("give exactly one of --weights FILE and --random-weights SEED");
  if (o.prompt.empty() == o.promptIds.empty())
    return HYBRID_ERROR("give exactly one of --prompt TEXT and --prompt-ids IDS");
  if (o.command == "logits" && o.output.empty())
    return HYBRID_ERROR("logits needs -o FILE.npy");
  if (o.device != "cpu" && o.device != "cuda")
    return HYBRID_ERROR("--device must be cpu or cuda, got '", o.device, "'");
  if (o.cudaStorage && o.device != "cpu")
    return HYBRID_ERROR("--cuda-storage makes the CPU reference round like the CUDA executor; "
                        "it needs --device cpu");
  HYBRID_RETURN_IF_ERROR(validateSamplingOptions(o.sampling));
  return o;
}

int run(const Options &o) {
  StatusOr<std::unique_ptr<Model>> model =
      o.weights.empty() ? Model::loadWithRandomWeights(o.model, static_cast<uint64_t>(o.randomSeed))
                        : Model::load(o.model, o.weights);
  if (!model.ok())
    return fail(model.status().toString());
  if (o.bf16Weights)
    (*model)->roundToBf16Storage();
  const int64_t vocab = (*model)->vocab();
  std::vector<int32_t> prompt;
  if (!o.promptIds.empty()) {
    auto ids = parseIdList(o.promptIds, vocab);
    if (!ids.ok())
      return fail(ids.status().toString());
    prompt = *ids;
  } else {
    if (vocab < 256)
      return fail("--prompt needs a byte-level vocabulary (>= 256 tokens); this model has " +
                  std::to_string(vocab) + ": use --prompt-ids");
    prompt = ByteTokenizer::encode(o.prompt);
  }
  if (prompt.empty())
    return fail("the prompt is empty");
  auto session = o.device == "cuda" ? createDeviceSession(**model, 1)
                                    : createCpuSession(**model, 1, {o.cudaStorage});
  if (!session.ok())
    return fail(session.status().toString());
  std::vector<float> logits;
  int64_t first = static_cast<int64_t>(prompt.size());
  if (o.command == "logits" && o.decodeFrom > 0) {
    if (o.decodeFrom > first)
      return fail("--decode-from " + std::to_string(o.decodeFrom) + " exceeds the prompt's " +
                  std::to_string(first) + " tokens");
    first = o.decodeFrom;
  }
  Status st = (*session)->forward(prompt.data(), first, &logits);
  if (!st.ok())
    return fail(st.toString());
  for (int64_t t = first; t < static_cast<int64_t>(prompt.size()); ++t) {
    std::vector<float> step;
    st = (*session)->forward(&prompt[t], 1, &step);
    if (!st.ok())
      return fail(st.toString());
    logits.insert(logits.end(), step.begin(), step.end());
  }

  if (o.command == "logits") {
    std::string npy = npyFloat32(logits.data(), {static_cast<int64_t>(prompt.size()), vocab});
    Status w = writeFileAtomic(o.output, npy.data(), npy.size());
    if (!w.ok())
      return fail(w.toString());
    std::printf("wrote %s: float32 [%zu, %lld]\n", o.output.c_str(), prompt.size(),
                (long long)vocab);
    return 0;
  }

  Rng rng(o.sampling.seed);
  std::vector<int32_t> generated;
  const float *last = logits.data() + (prompt.size() - 1) * vocab;
  std::vector<float> step;
  for (long long i = 0; i < o.maxNewTokens; ++i) {
    int32_t next = sampleToken(last, vocab, o.sampling, rng);
    generated.push_back(next);
    if (i + 1 == o.maxNewTokens)
      break;
    st = (*session)->forward(&next, 1, &step);
    if (!st.ok())
      return fail(st.toString());
    last = step.data();
  }
  for (size_t i = 0; i < generated.size(); ++i)
    std::printf("%s%d", i ? "," : "", generated[i]);
  std::printf("\n");
  if (vocab <= 256 && !o.prompt.empty())
    std::printf("%s%s\n", o.prompt.c_str(), ByteTokenizer::decodeForDisplay(generated).c_str());
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  if (argc > 1 && std::string(argv[1]) == "train")  // tools/hybrid-run/Train.cpp
    return runTrainCommand(argc - 1, argv + 1);
  if (argc > 1 && std::string(argv[1]) == "train-check")  // tools/hybrid-run/TrainCheck.cpp
    return runTrainCheckCommand(argc - 1, argv + 1);
  if (argc > 1 && std::string(argv[1]) == "train-bench")
    return runTrainBenchCommand(argc - 1, argv + 1);
  if (argc > 1 && std::string(argv[1]) == "bench")  // tools/hybrid-run/Bench.cpp
    return runBenchCommand(argc, argv);
  StatusOr<Options> o = parseArgs(argc, argv);
  if (!o.ok()) {
    fail(o.status().message());
    return 2;
  }
  return run(*o);
}
