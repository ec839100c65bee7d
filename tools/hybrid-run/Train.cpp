//===- Train.cpp - The `hybrid-run train` subcommand ----------------------===//
//
//   hybrid-run train MODEL.hyb --data FILE [--data FILE2 ...] --steps N
//              --batch B --seq L [options]          (--help lists them all)
//   hybrid-run train --resume DIR [--steps N] [...]
//
// Parses the command line into a TrainConfig, loads the model (or inits its
// weights), the data and, with --resume, the checkpoint, then runs the loop
// of runtime/train/Loop.h. A resumed run keeps the configuration saved in
// DIR/state.json; options that would change its trajectory must agree.
//
//===----------------------------------------------------------------------===//
#include "tools/hybrid-run/Train.h"

#include "runtime/exec/Executor.h"
#include "runtime/train/Checkpoint.h"
#include "runtime/train/Init.h"
#include "runtime/train/Loop.h"
#include "runtime/train/ModelTarget.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

using namespace hybrid;

namespace {

struct TrainOptions {
  TrainConfig config;
  std::string resume;
  bool overwrite = false;
  bool help = false;
  std::set<std::string> given; // options present on the command line
};

void trainUsage(std::FILE *out) {
  TrainConfig d;
  std::fprintf(
      out,
      "usage: hybrid-run train MODEL.hyb --data FILE --steps N --batch B --seq L [options]\n"
      "       hybrid-run train [MODEL.hyb] --resume DIR [--steps N] [options]\n"
      "data:\n"
      "  --data FILE[,FILE...]   training text or tokens; repeatable, files concatenated\n"
      "  --data-dtype T          bytes | uint16 | uint32 (little endian) (default %s)\n"
      "  --val-fraction F        last fraction of the stream held out (default %g)\n"
      "  --seq L                 tokens per sequence (windows of L + 1)\n"
      "  --batch B               sequences per micro-batch\n"
      "  --accum K               micro-batches per step, gradients averaged (default %lld)\n"
      "optimisation (AdamW b1 0.9, b2 0.95, eps 1e-8):\n"
      "  --steps N               optimizer steps\n"
      "  --lr X                  peak learning rate (default %g)\n"
      "  --min-lr X              end of the cosine decay (default: lr / 10)\n"
      "  --warmup N              linear warmup steps (default: steps / 10, at most 100)\n"
      "  --weight-decay X        decoupled; not on norms, biases, A_log, D, dt_bias (default %g)\n"
      "  --clip X                global gradient-norm limit, 0 = off (default %g)\n"
      "  --seed S                weight init and batch order (default %llu)\n"
      "  --weights FILE          start from these weights (default: reference init)\n"
      "reporting and checkpoints:\n"
      "  --val-every N           validate every N steps and at the end (default: steps / 20)\n"
      "  --val-batches N         fixed held-out batches per validation (default %lld)\n"
      "  --log-every N           progress line every N steps (default %lld)\n"
      "  --out DIR               checkpoint directory (weights.safetensors, optimizer.\n"
      "                          safetensors, state.json, loss.csv, loss.svg), written at\n"
      "                          the end and every --save-every steps, its missing\n"
      "                          parent folders created (default: none)\n"
      "  --save-every N          (default %lld: only at the end)\n"
      "  --stop-after N          stop this session after step N with a checkpoint, as if\n"
      "                          interrupted (continue with --resume)\n"
      "  --overwrite             replace a checkpoint already in --out\n"
      "  --resume DIR            continue the run saved in DIR (--out defaults to DIR)\n"
      "  --device cpu|cuda       cpu: the fp32 reference; cuda: train_step, accumulation and\n"
      "                          AdamW on the GPU (MODEL.hyb compiled with --train --target\n"
      "                          cuda) (default %s)\n",
      dataFormatName(d.dataFormat), d.valFraction, (long long)d.accum, d.lr, d.weightDecay,
      d.clip, (unsigned long long)d.seed, (long long)d.valBatches, (long long)d.logEvery,
      (long long)d.saveEvery, d.device.c_str());
}

int fail(const std::string &msg, int code = 1) {
  std::fprintf(stderr, "hybrid-run train: error: %s\n", msg.c_str());
  return code;
}

StatusOr<TrainOptions> parseTrainArgs(int argc, char **argv) {
  TrainOptions o;
  TrainConfig &c = o.config;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> StatusOr<std::string> {
      if (i + 1 >= argc)
        return HYBRID_ERROR(a, " needs a value");
      o.given.insert(a);
      return std::string(argv[++i]);
    };
    auto real = [&](double lo, double hi) -> StatusOr<double> {
      HYBRID_ASSIGN_OR_RETURN(std::string v, value());
      char *end = nullptr;
      double d = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(d >= lo && d <= hi))
        return HYBRID_ERROR(a, " takes a number in [", lo, ", ", hi, "], got '", v, "'");
      return d;
    };
    auto integer = [&](long long lo) -> StatusOr<int64_t> {
      HYBRID_ASSIGN_OR_RETURN(std::string v, value());
      char *end = nullptr;
      long long n = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < lo || n > (1ll << 40))
        return HYBRID_ERROR(a, " takes an integer >= ", lo, ", got '", v, "'");
      return static_cast<int64_t>(n);
    };
    if (a == "--help" || a == "-h") {
      o.help = true;
      return o;
    } else if (a == "--data") {
      HYBRID_ASSIGN_OR_RETURN(std::string v, value());
      size_t start = 0;
      while (true) { // comma-separated lists too
        size_t comma = v.find(',', start);
        std::string f = v.substr(start, comma == std::string::npos ? comma : comma - start);
        if (f.empty())
          return HYBRID_ERROR("--data: empty file name in '", v, "'");
        c.data.push_back(f);
        if (comma == std::string::npos)
          break;
        start = comma + 1;
      }
    } else if (a == "--data-dtype") {
      HYBRID_ASSIGN_OR_RETURN(std::string v, value());
      if (!parseDataFormat(v, &c.dataFormat))
        return HYBRID_ERROR("--data-dtype must be bytes, uint16 or uint32, got '", v, "'");
    } else if (a == "--weights") {
      HYBRID_ASSIGN_OR_RETURN(c.weights, value());
    } else if (a == "--steps") {
      HYBRID_ASSIGN_OR_RETURN(c.steps, integer(1));
    } else if (a == "--batch") {
      HYBRID_ASSIGN_OR_RETURN(c.batch, integer(1));
    } else if (a == "--seq") {
      HYBRID_ASSIGN_OR_RETURN(c.seq, integer(1));
    } else if (a == "--accum") {
      HYBRID_ASSIGN_OR_RETURN(c.accum, integer(1));
    } else if (a == "--lr") {
      HYBRID_ASSIGN_OR_RETURN(c.lr, real(1e-12, 1e3));
    } else if (a == "--min-lr") {
      HYBRID_ASSIGN_OR_RETURN(c.minLr, real(0, 1e3));
    } else if (a == "--warmup") {
      HYBRID_ASSIGN_OR_RETURN(c.warmup, integer(0));
    } else if (a == "--weight-decay") {
      HYBRID_ASSIGN_OR_RETURN(c.weightDecay, real(0, 1e3));
    } else if (a == "--clip") {
      HYBRID_ASSIGN_OR_RETURN(c.clip, real(0, 1e12));
    } else if (a == "--val-fraction") {
      HYBRID_ASSIGN_OR_RETURN(c.valFraction, real(0, 0.99));
    } else if (a == "--val-every") {
      HYBRID_ASSIGN_OR_RETURN(c.valEvery, integer(0));
    } else if (a == "--val-batches") {
      HYBRID_ASSIGN_OR_RETURN(c.valBatches, integer(1));
    } else if (a == "--log-every") {
      HYBRID_ASSIGN_OR_RETURN(c.logEvery, integer(1));
    } else if (a == "--save-every") {
      HYBRID_ASSIGN_OR_RETURN(c.saveEvery, integer(0));
    } else if (a == "--stop-after") {
      HYBRID_ASSIGN_OR_RETURN(c.stopAfter, integer(1));
    } else if (a == "--seed") {
      HYBRID_ASSIGN_OR_RETURN(std::string v, value());
      char *end = nullptr;
      unsigned long long s = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || v[0] == '-' || *end != '\0')
        return HYBRID_ERROR("--seed takes an unsigned integer, got '", v, "'");
      c.seed = s;
    } else if (a == "--out") {
      HYBRID_ASSIGN_OR_RETURN(c.out, value());
    } else if (a == "--resume") {
      HYBRID_ASSIGN_OR_RETURN(o.resume, value());
    } else if (a == "--device") {
      HYBRID_ASSIGN_OR_RETURN(c.device, value());
      if (c.device != "cpu" && c.device != "cuda")
        return HYBRID_ERROR("--device must be cpu or cuda, got '", c.device, "'");
    } else if (a == "--overwrite") {
      o.overwrite = true;
    } else if (!a.empty() && a[0] == '-') {
      return HYBRID_ERROR("unknown option '", a, "' (see hybrid-run train --help)");
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() > 1)
    return HYBRID_ERROR("expected one MODEL.hyb, got ", positional.size(), " arguments ('",
                        positional[1], "' ...); name several data files with --data A,B");
  if (!positional.empty())
    c.model = positional[0];
  if (o.resume.empty()) {
    if (c.model.empty())
      return HYBRID_ERROR("expected MODEL.hyb (see hybrid-run train --help)");
    for (const char *required : {"--data", "--steps", "--batch", "--seq"})
      if (!o.given.count(required))
        return HYBRID_ERROR("missing ", required, " (see hybrid-run train --help)");
  }
  return o;
}

/// The saved configuration, with the command line's changes that keep the
/// trajectory (reporting, --steps to extend) and errors for the others.
StatusOr<TrainConfig> mergeWithCheckpoint(const TrainOptions &o, std::vector<std::string> *notes) {
  HYBRID_ASSIGN_OR_RETURN(TrainConfig saved, readCheckpointConfig(o.resume));
  const TrainConfig &g = o.config;
  struct Fixed { const char *flag; bool differs; std::string was; };
  const std::vector<Fixed> fixed = {
      {"--data-dtype", g.dataFormat != saved.dataFormat, dataFormatName(saved.dataFormat)},
      {"--weights", g.weights != saved.weights, saved.weights},
      {"--batch", g.batch != saved.batch, strCat(saved.batch)},
      {"--seq", g.seq != saved.seq, strCat(saved.seq)},
      {"--accum", g.accum != saved.accum, strCat(saved.accum)},
      {"--lr", g.lr != saved.lr, strCat(saved.lr)},
      {"--min-lr", g.minLr != saved.minLr, strCat(saved.minLr)},
      {"--warmup", g.warmup != saved.warmup, strCat(saved.warmup)},
      {"--weight-decay", g.weightDecay != saved.weightDecay, strCat(saved.weightDecay)},
      {"--clip", g.clip != saved.clip, strCat(saved.clip)},
      {"--val-fraction", g.valFraction != saved.valFraction, strCat(saved.valFraction)},
      {"--seed", g.seed != saved.seed, strCat(saved.seed)},
  };
  for (const Fixed &f : fixed)
    if (o.given.count(f.flag) && f.differs)
      return HYBRID_ERROR(f.flag, " differs from the checkpoint's value '", f.was, "' (",
                          o.resume, "/state.json); a resumed run keeps its configuration");
  TrainConfig c = saved;
  if (!g.model.empty())
    c.model = g.model;
  if (o.given.count("--data"))
    c.data = g.data; // the content is checked against the saved fingerprint
  if (o.given.count("--steps") && g.steps != saved.steps) {
    notes->push_back(strCat("note: --steps ", g.steps, " instead of the checkpoint's ",
                            saved.steps, ": the cosine schedule is recomputed for ", g.steps,
                            " steps, so the run departs from the saved one"));
    c.steps = g.steps;
  }
  if (o.given.count("--val-every"))
    c.valEvery = g.valEvery;
  if (o.given.count("--val-batches"))
    c.valBatches = g.valBatches;
  if (o.given.count("--log-every"))
    c.logEvery = g.logEvery;
  if (o.given.count("--save-every"))
    c.saveEvery = g.saveEvery;
  c.stopAfter = g.stopAfter;
  c.device = g.device;
  c.out = o.given.count("--out") ? g.out : o.resume;
  return c;
}

int train(const TrainOptions &o) {
  std::vector<std::string> notes;
  TrainConfig c = o.config;
  if (!o.resume.empty()) {
    if (!isCheckpointDir(o.resume))
      return fail("--resume " + o.resume + ": not a checkpoint directory (no state.json)");
    auto merged = mergeWithCheckpoint(o, &notes);
    if (!merged.ok())
      return fail(merged.status().toString(), 2);
    c = *merged;
  } else {
    c.resolveDefaults();
    if (!c.out.empty() && isCheckpointDir(c.out) && !o.overwrite)
      return fail("--out " + c.out + " already holds a checkpoint: continue it with --resume " +
                      c.out + ", or pass --overwrite to start over",
                  2);
  }
  Status valid = c.validate();
  if (!valid.ok())
    return fail(valid.message(), 2);

  auto artifact = Artifact::loadFile(c.model);
  if (!artifact.ok())
    return fail(artifact.status().toString());
  if (!(*artifact)->program("train_step"))
    return fail(c.model + " has no train_step program: compile it with `hybridc compile "
                          "--train`");
  auto model = Model::fromArtifact(std::move(*artifact));
  if (!model.ok())
    return fail(model.status().toString());
  if (o.resume.empty()) {
    if (c.weights.empty()) {
      initWeights(**model, c.seed);
    } else {
      Status st = (*model)->readWeights(c.weights);
      if (!st.ok())
        return fail(st.toString());
    }
  }

  auto stream = loadTokenStream(c.data, c.dataFormat, (*model)->vocab());
  if (!stream.ok())
    return fail(stream.status().toString());
  DataInfo info{static_cast<int64_t>(stream->tokens.size()), stream->fingerprint()};
  std::string what = c.data.size() == 1 ? c.data[0] : strCat("the ", c.data.size(), " data files");
  auto data = BatchSampler::create(std::move(stream->tokens), c.valFraction, c.seq, c.seed, what);
  if (!data.ok())
    return fail(data.status().toString());

  std::unique_ptr<ModelTrainTarget> targetPtr;
  std::string deviceLine;
  if (c.device == "cuda") {
    targetPtr = std::make_unique<DeviceModelTrainTarget>(**model, c.batch);
  } else {
    targetPtr = std::make_unique<ModelTrainTarget>(**model);
  }
  ModelTrainTarget &target = *targetPtr;
  Trainer trainer(c, target, *data, info);
  if (!o.resume.empty()) {
    Status st = trainer.resume(o.resume);
    if (!st.ok())
      return fail(st.toString());
  }
  if (c.device == "cuda") {  // after resume: the device starts from the restored weights
    auto summary = static_cast<DeviceModelTrainTarget &>(target).deviceSummary();
    if (!summary.ok())
      return fail(summary.status().toString());
    deviceLine = "device: " + *summary + " (train_step and AdamW on the GPU)";
  }
  int64_t params = 0;
  for (size_t i = 0; i < target.numWeights(); ++i)
    params += static_cast<int64_t>(target.weight(i).size());
  for (const std::string &n : notes)
    std::printf("%s\n", n.c_str());
  std::printf("model %s: %s parameters, vocab %lld; data: %s tokens (train %s, held out %s)\n",
              c.model.c_str(), formatCount(static_cast<double>(params)).c_str(),
              (long long)(*model)->vocab(), formatCount(static_cast<double>(info.tokens)).c_str(),
              formatCount(static_cast<double>(data->trainTokens())).c_str(),
              formatCount(static_cast<double>(data->valTokens())).c_str());
  std::printf("%s step %lld of %lld: batch %lld x seq %lld x accum %lld = %lld tokens/step, "
              "lr %s -> %s (warmup %lld), clip %g, weight decay %g, seed %llu\n",
              o.resume.empty() ? "starting at" : "resuming after", (long long)trainer.step(),
              (long long)c.steps, (long long)c.batch, (long long)c.seq, (long long)c.accum,
              (long long)(c.batch * c.seq * c.accum), formatLr(c.lr).c_str(),
              formatLr(c.minLr).c_str(), (long long)c.warmup, c.clip, c.weightDecay,
              (unsigned long long)c.seed);
  if (!deviceLine.empty())
    std::printf("%s\n", deviceLine.c_str());
  std::fflush(stdout);
  auto result = trainer.run(stdout);
  if (!result.ok())
    return fail(result.status().toString());
  return 0;
}

} // namespace

int runTrainCommand(int argc, char **argv) {
  auto o = parseTrainArgs(argc, argv);
  if (!o.ok())
    return fail(o.status().message(), 2);
  if (o->help) {
    trainUsage(stdout);
    return 0;
  }
  return train(*o);
}
