//===- TrainCheckpointTest.cpp - Checkpoints, resume, the loop ------------===//
//
// The loop runs a fake model: a quadratic whose target depends on the batch's
// tokens, with its exact gradient, so that every part of the trajectory
// (data, accumulation, clipping, schedule, AdamW, decay groups) matters.
//
//===----------------------------------------------------------------------===//
#include "runtime/io/Json.h"
#include "runtime/io/Safetensors.h"
#include "runtime/train/Checkpoint.h"
#include "runtime/train/Loop.h"
#include "runtime/train/Optimizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <dirent.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace hybrid;

namespace {

std::string tempPath(const std::string &name) {
  return ::testing::TempDir() + "/traincp_" + std::to_string(::getpid()) + "_" + name;
}

/// loss = mean over tokens x of 0.5 * sum_j (w_j - c_j(x))^2 with
/// c_j(x) = ((7x + 3j) mod 11) / 11; w_j runs over all weights' elements.
class QuadraticTarget : public TrainTarget {
public:
  QuadraticTarget() {
    names_ = {"embed", "layers.0.mixer_norm", "layers.0.attn.q"};
    files_ = {"model.embed_tokens.weight", "model.layers.0.input_layernorm.weight",
              "model.layers.0.self_attn.q_proj.weight"};
    shapes_ = {{4}, {3}, {2, 3}};
    weights_ = {{0.1f, -0.2f, 0.3f, 0.0f}, {1, 1, 1}, {0.5f, 0.4f, 0.3f, 0.2f, 0.1f, 0.0f}};
  }
  size_t numWeights() const override { return names_.size(); }
  std::string name(size_t i) const override { return names_[i]; }
  std::string fileName(size_t i) const override { return files_[i]; }
  std::vector<int64_t> shape(size_t i) const override { return shapes_[i]; }
  std::vector<float> &weight(size_t i) override { return weights_[i]; }

  StatusOr<double> trainStep(const Batch &b, std::vector<std::vector<float>> *grads) override {
    if (failAtCall >= 0 && calls++ == failAtCall)
      return HYBRID_ERROR("simulated crash");
    grads->resize(weights_.size());
    for (size_t i = 0; i < weights_.size(); ++i)
      (*grads)[i].assign(weights_[i].size(), 0.f);
    return loss(b, grads);
  }
  StatusOr<double> evalLoss(const Batch &b) override { return loss(b, nullptr); }

  std::vector<std::vector<float>> weights_;
  int failAtCall = -1;
  int calls = 0;

private:
  double loss(const Batch &b, std::vector<std::vector<float>> *grads) {
    double sum = 0;
    const double n = static_cast<double>(b.ids.size());
    for (int32_t x : b.ids) {
      int j = 0;
      for (size_t i = 0; i < weights_.size(); ++i)
        for (size_t e = 0; e < weights_[i].size(); ++e, ++j) {
          double c = ((7 * x + 3 * j) % 11) / 11.0;
          double d = weights_[i][e] - c;
          sum += 0.5 * d * d;
          if (grads)
            (*grads)[i][e] += static_cast<float>(d / n);
        }
    }
    return sum / n;
  }
  std::vector<std::string> names_, files_;
  std::vector<std::vector<int64_t>> shapes_;
};

std::vector<int32_t> stream() {
  std::vector<int32_t> s;
  uint32_t x = 12345;
  for (int i = 0; i < 4000; ++i) {
    x = x * 1103515245u + 12345u;
    s.push_back(static_cast<int32_t>((x >> 16) % 50));
  }
  return s;
}

TrainConfig config() {
  TrainConfig c;
  c.model = "fake.hyb";
  c.data = {"fake.txt"};
  c.steps = 12;
  c.batch = 3;
  c.seq = 8;
  c.accum = 2;
  c.lr = 0.05;
  c.warmup = 3;
  c.clip = 0.5; // active: the initial gradient norm is larger
  c.valEvery = 4;
  c.valBatches = 2;
  c.seed = 99;
  c.resolveDefaults();
  return c;
}

std::vector<std::string> listDir(const std::string &dir) {
  std::vector<std::string> names;
  if (DIR *d = ::opendir(dir.c_str())) {
    while (struct dirent *e = ::readdir(d))
      if (e->d_name[0] != '.')
        names.push_back(e->d_name);
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

void removeTree(const std::string &dir) {
  for (const std::string &n : listDir(dir))
    ::unlink((dir + "/" + n).c_str());
  ::rmdir(dir.c_str());
}

/// Rows after `resumedAt` bit for bit; earlier rows, restored from loss.csv
/// (%.10g), as the same text. Throughput (wall clock) is left out.
void expectSameHistory(std::vector<HistoryRow> a, std::vector<HistoryRow> b, int64_t resumedAt) {
  ASSERT_EQ(a.size(), b.size());
  for (auto *rows : {&a, &b})
    for (HistoryRow &r : *rows)
      r.tokPerS = 0;
  EXPECT_EQ(historyCsv(a), historyCsv(b));
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].step <= resumedAt)
      continue;
    EXPECT_EQ(a[i].step, b[i].step);
    // Bit for bit (NaN == NaN for steps without validation).
    EXPECT_EQ(std::memcmp(&a[i].train, &b[i].train, sizeof(double)), 0) << "step " << a[i].step;
    EXPECT_EQ(std::memcmp(&a[i].val, &b[i].val, sizeof(double)), 0) << "step " << a[i].step;
    EXPECT_EQ(a[i].lr, b[i].lr);
    EXPECT_EQ(a[i].gradNorm, b[i].gradNorm);
  }
}

TEST(TrainLoop, LearnsAndPrintsTheFinalLineLast) {
  auto data = BatchSampler::create(stream(), 0.05, 8, 99);
  ASSERT_TRUE(data.ok());
  QuadraticTarget target;
  TrainConfig c = config();
  c.steps = 60;
  c.valEvery = 10;
  Trainer trainer(c, target, *data, DataInfo{4000, 1});
  std::FILE *log = std::tmpfile();
  auto r = trainer.run(log);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->steps, 60);
  EXPECT_EQ(r->tokens, 60 * 3 * 8 * 2);
  EXPECT_LT(trainer.history().back().train, 0.7 * trainer.history().front().train);
  EXPECT_TRUE(std::isfinite(r->valLoss));
  EXPECT_EQ(r->valLoss, trainer.history().back().val);
  int vals = 0;
  for (const HistoryRow &h : trainer.history())
    vals += !std::isnan(h.val);
  EXPECT_EQ(vals, 6);
  // Schedule recorded per step: the warmup's first lr, the cosine's last.
  EXPECT_DOUBLE_EQ(trainer.history().front().lr, 0.05 / 3);
  EXPECT_DOUBLE_EQ(trainer.history().back().lr, 0.005);

  std::rewind(log);
  std::string text;
  char buf[512];
  while (std::fgets(buf, sizeof(buf), log))
    text += buf;
  std::fclose(log);
  size_t lastLine = text.rfind('\n', text.size() - 2);
  std::string final = text.substr(lastLine + 1);
  EXPECT_EQ(final.rfind("final: train loss ", 0), 0u) << final;
  EXPECT_NE(final.find("val loss "), std::string::npos) << final;
  EXPECT_NE(final.find("(60 steps, 2880 tokens,"), std::string::npos) << final;
  EXPECT_NE(text.find("step 60/60  loss "), std::string::npos) << text;
  EXPECT_NE(text.find("  lr 5.0e-3  |g| "), std::string::npos) << text;
}

TEST(TrainLoop, ResumeContinuesBitForBit) {
  auto data = BatchSampler::create(stream(), 0.05, 8, 99);
  ASSERT_TRUE(data.ok());
  const std::string dir = tempPath("resume");
  removeTree(dir);

  // Uninterrupted.
  QuadraticTarget straight;
  Trainer a(config(), straight, *data, DataInfo{4000, 1});
  ASSERT_TRUE(a.run(nullptr).ok());

  // Killed during step 7 after saving at step 6 (save every 3).
  QuadraticTarget first;
  first.failAtCall = 6 * 2 + 1; // 2 micro-batches per step
  TrainConfig c = config();
  c.out = dir;
  c.saveEvery = 3;
  Trainer b(c, first, *data, DataInfo{4000, 1});
  auto crashed = b.run(nullptr);
  ASSERT_FALSE(crashed.ok());
  EXPECT_NE(crashed.status().message().find("step 7"), std::string::npos)
      << crashed.status().message();
  ASSERT_TRUE(isCheckpointDir(dir));
  EXPECT_EQ(listDir(dir), (std::vector<std::string>{"loss.csv", "loss.svg",
                                                    "optimizer.safetensors", "state.json",
                                                    "weights.safetensors"}));

  // A fresh process: other initial weights, everything restored from dir.
  QuadraticTarget second;
  for (auto &w : second.weights_)
    std::fill(w.begin(), w.end(), 9.f);
  auto saved = readCheckpointConfig(dir);
  ASSERT_TRUE(saved.ok()) << saved.status().toString();
  saved->out = dir; // not part of the saved configuration
  Trainer resumed(*saved, second, *data, DataInfo{4000, 1});
  Status st = resumed.resume(dir);
  ASSERT_TRUE(st.ok()) << st.toString();
  EXPECT_EQ(resumed.step(), 6);
  ASSERT_TRUE(resumed.run(nullptr).ok());

  for (size_t i = 0; i < straight.weights_.size(); ++i) {
    ASSERT_EQ(straight.weights_[i].size(), second.weights_[i].size());
    EXPECT_EQ(std::memcmp(straight.weights_[i].data(), second.weights_[i].data(),
                          straight.weights_[i].size() * sizeof(float)),
              0)
        << "weight " << i;
  }
  expectSameHistory(a.history(), resumed.history(), 6);

  // The final checkpoint's weights are the trained ones, by HF name.
  auto wf = SafetensorsFile::open(dir + "/weights.safetensors");
  ASSERT_TRUE(wf.ok()) << wf.status().toString();
  auto q = (*wf)->readAsF32("model.layers.0.self_attn.q_proj.weight");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(*q, straight.weights_[2]);
  EXPECT_EQ((*wf)->find("model.layers.0.self_attn.q_proj.weight")->shape,
            (std::vector<int64_t>{2, 3}));
  auto of = SafetensorsFile::open(dir + "/optimizer.safetensors");
  ASSERT_TRUE(of.ok());
  EXPECT_NE((*of)->find("exp_avg.model.embed_tokens.weight"), nullptr);
  EXPECT_NE((*of)->find("exp_avg_sq.model.embed_tokens.weight"), nullptr);
  auto csv = readTextFile(dir + "/loss.csv");
  ASSERT_TRUE(csv.ok());
  auto rows = parseHistoryCsv(*csv, "loss.csv");
  ASSERT_TRUE(rows.ok()) << rows.status().toString();
  EXPECT_EQ(rows->size(), 12u);
  auto svg = readTextFile(dir + "/loss.svg");
  ASSERT_TRUE(svg.ok());
  EXPECT_EQ(svg->rfind("<svg ", 0), 0u);
  EXPECT_NE(svg->find("</svg>"), std::string::npos);

  // No temporary directory left next to it.
  std::string parent = ::testing::TempDir();
  for (const std::string &n : listDir(parent))
    EXPECT_EQ(n.find("traincp_" + std::to_string(::getpid()) + "_resume."), std::string::npos) << n;
  removeTree(dir);
}

/// The quadratic as a device target (TrainTarget::updatesItself): the
/// gradients and the optimizer stay inside the target, as on the GPU. Its
/// update is the host loop's math (clipGradNorm, then AdamW), so a run must
/// reproduce the host-driven run exactly, and checkpoints must carry the
/// moments the target hands back.
class SelfUpdatingTarget : public QuadraticTarget {
public:
  bool updatesItself() const override { return true; }
  StatusOr<double> trainStep(const Batch &, std::vector<std::vector<float>> *) override {
    return HYBRID_ERROR("the loop must not ask a self-updating target for gradients");
  }
  StatusOr<double> accumulate(const Batch &b, bool first) override {
    std::vector<std::vector<float>> g;
    HYBRID_ASSIGN_OR_RETURN(double loss, QuadraticTarget::trainStep(b, &g));
    if (first || acc_.empty())
      acc_ = g, n_ = 1;
    else {
      for (size_t i = 0; i < g.size(); ++i)
        for (size_t e = 0; e < g[i].size(); ++e)
          acc_[i][e] += g[i][e];
      ++n_;
    }
    ++accumulateCalls;
    return loss;
  }
  StatusOr<double> update(const AdamWConfig &config, double lr, double clip, int64_t t,
                          const std::vector<bool> &decayed) override {
    if (!adam_) {
      std::vector<size_t> sizes;
      for (auto &w : weights_)
        sizes.push_back(w.size());
      adam_ = std::make_unique<AdamW>(config, sizes, decayed);
      HYBRID_RETURN_IF_ERROR(adam_->setState(t - 1, m0_, v0_));
    }
    if (adam_->stepCount() != t - 1)
      return HYBRID_ERROR("update ", t, " after ", adam_->stepCount());
    for (auto &g : acc_)
      for (float &x : g)
        x /= static_cast<float>(n_);
    const double norm = clipGradNorm(&acc_, clip);
    HYBRID_RETURN_IF_ERROR(adam_->step(&weights_, acc_, lr));
    return norm;
  }
  Status syncToHost(std::vector<std::vector<float>> *m,
                    std::vector<std::vector<float>> *v) override {
    *m = adam_ ? adam_->m() : m0_, *v = adam_ ? adam_->v() : v0_;
    return Status();
  }
  Status setMoments(const std::vector<std::vector<float>> &m,
                    const std::vector<std::vector<float>> &v) override {
    m0_ = m, v0_ = v;
    return Status();
  }
  int accumulateCalls = 0;

private:
  std::vector<std::vector<float>> acc_, m0_, v0_;
  int n_ = 0;
  std::unique_ptr<AdamW> adam_;
};

void expectSameWeights(const QuadraticTarget &want, const QuadraticTarget &got) {
  for (size_t i = 0; i < want.weights_.size(); ++i)
    EXPECT_EQ(want.weights_[i], got.weights_[i]) << "weight " << i;
}

TEST(TrainLoop, SelfUpdatingTargetMatchesTheHostLoopAndResumes) {
  auto data = BatchSampler::create(stream(), 0.05, 8, 99);
  ASSERT_TRUE(data.ok());
  QuadraticTarget host;
  Trainer a(config(), host, *data, DataInfo{4000, 1});
  ASSERT_TRUE(a.run(nullptr).ok());

  SelfUpdatingTarget device;
  Trainer b(config(), device, *data, DataInfo{4000, 1});
  auto r = b.run(nullptr);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(device.accumulateCalls, 12 * 2);  // accum 2
  expectSameWeights(host, device);
  expectSameHistory(a.history(), b.history(), 0);

  // 6 steps with a checkpoint, then a fresh target resumed from it.
  const std::string dir = tempPath("selfupdating");
  removeTree(dir);
  SelfUpdatingTarget first;
  TrainConfig c = config();
  c.out = dir;
  c.stopAfter = 6;
  Trainer f(c, first, *data, DataInfo{4000, 1});
  ASSERT_TRUE(f.run(nullptr).ok());
  SelfUpdatingTarget second;
  auto saved = readCheckpointConfig(dir);
  ASSERT_TRUE(saved.ok()) << saved.status().toString();
  saved->out = dir;
  saved->stopAfter = 0;
  Trainer g(*saved, second, *data, DataInfo{4000, 1});
  Status st = g.resume(dir);
  ASSERT_TRUE(st.ok()) << st.toString();
  ASSERT_TRUE(g.run(nullptr).ok());
  expectSameWeights(host, second);
  expectSameHistory(a.history(), g.history(), 6);
  removeTree(dir);
}

TEST(TrainLoop, ResumeRejectsOtherData) {
  auto data = BatchSampler::create(stream(), 0.05, 8, 99);
  const std::string dir = tempPath("otherdata");
  removeTree(dir);
  QuadraticTarget t;
  TrainConfig c = config();
  c.out = dir;
  c.steps = 2;
  Trainer a(c, t, *data, DataInfo{4000, 1});
  ASSERT_TRUE(a.run(nullptr).ok());
  Trainer b(c, t, *data, DataInfo{4000, 2});
  Status st = b.resume(dir);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("data differs"), std::string::npos) << st.message();
  removeTree(dir);
}

TEST(TrainCheckpoint, ConfigRoundTrip) {
  TrainConfig c = config();
  c.data = {"a \"quoted\".txt", "b.bin"};
  c.dataFormat = DataFormat::UInt32;
  c.seed = 18446744073709551615ull; // exact above 2^53
  c.lr = 0.1 + 0.2;                 // not a short decimal
  std::string json = trainConfigJson(c);
  auto parsed = parseJson(json);
  ASSERT_TRUE(parsed.ok()) << parsed.status().toString() << "\n" << json;
  auto back = trainConfigFromJson(*parsed, "state.json");
  ASSERT_TRUE(back.ok()) << back.status().toString();
  EXPECT_EQ(back->data, c.data);
  EXPECT_EQ(back->dataFormat, DataFormat::UInt32);
  EXPECT_EQ(back->seed, c.seed);
  EXPECT_EQ(back->lr, c.lr);
  EXPECT_EQ(back->minLr, c.minLr);
  EXPECT_EQ(back->steps, c.steps);
  EXPECT_EQ(back->accum, c.accum);
  EXPECT_EQ(back->warmup, c.warmup);
  EXPECT_EQ(back->clip, c.clip);
}

TEST(TrainCheckpoint, AtomicReplaceAndRefusals) {
  const std::string dir = tempPath("atomic");
  removeTree(dir);
  float w1[2] = {1, 2}, w2[2] = {3, 4};
  CheckpointFiles f;
  f.weights = {{"w", {w1, {2}}}};
  f.stateJson = "{\"step\": 1}";
  ASSERT_TRUE(writeCheckpointDir(dir, f).ok());
  f.weights = {{"w", {w2, {2}}}};
  f.stateJson = "{\"step\": 2}";
  ASSERT_TRUE(writeCheckpointDir(dir + "/", f).ok()); // replaces; trailing slash ok
  auto state = readTextFile(dir + "/state.json");
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(*state, "{\"step\": 2}");
  auto wf = SafetensorsFile::open(dir + "/weights.safetensors");
  ASSERT_TRUE(wf.ok());
  EXPECT_EQ(*(*wf)->readAsF32("w"), (std::vector<float>{3, 4}));
  for (const std::string &n : listDir(::testing::TempDir()))
    EXPECT_EQ(n.find("traincp_" + std::to_string(::getpid()) + "_atomic."), std::string::npos) << n;
  removeTree(dir);

  // A directory of someone else's files is never replaced.
  const std::string other = tempPath("notackpt");
  ::mkdir(other.c_str(), 0755);
  std::ofstream(other + "/precious.txt") << "keep me";
  Status st = writeCheckpointDir(other, f);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("refusing to replace " + other), std::string::npos) << st.message();
  EXPECT_TRUE(readTextFile(other + "/precious.txt").ok());
  ::unlink((other + "/precious.txt").c_str());
  ::rmdir(other.c_str());
  // A plain file in the way.
  const std::string file = tempPath("afile");
  std::ofstream(file) << "x";
  EXPECT_FALSE(writeCheckpointDir(file, f).ok());
  ::unlink(file.c_str());
}

TEST(TrainFormat, ProgressFields) {
  EXPECT_EQ(formatLr(2.9e-3), "2.9e-3");
  EXPECT_EQ(formatLr(3e-4), "3.0e-4");
  EXPECT_EQ(formatLr(12.5), "1.2e1"); // %.1e rounds half to even
  EXPECT_EQ(formatCount(1234), "1.2K");
  EXPECT_EQ(formatCount(999), "999");
  EXPECT_EQ(formatCount(2.5e6), "2.5M");
  EXPECT_EQ(formatDuration(190), "3m10s");
  EXPECT_EQ(formatDuration(7), "7s");
  EXPECT_EQ(formatDuration(3725), "1h02m");
}

TEST(TrainHistory, CsvRoundTrip) {
  std::vector<HistoryRow> rows = {{1, 2.5, NAN, 1e-3, 0.84, 1200}, {2, 2.25, 2.4, 2e-3, 0.5, 1300}};
  std::string csv = historyCsv(rows);
  EXPECT_EQ(csv, "step,train_loss,val_loss,lr,grad_norm,tok_per_s\n1,2.5,,0.001,0.84,1200\n"
                 "2,2.25,2.4,0.002,0.5,1300\n");
  auto back = parseHistoryCsv(csv, "loss.csv");
  ASSERT_TRUE(back.ok()) << back.status().toString();
  EXPECT_EQ(historyCsv(*back), csv);
  auto bad = parseHistoryCsv("step,a\n1,2,x,4,5,6\n", "loss.csv");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("loss.csv:2: field 3 'x'"), std::string::npos)
      << bad.status().message();
}

} // namespace
