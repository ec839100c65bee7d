//===- CpuSession.cpp - The CPU reference executor ------------------------===//
#include "runtime/exec/Executor.h"

#include <algorithm>
#include <cstring>

namespace hybrid {
namespace {

class CpuSession : public Session {
public:
  CpuSession(const Model &model, int64_t batch) : model_(model), batch_(batch) {}

  Status init() {
    const hyb::Artifact &a = model_.artifact().root();
    // Every op of every program needs a CPU kernel: fail before running.
    for (const hyb::Program *p : *a.programs())
      for (const hyb::Instr *in : *p->instrs())
        if (!findCpuKernel(in->op()->str()))
          return HYBRID_ERROR("no CPU kernel for op '", in->op()->str(), "' (program '",
                              p->name()->str(), "'); register it in runtime/cpu/CpuOps.cpp");
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
    const int64_t tokens = batch_ * seq;
    const int64_t arenaBytes = p.arena_bytes_per_token() * tokens;
    arena_.resize(static_cast<size_t>((arenaBytes + 3) / 4));
    std::vector<int64_t> pos0(batch_, pos_);
    const auto *values = p.values();

    auto ref = [&](int id) -> TensorRef {
      TensorRef t;
      if (id < 0)
        return t;
      const hyb::Value *v = values->Get(id);
      int root = id;
      while (values->Get(root)->kind() == hyb::ValueKind::Alias)
        root = values->Get(root)->alias_of();
      const hyb::Value *r = values->Get(root);
      if (r->kind() == hyb::ValueKind::Weight) {
        const hyb::Weight *w = model_.artifact().root().weights()->Get(r->weight());
        t.data = const_cast<float *>(model_.weight(r->weight()).data());
        t.shape.assign(w->shape()->begin(), w->shape()->end());
        return t;
      }
      t.shape = {batch_, seq};
      if (v->trailing())
        t.shape.insert(t.shape.end(), v->trailing()->begin(), v->trailing()->end());
      if (r->kind() == hyb::ValueKind::Input) {
        t.data = const_cast<int32_t *>(ids);
        t.isInt = true;
      } else {
        t.data = reinterpret_cast<char *>(arena_.data()) + r->offset_per_token() * tokens;
      }
      return t;
    };

    for (const hyb::Instr *in : *p.instrs()) {
      OpContext ctx;
      ctx.op = in->op()->str();
      for (int32_t id : *in->inputs())
        ctx.inputs.push_back(ref(id));
      for (int32_t id : *in->outputs())
        ctx.outputs.push_back(ref(id));
      if (in->attrs())
        for (const hyb::Attr *a : *in->attrs()) {
          AttrValue v;
          v.kind = static_cast<AttrValue::Kind>(a->kind());
          v.i = a->i();
          v.f = a->f();
          if (a->s())
            v.s = a->s()->str();
          if (a->ints())
            v.ints.assign(a->ints()->begin(), a->ints()->end());
          if (a->floats())
            v.floats.assign(a->floats()->begin(), a->floats()->end());
          ctx.attrs[a->key()->str()] = std::move(v);
        }
      ctx.cache = in->cache() >= 0 ? &refs_[in->cache()] : nullptr;
      ctx.batch = batch_;
      ctx.seq = seq;
      ctx.pos0 = pos0.data();
      Status st = findCpuKernel(ctx.op)(ctx);
      if (!st.ok())
        return st.context("op '" + ctx.op + "'");
    }
    TensorRef out = ref(p.outputs()->Get(0));
    logits->assign(out.f(), out.f() + out.numel());
    return Status();
  }

  const Model &model_;
  int64_t batch_;
  int64_t pos_ = 0;
  std::vector<Slot> storage_;
  std::vector<CacheRef> refs_;
  std::vector<float> arena_;
};

} // namespace

StatusOr<std::unique_ptr<Session>> createCpuSession(const Model &model, int64_t batch) {
  if (batch <= 0)
    return HYBRID_ERROR("batch must be positive, got ", batch);
  auto s = std::make_unique<CpuSession>(model, batch);
  HYBRID_RETURN_IF_ERROR(s->init());
  return std::unique_ptr<Session>(std::move(s));
}

} // namespace hybrid
