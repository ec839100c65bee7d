//===- FusedOps.cpp - CPU kernels of the fused ops ------------------------===//
//
// Each kernel runs the unfused kernels of CpuKernels.h in the order of the op
// group it replaces (the CPU executor is the oracle: no cleverness here);
// intermediates live in scratch vectors.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/FusedOps.h"

#include "runtime/cpu/CpuKernels.h"
#include "runtime/cpu/OpAttrs.h"

#include <cstdlib>
#include <cstring>
#include <optional>

namespace hybrid {
namespace {

using Buf = std::vector<float>;

int64_t rowsOf(const TensorRef &t) { return t.numel() / t.shape.back(); }

const float *ptr(const TensorRef *t) { return t && t->valid() ? t->f() : nullptr; }

/// The numbers of an Ints or Floats attribute, as doubles.
std::optional<std::vector<double>> attrNumbers(const OpContext &c, const std::string &key) {
  auto it = c.attrs.find(key);
  if (it == c.attrs.end())
    return std::nullopt;
  if (it->second.kind == AttrValue::Floats)
    return it->second.floats;
  std::vector<double> out;
  for (int64_t v : it->second.ints)
    out.push_back(static_cast<double>(v));
  return out;
}

Status scalesOf(const OpContext &c, size_t n, std::vector<double> &scales) {
  auto s = attrNumbers(c, "scales");
  scales = s ? *s : std::vector<double>(n, 1.0);
  if (scales.size() != n)
    return HYBRID_ERROR("op '", c.op, "': ", scales.size(), " scales for ", n, " weights");
  return Status();
}

/// The operand groups of an op with `count` ODS operands: from
/// operandSegmentSizes when present, else `fallback` (sizes per group).
StatusOr<std::vector<std::vector<const TensorRef *>>>
groupsOf(const OpContext &c, std::vector<int64_t> fallback) {
  std::vector<int64_t> sizes = fallback;
  if (auto seg = attrNumbers(c, "operandSegmentSizes"))
    sizes.assign(seg->begin(), seg->end());
  int64_t total = 0;
  for (int64_t s : sizes)
    total += s;
  if (sizes.size() != fallback.size() || total != (int64_t)c.inputs.size())
    return HYBRID_ERROR("op '", c.op, "': ", c.inputs.size(), " operands do not match its ",
                        fallback.size(), " operand groups");
  std::vector<std::vector<const TensorRef *>> groups(sizes.size());
  size_t i = 0;
  for (size_t g = 0; g < sizes.size(); ++g)
    for (int64_t k = 0; k < sizes[g]; ++k, ++i)
      groups[g].push_back(c.inputs[i].valid() ? &c.inputs[i] : nullptr);
  return groups;
}

const TensorRef *single(const std::vector<const TensorRef *> &g) { return g.empty() ? nullptr : g[0]; }

/// out = factor * in, in place when they are the same buffer.
void scaleInPlace(float *x, int64_t n, double factor) {
  if (factor != 1.0)
    cpu::scale(x, n, factor, x);
}

} // namespace

Status runRopeAttention(OpContext &c) {
  if (c.inputs.size() != 3 || c.outputs.size() != 1)
    return HYBRID_ERROR("op 'rope_attention' takes q, k, v and has one result");
  const TensorRef &q = c.inputs[0], &k = c.inputs[1], &v = c.inputs[2];
  HYBRID_ASSIGN_OR_RETURN(cpu::RopeScaling s, ropeScalingAttr(c, "scaling"));
  double theta = c.attrF64("theta", 10000.0);
  int64_t rd = c.attrInt("rotary_dim", 0);
  Buf qr(q.numel()), kr(k.numel());
  HYBRID_RETURN_IF_ERROR(
      cpu::rope(q.f(), c.batch, c.seq, q.dim(2), q.dim(3), c.pos0, theta, s, rd, qr.data()));
  HYBRID_RETURN_IF_ERROR(
      cpu::rope(k.f(), c.batch, c.seq, k.dim(2), k.dim(3), c.pos0, theta, s, rd, kr.data()));
  float *kc = c.cache ? c.cache->k : nullptr, *vc = c.cache ? c.cache->v : nullptr;
  return cpu::attention(qr.data(), kr.data(), v.f(), c.batch, c.seq, q.dim(2), k.dim(2), q.dim(3),
                        c.attrInt("window", 0), c.attrF64("scale", 0.0), kc, vc,
                        c.cache ? c.cache->maxContext : 0, c.pos0, c.outputs[0].f());
}

Status runMamba2Core(OpContext &c) {
  int64_t nParts = static_cast<int64_t>(c.inputs.size()) - 6;
  HYBRID_ASSIGN_OR_RETURN(auto g, groupsOf(c, {nParts, 1, 1, 1, 1, 1, 1}));
  const int64_t H = c.attrInt("heads", 0), P = c.attrInt("head_dim", 0);
  const int64_t G = c.attrInt("groups", 1), N = c.attrInt("state", 0);
  const int64_t inner = H * P, gn = G * N, convDim = inner + 2 * gn;
  const int64_t B = c.batch, L = c.seq, T = B * L;
  const TensorRef *cw = single(g[1]);
  if ((g[0].size() != 1 && g[0].size() != 3) || !cw || !single(g[3]) || !single(g[4]) ||
      c.outputs.size() != 1 || H <= 0 || P <= 0 || N <= 0)
    return HYBRID_ERROR("op 'mamba2_core': needs 1 or 3 parts, conv_weight, dt_bias, a_log, "
                        "heads/head_dim/state attributes and one result");
  // z, xBC, dt as contiguous [T, w] buffers (split the whole in_proj output).
  Buf zb, xbcb, dtb;
  const float *z, *xbc, *dtRaw;
  if (g[0].size() == 1) {
    const TensorRef &p = *g[0][0];
    if (p.dim(-1) != inner + convDim + H)
      return HYBRID_ERROR("op 'mamba2_core': zxbcdt width ", p.dim(-1), " is not ",
                          inner + convDim + H);
    zb.resize(T * inner), xbcb.resize(T * convDim), dtb.resize(T * H);
    int64_t sizes[3] = {inner, convDim, H};
    float *outs[3] = {zb.data(), xbcb.data(), dtb.data()};
    HYBRID_RETURN_IF_ERROR(cpu::split(p.f(), T, p.dim(-1), sizes, 3, outs));
    z = zb.data(), xbc = xbcb.data(), dtRaw = dtb.data();
  } else {
    z = g[0][0]->f(), xbc = g[0][1]->f(), dtRaw = g[0][2]->f();
  }
  // xBC = silu(conv1d(xBC)); x | B | C.
  Buf conv(T * convDim);
  cpu::conv1dCausal(xbc, cw->f(), ptr(single(g[2])), B, L, convDim, cw->dim(2),
                    c.cache ? c.cache->conv : nullptr, conv.data());
  cpu::silu(conv.data(), conv.size(), conv.data());
  Buf x(T * inner), bm(T * gn), cm(T * gn);
  {
    int64_t sizes[3] = {inner, gn, gn};
    float *outs[3] = {x.data(), bm.data(), cm.data()};
    HYBRID_RETURN_IF_ERROR(cpu::split(conv.data(), T, convDim, sizes, 3, outs));
  }
  // dt = softplus(dt + dt_bias), clamped to dt_limit.
  Buf dt(T * H);
  int64_t dtShape[2] = {T, H}, biasShape[1] = {H};
  HYBRID_RETURN_IF_ERROR(cpu::add(dtRaw, dtShape, 2, single(g[3])->f(), biasShape, 1, dt.data()));
  cpu::softplus(dt.data(), dt.size(), dt.data());
  if (auto lim = attrNumbers(c, "dt_limit")) {
    if (lim->size() != 2)
      return HYBRID_ERROR("op 'mamba2_core': dt_limit needs [lo, hi]");
    cpu::clamp(dt.data(), dt.size(), (*lim)[0], (*lim)[1], dt.data());
  }
  Buf y(T * inner);
  HYBRID_RETURN_IF_ERROR(cpu::ssdScan(x.data(), dt.data(), single(g[4])->f(), bm.data(), cm.data(),
                                      ptr(single(g[5])), B, L, H, P, G, N,
                                      c.attrInt("chunk", 256), c.cache ? c.cache->ssm : nullptr,
                                      y.data()));
  float *out = c.outputs[0].f();
  if (const TensorRef *nw = single(g[6]))
    return cpu::gatedRmsNorm(y.data(), z, nw->f(), T, inner, c.attrInt("norm_groups", 1),
                             c.attrF64("eps", 1e-5), c.hasAttr("norm_before_gate") &&
                                                         c.attrInt("norm_before_gate", 1) != 0,
                             out);
  // y * silu(z).
  Buf sz(T * inner);
  cpu::silu(z, sz.size(), sz.data());
  int64_t shape[2] = {T, inner};
  return cpu::mul(y.data(), shape, 2, sz.data(), shape, 2, out);
}

Status runLinearGroup(OpContext &c) {
  size_t n = c.outputs.size();
  if (n == 0 || (c.inputs.size() != 1 + n && c.inputs.size() != 1 + 2 * n))
    return HYBRID_ERROR("op 'linear_group': ", c.inputs.size(), " operands for ", n, " results");
  std::vector<double> scales;
  HYBRID_RETURN_IF_ERROR(scalesOf(c, n, scales));
  bool biased = c.inputs.size() == 1 + 2 * n;
  const TensorRef &x = c.inputs[0];
  for (size_t i = 0; i < n; ++i) {
    const TensorRef &w = c.inputs[1 + i];
    float *out = c.outputs[i].f();
    cpu::linear(x.f(), w.f(), biased ? ptr(&c.inputs[1 + n + i]) : nullptr, rowsOf(x), w.dim(1),
                w.dim(0), out);
    scaleInPlace(out, c.outputs[i].numel(), scales[i]);
  }
  return Status();
}

Status runLinearSum(OpContext &c) {
  size_t n = c.inputs.size() / 2;
  if (n == 0 || c.inputs.size() != 2 * n || c.outputs.size() != 1)
    return HYBRID_ERROR("op 'linear_sum': needs one weight per input and one result");
  std::vector<double> scales;
  HYBRID_RETURN_IF_ERROR(scalesOf(c, n, scales));
  TensorRef &out = c.outputs[0];
  int64_t T = rowsOf(out), N = out.dim(-1);
  Buf part(T * N);
  std::memset(out.f(), 0, sizeof(float) * T * N);
  int64_t shape[2] = {T, N};
  for (size_t i = 0; i < n; ++i) {
    const TensorRef &x = c.inputs[i], &w = c.inputs[n + i];
    cpu::linear(x.f(), w.f(), nullptr, T, w.dim(1), w.dim(0), part.data());
    scaleInPlace(part.data(), T * N, scales[i]);
    HYBRID_RETURN_IF_ERROR(cpu::add(out.f(), shape, 2, part.data(), shape, 2, out.f()));
  }
  return Status();
}

Status runBranchCombine(OpContext &c) {
  if (c.inputs.size() != 4 || c.outputs.size() != 1)
    return HYBRID_ERROR("op 'branch_combine' takes a, b, weight_a, weight_b and has one result");
  const TensorRef &a = c.inputs[0], &b = c.inputs[1];
  std::string norm = c.attrStr("norm", ""), mode = c.attrStr("mode", "");
  bool group = norm == "group";
  if (!group && norm != "rms")
    return HYBRID_ERROR("op 'branch_combine': norm must be rms or group, got '", norm, "'");
  HYBRID_ASSIGN_OR_RETURN(cpu::CombineMode m, combineModeAttr(c));
  int64_t T = rowsOf(a), Da = a.dim(-1), Db = b.dim(-1);
  double eps = c.attrF64("eps", 1e-5);
  Buf na(T * Da), nb(T * Db);
  if (group) {
    HYBRID_RETURN_IF_ERROR(cpu::groupNorm(a.f(), c.inputs[2].f(), T, Da, c.attrInt("groups_a", 1),
                                          eps, na.data()));
    HYBRID_RETURN_IF_ERROR(cpu::groupNorm(b.f(), c.inputs[3].f(), T, Db, c.attrInt("groups_b", 1),
                                          eps, nb.data()));
  } else {
    cpu::rmsnorm(a.f(), c.inputs[2].f(), T, Da, eps, na.data());
    cpu::rmsnorm(b.f(), c.inputs[3].f(), T, Db, eps, nb.data());
  }
  scaleInPlace(na.data(), na.size(), c.attrF64("scale_a", 1.0));
  scaleInPlace(nb.data(), nb.size(), c.attrF64("scale_b", 1.0));
  return cpu::combine(na.data(), nb.data(), T, Da, Db, m, c.outputs[0].f());
}

Status runAddRmsNorm(OpContext &c) {
  if (c.inputs.size() != 3 || c.outputs.size() != 2)
    return HYBRID_ERROR("op 'add_rmsnorm' takes lhs, rhs, weight and has two results");
  const TensorRef &l = c.inputs[0], &r = c.inputs[1];
  if (l.shape != r.shape)
    return HYBRID_ERROR("op 'add_rmsnorm': lhs and rhs shapes differ");
  float *sum = c.outputs[0].f();
  HYBRID_RETURN_IF_ERROR(cpu::add(l.f(), l.shape.data(), (int)l.shape.size(), r.f(),
                                  r.shape.data(), (int)r.shape.size(), sum));
  cpu::rmsnorm(sum, c.inputs[2].f(), rowsOf(l), l.dim(-1), c.attrF64("eps", 1e-5),
               c.outputs[1].f());
  return Status();
}

Status runFusedLinear(OpContext &c) {
  if (c.inputs.size() < 2 || c.inputs.size() > 4 || c.outputs.size() != 1)
    return HYBRID_ERROR("op 'fused_linear' takes input, weight, bias?, residual?");
  // Bias (rank 1) and residual (rank >= 2) tell themselves apart, so both
  // "-1 for absent" and "absent omitted" operand lists work.
  const TensorRef *bias = nullptr, *residual = nullptr;
  if (auto seg = attrNumbers(c, "operandSegmentSizes"); seg && seg->size() == 4) {
    HYBRID_ASSIGN_OR_RETURN(auto g, groupsOf(c, {1, 1, (int64_t)(*seg)[2], (int64_t)(*seg)[3]}));
    bias = single(g[2]), residual = single(g[3]);
  } else {
    for (size_t i = 2; i < c.inputs.size(); ++i)
      if (c.inputs[i].valid())
        (c.inputs[i].shape.size() == 1 ? bias : residual) = &c.inputs[i];
  }
  const TensorRef &x = c.inputs[0], &w = c.inputs[1];
  TensorRef &out = c.outputs[0];
  cpu::linear(x.f(), w.f(), ptr(bias), rowsOf(x), w.dim(1), w.dim(0), out.f());
  scaleInPlace(out.f(), out.numel(), c.attrF64("scale", 1.0));
  if (residual)
    return cpu::add(out.f(), out.shape.data(), (int)out.shape.size(), residual->f(),
                    residual->shape.data(), (int)residual->shape.size(), out.f());
  return Status();
}

Status runSwigluLinear(OpContext &c) {
  if ((c.inputs.size() != 3 && c.inputs.size() != 5) || c.outputs.size() != 1)
    return HYBRID_ERROR("op 'swiglu_linear' takes input, gate, up and optionally two biases");
  const TensorRef &x = c.inputs[0], &wg = c.inputs[1], &wu = c.inputs[2];
  bool biased = c.inputs.size() == 5;
  int64_t T = rowsOf(x), K = x.dim(-1), N = wg.dim(0);
  Buf g(T * N), u(T * N);
  cpu::linear(x.f(), wg.f(), biased ? ptr(&c.inputs[3]) : nullptr, T, K, N, g.data());
  cpu::linear(x.f(), wu.f(), biased ? ptr(&c.inputs[4]) : nullptr, T, K, N, u.data());
  scaleInPlace(g.data(), g.size(), c.attrF64("gate_scale", 1.0));
  cpu::swiglu(g.data(), u.data(), T * N, c.outputs[0].f());
  return Status();
}

} // namespace hybrid
