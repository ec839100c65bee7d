//===- CpuOps.cpp - The CPU kernel of every op: the one registration point ===//
//
// Each row of kCpuOps binds an op name of the artifact (the tensor-level op
// without "hybrid.") to an adapter that unpacks the OpContext and calls the
// fp32 kernel of runtime/cpu/CpuKernels.h. A new fused op registers its CPU
// kernel by adding one row here (see the README's "Writing a fusion pass").
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/CpuKernels.h"
#include "runtime/cpu/FusedOps.h"
#include "runtime/cpu/LMHeadLoss.h"
#include "runtime/cpu/OpAttrs.h"
#include "runtime/exec/OpContext.h"

#include <cstring>

namespace hybrid {
namespace {

using cpu::CombineMode;

int64_t rowsOf(const TensorRef &t) { return t.numel() / t.shape.back(); }

Status expectInputs(const OpContext &c, size_t lo, size_t hi) {
  if (c.inputs.size() < lo || c.inputs.size() > hi)
    return HYBRID_ERROR("op '", c.op, "' takes ", lo, "..", hi, " operands, got ", c.inputs.size());
  if (c.outputs.empty())
    return HYBRID_ERROR("op '", c.op, "' has no result");
  return Status();
}

const float *optional(const OpContext &c, size_t i) {
  return i < c.inputs.size() && c.inputs[i].valid() ? c.inputs[i].f() : nullptr;
}


Status runEmbedding(OpContext &c) {
  HYBRID_RETURN_IF_ERROR(expectInputs(c, 2, 2));
  const TensorRef &table = c.inputs[0], &ids = c.inputs[1];
  return cpu::embedding(table.f(), ids.i32(), ids.numel(), table.dim(0), table.dim(1),
                        c.outputs[0].f());
}

Status runRmsNorm(OpContext &c) {
  HYBRID_RETURN_IF_ERROR(expectInputs(c, 2, 2));
  const TensorRef &x = c.inputs[0];
  cpu::rmsnorm(x.f(), c.inputs[1].f(), rowsOf(x), x.dim(-1), c.attrF64("eps", 1e-5),
               c.outputs[0].f());
  return Status();
}

Status runGroupNorm(OpContext &c) {
  HYBRID_RETURN_IF_ERROR(expectInputs(c, 2, 2));
  const TensorRef &x = c.inputs[0];
  return cpu::groupNorm(x.f(), c.inputs[1].f(), rowsOf(x), x.dim(-1), c.attrInt("groups", 1),
                        c.attrF64("eps", 1e-5), c.outputs[0].f());
}

Status runGatedRmsNorm(OpContext &c) {
  HYBRID_RETURN_IF_ERROR(expectInputs(c, 3, 3));
  const TensorRef &y = c.inputs[0];
  return cpu::gatedRmsNorm(y.f(), c.inputs[1].f(), c.inputs[2].f(), rowsOf(y), y.dim(-1),
                           c.attrInt("groups", 1), c.attrF64("eps", 1e-5),
                           c.hasAttr("norm_before_gate"), c.outputs[0].f());
}

Status runLinear(OpContext &c) {
  HYBRID_RETURN_IF_ERROR(expectInputs(c, 2, 3));
  const TensorRef &x = c.inputs[0], &w = c.inputs[1];
  cpu::linear(x.f(), w.f(), optional(c, 2), rowsOf(x), w.dim(1), w.dim(0), c.outputs[0].f());
  return Status();
}

Status runLmHead(OpContext &c) {
  HYBRID_RETURN_IF_ERROR(expectInputs(c, 2, 2));
  const TensorRef &x = c.inputs[0], &w = c.inputs[1];
  cpu::lmHead(x.f(), w.f(), rowsOf(x), w.dim(1), w.dim(0), c.outputs[0].f());
  return Status();
}

Status runConv1d(OpContext &c) {
  HYBRID_RETURN_IF_ERROR(expectInputs(c, 2, 3));
  const TensorRef &x = c.inputs[0], &w = c.inputs[1];
  float *state = c.cache ? c.cache->conv : nullptr;
  cpu::conv1dCausal(x.f(), w.f(), optional(c, 2), c.batch, c.seq, x.dim(-1), w.dim(2), state,
                    c.outputs[0].f());
  return Status();
}

Status runSsdScan(OpContext &c) {
  HYBRID_RETURN_IF_ERROR(expectInputs(c, 5, 6));
  const TensorRef &x = c.inputs[0], &bm = c.inputs[3];
  float *state = c.cache ? c.cache->ssm : nullptr;
  return cpu::ssdScan(x.f(), c.inputs[1].f(), c.inputs[2].f(), bm.f(), c.inputs[4].f(),
                      optional(c, 5), c.batch, c.seq, x.dim(2), x.dim(3), bm.dim(2), bm.dim(3),
                      c.attrInt("chunk", 256), state, c.outputs[0].f());
}

Status runRope(OpContext &c) {
  HYBRID_RETURN_IF_ERROR(expectInputs(c, 1, 1));
  const TensorRef &x = c.inputs[0];
  HYBRID_ASSIGN_OR_RETURN(cpu::RopeScaling s, ropeScalingAttr(c, "scaling"));
  return cpu::rope(x.f(), c.batch, c.seq, x.dim(2), x.dim(3), c.pos0, c.attrF64("theta", 10000.0),
                   s, c.attrInt("rotary_dim", 0), c.outputs[0].f());
}

Status runAttention(OpContext &c) {
  HYBRID_RETURN_IF_ERROR(expectInputs(c, 3, 3));
  const TensorRef &q = c.inputs[0], &k = c.inputs[1];
  float *kc = c.cache ? c.cache->k : nullptr, *vc = c.cache ? c.cache->v : nullptr;
  return cpu::attention(q.f(), k.f(), c.inputs[2].f(), c.batch, c.seq, q.dim(2), k.dim(2), q.dim(3),
                        c.attrInt("window", 0), c.attrF64("scale", 0.0), kc, vc,
                        c.cache ? c.cache->maxContext : 0, c.pos0, c.outputs[0].f());
}

template <void (*Fn)(const float *, int64_t, float *)> Status runUnary(OpContext &c) {
  HYBRID_RETURN_IF_ERROR(expectInputs(c, 1, 1));
  Fn(c.inputs[0].f(), c.inputs[0].numel(), c.outputs[0].f());
  return Status();
}

Status runClamp(OpContext &c) {
  HYBRID_RETURN_IF_ERROR(expectInputs(c, 1, 1));
  cpu::clamp(c.inputs[0].f(), c.inputs[0].numel(), c.attrF64("min", 0), c.attrF64("max", 0),
             c.outputs[0].f());
  return Status();
}

Status runScale(OpContext &c) {
  HYBRID_RETURN_IF_ERROR(expectInputs(c, 1, 1));
  cpu::scale(c.inputs[0].f(), c.inputs[0].numel(), c.attrF64("factor", 1.0), c.outputs[0].f());
  return Status();
}

Status runSwiglu(OpContext &c) {
  HYBRID_RETURN_IF_ERROR(expectInputs(c, 2, 2));
  cpu::swiglu(c.inputs[0].f(), c.inputs[1].f(), c.inputs[0].numel(), c.outputs[0].f());
  return Status();
}

template <Status (*Fn)(const float *, const int64_t *, int, const float *, const int64_t *, int,
                       float *)>
Status runBinary(OpContext &c) {
  HYBRID_RETURN_IF_ERROR(expectInputs(c, 2, 2));
  const TensorRef &l = c.inputs[0], &r = c.inputs[1];
  return Fn(l.f(), l.shape.data(), static_cast<int>(l.shape.size()), r.f(), r.shape.data(),
            static_cast<int>(r.shape.size()), c.outputs[0].f());
}

Status runCombine(OpContext &c) {
  HYBRID_RETURN_IF_ERROR(expectInputs(c, 2, 2));
  HYBRID_ASSIGN_OR_RETURN(CombineMode m, combineModeAttr(c));
  const TensorRef &a = c.inputs[0], &b = c.inputs[1];
  return cpu::combine(a.f(), b.f(), rowsOf(a), a.dim(-1), b.dim(-1), m, c.outputs[0].f());
}

Status runSplit(OpContext &c) {
  HYBRID_RETURN_IF_ERROR(expectInputs(c, 1, 1));
  const std::vector<int64_t> *sizes = c.attrInts("sizes");
  if (!sizes || sizes->size() != c.outputs.size())
    return HYBRID_ERROR("op 'split': sizes do not match its ", c.outputs.size(), " results");
  std::vector<float *> outs;
  for (TensorRef &o : c.outputs)
    outs.push_back(o.f());
  const TensorRef &x = c.inputs[0];
  return cpu::split(x.f(), rowsOf(x), x.dim(-1), sizes->data(), static_cast<int>(sizes->size()),
                    outs.data());
}

/// softplus then clamp in one pass over the data: the kernel of the example
/// plugin's custom_call "softplus_clamp" (tests/plugin/SoftplusClampFusion.cpp).
Status runSoftplusClamp(OpContext &c) {
  HYBRID_RETURN_IF_ERROR(expectInputs(c, 1, 1));
  const TensorRef &x = c.inputs[0];
  cpu::softplus(x.f(), x.numel(), c.outputs[0].f());
  cpu::clamp(c.outputs[0].f(), x.numel(), c.attrF64("min", 0), c.attrF64("max", 0),
             c.outputs[0].f());
  return Status();
}

/// Mean next-token cross entropy; the result is a 0-d tensor.
Status runCrossEntropy(OpContext &c) {
  HYBRID_RETURN_IF_ERROR(expectInputs(c, 2, 2));
  const TensorRef &logits = c.inputs[0], &labels = c.inputs[1];
  HYBRID_ASSIGN_OR_RETURN(double loss,
                          cpu::crossEntropy(logits.f(), labels.i32(), rowsOf(logits),
                                            logits.dim(-1)));
  c.outputs[0].f()[0] = static_cast<float>(loss);
  return Status();
}

struct Entry {
  const char *op;
  CpuKernelFn fn;
};

// The registration table: one row per op name.
const Entry kCpuOps[] = {
    {"embedding", runEmbedding},
    {"rmsnorm", runRmsNorm},
    {"group_norm", runGroupNorm},
    {"gated_rmsnorm", runGatedRmsNorm},
    {"linear", runLinear},
    {"lm_head", runLmHead},
    {"conv1d_causal", runConv1d},
    {"ssd_scan", runSsdScan},
    {"rope", runRope},
    {"attention", runAttention},
    {"silu", runUnary<cpu::silu>},
    {"softplus", runUnary<cpu::softplus>},
    {"relu2", runUnary<cpu::relu2>},
    {"clamp", runClamp},
    {"scale", runScale},
    {"swiglu", runSwiglu},
    {"add", runBinary<cpu::add>},
    {"mul", runBinary<cpu::mul>},
    {"combine", runCombine},
    {"split", runSplit},
    {"cross_entropy", runCrossEntropy},
    {"lm_head_loss", runLMHeadLoss},
    // Fused ops (dialects/hybrid/HybridFusedOps.td, runtime/cpu/FusedOps.h).
    {"rope_attention", runRopeAttention},
    {"mamba2_core", runMamba2Core},
    {"linear_group", runLinearGroup},
    {"linear_sum", runLinearSum},
    {"branch_combine", runBranchCombine},
    {"add_rmsnorm", runAddRmsNorm},
    {"fused_linear", runFusedLinear},
    {"swiglu_linear", runSwigluLinear},
    // Kernels of hybrid.custom_call ops, by their kernel name.
    {"softplus_clamp", runSoftplusClamp},
};

} // namespace

CpuKernelFn findCpuKernel(const std::string &op) {
  // Backward kernels live in their own table (runtime/cpu/CpuGradOps.cpp).
  if (op.size() > 5 && op.compare(op.size() - 5, 5, ".grad") == 0)
    return findCpuGradKernel(op.substr(0, op.size() - 5));
  for (const Entry &e : kCpuOps)
    if (op == e.op)
      return e.fn;
  return nullptr;
}

std::vector<std::string> cpuKernelNames() {
  std::vector<std::string> names;
  for (const Entry &e : kCpuOps)
    names.push_back(e.op);
  return names;
}

} // namespace hybrid
