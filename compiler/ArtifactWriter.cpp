//===- ArtifactWriter.cpp - Plan a tensor-level model into a .hyb ---------===//
#include "compiler/ArtifactWriter.h"

#include "compiler/Weights.h"
#include "dialects/hybrid/HybridDialect.h"
#include "runtime/hyb/Version.h"
#include "runtime/hyb/hyb_generated.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"

#include <algorithm>
#include <map>

using namespace mlir;
namespace fb = flatbuffers;
namespace hyb = ::hybrid::hyb;

namespace hybridc {
namespace {

llvm::Error fail(Operation *op, const llvm::Twine &msg) {
  std::string where;
  llvm::raw_string_ostream os(where);
  op->getLoc().print(os);
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 os.str() + ": '" + op->getName().getStringRef().str() +
                                     "': " + msg.str());
}

struct PlannedValue {
  hyb::ValueKind kind = hyb::ValueKind::Activation;
  hyb::DType dtype = hyb::DType::F32;
  std::vector<int64_t> trailing;
  int weight = -1, aliasOf = -1;
  int64_t bytesPerToken = 0, offsetPerToken = 0;
  int64_t bytesFixed = 0, offsetFixed = 0;
  int gradOf = -1;
  int def = -1, lastUse = -1;  // instruction indices; -1 = before the program
};

struct PlannedAttr {
  hyb::AttrKind kind;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<double> floats;
};

struct PlannedInstr {
  std::string op;
  std::vector<int> inputs, outputs;
  std::map<std::string, PlannedAttr> attrs;
  int cache = -1;
};

struct PlannedCache {
  int layer = -1;
  std::vector<int64_t> kv, conv, ssm;
};

/// Flattens an attribute into (key -> scalar/list) entries the runtime reads.
void addAttr(std::map<std::string, PlannedAttr> &out, const std::string &key, Attribute a) {
  PlannedAttr p;
  if (auto i = dyn_cast<IntegerAttr>(a)) {
    p.kind = hyb::AttrKind::Int;
    p.i = i.getValue().getSExtValue();
  } else if (auto f = dyn_cast<FloatAttr>(a)) {
    p.kind = hyb::AttrKind::Float;
    p.f = f.getValueAsDouble();
  } else if (auto s = dyn_cast<StringAttr>(a)) {
    p.kind = hyb::AttrKind::Str;
    p.s = s.str();
  } else if (isa<UnitAttr>(a)) {
    p.kind = hyb::AttrKind::Int;
    p.i = 1;
  } else if (auto arr = dyn_cast<DenseI64ArrayAttr>(a)) {
    p.kind = hyb::AttrKind::Ints;
    p.ints.assign(arr.asArrayRef().begin(), arr.asArrayRef().end());
  } else if (auto arr = dyn_cast<DenseI32ArrayAttr>(a)) {
    p.kind = hyb::AttrKind::Ints;
    p.ints.assign(arr.asArrayRef().begin(), arr.asArrayRef().end());
  } else if (auto arr = dyn_cast<DenseF64ArrayAttr>(a)) {
    p.kind = hyb::AttrKind::Floats;
    p.floats.assign(arr.asArrayRef().begin(), arr.asArrayRef().end());
  } else if (auto arr = dyn_cast<DenseBoolArrayAttr>(a)) {
    p.kind = hyb::AttrKind::Ints;
    for (bool v : arr.asArrayRef())
      p.ints.push_back(v);
  } else if (auto bn = dyn_cast<mlir::hybrid::BranchNormAttr>(a)) {
    p.kind = hyb::AttrKind::Str;
    p.s = mlir::hybrid::stringifyBranchNorm(bn.getValue()).str();
  } else if (auto c = dyn_cast<mlir::hybrid::CombineAttr>(a)) {
    p.kind = hyb::AttrKind::Str;
    p.s = mlir::hybrid::stringifyCombine(c.getValue()).str();
  } else if (auto r = dyn_cast<mlir::hybrid::RopeScalingAttr>(a)) {
    addAttr(out, key + ".type", StringAttr::get(a.getContext(), r.getType()));
    Builder b(a.getContext());
    addAttr(out, key + ".factor", b.getF64FloatAttr(r.getFactor()));
    addAttr(out, key + ".low_freq_factor", b.getF64FloatAttr(r.getLowFreqFactor()));
    addAttr(out, key + ".high_freq_factor", b.getF64FloatAttr(r.getHighFreqFactor()));
    addAttr(out, key + ".original_max_position", b.getI64IntegerAttr(r.getOriginalMaxPosition()));
    return;
  } else {
    // Unknown attribute kinds are kept as their text so nothing is lost.
    p.kind = hyb::AttrKind::Str;
    llvm::raw_string_ostream os(p.s);
    a.print(os);
  }
  out[key] = std::move(p);
}

/// The layer a weight belongs to ("layers.7.attn.q" -> 7).
int layerOf(StringRef name) {
  if (!name.consume_front("layers."))
    return -1;
  int layer = -1;
  if (name.take_until([](char c) { return c == '.'; }).getAsInteger(10, layer))
    return -1;
  return layer;
}

int64_t dimOf(Value v, int i) { return cast<RankedTensorType>(v.getType()).getDimSize(i); }

/// Weights and cache slots shared by all programs of an artifact.
struct Shared {
  std::vector<WeightInfo> weights;
  llvm::StringMap<int> weightIndex;
  std::vector<PlannedCache> caches;
  std::map<std::pair<int, std::string>, int> slots;
  int64_t maxContext = 0;

  /// The cache slot of `layer` for `kind` ("kv" or "mamba"), created on first use.
  int slot(int layer, const char *kind) {
    auto key = std::make_pair(layer, std::string(kind));
    auto it = slots.find(key);
    if (it != slots.end())
      return it->second;
    PlannedCache c;
    c.layer = layer;
    caches.push_back(c);
    slots[key] = static_cast<int>(caches.size()) - 1;
    return static_cast<int>(caches.size()) - 1;
  }
};

/// Plans one function into one program: value numbering, instructions,
/// arena offsets.
class ProgramPlanner {
public:
  ProgramPlanner(func::FuncOp fn, Shared &shared, bool stateful)
      : fn(fn), shared(shared), stateful(stateful) {}

  llvm::Error plan() {
    for (BlockArgument arg : fn.getArguments()) {
      auto t = dyn_cast<RankedTensorType>(arg.getType());
      if (!t || t.getRank() != 2 || !t.getElementType().isSignlessInteger(32))
        return fail(fn, "arguments must be [batch, seq] int32 token tensors");
      int id = newValue(hyb::ValueKind::Input, hyb::DType::I32, {});
      valueId[arg] = id;
      inputs.push_back(id);
    }
    for (Operation &op : fn.getBody().front()) {
      if (auto ret = dyn_cast<func::ReturnOp>(op)) {
        for (Value v : ret.getOperands())
          outputs.push_back(idOf(v));
        continue;
      }
      if (llvm::Error e = planOp(op))
        return e;
    }
    if (outputs.empty())
      return fail(fn, "returns nothing");
    // Gradient outputs name their weight.
    if (auto names = fn->getAttrOfType<ArrayAttr>("hybrid.grad_names")) {
      if (names.size() + 1 != outputs.size())
        return fail(fn, "hybrid.grad_names does not match the results");
      for (auto [i, n] : llvm::enumerate(names)) {
        auto it = shared.weightIndex.find(cast<StringAttr>(n).getValue());
        if (it == shared.weightIndex.end())
          return fail(fn, "gradient of unknown weight " + cast<StringAttr>(n).getValue());
        values[outputs[i + 1]].gradOf = it->second;
      }
    }
    assignOffsets();
    return llvm::Error::success();
  }

  fb::Offset<hyb::Program> serialize(fb::FlatBufferBuilder &b, const char *name, int64_t maxSeq) {
    std::vector<fb::Offset<hyb::Value>> vs;
    for (const PlannedValue &v : values)
      vs.push_back(hyb::CreateValueDirect(b, v.kind, v.dtype, &v.trailing, v.weight, v.aliasOf,
                                          v.offsetPerToken, v.bytesPerToken, v.offsetFixed,
                                          v.bytesFixed, v.gradOf));
    std::vector<fb::Offset<hyb::Instr>> is;
    for (const PlannedInstr &in : instrs) {
      std::vector<fb::Offset<hyb::Attr>> as;
      for (auto &[key, a] : in.attrs)
        as.push_back(hyb::CreateAttrDirect(b, key.c_str(), a.kind, a.i, a.f,
                                           a.s.empty() ? nullptr : a.s.c_str(),
                                           a.ints.empty() ? nullptr : &a.ints,
                                           a.floats.empty() ? nullptr : &a.floats));
      is.push_back(hyb::CreateInstrDirect(b, in.op.c_str(), &in.inputs, &in.outputs, &as, in.cache));
    }
    return hyb::CreateProgramDirect(b, name, &vs, &is, &inputs, &outputs, arenaPerToken, maxSeq,
                                    fixedBytes);
  }

  void summarize(PlanSummary *summary) const {
    summary->arenaBytesPerToken = arenaPerToken;
    summary->sumBytesPerToken = 0;
    for (auto &v : values)
      if (v.kind == hyb::ValueKind::Activation)
        summary->sumBytesPerToken += v.bytesPerToken;
    summary->instructions = static_cast<int64_t>(instrs.size());
  }

  int64_t arenaBytesPerToken() const { return arenaPerToken; }
  int64_t fixedArenaBytes() const { return fixedBytes; }

private:
  int newValue(hyb::ValueKind kind, hyb::DType dtype, std::vector<int64_t> trailing) {
    PlannedValue v;
    v.kind = kind;
    v.dtype = dtype;
    v.trailing = std::move(trailing);
    values.push_back(std::move(v));
    return static_cast<int>(values.size()) - 1;
  }

  int idOf(Value v) {
    auto it = valueId.find(v);
    assert(it != valueId.end() && "operand defined outside the planned function");
    return it->second;
  }

  int root(int id) const {
    while (values[id].kind == hyb::ValueKind::Alias)
      id = values[id].aliasOf;
    return id;
  }

  void use(int id, int at) {
    int r = root(id);
    values[r].lastUse = std::max(values[r].lastUse, at);
  }

  /// A new value for result `r`: an activation when its leading dims are the
  /// dynamic [batch, seq], a fixed-size value when its shape is static.
  llvm::Expected<int> resultValue(Operation &op, Value r, int at) {
    auto t = dyn_cast<RankedTensorType>(r.getType());
    if (!t || !t.getElementType().isF32())
      return fail(&op, "results must be f32 tensors");
    int id;
    if (t.getRank() >= 2 && t.isDynamicDim(0) && t.isDynamicDim(1)) {
      std::vector<int64_t> trailing(t.getShape().begin() + 2, t.getShape().end());
      for (int64_t d : trailing)
        if (ShapedType::isDynamic(d))
          return fail(&op, "only the batch and sequence dims may be dynamic");
      id = newValue(hyb::ValueKind::Activation, hyb::DType::F32, trailing);
      int64_t n = 1;
      for (int64_t d : trailing)
        n *= d;
      values[id].bytesPerToken = n * 4;
    } else if (t.hasStaticShape()) {
      id = newValue(hyb::ValueKind::Fixed, hyb::DType::F32,
                    std::vector<int64_t>(t.getShape().begin(), t.getShape().end()));
      values[id].bytesFixed = t.getNumElements() * 4;
    } else {
      return fail(&op, "a result must be [batch, seq, static...] or fully static");
    }
    values[id].def = at;
    values[id].lastUse = at;
    valueId[r] = id;
    return id;
  }

  llvm::Error planOp(Operation &op) {
    if (auto p = dyn_cast<mlir::hybrid::ParamOp>(op)) {
      auto it = shared.weightIndex.find(p.getName());
      if (it == shared.weightIndex.end())
        return fail(&op, "weight '" + p.getName() + "' is not in the weight table");
      auto shape = cast<RankedTensorType>(p.getType()).getShape();
      if (std::vector<int64_t>(shape.begin(), shape.end()) != shared.weights[it->second].shape)
        return fail(&op, "weight '" + p.getName() + "' has another shape in the weight table");
      int id = newValue(hyb::ValueKind::Weight, hyb::DType::F32, {});
      values[id].weight = it->second;
      valueId[p.getResult()] = id;
      currentLayer = layerOf(p.getName());
      return llvm::Error::success();
    }
    if (auto r = dyn_cast<mlir::hybrid::ReshapeOp>(op)) {
      auto t = cast<RankedTensorType>(r.getType());
      int id = newValue(hyb::ValueKind::Alias, hyb::DType::F32,
                        std::vector<int64_t>(t.getShape().begin() + 2, t.getShape().end()));
      values[id].aliasOf = idOf(r.getInput());
      valueId[r.getResult()] = id;
      return llvm::Error::success();
    }
    int at = static_cast<int>(instrs.size());
    PlannedInstr in;
    auto custom = dyn_cast<mlir::hybrid::CustomCallOp>(op);
    auto vjp = dyn_cast<mlir::hybrid::VjpOp>(op);
    in.op = custom ? custom.getKernel().str()
            : vjp  ? vjp.getOp().str() + ".grad"
                   : op.getName().stripDialect().str();
    for (Value v : op.getOperands()) {
      int id = idOf(v);
      in.inputs.push_back(id);
      use(id, at);
    }
    SmallVector<int> results;
    for (Value r : op.getResults()) {
      llvm::Expected<int> id = resultValue(op, r, at);
      if (!id)
        return id.takeError();
      results.push_back(*id);
    }
    if (vjp) {
      // One output slot per forward input; -1 where no gradient is wanted.
      unsigned next = 0;
      for (bool want : vjp.getGradMask())
        in.outputs.push_back(want ? results[next++] : -1);
    } else {
      in.outputs.assign(results.begin(), results.end());
    }
    for (NamedAttribute a : op.getAttrs())
      if ((!custom || a.getName() != custom.getKernelAttrName()) &&
          (!vjp || a.getName() != vjp.getOpAttrName()))
        addAttr(in.attrs, a.getName().str(), a.getValue());
    if (stateful)
      if (llvm::Error e = assignCache(op, in))
        return e;
    instrs.push_back(std::move(in));
    return llvm::Error::success();
  }

  /// Stateful ops get a cache slot: attention keeps K and V, the Mamba-2
  /// conv keeps its last width-1 inputs, the scan its state.
  llvm::Error assignCache(Operation &op, PlannedInstr &in) {
    StringRef name = in.op;
    if (name == "attention" || name == "rope_attention") {
      Value k = op.getOperand(1);
      int s = shared.slot(currentLayer, "kv");
      shared.caches[s].kv = {shared.maxContext, dimOf(k, 2), dimOf(k, 3)};
      in.cache = s;
    } else if (name == "conv1d_causal") {
      Value w = op.getOperand(1);
      int s = shared.slot(currentLayer, "mamba");
      shared.caches[s].conv = {dimOf(w, 2) - 1, dimOf(w, 0)};
      in.cache = s;
    } else if (name == "ssd_scan") {
      Value x = op.getOperand(0), bm = op.getOperand(3);
      int s = shared.slot(currentLayer, "mamba");
      shared.caches[s].ssm = {dimOf(x, 2), dimOf(x, 3), dimOf(bm, 3)};
      in.cache = s;
    } else if (auto core = dyn_cast<mlir::hybrid::Mamba2CoreOp>(op)) {
      // The fused Mamba-2 mixer keeps both states of its layer.
      Value w = core.getConvWeight();
      int s = shared.slot(currentLayer, "mamba");
      shared.caches[s].conv = {dimOf(w, 2) - 1, dimOf(w, 0)};
      shared.caches[s].ssm = {static_cast<int64_t>(core.getHeads()),
                              static_cast<int64_t>(core.getHeadDim()),
                              static_cast<int64_t>(core.getState())};
      in.cache = s;
    }
    return llvm::Error::success();
  }

  /// First fit, values in definition order; a value is live from its
  /// definition to its last use (outputs: to the end). Activations are
  /// placed in bytes per token, fixed-size values in bytes.
  void assignOffsets() {
    int end = static_cast<int>(instrs.size());
    for (int o : outputs)
      values[root(o)].lastUse = end;
    auto place = [&](hyb::ValueKind kind, auto bytesOf, auto setOffset, auto offsetOf) {
      std::vector<int> placed;
      int64_t peak = 0;
      for (int id = 0; id < (int)values.size(); ++id) {
        PlannedValue &v = values[id];
        if (v.kind != kind)
          continue;
        std::vector<std::pair<int64_t, int64_t>> busy;
        for (int p : placed) {
          const PlannedValue &q = values[p];
          if (!(q.lastUse < v.def || v.lastUse < q.def))
            busy.push_back({offsetOf(q), offsetOf(q) + bytesOf(q)});
        }
        std::sort(busy.begin(), busy.end());
        int64_t off = 0;
        for (auto [b, e] : busy) {
          if (off + bytesOf(v) <= b)
            break;
          off = std::max(off, (e + 15) / 16 * 16);
        }
        setOffset(v, off);
        peak = std::max(peak, off + bytesOf(v));
        placed.push_back(id);
      }
      return peak;
    };
    arenaPerToken = place(
        hyb::ValueKind::Activation, [](const PlannedValue &v) { return v.bytesPerToken; },
        [](PlannedValue &v, int64_t o) { v.offsetPerToken = o; },
        [](const PlannedValue &v) { return v.offsetPerToken; });
    fixedBytes = place(
        hyb::ValueKind::Fixed, [](const PlannedValue &v) { return v.bytesFixed; },
        [](PlannedValue &v, int64_t o) { v.offsetFixed = o; },
        [](const PlannedValue &v) { return v.offsetFixed; });
  }

  func::FuncOp fn;
  Shared &shared;
  bool stateful;
  llvm::DenseMap<Value, int> valueId;
  std::vector<PlannedValue> values;
  std::vector<PlannedInstr> instrs;
  std::vector<int> inputs, outputs;
  int currentLayer = -1;
  int64_t arenaPerToken = 0, fixedBytes = 0;
};

} // namespace

llvm::Expected<std::string> buildArtifact(func::FuncOp forward, func::FuncOp trainStep,
                                          const ModelSpec &spec, const ArtifactOptions &opts,
                                          PlanSummary *summary) {
  if (opts.target != "cpu" && opts.target != "cuda")
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "unknown target '" + opts.target + "' (expected cpu or cuda)");
  if (opts.maxContext <= 0)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "max context must be positive");
  Shared shared;
  shared.weights = listWeights(spec);
  shared.maxContext = opts.maxContext;
  for (auto [i, w] : llvm::enumerate(shared.weights))
    shared.weightIndex[w.name] = static_cast<int>(i);

  ProgramPlanner inference(forward, shared, /*stateful=*/true);
  if (llvm::Error e = inference.plan())
    return std::move(e);
  std::unique_ptr<ProgramPlanner> training;
  if (trainStep) {
    training = std::make_unique<ProgramPlanner>(trainStep, shared, /*stateful=*/false);
    if (llvm::Error e = training->plan())
      return std::move(e);
  }

  fb::FlatBufferBuilder b(1 << 16);
  std::vector<fb::Offset<hyb::Weight>> ws;
  for (const WeightInfo &w : shared.weights)
    ws.push_back(hyb::CreateWeightDirect(b, w.name.c_str(), w.hfName.c_str(), &w.shape,
                                         hyb::DType::F32));
  std::vector<fb::Offset<hyb::Cache>> cs;
  for (const PlannedCache &c : shared.caches)
    cs.push_back(hyb::CreateCacheDirect(b, c.layer, c.kv.empty() ? nullptr : &c.kv,
                                        c.conv.empty() ? nullptr : &c.conv,
                                        c.ssm.empty() ? nullptr : &c.ssm));
  // Prefill and decode run the same instruction list on the CPU: every
  // stateful kernel reads its cache at the sequence's position, so decode is
  // the program at L = 1. Backends may give decode other kernels.
  std::vector<fb::Offset<hyb::Program>> ps;
  ps.push_back(inference.serialize(b, "prefill", 0));
  ps.push_back(inference.serialize(b, "decode", 1));
  if (training)
    ps.push_back(training->serialize(b, "train_step", 0));
  auto model = hyb::CreateModelDirect(b, spec.name.c_str(), spec.family.c_str(), spec.vocab,
                                      spec.dModel, static_cast<int64_t>(spec.blocks.size()),
                                      opts.maxContext, spec.tieEmbeddings);
  std::string producer = std::string("hybridc ") + ::hybrid::kProducerVersion;
  std::vector<fb::Offset<hyb::Kernel>> kernels;
  auto root = hyb::CreateArtifactDirect(b, ::hybrid::kFormatVersion, producer.c_str(),
                                        opts.target.c_str(), model, opts.sourceMlir.c_str(),
                                        &ws, &cs, &ps, &kernels, nullptr);
  hyb::FinishArtifactBuffer(b, root);
  if (summary) {
    inference.summarize(summary);
    summary->caches = static_cast<int64_t>(shared.caches.size());
    if (training) {
      summary->trainArenaBytesPerToken = training->arenaBytesPerToken();
      summary->trainFixedBytes = training->fixedArenaBytes();
    }
  }
  return std::string(reinterpret_cast<const char *>(b.GetBufferPointer()), b.GetSize());
}

} // namespace hybridc
