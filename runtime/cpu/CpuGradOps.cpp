//===- CpuGradOps.cpp - The CPU backward kernel of every op ---------------===//
//
// Each row of kCpuGradOps binds "<op>.grad" to an adapter that unpacks the
// backward OpContext (OpContext.h: inputs = forward inputs, forward results,
// result gradients; outputs = input gradients, !valid() when not wanted) and
// calls the math of runtime/cpu/CpuGrad.h. Attributes are the forward op's,
// read with the forward adapters' defaults (runtime/cpu/CpuOps.cpp). An
// absent result gradient (a result nobody used) counts as zeros.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/CpuGrad.h"
#include "runtime/cpu/LMHeadLoss.h"
#include "runtime/cpu/OpAttrs.h"

#include <cstring>

namespace hybrid {

namespace gradops {

StatusOr<GradView> gradView(const OpContext &c) {
  const size_t n = c.outputs.size();
  if (n == 0 || c.inputs.size() <= n || (c.inputs.size() - n) % 2)
    return HYBRID_ERROR("op '", c.op, "': ", c.inputs.size(), " operands for ", n,
                        " input gradients; a backward kernel takes the forward inputs, the "
                        "forward results and one gradient per result");
  const size_t m = (c.inputs.size() - n) / 2;
  GradView v;
  v.x.assign(c.inputs.begin(), c.inputs.begin() + n);
  v.y.assign(c.inputs.begin() + n, c.inputs.begin() + n + m);
  v.dy.assign(c.inputs.begin() + n + m, c.inputs.end());
  v.fwd.op = c.op.size() > 5 && c.op.compare(c.op.size() - 5, 5, ".grad") == 0
                 ? c.op.substr(0, c.op.size() - 5)
                 : c.op;
  v.fwd.inputs = v.x;
  v.fwd.outputs = v.y;
  v.fwd.attrs = c.attrs;
  v.fwd.batch = c.batch, v.fwd.seq = c.seq, v.fwd.pos0 = c.pos0;
  return v;
}

bool attrNumbers(const OpContext &c, const std::string &key, std::vector<double> &out) {
  auto it = c.attrs.find(key);
  if (it == c.attrs.end())
    return false;
  if (it->second.kind == AttrValue::Floats) {
    out = it->second.floats;
  } else {
    out.clear();
    for (int64_t v : it->second.ints)
      out.push_back(static_cast<double>(v));
  }
  return true;
}

} // namespace gradops

namespace {

using gradops::GradView;
using gradops::rowsOf;

/// Gradient output i, null when absent or not wanted.
float *gradOut(OpContext &c, size_t i) {
  return i < c.outputs.size() && c.outputs[i].valid() ? c.outputs[i].f() : nullptr;
}

/// dL/dy_i as data; zeros (kept alive in `zeros`) when the gradient is absent.
const float *dyOf(const GradView &v, size_t i, std::vector<float> &zeros) {
  if (i < v.dy.size() && v.dy[i].valid())
    return v.dy[i].f();
  zeros.assign(static_cast<size_t>(v.y[i].numel()), 0.0f);
  return zeros.data();
}

Status expectForward(const OpContext &c, const GradView &v, size_t lo, size_t hi,
                     size_t results = 1) {
  if (v.x.size() < lo || v.x.size() > hi || v.y.size() != results)
    return HYBRID_ERROR("op '", c.op, "': the forward op takes ", lo, "..", hi, " operands and has ",
                        results, " result(s); got ", v.x.size(), " input gradients and ",
                        v.y.size(), " results");
  for (size_t i = 0; i < v.x.size(); ++i)
    if (c.outputs[i].valid() && c.outputs[i].numel() != v.x[i].numel())
      return HYBRID_ERROR("op '", c.op, "': the gradient of operand ", i, " has ",
                          c.outputs[i].numel(), " elements, the operand ", v.x[i].numel());
  return Status();
}

/// B and L of a [B, L, ...] activation (the context's when it is flattened).
void seqDims(const OpContext &c, const TensorRef &x, int64_t &B, int64_t &L) {
  if (x.shape.size() >= 3)
    B = x.dim(0), L = x.dim(1);
  else
    B = c.batch, L = c.seq;
}

Status runEmbeddingGrad(OpContext &c) {
  HYBRID_ASSIGN_OR_RETURN(GradView v, gradops::gradView(c));
  HYBRID_RETURN_IF_ERROR(expectForward(c, v, 2, 2));
  std::vector<float> z;
  const TensorRef &table = v.x[0], &ids = v.x[1];
  return cpu::embeddingGrad(ids.i32(), dyOf(v, 0, z), ids.numel(), table.dim(0), table.dim(1),
                            gradOut(c, 0));
}

Status runLinearGrad(OpContext &c) {
  HYBRID_ASSIGN_OR_RETURN(GradView v, gradops::gradView(c));
  HYBRID_RETURN_IF_ERROR(expectForward(c, v, 2, 3));
  std::vector<float> z;
  const TensorRef &x = v.x[0], &w = v.x[1];
  cpu::linearGrad(x.f(), w.f(), dyOf(v, 0, z), rowsOf(x), w.dim(1), w.dim(0), gradOut(c, 0),
                  gradOut(c, 1), v.x.size() > 2 && v.x[2].valid() ? gradOut(c, 2) : nullptr);
  return Status();
}

Status runLmHeadGrad(OpContext &c) {
  HYBRID_ASSIGN_OR_RETURN(GradView v, gradops::gradView(c));
  HYBRID_RETURN_IF_ERROR(expectForward(c, v, 2, 2));
  std::vector<float> z;
  const TensorRef &x = v.x[0], &w = v.x[1];
  cpu::lmHeadGrad(x.f(), w.f(), dyOf(v, 0, z), rowsOf(x), w.dim(1), w.dim(0), gradOut(c, 0),
                  gradOut(c, 1));
  return Status();
}

Status runCrossEntropyGrad(OpContext &c) {
  HYBRID_ASSIGN_OR_RETURN(GradView v, gradops::gradView(c));
  HYBRID_RETURN_IF_ERROR(expectForward(c, v, 2, 2));
  const TensorRef &logits = v.x[0], &labels = v.x[1];
  if (labels.numel() != rowsOf(logits))
    return HYBRID_ERROR("op '", c.op, "': ", labels.numel(), " labels for ", rowsOf(logits),
                        " rows of logits");
  double dloss = v.dy[0].valid() ? v.dy[0].f()[0] : 0.0;
  return cpu::crossEntropyGrad(logits.f(), labels.i32(), rowsOf(logits), logits.dim(-1), dloss,
                               gradOut(c, 0));
}

Status runRmsNormGrad(OpContext &c) {
  HYBRID_ASSIGN_OR_RETURN(GradView v, gradops::gradView(c));
  HYBRID_RETURN_IF_ERROR(expectForward(c, v, 2, 2));
  std::vector<float> z;
  const TensorRef &x = v.x[0];
  cpu::rmsnormGrad(x.f(), v.x[1].f(), dyOf(v, 0, z), rowsOf(x), x.dim(-1), c.attrF64("eps", 1e-5),
                   gradOut(c, 0), gradOut(c, 1));
  return Status();
}

Status runGroupNormGrad(OpContext &c) {
  HYBRID_ASSIGN_OR_RETURN(GradView v, gradops::gradView(c));
  HYBRID_RETURN_IF_ERROR(expectForward(c, v, 2, 2));
  std::vector<float> z;
  const TensorRef &x = v.x[0];
  return cpu::groupNormGrad(x.f(), v.x[1].f(), dyOf(v, 0, z), rowsOf(x), x.dim(-1),
                            c.attrInt("groups", 1), c.attrF64("eps", 1e-5), gradOut(c, 0),
                            gradOut(c, 1));
}

Status runGatedRmsNormGrad(OpContext &c) {
  HYBRID_ASSIGN_OR_RETURN(GradView v, gradops::gradView(c));
  HYBRID_RETURN_IF_ERROR(expectForward(c, v, 3, 3));
  std::vector<float> z;
  const TensorRef &y = v.x[0];
  return cpu::gatedRmsNormGrad(y.f(), v.x[1].f(), v.x[2].f(), dyOf(v, 0, z), rowsOf(y), y.dim(-1),
                               c.attrInt("groups", 1), c.attrF64("eps", 1e-5),
                               c.hasAttr("norm_before_gate"), gradOut(c, 0), gradOut(c, 1),
                               gradOut(c, 2));
}

Status runConv1dGrad(OpContext &c) {
  HYBRID_ASSIGN_OR_RETURN(GradView v, gradops::gradView(c));
  HYBRID_RETURN_IF_ERROR(expectForward(c, v, 2, 3));
  std::vector<float> z;
  const TensorRef &x = v.x[0], &w = v.x[1];
  int64_t B, L;
  seqDims(c, x, B, L);
  // w is [C, 1, K] (or [C, K]): K is its last dim either way.
  cpu::conv1dCausalGrad(x.f(), w.f(), dyOf(v, 0, z), B, L, x.dim(-1), w.dim(-1), gradOut(c, 0),
                        gradOut(c, 1), v.x.size() > 2 && v.x[2].valid() ? gradOut(c, 2) : nullptr);
  return Status();
}

Status runSsdScanGrad(OpContext &c) {
  HYBRID_ASSIGN_OR_RETURN(GradView v, gradops::gradView(c));
  HYBRID_RETURN_IF_ERROR(expectForward(c, v, 5, 6));
  std::vector<float> z;
  const TensorRef &x = v.x[0], &bm = v.x[3];
  const bool hasD = v.x.size() > 5 && v.x[5].valid();
  return cpu::ssdScanGrad(x.f(), v.x[1].f(), v.x[2].f(), bm.f(), v.x[4].f(),
                          hasD ? v.x[5].f() : nullptr, dyOf(v, 0, z), x.dim(0), x.dim(1), x.dim(2),
                          x.dim(3), bm.dim(2), bm.dim(3), c.attrInt("chunk", 256), gradOut(c, 0),
                          gradOut(c, 1), gradOut(c, 2), gradOut(c, 3), gradOut(c, 4),
                          hasD ? gradOut(c, 5) : nullptr);
}

Status runRopeGrad(OpContext &c) {
  HYBRID_ASSIGN_OR_RETURN(GradView v, gradops::gradView(c));
  HYBRID_RETURN_IF_ERROR(expectForward(c, v, 1, 1));
  HYBRID_ASSIGN_OR_RETURN(cpu::RopeScaling s, ropeScalingAttr(c, "scaling"));
  float *dx = gradOut(c, 0);
  if (!dx)
    return Status();
  std::vector<float> z;
  const TensorRef &x = v.x[0];
  return cpu::ropeGrad(dyOf(v, 0, z), x.dim(0), x.dim(1), x.dim(2), x.dim(3), c.pos0,
                       c.attrF64("theta", 10000.0), s, c.attrInt("rotary_dim", 0), dx);
}

Status runAttentionGrad(OpContext &c) {
  HYBRID_ASSIGN_OR_RETURN(GradView v, gradops::gradView(c));
  HYBRID_RETURN_IF_ERROR(expectForward(c, v, 3, 3));
  std::vector<float> z;
  const TensorRef &q = v.x[0], &k = v.x[1];
  return cpu::attentionGrad(q.f(), k.f(), v.x[2].f(), dyOf(v, 0, z), q.dim(0), q.dim(1), q.dim(2),
                            k.dim(2), q.dim(3), c.attrInt("window", 0), c.attrF64("scale", 0.0),
                            gradOut(c, 0), gradOut(c, 1), gradOut(c, 2));
}

template <void (*Fn)(const float *, const float *, int64_t, float *)>
Status runUnaryGrad(OpContext &c) {
  HYBRID_ASSIGN_OR_RETURN(GradView v, gradops::gradView(c));
  HYBRID_RETURN_IF_ERROR(expectForward(c, v, 1, 1));
  std::vector<float> z;
  if (float *dx = gradOut(c, 0))
    Fn(v.x[0].f(), dyOf(v, 0, z), v.x[0].numel(), dx);
  return Status();
}

Status runClampGrad(OpContext &c) {
  HYBRID_ASSIGN_OR_RETURN(GradView v, gradops::gradView(c));
  HYBRID_RETURN_IF_ERROR(expectForward(c, v, 1, 1));
  std::vector<float> z;
  if (float *dx = gradOut(c, 0))
    cpu::clampGrad(v.x[0].f(), dyOf(v, 0, z), v.x[0].numel(), c.attrF64("min", 0),
                   c.attrF64("max", 0), dx);
  return Status();
}

Status runScaleGrad(OpContext &c) {
  HYBRID_ASSIGN_OR_RETURN(GradView v, gradops::gradView(c));
  HYBRID_RETURN_IF_ERROR(expectForward(c, v, 1, 1));
  std::vector<float> z;
  if (float *dx = gradOut(c, 0))
    cpu::scaleGrad(dyOf(v, 0, z), v.x[0].numel(), c.attrF64("factor", 1.0), dx);
  return Status();
}

Status runSwigluGrad(OpContext &c) {
  HYBRID_ASSIGN_OR_RETURN(GradView v, gradops::gradView(c));
  HYBRID_RETURN_IF_ERROR(expectForward(c, v, 2, 2));
  std::vector<float> z;
  cpu::swigluGrad(v.x[0].f(), v.x[1].f(), dyOf(v, 0, z), v.x[0].numel(), gradOut(c, 0),
                  gradOut(c, 1));
  return Status();
}

Status runAddGrad(OpContext &c) {
  HYBRID_ASSIGN_OR_RETURN(GradView v, gradops::gradView(c));
  HYBRID_RETURN_IF_ERROR(expectForward(c, v, 2, 2));
  std::vector<float> z;
  const TensorRef &l = v.x[0], &r = v.x[1];
  return cpu::addGrad(l.shape.data(), (int)l.shape.size(), r.shape.data(), (int)r.shape.size(),
                      dyOf(v, 0, z), gradOut(c, 0), gradOut(c, 1));
}

Status runMulGrad(OpContext &c) {
  HYBRID_ASSIGN_OR_RETURN(GradView v, gradops::gradView(c));
  HYBRID_RETURN_IF_ERROR(expectForward(c, v, 2, 2));
  std::vector<float> z;
  const TensorRef &l = v.x[0], &r = v.x[1];
  return cpu::mulGrad(l.f(), l.shape.data(), (int)l.shape.size(), r.f(), r.shape.data(),
                      (int)r.shape.size(), dyOf(v, 0, z), gradOut(c, 0), gradOut(c, 1));
}

Status runCombineGrad(OpContext &c) {
  HYBRID_ASSIGN_OR_RETURN(GradView v, gradops::gradView(c));
  HYBRID_RETURN_IF_ERROR(expectForward(c, v, 2, 2));
  HYBRID_ASSIGN_OR_RETURN(cpu::CombineMode m, combineModeAttr(c));
  std::vector<float> z;
  const TensorRef &a = v.x[0], &b = v.x[1];
  return cpu::combineGrad(dyOf(v, 0, z), rowsOf(a), a.dim(-1), b.dim(-1), m, gradOut(c, 0),
                          gradOut(c, 1));
}

Status runSplitGrad(OpContext &c) {
  HYBRID_ASSIGN_OR_RETURN(GradView v, gradops::gradView(c));
  const std::vector<int64_t> *sizes = c.attrInts("sizes");
  if (v.x.size() != 1 || !sizes || sizes->size() != v.y.size())
    return HYBRID_ERROR("op 'split.grad': sizes do not match its ", v.y.size(), " results");
  std::vector<const float *> douts;
  for (const TensorRef &d : v.dy)
    douts.push_back(d.valid() ? d.f() : nullptr);
  const TensorRef &x = v.x[0];
  return cpu::splitGrad(douts.data(), rowsOf(x), x.dim(-1), sizes->data(), (int)sizes->size(),
                        gradOut(c, 0));
}

/// The backward of the example plugin's "softplus_clamp" custom call:
/// clamp's mask on softplus(x), then softplus' slope.
Status runSoftplusClampGrad(OpContext &c) {
  HYBRID_ASSIGN_OR_RETURN(GradView v, gradops::gradView(c));
  HYBRID_RETURN_IF_ERROR(expectForward(c, v, 1, 1));
  float *dx = gradOut(c, 0);
  if (!dx)
    return Status();
  std::vector<float> z, sp(static_cast<size_t>(v.x[0].numel()));
  cpu::softplus(v.x[0].f(), v.x[0].numel(), sp.data());
  cpu::clampGrad(sp.data(), dyOf(v, 0, z), v.x[0].numel(), c.attrF64("min", 0), c.attrF64("max", 0),
                 dx);
  cpu::softplusGrad(v.x[0].f(), dx, v.x[0].numel(), dx);
  return Status();
}

struct Entry {
  const char *op;
  CpuKernelFn fn;
};

// The registration table: one row per "<forward op>.grad".
const Entry kCpuGradOps[] = {
    {"embedding.grad", runEmbeddingGrad},
    {"linear.grad", runLinearGrad},
    {"lm_head.grad", runLmHeadGrad},
    {"cross_entropy.grad", runCrossEntropyGrad},
    {"lm_head_loss.grad", runLMHeadLossGrad},
    {"rmsnorm.grad", runRmsNormGrad},
    {"group_norm.grad", runGroupNormGrad},
    {"gated_rmsnorm.grad", runGatedRmsNormGrad},
    {"conv1d_causal.grad", runConv1dGrad},
    {"ssd_scan.grad", runSsdScanGrad},
    {"rope.grad", runRopeGrad},
    {"attention.grad", runAttentionGrad},
    {"silu.grad", runUnaryGrad<cpu::siluGrad>},
    {"softplus.grad", runUnaryGrad<cpu::softplusGrad>},
    {"relu2.grad", runUnaryGrad<cpu::relu2Grad>},
    {"clamp.grad", runClampGrad},
    {"scale.grad", runScaleGrad},
    {"swiglu.grad", runSwigluGrad},
    {"add.grad", runAddGrad},
    {"mul.grad", runMulGrad},
    {"combine.grad", runCombineGrad},
    {"split.grad", runSplitGrad},
    // Fused ops (runtime/cpu/CpuGradFused.cpp).
    {"rope_attention.grad", runRopeAttentionGrad},
    {"mamba2_core.grad", runMamba2CoreGrad},
    {"linear_group.grad", runLinearGroupGrad},
    {"linear_sum.grad", runLinearSumGrad},
    {"branch_combine.grad", runBranchCombineGrad},
    {"add_rmsnorm.grad", runAddRmsNormGrad},
    {"fused_linear.grad", runFusedLinearGrad},
    {"swiglu_linear.grad", runSwigluLinearGrad},
    // Custom-call kernels, by kernel name.
    {"softplus_clamp.grad", runSoftplusClampGrad},
};

} // namespace

CpuKernelFn findCpuGradKernel(const std::string &forwardOp) {
  const std::string name = forwardOp + ".grad";
  for (const Entry &e : kCpuGradOps)
    if (name == e.op)
      return e.fn;
  return nullptr;
}

/// Every "<op>.grad" name (for diagnostics; the lead may merge it into
/// cpuKernelNames()).
std::vector<std::string> cpuGradKernelNames() {
  std::vector<std::string> names;
  for (const Entry &e : kCpuGradOps)
    names.push_back(e.op);
  return names;
}

} // namespace hybrid
