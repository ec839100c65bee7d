//===- CpuSession.cpp - The CPU reference executor ------------------------===//
#include "runtime/exec/Executor.h"
#include "runtime/exec/ProgramRunner.h"

#include "codegen/KernelPlan.h"

#include <algorithm>
#include <cstring>

namespace hybrid {
namespace {

class CpuSession : public Session {
public:
  CpuSession(const Model &model, int64_t batch, CpuSessionOptions o)
      : model_(model), batch_(batch), options_(o) {}

  Status init() {
    const hyb::Artifact &a = model_.artifact().root();
    // Every op of the inference programs needs a CPU kernel: fail before running.
    for (const char *name : {"prefill", "decode"})
      HYBRID_RETURN_IF_ERROR(ProgramRunner::checkKernels(*model_.artifact().program(name)));
    if (options_.cudaStorage)
      for (int k = 0; k < 2; ++k) {
        const hyb::Program &p = *model_.artifact().program(k ? "decode" : "prefill");
        codegen::ProgramView pv(a, p);
        std::vector<bool> &mask = bf16Values_[k];
        mask.assign(p.values()->size(), false);
        for (size_t id = 0; id < mask.size(); ++id)
          mask[id] = p.values()->Get(pv.root((int)id))->kind() == hyb::ValueKind::Activation &&
                     !pv.isF32((int)id);
      }
    int64_t n = a.caches() ? a.caches()->size() : 0;
    storage_.resize(n);
    refs_.resize(n);
    for (int64_t i = 0; i < n; ++i) {
      const hyb::Cache *c = a.caches()->Get(i);
      auto prod = [](const flatbuffers::Vector<int64_t> *v) {
        int64_t p = 1;
        for (int64_t d : *v)
          p *= d;
        return p;
      };
      Slot &s = storage_[i];
      if (c->kv()) {
        s.k.assign(batch_ * prod(c->kv()), 0.f);
        s.v.assign(batch_ * prod(c->kv()), 0.f);
        refs_[i].k = s.k.data();
        refs_[i].v = s.v.data();
        refs_[i].maxContext = c->kv()->Get(0);
      }
      if (c->conv()) {
        s.conv.assign(batch_ * prod(c->conv()), 0.f);
        refs_[i].conv = s.conv.data();
      }
      if (c->ssm()) {
        s.ssm.assign(batch_ * prod(c->ssm()), 0.f);
        refs_[i].ssm = s.ssm.data();
      }
    }
    return Status();
  }

  Status forward(const int32_t *ids, int64_t seq, std::vector<float> *logits) override {
    if (seq <= 0)
      return HYBRID_ERROR("forward needs at least one token per sequence");
    if (pos_ + seq > model_.maxContext())
      return HYBRID_ERROR("context full: ", pos_, " + ", seq, " tokens exceed the compiled maximum of ",
                          model_.maxContext(), " (hybridc compile --max-context)");
    const hyb::Program *p = model_.artifact().program(seq == 1 ? "decode" : "prefill");
    HYBRID_RETURN_IF_ERROR(run(*p, ids, seq, logits));
    pos_ += seq;
    return Status();
  }

  int64_t position() const override { return pos_; }

  void reset() override {
    pos_ = 0;
    for (Slot &s : storage_)
      for (auto *v : {&s.k, &s.v, &s.conv, &s.ssm})
        std::fill(v->begin(), v->end(), 0.f);
  }

private:
  struct Slot {
    std::vector<float> k, v, conv, ssm;
  };

  Status run(const hyb::Program &p, const int32_t *ids, int64_t seq, std::vector<float> *logits) {
    std::vector<int64_t> pos0(batch_, pos_);
    ProgramRun r;
    r.model = &model_;
    r.program = &p;
    r.batch = batch_;
    r.seq = seq;
    r.inputs = {ids};
    r.caches = &refs_;
    r.pos0 = pos0.data();
    if (options_.cudaStorage)
      r.roundToBf16 = &bf16Values_[seq == 1 ? 1 : 0];
    HYBRID_RETURN_IF_ERROR(runner_.run(r));
    TensorRef out = runner_.view(p.outputs()->Get(0));
    logits->assign(out.f(), out.f() + out.numel());
    return Status();
  }

  const Model &model_;
  int64_t batch_;
  CpuSessionOptions options_;
  std::vector<bool> bf16Values_[2]; // prefill, decode (cudaStorage)
  int64_t pos_ = 0;
  std::vector<Slot> storage_;
  std::vector<CacheRef> refs_;
  ProgramRunner runner_;
};

} // namespace

StatusOr<std::unique_ptr<Session>> createCpuSession(const Model &model, int64_t batch,
                                                    CpuSessionOptions options) {
  if (batch <= 0)
    return HYBRID_ERROR("batch must be positive, got ", batch);
  auto s = std::make_unique<CpuSession>(model, batch, options);
  HYBRID_RETURN_IF_ERROR(s->init());
  return std::unique_ptr<Session>(std::move(s));
}

} // namespace hybrid
