//===- ProgramRunner.cpp - Run one program of an artifact on the CPU ------===//
#include "runtime/exec/ProgramRunner.h"

#include "runtime/io/Safetensors.h"
#include "runtime/support/FileUtil.h"

namespace hybrid {
namespace {
bool isGrad(const std::string &op) {
  return op.size() > 5 && op.compare(op.size() - 5, 5, ".grad") == 0;
}
CpuKernelFn kernelFor(const std::string &op) {
  return isGrad(op) ? findCpuGradKernel(op.substr(0, op.size() - 5)) : findCpuKernel(op);
}
} // namespace

Status ProgramRunner::checkKernels(const hyb::Program &p) {
  for (const hyb::Instr *in : *p.instrs())
    if (!kernelFor(in->op()->str()))
      return HYBRID_ERROR("no CPU kernel for op '", in->op()->str(), "' (program '",
                          p.name()->str(), "'); register it in runtime/cpu/CpuOps.cpp",
                          isGrad(in->op()->str()) ? " or CpuGradOps.cpp" : "");
  return Status();
}

TensorRef ProgramRunner::view(int id) const {
  TensorRef t;
  if (id < 0)
    return t;
  const auto *values = run_.program->values();
  const hyb::Value *v = values->Get(id);
  int root = id;
  while (values->Get(root)->kind() == hyb::ValueKind::Alias)
    root = values->Get(root)->alias_of();
  const hyb::Value *r = values->Get(root);
  const int64_t tokens = run_.batch * run_.seq;
  switch (r->kind()) {
  case hyb::ValueKind::Weight: {
    const hyb::Weight *w = run_.model->artifact().root().weights()->Get(r->weight());
    t.data = const_cast<float *>(run_.model->weight(r->weight()).data());
    t.shape.assign(w->shape()->begin(), w->shape()->end());
    return t;
  }
  case hyb::ValueKind::Fixed:
    t.data = reinterpret_cast<char *>(const_cast<float *>(fixed_.data())) + r->offset_fixed();
    if (r->trailing())
      t.shape.assign(r->trailing()->begin(), r->trailing()->end());
    return t;
  case hyb::ValueKind::Input: {
    int index = 0;
    for (int32_t in : *run_.program->inputs()) {
      if (in == root)
        break;
      ++index;
    }
    t.data = const_cast<int32_t *>(run_.inputs[index]);
    t.isInt = true;
    t.shape = {run_.batch, run_.seq};
    return t;
  }
  default:
    t.data = reinterpret_cast<char *>(const_cast<float *>(arena_.data())) +
             r->offset_per_token() * tokens;
    t.shape = {run_.batch, run_.seq};
    if (v->trailing())
      t.shape.insert(t.shape.end(), v->trailing()->begin(), v->trailing()->end());
    return t;
  }
}

Status ProgramRunner::run(const ProgramRun &run) {
  run_ = run;
  const hyb::Program &p = *run.program;
  if (run.inputs.size() != p.inputs()->size())
    return HYBRID_ERROR("program '", p.name()->str(), "' takes ", p.inputs()->size(),
                        " inputs, got ", run.inputs.size());
  const int64_t tokens = run.batch * run.seq;
  arena_.resize(static_cast<size_t>((p.arena_bytes_per_token() * tokens + 3) / 4));
  fixed_.resize(static_cast<size_t>((p.fixed_arena_bytes() + 3) / 4));
  const std::string dump = p.name()->str() == "prefill" ? valueDumpDir() : std::string();
  int index = -1;
  for (const hyb::Instr *in : *p.instrs()) {
    ++index;
    OpContext ctx;
    ctx.op = in->op()->str();
    bool grad = isGrad(ctx.op);
    if (grad && run.forwardOnly)
      break;
    for (int32_t id : *in->inputs())
      ctx.inputs.push_back(view(id));
    for (int32_t id : *in->outputs())
      ctx.outputs.push_back(view(id));
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
    if (grad) {
      // The loss has no incoming gradient operand: its gradient is 1.
      int64_t n = ctx.attrInt("num_inputs", 0), m = ctx.attrInt("num_outputs", 0);
      if ((int64_t)ctx.inputs.size() == n + m)
        for (int64_t i = 0; i < m; ++i) {
          TensorRef seed;
          seed.data = &one_;
          ctx.inputs.push_back(seed);
        }
    }
    ctx.cache = in->cache() >= 0 && run.caches ? &(*run.caches)[in->cache()] : nullptr;
    ctx.batch = run.batch;
    ctx.seq = run.seq;
    ctx.pos0 = run.pos0;
    Status st = kernelFor(ctx.op)(ctx);
    if (!st.ok())
      return st.context("op '" + ctx.op + "'");
    if (run.roundToBf16)
      for (int32_t id : *in->outputs()) {
        if (id < 0 || !(*run.roundToBf16)[id])
          continue;
        TensorRef t = view(id);
        if (t.isInt || !t.data)
          continue;
        float *f = t.f();
        for (int64_t i = 0, n = t.numel(); i < n; ++i)
          f[i] = bfloat16ToFloat(floatToBfloat16(f[i]));
      }
    for (size_t o = 0; o < ctx.outputs.size() && !dump.empty(); ++o) {
      const TensorRef &t = ctx.outputs[o];
      if (t.isInt || !t.data)
        continue;
      const std::string npy = npyFloat32(t.f(), t.shape);
      HYBRID_RETURN_IF_ERROR(writeFileAtomic(
          valueDumpPath(dump, index, ctx.op, in->outputs()->Get(o)), npy.data(), npy.size()));
    }
  }
  return Status();
}

} // namespace hybrid
