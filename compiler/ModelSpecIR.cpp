//===- ModelSpecIR.cpp - ModelSpec <-> hybrid.model -----------------------===//
#include "compiler/ModelSpecIR.h"

#include "llvm/ADT/DenseMap.h"

using namespace mlir;
using namespace mlir::hybrid;

namespace hybridc {

static AttentionSpec readAttention(AttentionAttr a) {
  AttentionSpec s;
  s.heads = a.getHeads();
  s.kvHeads = a.getKvHeads();
  s.headDim = a.getHeadDim();
  s.rope = a.getRope();
  s.ropeTheta = a.getRopeTheta();
  if (auto r = a.getRopeScaling()) {
    s.ropeScaling.type = r.getType().str();
    s.ropeScaling.factor = r.getFactor();
    s.ropeScaling.lowFreqFactor = r.getLowFreqFactor();
    s.ropeScaling.highFreqFactor = r.getHighFreqFactor();
    s.ropeScaling.originalMaxPosition = r.getOriginalMaxPosition();
  }
  s.ropeDim = a.getRopeDim();
  s.window = a.getWindow();
  s.qkvBias = a.getQkvBias();
  s.outBias = a.getOutBias();
  return s;
}

static Mamba2Spec readMamba(Mamba2Attr m) {
  Mamba2Spec s;
  s.heads = m.getHeads();
  s.headDim = m.getHeadDim();
  s.state = m.getState();
  s.groups = m.getGroups();
  s.convWidth = m.getConv();
  s.chunk = m.getChunk();
  s.dtMin = m.getDtMin();
  s.dtMax = m.getDtMax();
  s.dtLimitLo = m.getDtLimitLo();
  s.dtLimitHi = m.getDtLimitHi();
  s.convBias = m.getConvBias();
  s.projBias = m.getProjBias();
  s.gatedNorm = m.getGatedNorm();
  s.normBeforeGate = m.getNormBeforeGate();
  s.normGroups = m.getNormGroups();
  return s;
}

BlockSpec specFromBlock(BlockOp block) {
  BlockSpec b;
  if (Attribute mixer = block.getMixerAttr()) {
    if (auto a = dyn_cast<AttentionAttr>(mixer)) {
      b.mixer = MixerKind::Attention;
      b.attn = readAttention(a);
    } else if (auto m = dyn_cast<Mamba2Attr>(mixer)) {
      b.mixer = MixerKind::Mamba2;
      b.ssm = readMamba(m);
    } else if (auto p = dyn_cast<ParallelAttr>(mixer)) {
      b.mixer = MixerKind::Parallel;
      b.attn = readAttention(p.getAttention());
      b.ssm = readMamba(p.getMamba());
      FuseAttr f = p.getFuse();
      b.fuse.norm = static_cast<BranchNorm>(static_cast<int>(f.getNorm()));
      b.fuse.combine = static_cast<Combine>(static_cast<int>(f.getCombine()));
      b.fuse.sharedOutProj = f.getOutProj() == OutProj::shared;
      b.fuse.attnMultiplier = f.getAttnMult();
      b.fuse.ssmMultiplier = f.getSsmMult();
    }
  }
  if (FfnAttr f = block.getFfnAttr()) {
    b.ffn.kind = f.getKind() == mlir::hybrid::FfnKind::swiglu ? hybridc::FfnKind::SwiGLU
                                                : hybridc::FfnKind::ReLU2;
    b.ffn.hidden = f.getHidden();
    b.ffn.bias = f.getBias();
  }
  return b;
}

FailureOr<ModelSpec> specFromModel(ModelOp model) {
  ModelSpec spec;
  spec.name = model.getSymName().str();
  spec.vocab = model.getVocab();
  spec.dModel = model.getDModel();
  spec.normEps = model.getNormEps().convertToDouble();
  spec.tieEmbeddings = model.getTieEmbeddings();
  if (auto f = model.getFamily())
    spec.family = f->str();
  if (auto m = model.getMaxPosition())
    spec.maxPosition = *m;
  if (auto m = model.getMultipliersAttr()) {
    Multipliers &u = spec.mult;
    u.embedding = m.getEmbedding();
    u.lmHead = m.getLmHead();
    u.attentionIn = m.getAttentionIn();
    u.attentionOut = m.getAttentionOut();
    u.key = m.getKey();
    u.ssmIn = m.getSsmIn();
    u.ssmOut = m.getSsmOut();
    u.mlpGate = m.getMlpGate();
    u.mlpDown = m.getMlpDown();
    u.ssmSegments = {m.getSsmZ(), m.getSsmX(), m.getSsmB(), m.getSsmC(), m.getSsmDt()};
  }
  for (Operation &op : model.getBody().front()) {
    if (auto block = dyn_cast<BlockOp>(op)) {
      spec.blocks.push_back(specFromBlock(block));
    } else if (auto pattern = dyn_cast<PatternOp>(op)) {
      llvm::DenseMap<char, BlockSpec> templates;
      for (Operation &t : pattern.getBody().front()) {
        auto tb = cast<BlockOp>(t);
        templates[(*tb.getLabel())[0]] = specFromBlock(tb);
      }
      for (int64_t i = 0, e = pattern.getCount(); i < e; ++i)
        for (char c : pattern.getPattern())
          spec.blocks.push_back(templates[c]);
    } else if (auto autoOp = dyn_cast<AutoOp>(op)) {
      return autoOp.emitOpError(
          "must be resolved first (run --hybrid-select-layout)");
    }
  }
  return spec;
}

static AttentionAttr attentionAttr(MLIRContext *ctx, const AttentionSpec &a) {
  RopeScalingAttr scaling;
  if (a.ropeScaling.type != "none")
    scaling = RopeScalingAttr::get(ctx, a.ropeScaling.type, a.ropeScaling.factor,
                                   a.ropeScaling.lowFreqFactor,
                                   a.ropeScaling.highFreqFactor,
                                   a.ropeScaling.originalMaxPosition);
  return AttentionAttr::get(ctx, a.heads, a.kvHeads, a.headDim, a.rope,
                            a.ropeTheta, scaling, a.ropeDim, a.window, a.qkvBias,
                            a.outBias);
}

static Mamba2Attr mambaAttr(MLIRContext *ctx, const Mamba2Spec &m, int64_t dModel) {
  int64_t expand = (dModel > 0 && m.inner() % dModel == 0) ? m.inner() / dModel : 0;
  return Mamba2Attr::get(ctx, m.heads, m.headDim, m.state, m.groups, m.convWidth,
                         m.chunk, expand, m.dtMin, m.dtMax, m.dtLimitLo,
                         m.dtLimitHi, m.convBias, m.projBias, m.gatedNorm,
                         m.normBeforeGate, m.normGroups);
}

Attribute mixerAttrFor(MLIRContext *ctx, const BlockSpec &block, int64_t dModel) {
  switch (block.mixer) {
  case MixerKind::None:
    return {};
  case MixerKind::Attention:
    return attentionAttr(ctx, block.attn);
  case MixerKind::Mamba2:
    return mambaAttr(ctx, block.ssm, dModel);
  case MixerKind::Parallel: {
    const FuseSpec &f = block.fuse;
    auto fuse = FuseAttr::get(
        ctx, static_cast<mlir::hybrid::BranchNorm>(static_cast<int>(f.norm)),
        static_cast<mlir::hybrid::Combine>(static_cast<int>(f.combine)),
        f.sharedOutProj ? OutProj::shared : OutProj::separate, f.attnMultiplier,
        f.ssmMultiplier);
    return ParallelAttr::get(ctx, attentionAttr(ctx, block.attn),
                             mambaAttr(ctx, block.ssm, dModel), fuse);
  }
  }
  return {};
}

FfnAttr ffnAttrFor(MLIRContext *ctx, const BlockSpec &block) {
  if (!block.hasFfn())
    return {};
  return FfnAttr::get(ctx,
                      block.ffn.kind == hybridc::FfnKind::SwiGLU
                          ? mlir::hybrid::FfnKind::swiglu
                          : mlir::hybrid::FfnKind::relu2,
                      block.ffn.hidden, block.ffn.bias);
}

/// Smallest period p (p < n, p | n) with blocks[i] == blocks[i % p]; 0 if none.
static size_t findPeriod(ArrayRef<std::pair<Attribute, Attribute>> keys) {
  size_t n = keys.size();
  for (size_t p = 1; p < n; ++p) {
    if (n % p)
      continue;
    bool ok = true;
    for (size_t i = p; i < n && ok; ++i)
      ok = keys[i] == keys[i % p];
    if (ok)
      return p;
  }
  return 0;
}

static char letterFor(const BlockSpec &b) {
  switch (b.mixer) {
  case MixerKind::Attention: return 'A';
  case MixerKind::Mamba2: return 'M';
  case MixerKind::Parallel: return 'P';
  case MixerKind::None: return 'F';
  }
  return 'X';
}

ModelOp buildModel(OpBuilder &builder, Location loc, const ModelSpec &spec,
                   bool compress) {
  MLIRContext *ctx = builder.getContext();
  MultipliersAttr mult;
  if (!spec.mult.isIdentity()) {
    const Multipliers &u = spec.mult;
    auto seg = [&](size_t i) { return i < u.ssmSegments.size() ? u.ssmSegments[i] : 1.0; };
    mult = MultipliersAttr::get(ctx, u.embedding, u.lmHead, u.attentionIn,
                                u.attentionOut, u.key, u.ssmIn, u.ssmOut,
                                u.mlpGate, u.mlpDown, seg(0), seg(1), seg(2),
                                seg(3), seg(4));
  }
  auto model = ModelOp::create(
      builder, loc, builder.getStringAttr(spec.name),
      builder.getI64IntegerAttr(spec.vocab), builder.getI64IntegerAttr(spec.dModel),
      builder.getF64FloatAttr(spec.normEps),
      spec.tieEmbeddings ? builder.getUnitAttr() : UnitAttr(),
      spec.family.empty() ? StringAttr() : builder.getStringAttr(spec.family),
      spec.maxPosition ? builder.getI64IntegerAttr(spec.maxPosition) : IntegerAttr(),
      mult);
  Block *body = new Block();
  model.getBody().push_back(body);
  OpBuilder inner = OpBuilder::atBlockBegin(body);

  SmallVector<std::pair<Attribute, Attribute>> keys;
  for (const BlockSpec &b : spec.blocks)
    keys.push_back({mixerAttrFor(ctx, b, spec.dModel), ffnAttrFor(ctx, b)});

  size_t period = compress ? findPeriod(keys) : 0;
  if (period == 0 || spec.blocks.size() / period < 2) {
    for (auto &[mixer, ffn] : keys)
      BlockOp::create(inner, loc, StringAttr(), mixer, cast_or_null<FfnAttr>(ffn));
    return model;
  }
  // Label each distinct block of the period, by kind first.
  std::string pattern;
  llvm::DenseMap<std::pair<Attribute, Attribute>, char> labels;
  std::string used;
  SmallVector<size_t> firstOf;
  for (size_t i = 0; i < period; ++i) {
    auto it = labels.find(keys[i]);
    if (it == labels.end()) {
      char c = letterFor(spec.blocks[i]);
      while (used.find(c) != std::string::npos)
        c = c == 'Z' ? 'a' : c + 1;
      used.push_back(c);
      it = labels.try_emplace(keys[i], c).first;
      firstOf.push_back(i);
    }
    pattern.push_back(it->second);
  }
  auto pat = PatternOp::create(inner, loc, builder.getStringAttr(pattern),
                               builder.getI64IntegerAttr(spec.blocks.size() / period));
  Block *pbody = new Block();
  pat.getBody().push_back(pbody);
  OpBuilder pb = OpBuilder::atBlockBegin(pbody);
  for (size_t i : firstOf)
    BlockOp::create(pb, loc, builder.getStringAttr(std::string(1, labels[keys[i]])),
                    keys[i].first, cast_or_null<FfnAttr>(keys[i].second));
  return model;
}

} // namespace hybridc
