//===- Loop.cpp - The training loop ---------------------------------------===//
#include "runtime/train/Loop.h"

#include "runtime/io/Safetensors.h"
#include "runtime/train/Checkpoint.h"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdlib>

namespace hybrid {
namespace {

/// The shortest %.Ng that reads back as exactly `v` (at most 17 digits).
std::string jnum(double v) {
  char buf[40];
  for (int digits = 15; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof(buf), "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v)
      break;
  }
  return buf;
}

std::string jint(int64_t v) { return std::to_string(v); }

/// A loss for the progress line: "2.3127", or `none` when NaN.
std::string lossText(double v, const char *none) {
  if (std::isnan(v))
    return none;
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4f", v);
  return buf;
}

std::vector<size_t> weightSizes(TrainTarget &target) {
  std::vector<size_t> sizes;
  for (size_t i = 0; i < target.numWeights(); ++i)
    sizes.push_back(target.weight(i).size());
  return sizes;
}

std::vector<bool> decayMask(TrainTarget &target) {
  std::vector<bool> mask;
  for (size_t i = 0; i < target.numWeights(); ++i)
    mask.push_back(isDecayed(target.name(i)));
  return mask;
}

double seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

/// Member `key` of object `obj` as a number / string; errors name the file.
StatusOr<const JsonValue *> member(const JsonValue &obj, const std::string &key,
                                   JsonValue::Kind kind, const std::string &what) {
  const JsonValue *v = obj.get(key);
  if (!v)
    return HYBRID_ERROR(what, ": missing \"", key, "\"");
  if (v->kind() != kind)
    return HYBRID_ERROR(what, ": \"", key, "\" must be a ", JsonValue::kindName(kind), ", got ",
                        JsonValue::kindName(v->kind()));
  return v;
}

StatusOr<int64_t> intMember(const JsonValue &obj, const std::string &key, const std::string &what) {
  HYBRID_ASSIGN_OR_RETURN(const JsonValue *v, member(obj, key, JsonValue::Kind::Number, what));
  double d = v->asDouble();
  if (d != std::floor(d) || std::fabs(d) > 9e15)
    return HYBRID_ERROR(what, ": \"", key, "\" must be an integer, got ", d);
  return static_cast<int64_t>(d);
}

} // namespace

//===----------------------------------------------------------------------===//
// Configuration
//===----------------------------------------------------------------------===//

void TrainConfig::resolveDefaults() {
  if (minLr < 0)
    minLr = lr / 10;
  if (warmup < 0)
    warmup = std::min<int64_t>(100, steps / 10);
  if (valEvery < 0)
    valEvery = std::max<int64_t>(1, steps / 20);
}

Status TrainConfig::validate() const {
  if (steps < 1)
    return HYBRID_ERROR("--steps must be >= 1, got ", steps);
  if (batch < 1)
    return HYBRID_ERROR("--batch must be >= 1, got ", batch);
  if (seq < 1)
    return HYBRID_ERROR("--seq must be >= 1, got ", seq);
  if (accum < 1)
    return HYBRID_ERROR("--accum must be >= 1, got ", accum);
  if (!(lr > 0) || !std::isfinite(lr))
    return HYBRID_ERROR("--lr must be a finite number > 0, got ", lr);
  if (!(minLr >= 0) || minLr > lr)
    return HYBRID_ERROR("--min-lr must be in [0, --lr = ", lr, "], got ", minLr);
  if (warmup < 0)
    return HYBRID_ERROR("--warmup must be >= 0, got ", warmup);
  if (!(weightDecay >= 0) || !std::isfinite(weightDecay))
    return HYBRID_ERROR("--weight-decay must be >= 0, got ", weightDecay);
  if (!std::isfinite(clip))
    return HYBRID_ERROR("--clip must be finite (<= 0 disables clipping), got ", clip);
  if (!(valFraction >= 0 && valFraction < 1))
    return HYBRID_ERROR("--val-fraction must be in [0, 1), got ", valFraction);
  if (valEvery < 0 || valBatches < 1 || saveEvery < 0 || logEvery < 1)
    return HYBRID_ERROR("--val-every, --save-every must be >= 0 and --val-batches, --log-every >= 1");
  if (data.empty())
    return HYBRID_ERROR("no --data file given");
  return Status();
}

std::string trainConfigJson(const TrainConfig &c) {
  std::string files = "[";
  for (size_t i = 0; i < c.data.size(); ++i)
    files += (i ? ", " : "") + jsonQuote(c.data[i]);
  files += "]";
  return strCat("{\n    \"model\": ", jsonQuote(c.model), ",\n    \"data\": ", files,
                ",\n    \"data_dtype\": ", jsonQuote(dataFormatName(c.dataFormat)),
                ",\n    \"weights\": ", jsonQuote(c.weights), ",\n    \"steps\": ", jint(c.steps),
                ",\n    \"batch\": ", jint(c.batch), ",\n    \"seq\": ", jint(c.seq),
                ",\n    \"accum\": ", jint(c.accum), ",\n    \"lr\": ", jnum(c.lr),
                ",\n    \"min_lr\": ", jnum(c.minLr), ",\n    \"warmup\": ", jint(c.warmup),
                ",\n    \"weight_decay\": ", jnum(c.weightDecay), ",\n    \"clip\": ", jnum(c.clip),
                ",\n    \"val_fraction\": ", jnum(c.valFraction),
                ",\n    \"val_every\": ", jint(c.valEvery),
                ",\n    \"val_batches\": ", jint(c.valBatches), ",\n    \"seed\": ", c.seed,
                ",\n    \"save_every\": ", jint(c.saveEvery),
                ",\n    \"log_every\": ", jint(c.logEvery), ",\n    \"device\": ",
                jsonQuote(c.device), "\n  }");
}

StatusOr<TrainConfig> trainConfigFromJson(const JsonValue &j, const std::string &what) {
  if (!j.isObject())
    return HYBRID_ERROR(what, ": \"config\" must be an object");
  using K = JsonValue::Kind;
  TrainConfig c;
  HYBRID_ASSIGN_OR_RETURN(const JsonValue *model, member(j, "model", K::String, what));
  c.model = model->asString();
  HYBRID_ASSIGN_OR_RETURN(const JsonValue *data, member(j, "data", K::Array, what));
  for (const JsonValue &f : data->asArray()) {
    if (!f.isString())
      return HYBRID_ERROR(what, ": \"data\" must list file names");
    c.data.push_back(f.asString());
  }
  HYBRID_ASSIGN_OR_RETURN(const JsonValue *dtype, member(j, "data_dtype", K::String, what));
  if (!parseDataFormat(dtype->asString(), &c.dataFormat))
    return HYBRID_ERROR(what, ": unknown data_dtype '", dtype->asString(), "'");
  HYBRID_ASSIGN_OR_RETURN(const JsonValue *weights, member(j, "weights", K::String, what));
  c.weights = weights->asString();
  HYBRID_ASSIGN_OR_RETURN(const JsonValue *device, member(j, "device", K::String, what));
  c.device = device->asString();
  struct IntField { const char *key; int64_t *dst; };
  for (IntField f : {IntField{"steps", &c.steps}, {"batch", &c.batch}, {"seq", &c.seq},
                     {"accum", &c.accum}, {"warmup", &c.warmup}, {"val_every", &c.valEvery},
                     {"val_batches", &c.valBatches}, {"save_every", &c.saveEvery},
                     {"log_every", &c.logEvery}}) {
    HYBRID_ASSIGN_OR_RETURN(*f.dst, intMember(j, f.key, what));
  }
  struct RealField { const char *key; double *dst; };
  for (RealField f : {RealField{"lr", &c.lr}, {"min_lr", &c.minLr},
                      {"weight_decay", &c.weightDecay}, {"clip", &c.clip},
                      {"val_fraction", &c.valFraction}}) {
    HYBRID_ASSIGN_OR_RETURN(const JsonValue *v, member(j, f.key, K::Number, what));
    *f.dst = v->asDouble();
  }
  const JsonValue *seed = j.get("seed");
  if (!seed || !seed->isUInt64())
    return HYBRID_ERROR(what, ": \"seed\" must be an unsigned integer");
  c.seed = seed->asUInt64();
  return c;
}

StatusOr<TrainConfig> readCheckpointConfig(const std::string &dir) {
  const std::string path = dir + "/state.json";
  HYBRID_ASSIGN_OR_RETURN(std::string text, readTextFile(path));
  auto json = parseJson(text);
  if (!json.ok())
    return Status(json.status()).context(path);
  const JsonValue *config = json->get("config");
  if (!config)
    return HYBRID_ERROR(path, ": missing \"config\"");
  return trainConfigFromJson(*config, path);
}

//===----------------------------------------------------------------------===//
// Formatting
//===----------------------------------------------------------------------===//

std::string formatLr(double lr) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1e", lr); // "2.9e-03"
  std::string s = buf;
  size_t e = s.find('e');
  if (e == std::string::npos)
    return s;
  std::string mant = s.substr(0, e), exp = s.substr(e + 1);
  std::string sign = exp[0] == '-' ? "-" : "";
  exp = exp.substr(1);
  while (exp.size() > 1 && exp[0] == '0')
    exp.erase(0, 1);
  return mant + "e" + sign + exp;
}

std::string formatCount(double v) {
  const char *suffix[] = {"", "K", "M", "G", "T"};
  int i = 0;
  while (v >= 1000 && i < 4) {
    v /= 1000;
    ++i;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), i == 0 ? "%.0f%s" : "%.1f%s", v, suffix[i]);
  return buf;
}

std::string formatDuration(double s) {
  if (!std::isfinite(s) || s < 0)
    return "?";
  long long t = std::llround(s);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm", t / 3600, (t / 60) % 60);
  else if (t >= 60)
    std::snprintf(buf, sizeof(buf), "%lldm%02llds", t / 60, t % 60);
  else
    std::snprintf(buf, sizeof(buf), "%llds", t);
  return buf;
}

//===----------------------------------------------------------------------===//
// Trainer
//===----------------------------------------------------------------------===//

Trainer::Trainer(TrainConfig config, TrainTarget &target, const BatchSampler &data, DataInfo info)
    : config_(std::move(config)), target_(target), data_(data), info_(info),
      optimizer_(AdamWConfig{0.9, 0.95, 1e-8, config_.weightDecay}, weightSizes(target),
                 decayMask(target)) {
  schedule_.maxLr = config_.lr;
  schedule_.minLr = config_.minLr;
  schedule_.warmup = config_.warmup;
  schedule_.total = config_.steps;
}

StatusOr<double> Trainer::validate() {
  int64_t count = data_.valBatchCount(config_.batch, config_.valBatches);
  if (count == 0)
    return static_cast<double>(NAN);
  double sum = 0;
  Batch b;
  for (int64_t i = 0; i < count; ++i) {
    data_.valBatch(i, count, config_.batch, &b);
    HYBRID_ASSIGN_OR_RETURN(double loss, target_.evalLoss(b));
    sum += loss;
  }
  return sum / static_cast<double>(count);
}

StatusOr<TrainResult> Trainer::run(std::FILE *log) {
  const size_t nw = target_.numWeights();
  std::vector<std::vector<float>> grads(nw), micro;
  std::vector<float *> ptrs(nw);
  Batch batch;
  const int64_t tokensPerStep = config_.batch * config_.seq * config_.accum;
  const auto start = std::chrono::steady_clock::now();
  const int64_t firstStep = step_;
  const double elapsedBefore = elapsed_;
  double lastVal = NAN;
  for (const HistoryRow &r : history_)
    if (!std::isnan(r.val))
      lastVal = r.val;

  const int64_t end = config_.stopAfter > 0 ? std::min(config_.steps, config_.stopAfter)
                                            : config_.steps;
  if (target_.updatesItself())  // zeros, or the moments of a resumed run
    HYBRID_RETURN_IF_ERROR(target_.setMoments(optimizer_.m(), optimizer_.v()));
  for (int64_t s = step_; s < end; ++s) {
    const auto t0 = std::chrono::steady_clock::now();
    double lossSum = 0;
    const bool device = target_.updatesItself();
    for (int64_t k = 0; k < config_.accum; ++k) {
      data_.trainBatch(s, k, config_.batch, &batch);
      auto loss = device ? target_.accumulate(batch, k == 0)
                         : target_.trainStep(batch, k == 0 ? &grads : &micro);
      if (!loss.ok())
        return Status(loss.status()).context(strCat("step ", s + 1));
      if (!std::isfinite(*loss))
        return HYBRID_ERROR("step ", s + 1, ": the training loss is ", *loss,
                            " (diverged; try a lower --lr or --clip)");
      lossSum += *loss;
      if (k > 0 && !device)
        for (size_t i = 0; i < nw; ++i)
          for (size_t e = 0; e < grads[i].size(); ++e)
            grads[i][e] += micro[i][e];
    }
    if (config_.accum > 1 && !device) {
      const float k = static_cast<float>(config_.accum);
      for (auto &g : grads)
        for (float &x : g)
          x /= k;
    }
    const double loss = lossSum / static_cast<double>(config_.accum);
    const double lr = schedule_.at(s);
    double norm = 0;
    if (device) {  // clipping and AdamW where the gradients are
      std::vector<bool> decayed(nw);
      for (size_t i = 0; i < nw; ++i)
        decayed[i] = optimizer_.decayed(i);
      HYBRID_ASSIGN_OR_RETURN(norm, target_.update(optimizer_.config(), lr, config_.clip,
                                                   optimizer_.stepCount() + 1, decayed));
      optimizer_.countDeviceStep();
    } else {
      norm = clipGradNorm(&grads, config_.clip);
    }
    if (!std::isfinite(norm))
      return HYBRID_ERROR("step ", s + 1, ": the gradient norm is ", norm, " (loss ", loss, ")");
    if (!device) {
      for (size_t i = 0; i < nw; ++i)
        ptrs[i] = target_.weight(i).data();
      HYBRID_RETURN_IF_ERROR(optimizer_.step(ptrs, grads, lr));
    }
    step_ = s + 1;
    tokens_ += tokensPerStep;
    const auto t1 = std::chrono::steady_clock::now();
    const double stepSeconds = seconds(t0, t1);

    HistoryRow row;
    row.step = step_;
    row.train = loss;
    row.val = NAN;
    row.lr = lr;
    row.gradNorm = norm;
    row.tokPerS = stepSeconds > 0 ? tokensPerStep / stepSeconds : 0;
    const bool last = step_ == config_.steps;
    if ((config_.valEvery > 0 && step_ % config_.valEvery == 0) || last) {
      HYBRID_ASSIGN_OR_RETURN(row.val, validate());
      lastVal = row.val;
    }
    history_.push_back(row);
    elapsed_ = elapsedBefore + seconds(start, std::chrono::steady_clock::now());

    if (log && (step_ % config_.logEvery == 0 || last || !std::isnan(row.val))) {
      const double perStep = (elapsed_ - elapsedBefore) / static_cast<double>(step_ - firstStep);
      char line[256];
      std::snprintf(line, sizeof(line),
                    "step %lld/%lld  loss %s  val %s  lr %s  |g| %.3g  %s tok/s  ETA %s\n",
                    (long long)step_, (long long)config_.steps, lossText(loss, "-").c_str(),
                    lossText(lastVal, "-").c_str(),
                    formatLr(lr).c_str(), norm, formatCount(row.tokPerS).c_str(),
                    formatDuration(perStep * static_cast<double>(config_.steps - step_)).c_str());
      std::fputs(line, log);
      std::fflush(log);
    }
    if (!config_.out.empty() && config_.saveEvery > 0 && step_ % config_.saveEvery == 0 && !last) {
      Status st = save(config_.out);
      if (!st.ok())
        return st;
    }
  }
  elapsed_ = elapsedBefore + seconds(start, std::chrono::steady_clock::now());

  TrainResult result;
  if (history_.empty() || std::isnan(history_.back().val)) {
    HYBRID_ASSIGN_OR_RETURN(lastVal, validate());
  }
  result.valLoss = lastVal;
  // A short window of the last steps: smoother than one batch, yet the end
  // of the run (1 step per 10 run, between 1 and 10).
  size_t n = std::min<size_t>(history_.size(), std::max<size_t>(1, std::min<size_t>(10, history_.size() / 10)));
  double sum = 0;
  for (size_t i = history_.size() - n; i < history_.size(); ++i)
    sum += history_[i].train;
  result.trainLoss = n ? sum / static_cast<double>(n) : NAN;
  result.steps = step_;
  result.tokens = tokens_;
  result.seconds = elapsed_;
  if (!config_.out.empty())
    HYBRID_RETURN_IF_ERROR(save(config_.out));
  if (log) {
    if (step_ < config_.steps)
      std::fprintf(log, "stopped at step %lld of %lld (--stop-after); continue with --resume %s\n",
                   (long long)step_, (long long)config_.steps,
                   config_.out.empty() ? "(no --out: nothing saved)" : config_.out.c_str());
    std::fprintf(log, "final: train loss %s  val loss %s  (%lld steps, %lld tokens, %.1f s)\n",
                 lossText(result.trainLoss, "n/a").c_str(),
                 lossText(result.valLoss, "n/a").c_str(),
                 (long long)result.steps, (long long)result.tokens, result.seconds);
    std::fflush(log);
  }
  return result;
}

Status Trainer::save(const std::string &dir) {
  if (target_.updatesItself()) {
    std::vector<std::vector<float>> m, v;
    HYBRID_RETURN_IF_ERROR(target_.syncToHost(&m, &v));
    HYBRID_RETURN_IF_ERROR(optimizer_.setState(optimizer_.stepCount(), std::move(m), std::move(v)));
  }
  CheckpointFiles files;
  const size_t nw = target_.numWeights();
  std::vector<std::string> mNames(nw), vNames(nw);
  for (size_t i = 0; i < nw; ++i) {
    std::vector<int64_t> shape = target_.shape(i);
    std::string name = target_.fileName(i);
    files.weights.push_back({name, {target_.weight(i).data(), shape}});
    files.optimizer.push_back({"exp_avg." + name, {optimizer_.m()[i].data(), shape}});
    files.optimizer.push_back({"exp_avg_sq." + name, {optimizer_.v()[i].data(), shape}});
  }
  files.stateJson = strCat(
      "{\n  \"format\": \"hybrid-run train checkpoint\",\n  \"version\": 1,\n  \"step\": ", step_,
      ",\n  \"tokens\": ", tokens_, ",\n  \"elapsed_s\": ", jnum(elapsed_),
      ",\n  \"rng\": {\"algorithm\": \"xoshiro256** seeded by (seed, step, micro-batch)\", "
      "\"seed\": ",
      config_.seed, ", \"next_step\": ", step_, "},\n  \"data\": {\"tokens\": ", info_.tokens,
      ", \"fingerprint\": \"", strCat(std::hex, info_.fingerprint), "\", \"train_tokens\": ",
      data_.trainTokens(), ", \"val_tokens\": ", data_.valTokens(), ", \"cursor\": ", step_,
      "},\n  \"schedule\": {\"kind\": \"linear warmup, cosine decay\", \"max_lr\": ",
      jnum(schedule_.maxLr), ", \"min_lr\": ", jnum(schedule_.minLr), ", \"warmup\": ",
      schedule_.warmup, ", \"total\": ", schedule_.total, ", \"next_lr\": ",
      jnum(schedule_.at(step_)), "},\n  \"optimizer\": {\"kind\": \"AdamW\", \"beta1\": ",
      jnum(optimizer_.config().beta1), ", \"beta2\": ", jnum(optimizer_.config().beta2),
      ", \"eps\": ", jnum(optimizer_.config().eps), ", \"weight_decay\": ",
      jnum(optimizer_.config().weightDecay), ", \"t\": ", optimizer_.stepCount(),
      "},\n  \"config\": ", trainConfigJson(config_), "\n}\n");
  files.extra.push_back({"loss.csv", historyCsv(history_)});
  const std::string modelName = config_.model.substr(config_.model.find_last_of('/') + 1);
  files.extra.push_back({"loss.svg", lossPlotSvg(history_, "training loss: " + modelName)});
  return writeCheckpointDir(dir, files);
}

Status Trainer::resume(const std::string &dir) {
  const std::string statePath = dir + "/state.json";
  HYBRID_ASSIGN_OR_RETURN(std::string text, readTextFile(statePath));
  auto json = parseJson(text);
  if (!json.ok())
    return Status(json.status()).context(statePath);
  HYBRID_ASSIGN_OR_RETURN(int64_t step, intMember(*json, "step", statePath));
  HYBRID_ASSIGN_OR_RETURN(int64_t tokens, intMember(*json, "tokens", statePath));
  HYBRID_ASSIGN_OR_RETURN(const JsonValue *elapsed,
                          member(*json, "elapsed_s", JsonValue::Kind::Number, statePath));
  HYBRID_ASSIGN_OR_RETURN(const JsonValue *data,
                          member(*json, "data", JsonValue::Kind::Object, statePath));
  HYBRID_ASSIGN_OR_RETURN(const JsonValue *opt,
                          member(*json, "optimizer", JsonValue::Kind::Object, statePath));
  HYBRID_ASSIGN_OR_RETURN(int64_t t, intMember(*opt, "t", statePath));
  HYBRID_ASSIGN_OR_RETURN(int64_t dataTokens, intMember(*data, "tokens", statePath));
  HYBRID_ASSIGN_OR_RETURN(const JsonValue *fp,
                          member(*data, "fingerprint", JsonValue::Kind::String, statePath));
  if (dataTokens != info_.tokens || fp->asString() != strCat(std::hex, info_.fingerprint))
    return HYBRID_ERROR("the data differs from the checkpoint's: ", statePath, " records ",
                        dataTokens, " tokens (fingerprint ", fp->asString(), "), this run has ",
                        info_.tokens, " (", strCat(std::hex, info_.fingerprint), ")");
  if (step < 0 || step > config_.steps)
    return HYBRID_ERROR(statePath, ": step ", step, " is beyond --steps ", config_.steps);

  // Weights and moments, by tensor name, shapes checked.
  HYBRID_ASSIGN_OR_RETURN(auto wfile, SafetensorsFile::open(dir + "/weights.safetensors"));
  HYBRID_ASSIGN_OR_RETURN(auto ofile, SafetensorsFile::open(dir + "/optimizer.safetensors"));
  const size_t nw = target_.numWeights();
  std::vector<std::vector<float>> m(nw), v(nw);
  for (size_t i = 0; i < nw; ++i) {
    const std::string name = target_.fileName(i);
    const std::vector<int64_t> shape = target_.shape(i);
    if (!wfile->find(name))
      return HYBRID_ERROR(wfile->path(), ": no tensor ", name);
    HYBRID_RETURN_IF_ERROR(wfile->readAsF32(name, shape, target_.weight(i).data()));
    for (auto [tensor, dst] : {std::make_pair("exp_avg." + name, &m[i]),
                               std::make_pair("exp_avg_sq." + name, &v[i])}) {
      if (!ofile->find(tensor))
        return HYBRID_ERROR(ofile->path(), ": no tensor ", tensor);
      dst->resize(target_.weight(i).size());
      HYBRID_RETURN_IF_ERROR(ofile->readAsF32(tensor, shape, dst->data()));
    }
  }
  HYBRID_RETURN_IF_ERROR(optimizer_.setState(t, std::move(m), std::move(v)));

  // History (display only; the trajectory does not depend on it).
  history_.clear();
  auto csv = readTextFile(dir + "/loss.csv");
  if (csv.ok()) {
    HYBRID_ASSIGN_OR_RETURN(history_, parseHistoryCsv(*csv, dir + "/loss.csv"));
    history_.erase(std::remove_if(history_.begin(), history_.end(),
                                  [&](const HistoryRow &r) { return r.step > step; }),
                   history_.end());
  }
  step_ = step;
  tokens_ = tokens;
  elapsed_ = elapsed->asDouble();
  return Status();
}

} // namespace hybrid
