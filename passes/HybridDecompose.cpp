//===- HybridDecompose.cpp - Architecture level -> tensor level -----------===//
//
// Each hybrid.model becomes one func.func computing logits from token ids.
// The computation follows the reference implementations (transformers'
// Llama, mamba_ssm's Mamba2 mixer, Falcon-H1, Nemotron-H); a comment on each
// step says which choice it mirrors. Weights are looked up in the weight table
// so that names and shapes always agree with `hybridc report` and the artifact.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "compiler/ModelSpecIR.h"
#include "compiler/Weights.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::hybrid {
#define GEN_PASS_DEF_HYBRIDDECOMPOSE
#include "passes/Passes.h.inc"
} // namespace mlir::hybrid

using namespace mlir;
using namespace mlir::hybrid;
using hybridc::BlockSpec;
using hybridc::MixerKind;
using hybridc::ModelSpec;

namespace {

/// Emits tensor-level ops for one model into a function body.
class Emitter {
public:
  Emitter(OpBuilder &b, Location loc, const ModelSpec &spec)
      : b(b), loc(loc), spec(spec), f32(b.getF32Type()) {
    for (auto &w : hybridc::listWeights(spec))
      shapes[w.name] = w.shape;
  }

  /// [?, ?, d...] tensor type.
  RankedTensorType act(ArrayRef<int64_t> trailing) {
    SmallVector<int64_t> shape{ShapedType::kDynamic, ShapedType::kDynamic};
    shape.append(trailing.begin(), trailing.end());
    return RankedTensorType::get(shape, f32);
  }
  int64_t width(Value v) { return cast<RankedTensorType>(v.getType()).getShape().back(); }

  /// The weight named `name`; fails (with `missing` set) when the weight table
  /// has no such tensor: the two must agree.
  Value param(const std::string &name) {
    auto it = shapes.find(name);
    if (it == shapes.end()) {
      if (missing.empty())
        missing = name;
      return {};
    }
    auto cached = params.find(name);
    if (cached != params.end())
      return cached->second;
    auto type = RankedTensorType::get(it->second, f32);
    Value v = ParamOp::create(b, loc, type, b.getStringAttr(name));
    params[name] = v;
    return v;
  }
  Value optParam(const std::string &name) {
    return shapes.count(name) ? param(name) : Value();
  }

  /// nn.Linear: weight `w` [out, in], bias `w_bias` when the table has one.
  Value linear(Value x, const std::string &w) {
    if (!x)
      return {};
    Value wt = param(w);
    if (!wt)
      return {};
    Value bv = optParam(w + "_bias");
    int64_t out = cast<RankedTensorType>(wt.getType()).getDimSize(0);
    return LinearOp::create(b, loc, act({out}), x, wt, bv);
  }
  Value scale(Value x, double factor) {
    if (!x || factor == 1.0)
      return x;
    return ScaleOp::create(b, loc, x.getType(), x, b.getF64FloatAttr(factor));
  }
  Value rmsnorm(Value x, const std::string &w) {
    Value wt = param(w);
    if (!wt)
      return {};
    return RMSNormOp::create(b, loc, x.getType(), x, wt, b.getF64FloatAttr(spec.normEps));
  }
  Value reshape(Value x, ArrayRef<int64_t> trailing) {
    return ReshapeOp::create(b, loc, act(trailing), x);
  }
  SmallVector<Value> split(Value x, ArrayRef<int64_t> sizes) {
    SmallVector<Type> types;
    for (int64_t s : sizes)
      types.push_back(act({s}));
    auto op = SplitOp::create(b, loc, types, x, b.getDenseI64ArrayAttr(sizes));
    return SmallVector<Value>(op.getResults());
  }

  /// Attention up to (not including) its out projection: [B, L, Hq * D].
  /// Llama: q/k/v projections, RoPE on q and k (unless `rope = false`, as in
  /// Nemotron-H), causal GQA softmax(q k^T / sqrt(D)) v. Falcon-H1 scales the
  /// attention input by attention_in_multiplier and k by key_multiplier.
  Value attentionCore(Value x, const std::string &p, const hybridc::AttentionSpec &a) {
    x = scale(x, spec.mult.attentionIn);
    Value q = linear(x, p + "attn.q");
    Value k = linear(x, p + "attn.k");
    Value v = linear(x, p + "attn.v");
    if (!q || !k || !v)
      return {};
    k = scale(k, spec.mult.key);
    q = reshape(q, {a.heads, a.headDim});
    k = reshape(k, {a.kvHeads, a.headDim});
    v = reshape(v, {a.kvHeads, a.headDim});
    if (a.rope) {
      RopeScalingAttr scaling;
      if (a.ropeScaling.type != "none")
        scaling = RopeScalingAttr::get(b.getContext(), a.ropeScaling.type,
                                       a.ropeScaling.factor, a.ropeScaling.lowFreqFactor,
                                       a.ropeScaling.highFreqFactor,
                                       a.ropeScaling.originalMaxPosition);
      auto theta = b.getF64FloatAttr(a.ropeTheta);
      auto rotary = b.getI64IntegerAttr(a.ropeDim);
      q = RopeOp::create(b, loc, q.getType(), q, theta, scaling, rotary);
      k = RopeOp::create(b, loc, k.getType(), k, theta, scaling, rotary);
    }
    Value o = AttentionOp::create(b, loc, q.getType(), q, k, v,
                                  b.getI64IntegerAttr(a.window), FloatAttr());
    return reshape(o, {a.heads * a.headDim});
  }

  /// Mamba-2 mixer up to (not including) out_proj: [B, L, inner].
  /// mamba_ssm: zxbcdt = in_proj(u); z | xBC | dt; xBC = silu(conv1d(xBC));
  /// x | B | C; dt = softplus(dt + dt_bias) clamped to dt_limit; y = SSD(x, dt,
  /// A = -exp(A_log), B, C) + D x; y = RMSNorm_group(y * silu(z)) * w.
  /// Falcon-H1 scales the input by ssm_in_multiplier and the five in_proj
  /// segments by ssm_multipliers.
  Value mambaCore(Value u, const std::string &p, const hybridc::Mamba2Spec &m) {
    u = scale(u, spec.mult.ssmIn);
    Value zxbcdt = linear(u, p + "mamba.in_proj");
    if (!zxbcdt)
      return {};
    int64_t inner = m.inner(), gn = m.groups * m.state;
    const auto &seg = spec.mult.ssmSegments;
    auto segScale = [&](size_t i) { return i < seg.size() ? seg[i] : 1.0; };
    Value z, xbc, dt;
    if (segScale(0) == 1.0 && segScale(1) == 1.0 && segScale(2) == 1.0 &&
        segScale(3) == 1.0) {
      auto parts = split(zxbcdt, {inner, inner + 2 * gn, m.heads});
      z = parts[0], xbc = parts[1], dt = parts[2];
    } else {
      auto parts = split(zxbcdt, {inner, inner, gn, gn, m.heads});
      z = scale(parts[0], segScale(0));
      SmallVector<Value> xs{scale(parts[1], segScale(1)), scale(parts[2], segScale(2)),
                            scale(parts[3], segScale(3))};
      // Re-join x | B | C for the depthwise conv, which spans all three.
      Value xb = CombineOp::create(b, loc, act({inner + gn}), xs[0], xs[1],
                                   CombineAttr::get(b.getContext(), Combine::concat));
      xbc = CombineOp::create(b, loc, act({inner + 2 * gn}), xb, xs[2],
                              CombineAttr::get(b.getContext(), Combine::concat));
      dt = parts[4];
    }
    dt = scale(dt, segScale(4));
    Value convW = param(p + "mamba.conv1d.weight");
    if (!convW)
      return {};
    Value conv = Conv1dCausalOp::create(b, loc, xbc.getType(), xbc, convW,
                                        optParam(p + "mamba.conv1d.bias"));
    conv = SiluOp::create(b, loc, conv);
    auto xBC = split(conv, {inner, gn, gn});
    Value dtBias = param(p + "mamba.dt_bias");
    Value aLog = param(p + "mamba.A_log");
    Value d = param(p + "mamba.D");
    if (!dtBias || !aLog || !d)
      return {};
    dt = AddOp::create(b, loc, dt.getType(), dt, dtBias);
    dt = SoftplusOp::create(b, loc, dt);
    if (m.dtLimitLo > 0.0 || m.dtLimitHi != std::numeric_limits<double>::infinity())
      dt = ClampOp::create(b, loc, dt, b.getF64FloatAttr(m.dtLimitLo),
                           b.getF64FloatAttr(m.dtLimitHi));
    Value x = reshape(xBC[0], {m.heads, m.headDim});
    Value bm = reshape(xBC[1], {m.groups, m.state});
    Value cm = reshape(xBC[2], {m.groups, m.state});
    Value y = SSDScanOp::create(b, loc, x.getType(), x, dt, aLog, bm, cm, d,
                                b.getI64IntegerAttr(m.chunk));
    y = reshape(y, {inner});
    if (m.gatedNorm) {
      Value w = param(p + "mamba.norm");
      if (!w)
        return {};
      return GatedRMSNormOp::create(
          b, loc, y.getType(), y, z, w, b.getI64IntegerAttr(m.gatedNormGroups()),
          b.getF64FloatAttr(spec.normEps),
          m.normBeforeGate ? b.getUnitAttr() : UnitAttr());
    }
    // No norm (Falcon-H1 with mamba_rms_norm = false): y * silu(z).
    return MulOp::create(b, loc, y.getType(), y, SiluOp::create(b, loc, z));
  }

  Value branchNorm(Value x, const std::string &w, hybridc::BranchNorm kind, int64_t groups) {
    switch (kind) {
    case hybridc::BranchNorm::None:
      return x;
    case hybridc::BranchNorm::RMS:
      return rmsnorm(x, w);
    case hybridc::BranchNorm::Group: {
      Value wt = param(w);
      if (!wt)
        return {};
      if (width(x) % groups)
        groups = 1;
      return GroupNormOp::create(b, loc, x.getType(), x, wt, b.getI64IntegerAttr(groups),
                                 b.getF64FloatAttr(spec.normEps));
    }
    }
    return {};
  }

  /// The mixer of a block, out projection included: [B, L, d_model].
  Value mixer(Value x, const std::string &p, const BlockSpec &blk) {
    switch (blk.mixer) {
    case MixerKind::None:
      return {};
    case MixerKind::Attention: {
      Value a = attentionCore(x, p, blk.attn);
      return a ? scale(linear(a, p + "attn.o"), spec.mult.attentionOut)
               : Value();
    }
    case MixerKind::Mamba2: {
      Value m = mambaCore(x, p, blk.ssm);
      return m ? scale(linear(m, p + "mamba.out_proj"),
                       spec.mult.ssmOut)
               : Value();
    }
    case MixerKind::Parallel:
      return parallel(x, p, blk);
    }
    return {};
  }

  /// Intra-layer block: both branches read the same normed input. With
  /// separate out projections (Falcon-H1) each branch is projected, scaled and
  /// the two are added; with a shared one (Hymba-like) each branch is
  /// normalised, scaled, combined (add/mean/diff/concat) and projected once.
  Value parallel(Value x, const std::string &p, const BlockSpec &blk) {
    const hybridc::FuseSpec &f = blk.fuse;
    Value a = attentionCore(x, p, blk.attn);
    Value m = mambaCore(x, p, blk.ssm);
    if (!a || !m)
      return {};
    // Branch norms act on each branch's own width, before any projection.
    a = branchNorm(a, p + "attn_branch_norm", f.norm, blk.attn.heads);
    m = branchNorm(m, p + "mamba_branch_norm", f.norm, blk.ssm.heads);
    if (!f.sharedOutProj) {
      a = scale(linear(a, p + "attn.o"), spec.mult.attentionOut);
      m = scale(linear(m, p + "mamba.out_proj"), spec.mult.ssmOut);
    }
    if (!a || !m)
      return {};
    a = scale(a, f.attnMultiplier);
    m = scale(m, f.ssmMultiplier);
    int64_t w = f.combine == hybridc::Combine::Concat ? width(a) + width(m) : width(a);
    auto mode = static_cast<Combine>(static_cast<int>(f.combine));
    Value c = CombineOp::create(b, loc, act({w}), a, m, CombineAttr::get(b.getContext(), mode));
    if (!f.sharedOutProj)
      return c;
    return linear(c, p + "mix.out_proj");
  }

  /// SwiGLU (Llama, Falcon-H1 with mlp multipliers on gate and down) or
  /// ReLU^2 (Nemotron-H: down(relu(up(x))^2)).
  Value ffn(Value x, const std::string &p, const BlockSpec &blk) {
    if (blk.ffn.kind == hybridc::FfnKind::SwiGLU) {
      Value g = scale(linear(x, p + "ffn.gate"), spec.mult.mlpGate);
      Value u = linear(x, p + "ffn.up");
      if (!g || !u)
        return {};
      Value h = SwigluOp::create(b, loc, g, u);
      return scale(linear(h, p + "ffn.down"), spec.mult.mlpDown);
    }
    Value u = linear(x, p + "ffn.up");
    if (!u)
      return {};
    return linear(Relu2Op::create(b, loc, u), p + "ffn.down");
  }

  Value residual(Value h, Value delta) {
    return delta ? AddOp::create(b, loc, h.getType(), h, delta).getResult() : Value();
  }

  Value forward(Value ids) {
    Value table = param("embed");
    if (!table)
      return {};
    Value h = EmbeddingOp::create(b, loc, act({spec.dModel}), table, ids);
    h = scale(h, spec.mult.embedding);
    for (auto [i, blk] : llvm::enumerate(spec.blocks)) {
      std::string p = "layers." + std::to_string(i) + ".";
      if (blk.hasMixer()) {
        Value n = rmsnorm(h, p + "mixer_norm");
        h = n ? residual(h, mixer(n, p, blk)) : Value();
      }
      if (h && blk.hasFfn()) {
        Value n = rmsnorm(h, p + "ffn_norm");
        h = n ? residual(h, ffn(n, p, blk)) : Value();
      }
      if (!h)
        return {};
    }
    h = rmsnorm(h, "final_norm");
    Value head = spec.tieEmbeddings ? table : param("lm_head");
    if (!h || !head)
      return {};
    Value logits = LMHeadOp::create(b, loc, act({spec.vocab}), h, head);
    return scale(logits, spec.mult.lmHead);
  }

  std::string missing;

private:
  OpBuilder &b;
  Location loc;
  const ModelSpec &spec;
  Type f32;
  llvm::StringMap<std::vector<int64_t>> shapes;
  llvm::StringMap<Value> params;
};

} // namespace

LogicalResult mlir::hybrid::decomposeModel(ModelOp model) {
  FailureOr<ModelSpec> spec = hybridc::specFromModel(model);
  if (failed(spec))
    return failure();
  for (Operation &op : model.getBody().front())
    if (isa<PatternOp>(op))
      return op.emitOpError("must be expanded first (run --hybrid-expand)");

  OpBuilder b(model);
  Location loc = model.getLoc();
  auto ids = RankedTensorType::get({ShapedType::kDynamic, ShapedType::kDynamic},
                                   b.getI32Type());
  auto logits = RankedTensorType::get(
      {ShapedType::kDynamic, ShapedType::kDynamic, spec->vocab}, b.getF32Type());
  auto fn = func::FuncOp::create(b, loc, model.getSymName(),
                                 b.getFunctionType({ids}, {logits}));
  fn->setAttr("hybrid.model", model.getSymNameAttr());
  Block *entry = fn.addEntryBlock();
  OpBuilder body = OpBuilder::atBlockBegin(entry);
  Emitter emit(body, loc, *spec);
  Value out = emit.forward(entry->getArgument(0));
  if (!out) {
    fn.erase();
    return model.emitOpError("weight '")
           << emit.missing << "' is missing from the weight table (compiler/Weights.cpp)";
  }
  func::ReturnOp::create(body, loc, out);
  model.erase();
  return success();
}

namespace {
struct HybridDecomposePass
    : public mlir::hybrid::impl::HybridDecomposeBase<HybridDecomposePass> {
  void runOnOperation() override {
    SmallVector<ModelOp> models;
    getOperation().walk([&](ModelOp m) { models.push_back(m); });
    for (ModelOp m : models)
      if (failed(decomposeModel(m)))
        return signalPassFailure();
  }
};
} // namespace
