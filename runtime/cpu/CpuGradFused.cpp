//===- CpuGradFused.cpp - backward kernels of the fused ops ---------------===//
//
// Each fused op's backward recomputes the intermediates of its unfused op
// group from the op's inputs (as runtime/cpu/FusedOps.cpp computes them),
// then runs the unfused backward kernels of CpuGrad.h in reverse order.
// Operand conventions are the forward's (FusedOps.h): optional operands are
// -1 (!valid()) or left out and located by operandSegmentSizes; gradients
// come back at the same positions.
//
//===----------------------------------------------------------------------===//
#include "runtime/cpu/CpuGrad.h"
#include "runtime/cpu/OpAttrs.h"

#include <algorithm>
#include <cstring>

namespace hybrid {
namespace {

using Buf = std::vector<float>;
using gradops::GradView;
using gradops::ptrOf;
using gradops::rowsOf;

float *gradOut(OpContext &c, int i) {
  return i >= 0 && i < (int)c.outputs.size() && c.outputs[i].valid() ? c.outputs[i].f() : nullptr;
}

/// dL/d(result i), zeros when absent.
const float *dyOf(const GradView &v, size_t i, Buf &zeros) {
  if (i < v.dy.size() && v.dy[i].valid())
    return v.dy[i].f();
  zeros.assign(static_cast<size_t>(v.y[i].numel()), 0.0f);
  return zeros.data();
}

/// The operand index of each member of each ODS operand group (-1: absent),
/// from operandSegmentSizes when present, else `fallback`.
StatusOr<std::vector<std::vector<int>>> groupsOf(const OpContext &c, const GradView &v,
                                                 std::vector<int64_t> fallback) {
  std::vector<int64_t> sizes = fallback;
  std::vector<double> seg;
  if (gradops::attrNumbers(c, "operandSegmentSizes", seg))
    sizes.assign(seg.begin(), seg.end());
  int64_t total = 0;
  for (int64_t s : sizes)
    total += s;
  if (sizes.size() != fallback.size() || total != (int64_t)v.x.size())
    return HYBRID_ERROR("op '", c.op, "': ", v.x.size(), " forward operands do not match its ",
                        fallback.size(), " operand groups");
  std::vector<std::vector<int>> groups(sizes.size());
  int i = 0;
  for (size_t g = 0; g < sizes.size(); ++g)
    for (int64_t k = 0; k < sizes[g]; ++k, ++i)
      groups[g].push_back(v.x[i].valid() ? i : -1);
  return groups;
}

int single(const std::vector<int> &g) { return g.empty() ? -1 : g[0]; }

Status scalesOf(const OpContext &c, size_t n, std::vector<double> &scales) {
  if (!gradops::attrNumbers(c, "scales", scales))
    scales.assign(n, 1.0);
  if (scales.size() != n)
    return HYBRID_ERROR("op '", c.op, "': ", scales.size(), " scales for ", n, " weights");
  return Status();
}

/// dst = factor * src (a fresh buffer).
Buf scaled(const float *src, int64_t n, double factor) {
  Buf out(src, src + n);
  if (factor != 1.0)
    cpu::scale(out.data(), n, factor, out.data());
  return out;
}

void addInto(std::vector<double> &acc, const Buf &part) {
  for (size_t i = 0; i < acc.size(); ++i)
    acc[i] += part[i];
}

void store(const std::vector<double> &acc, float *dst) {
  if (dst)
    for (size_t i = 0; i < acc.size(); ++i)
      dst[i] = static_cast<float>(acc[i]);
}

} // namespace

Status runRopeAttentionGrad(OpContext &c) {
  HYBRID_ASSIGN_OR_RETURN(GradView v, gradops::gradView(c));
  if (v.x.size() != 3 || v.y.size() != 1)
    return HYBRID_ERROR("op 'rope_attention.grad': the forward takes q, k, v and has one result");
  const TensorRef &q = v.x[0], &k = v.x[1], &val = v.x[2];
  HYBRID_ASSIGN_OR_RETURN(cpu::RopeScaling s, ropeScalingAttr(c, "scaling"));
  const double theta = c.attrF64("theta", 10000.0);
  const int64_t rd = c.attrInt("rotary_dim", 0), B = q.dim(0), L = q.dim(1);
  const int64_t Hq = q.dim(2), Hk = k.dim(2), Dh = q.dim(3);
  Buf qr(q.numel()), kr(k.numel()), dqr(q.numel()), dkr(k.numel()), z;
  HYBRID_RETURN_IF_ERROR(cpu::rope(q.f(), B, L, Hq, Dh, c.pos0, theta, s, rd, qr.data()));
  HYBRID_RETURN_IF_ERROR(cpu::rope(k.f(), B, L, Hk, Dh, c.pos0, theta, s, rd, kr.data()));
  HYBRID_RETURN_IF_ERROR(cpu::attentionGrad(qr.data(), kr.data(), val.f(), dyOf(v, 0, z), B, L, Hq,
                                            Hk, Dh, c.attrInt("window", 0),
                                            c.attrF64("scale", 0.0), dqr.data(), dkr.data(),
                                            gradOut(c, 2)));
  if (float *dq = gradOut(c, 0))
    HYBRID_RETURN_IF_ERROR(cpu::ropeGrad(dqr.data(), B, L, Hq, Dh, c.pos0, theta, s, rd, dq));
  if (float *dk = gradOut(c, 1))
    HYBRID_RETURN_IF_ERROR(cpu::ropeGrad(dkr.data(), B, L, Hk, Dh, c.pos0, theta, s, rd, dk));
  return Status();
}

Status runMamba2CoreGrad(OpContext &c) {
  HYBRID_ASSIGN_OR_RETURN(GradView v, gradops::gradView(c));
  const int64_t nParts = static_cast<int64_t>(v.x.size()) - 6;
  HYBRID_ASSIGN_OR_RETURN(auto g, groupsOf(c, v, {nParts, 1, 1, 1, 1, 1, 1}));
  const int64_t H = c.attrInt("heads", 0), P = c.attrInt("head_dim", 0);
  const int64_t G = c.attrInt("groups", 1), N = c.attrInt("state", 0);
  const int64_t inner = H * P, gn = G * N, convDim = inner + 2 * gn;
  const int cwI = single(g[1]), cbI = single(g[2]), dtbI = single(g[3]), alI = single(g[4]);
  const int dI = single(g[5]), nwI = single(g[6]);
  if ((g[0].size() != 1 && g[0].size() != 3) || cwI < 0 || dtbI < 0 || alI < 0 ||
      v.y.size() != 1 || H <= 0 || P <= 0 || N <= 0)
    return HYBRID_ERROR("op 'mamba2_core.grad': needs 1 or 3 parts, conv_weight, dt_bias, a_log, "
                        "heads/head_dim/state attributes and one result");
  for (int i : g[0])
    if (i < 0)
      return HYBRID_ERROR("op 'mamba2_core.grad': a part operand is absent");
  const TensorRef &p0 = v.x[g[0][0]], &cw = v.x[cwI];
  int64_t B = p0.dim(0), L = p0.dim(1);
  if (p0.shape.size() < 3)
    B = c.batch, L = c.seq;
  const int64_t T = B * L, K = cw.dim(-1);

  // Recompute the forward's intermediates (FusedOps.cpp, runMamba2Core).
  Buf zb, xbcb, dtb;
  const float *z, *xbc, *dtRaw;
  if (g[0].size() == 1) {
    if (p0.dim(-1) != inner + convDim + H)
      return HYBRID_ERROR("op 'mamba2_core.grad': zxbcdt width ", p0.dim(-1), " is not ",
                          inner + convDim + H);
    zb.resize(T * inner), xbcb.resize(T * convDim), dtb.resize(T * H);
    int64_t sizes[3] = {inner, convDim, H};
    float *outs[3] = {zb.data(), xbcb.data(), dtb.data()};
    HYBRID_RETURN_IF_ERROR(cpu::split(p0.f(), T, p0.dim(-1), sizes, 3, outs));
    z = zb.data(), xbc = xbcb.data(), dtRaw = dtb.data();
  } else {
    z = v.x[g[0][0]].f(), xbc = v.x[g[0][1]].f(), dtRaw = v.x[g[0][2]].f();
  }
  Buf conv(T * convDim), act(T * convDim);
  cpu::conv1dCausal(xbc, cw.f(), cbI >= 0 ? v.x[cbI].f() : nullptr, B, L, convDim, K, nullptr,
                    conv.data());
  cpu::silu(conv.data(), conv.size(), act.data());
  Buf x(T * inner), bm(T * gn), cm(T * gn);
  int64_t xbcSizes[3] = {inner, gn, gn};
  {
    float *outs[3] = {x.data(), bm.data(), cm.data()};
    HYBRID_RETURN_IF_ERROR(cpu::split(act.data(), T, convDim, xbcSizes, 3, outs));
  }
  Buf dtPre(T * H), dtSp(T * H), dt(T * H);
  int64_t dtShape[2] = {T, H}, biasShape[1] = {H};
  HYBRID_RETURN_IF_ERROR(
      cpu::add(dtRaw, dtShape, 2, v.x[dtbI].f(), biasShape, 1, dtPre.data()));
  cpu::softplus(dtPre.data(), dtPre.size(), dtSp.data());
  std::vector<double> lim;
  const bool limited = gradops::attrNumbers(c, "dt_limit", lim);
  if (limited && lim.size() != 2)
    return HYBRID_ERROR("op 'mamba2_core.grad': dt_limit needs [lo, hi]");
  if (limited)
    cpu::clamp(dtSp.data(), dtSp.size(), lim[0], lim[1], dt.data());
  else
    dt = dtSp;
  const float *dval = dI >= 0 ? v.x[dI].f() : nullptr;
  const int64_t chunk = c.attrInt("chunk", 256);
  Buf y(T * inner);
  HYBRID_RETURN_IF_ERROR(cpu::ssdScan(x.data(), dt.data(), v.x[alI].f(), bm.data(), cm.data(),
                                      dval, B, L, H, P, G, N, chunk, nullptr, y.data()));

  // Backward, op by op in reverse.
  Buf zeros, dy(T * inner), dz(T * inner);
  const float *dout = dyOf(v, 0, zeros);
  if (nwI >= 0) {
    const bool nbg = c.hasAttr("norm_before_gate") && c.attrInt("norm_before_gate", 1) != 0;
    HYBRID_RETURN_IF_ERROR(cpu::gatedRmsNormGrad(y.data(), z, v.x[nwI].f(), dout, T, inner,
                                                 c.attrInt("norm_groups", 1),
                                                 c.attrF64("eps", 1e-5), nbg, dy.data(),
                                                 dz.data(), gradOut(c, nwI)));
  } else { // out = y * silu(z)
    Buf sz(T * inner), dsz(T * inner);
    cpu::silu(z, sz.size(), sz.data());
    int64_t shape[2] = {T, inner};
    HYBRID_RETURN_IF_ERROR(
        cpu::mulGrad(y.data(), shape, 2, sz.data(), shape, 2, dout, dy.data(), dsz.data()));
    cpu::siluGrad(z, dsz.data(), dsz.size(), dz.data());
  }
  Buf dx(T * inner), ddt(T * H), dbm(T * gn), dcm(T * gn);
  HYBRID_RETURN_IF_ERROR(cpu::ssdScanGrad(x.data(), dt.data(), v.x[alI].f(), bm.data(), cm.data(),
                                          dval, dy.data(), B, L, H, P, G, N, chunk, dx.data(),
                                          ddt.data(), gradOut(c, alI), dbm.data(), dcm.data(),
                                          gradOut(c, dI)));
  // dt = clamp(softplus(dt_raw + dt_bias)).
  if (limited)
    cpu::clampGrad(dtSp.data(), ddt.data(), ddt.size(), lim[0], lim[1], ddt.data());
  cpu::softplusGrad(dtPre.data(), ddt.data(), ddt.size(), ddt.data());
  HYBRID_RETURN_IF_ERROR(
      cpu::addGrad(dtShape, 2, biasShape, 1, ddt.data(), nullptr, gradOut(c, dtbI)));
  // xBC = silu(conv1d(xBC_raw)), split into x | B | C.
  Buf dact(T * convDim), dxbc(T * convDim);
  {
    const float *pieces[3] = {dx.data(), dbm.data(), dcm.data()};
    HYBRID_RETURN_IF_ERROR(cpu::splitGrad(pieces, T, convDim, xbcSizes, 3, dact.data()));
  }
  cpu::siluGrad(conv.data(), dact.data(), dact.size(), dact.data());
  cpu::conv1dCausalGrad(xbc, cw.f(), dact.data(), B, L, convDim, K, dxbc.data(), gradOut(c, cwI),
                        gradOut(c, cbI));
  // The parts: the whole in_proj output, or z, xBC, dt separately.
  if (g[0].size() == 1) {
    int64_t sizes[3] = {inner, convDim, H};
    const float *pieces[3] = {dz.data(), dxbc.data(), ddt.data()};
    if (float *d = gradOut(c, g[0][0]))
      HYBRID_RETURN_IF_ERROR(cpu::splitGrad(pieces, T, p0.dim(-1), sizes, 3, d));
  } else {
    const Buf *pieces[3] = {&dz, &dxbc, &ddt};
    for (int i = 0; i < 3; ++i)
      if (float *d = gradOut(c, g[0][i]))
        std::copy(pieces[i]->begin(), pieces[i]->end(), d);
  }
  return Status();
}

Status runLinearGroupGrad(OpContext &c) {
  HYBRID_ASSIGN_OR_RETURN(GradView v, gradops::gradView(c));
  const size_t n = v.y.size();
  if (v.x.size() != 1 + n && v.x.size() != 1 + 2 * n)
    return HYBRID_ERROR("op 'linear_group.grad': ", v.x.size(), " forward operands for ", n,
                        " results");
  std::vector<double> scales;
  HYBRID_RETURN_IF_ERROR(scalesOf(c, n, scales));
  const bool biased = v.x.size() == 1 + 2 * n;
  const TensorRef &x = v.x[0];
  const int64_t T = rowsOf(x), K = x.dim(-1);
  std::vector<double> dxAcc(static_cast<size_t>(T * K), 0.0);
  Buf part(T * K), zeros;
  for (size_t i = 0; i < n; ++i) {
    const TensorRef &w = v.x[1 + i];
    const int64_t N = w.dim(0);
    // results[i] = s_i (x W_i^T + b_i): the linear backward of s_i dout_i.
    Buf g = scaled(dyOf(v, i, zeros), T * N, scales[i]);
    float *db = biased && v.x[1 + n + i].valid() ? gradOut(c, 1 + n + i) : nullptr;
    cpu::linearGrad(x.f(), w.f(), g.data(), T, K, N, part.data(), gradOut(c, 1 + i), db);
    addInto(dxAcc, part);
  }
  store(dxAcc, gradOut(c, 0));
  return Status();
}

Status runLinearSumGrad(OpContext &c) {
  HYBRID_ASSIGN_OR_RETURN(GradView v, gradops::gradView(c));
  const size_t n = v.x.size() / 2;
  if (n == 0 || v.x.size() != 2 * n || v.y.size() != 1)
    return HYBRID_ERROR("op 'linear_sum.grad': needs one weight per input and one result");
  std::vector<double> scales;
  HYBRID_RETURN_IF_ERROR(scalesOf(c, n, scales));
  Buf zeros;
  const float *dout = dyOf(v, 0, zeros);
  const int64_t T = rowsOf(v.y[0]), N = v.y[0].dim(-1);
  for (size_t i = 0; i < n; ++i) {
    const TensorRef &x = v.x[i], &w = v.x[n + i];
    Buf g = scaled(dout, T * N, scales[i]);
    cpu::linearGrad(x.f(), w.f(), g.data(), T, w.dim(1), w.dim(0), gradOut(c, i),
                    gradOut(c, n + i), nullptr);
  }
  return Status();
}

Status runBranchCombineGrad(OpContext &c) {
  HYBRID_ASSIGN_OR_RETURN(GradView v, gradops::gradView(c));
  if (v.x.size() != 4 || v.y.size() != 1)
    return HYBRID_ERROR("op 'branch_combine.grad': the forward takes a, b, weight_a, weight_b "
                        "and has one result");
  const std::string norm = c.attrStr("norm", "");
  const bool group = norm == "group";
  if (!group && norm != "rms")
    return HYBRID_ERROR("op 'branch_combine.grad': norm must be rms or group, got '", norm, "'");
  HYBRID_ASSIGN_OR_RETURN(cpu::CombineMode m, combineModeAttr(c));
  const TensorRef &a = v.x[0], &b = v.x[1];
  const int64_t T = rowsOf(a), Da = a.dim(-1), Db = b.dim(-1);
  const double eps = c.attrF64("eps", 1e-5);
  Buf zeros, dna(T * Da), dnb(T * Db);
  // result = combine(scale_a norm(a), scale_b norm(b)).
  HYBRID_RETURN_IF_ERROR(
      cpu::combineGrad(dyOf(v, 0, zeros), T, Da, Db, m, dna.data(), dnb.data()));
  cpu::scaleGrad(dna.data(), dna.size(), c.attrF64("scale_a", 1.0), dna.data());
  cpu::scaleGrad(dnb.data(), dnb.size(), c.attrF64("scale_b", 1.0), dnb.data());
  if (group) {
    HYBRID_RETURN_IF_ERROR(cpu::groupNormGrad(a.f(), v.x[2].f(), dna.data(), T, Da,
                                              c.attrInt("groups_a", 1), eps, gradOut(c, 0),
                                              gradOut(c, 2)));
    return cpu::groupNormGrad(b.f(), v.x[3].f(), dnb.data(), T, Db, c.attrInt("groups_b", 1), eps,
                              gradOut(c, 1), gradOut(c, 3));
  }
  cpu::rmsnormGrad(a.f(), v.x[2].f(), dna.data(), T, Da, eps, gradOut(c, 0), gradOut(c, 2));
  cpu::rmsnormGrad(b.f(), v.x[3].f(), dnb.data(), T, Db, eps, gradOut(c, 1), gradOut(c, 3));
  return Status();
}

Status runAddRmsNormGrad(OpContext &c) {
  HYBRID_ASSIGN_OR_RETURN(GradView v, gradops::gradView(c));
  if (v.x.size() != 3 || v.y.size() != 2)
    return HYBRID_ERROR("op 'add_rmsnorm.grad': the forward takes lhs, rhs, weight and has two "
                        "results");
  const TensorRef &l = v.x[0], &r = v.x[1];
  if (l.shape != r.shape)
    return HYBRID_ERROR("op 'add_rmsnorm.grad': lhs and rhs shapes differ");
  const int64_t T = rowsOf(l), D = l.dim(-1);
  Buf sum(T * D), dsum(T * D), z0, z1;
  HYBRID_RETURN_IF_ERROR(cpu::add(l.f(), l.shape.data(), (int)l.shape.size(), r.f(),
                                  r.shape.data(), (int)r.shape.size(), sum.data()));
  // Both results depend on the sum: dsum = d(sum) + rmsnorm'(d(normed)).
  cpu::rmsnormGrad(sum.data(), v.x[2].f(), dyOf(v, 1, z1), T, D, c.attrF64("eps", 1e-5),
                   dsum.data(), gradOut(c, 2));
  const float *dDirect = dyOf(v, 0, z0);
  for (int64_t i = 0; i < T * D; ++i)
    dsum[i] = static_cast<float>(static_cast<double>(dsum[i]) + dDirect[i]);
  for (int i = 0; i < 2; ++i)
    if (float *d = gradOut(c, i))
      std::copy(dsum.begin(), dsum.end(), d);
  return Status();
}

Status runFusedLinearGrad(OpContext &c) {
  HYBRID_ASSIGN_OR_RETURN(GradView v, gradops::gradView(c));
  if (v.x.size() < 2 || v.x.size() > 4 || v.y.size() != 1)
    return HYBRID_ERROR("op 'fused_linear.grad': the forward takes input, weight, bias?, "
                        "residual? and has one result");
  // Locate bias / residual as the forward does (segments, else by rank).
  int biasI = -1, resI = -1;
  std::vector<double> seg;
  if (gradops::attrNumbers(c, "operandSegmentSizes", seg) && seg.size() == 4) {
    HYBRID_ASSIGN_OR_RETURN(auto g, groupsOf(c, v, {1, 1, (int64_t)seg[2], (int64_t)seg[3]}));
    biasI = single(g[2]), resI = single(g[3]);
  } else {
    for (size_t i = 2; i < v.x.size(); ++i)
      if (v.x[i].valid())
        (v.x[i].shape.size() == 1 ? biasI : resI) = static_cast<int>(i);
  }
  const TensorRef &x = v.x[0], &w = v.x[1], &out = v.y[0];
  Buf zeros;
  const float *dout = dyOf(v, 0, zeros);
  // result = scale (x W^T + b) + residual.
  if (resI >= 0) {
    const TensorRef &res = v.x[resI];
    HYBRID_RETURN_IF_ERROR(cpu::addGrad(out.shape.data(), (int)out.shape.size(), res.shape.data(),
                                        (int)res.shape.size(), dout, nullptr, gradOut(c, resI)));
  }
  Buf g = scaled(dout, out.numel(), c.attrF64("scale", 1.0));
  cpu::linearGrad(x.f(), w.f(), g.data(), rowsOf(x), w.dim(1), w.dim(0), gradOut(c, 0),
                  gradOut(c, 1), gradOut(c, biasI));
  return Status();
}

Status runSwigluLinearGrad(OpContext &c) {
  HYBRID_ASSIGN_OR_RETURN(GradView v, gradops::gradView(c));
  if ((v.x.size() != 3 && v.x.size() != 5) || v.y.size() != 1)
    return HYBRID_ERROR("op 'swiglu_linear.grad': the forward takes input, gate, up and "
                        "optionally two biases, and has one result");
  const TensorRef &x = v.x[0], &wg = v.x[1], &wu = v.x[2];
  const bool biased = v.x.size() == 5;
  const int64_t T = rowsOf(x), K = x.dim(-1), N = wg.dim(0);
  const double gateScale = c.attrF64("gate_scale", 1.0);
  Buf gate(T * N), up(T * N), dg(T * N), du(T * N), dx1(T * K), dx2(T * K), zeros;
  cpu::linear(x.f(), wg.f(), biased ? ptrOf(&v.x[3]) : nullptr, T, K, N, gate.data());
  cpu::linear(x.f(), wu.f(), biased ? ptrOf(&v.x[4]) : nullptr, T, K, N, up.data());
  cpu::scale(gate.data(), gate.size(), gateScale, gate.data());
  // result = silu(gate_scale (x Wg^T + bg)) * (x Wu^T + bu).
  cpu::swigluGrad(gate.data(), up.data(), dyOf(v, 0, zeros), T * N, dg.data(), du.data());
  cpu::scaleGrad(dg.data(), dg.size(), gateScale, dg.data());
  cpu::linearGrad(x.f(), wg.f(), dg.data(), T, K, N, dx1.data(), gradOut(c, 1),
                  biased && v.x[3].valid() ? gradOut(c, 3) : nullptr);
  cpu::linearGrad(x.f(), wu.f(), du.data(), T, K, N, dx2.data(), gradOut(c, 2),
                  biased && v.x[4].valid() ? gradOut(c, 4) : nullptr);
  if (float *dx = gradOut(c, 0))
    for (int64_t i = 0; i < T * K; ++i)
      dx[i] = static_cast<float>(static_cast<double>(dx1[i]) + dx2[i]);
  return Status();
}

} // namespace hybrid
