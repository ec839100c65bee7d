//===- HybridSelectLayout.cpp - Resolve hybrid.auto -----------------------===//
//
// Replaces each `hybrid.auto` with concrete blocks: an inter-layer stack
// (attention blocks "A" among Mamba-2 blocks "M") or an intra-layer one
// (parallel blocks "P" among "M"), chosen by the recipes of arXiv 2510.04800
// ("Hybrid Architectures for Language Models: Systematic Analysis and Design
// Insights", Bae et al.) as summarised in /work/shared/DESIGN.md, and by the
// cost model (compiler/CostModel.h, docs/COST_MODEL.md).
//
// Recipes used:
//  - inter-layer: 1:1 attention:Mamba is best for quality, 1:5 the efficiency
//    compromise; never place attention first, spread it through the middle.
//  - intra-layer: parallel blocks interleaved with plain Mamba blocks, 1:5.
//  - for quality with no other constraint, the paper reports intra-layer
//    hybrids on the best quality/efficiency Pareto frontier (its Fig. 1b and
//    summary), so `layout = any, objective = quality` takes intra-layer when a
//    "P" template exists.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "compiler/CostModel.h"
#include "compiler/ModelSpecIR.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace mlir::hybrid {
#define GEN_PASS_DEF_HYBRIDSELECTLAYOUT
#include "passes/Passes.h.inc"
} // namespace mlir::hybrid

using namespace mlir;
using namespace mlir::hybrid;
using hybridc::BlockSpec;
using hybridc::ModelSpec;

namespace {

enum class Family { Inter, Intra };

const char *familyName(Family f) {
  return f == Family::Inter ? "inter-layer" : "intra-layer";
}
/// What the non-Mamba block of a family is called in messages.
const char *specialName(Family f) {
  return f == Family::Inter ? "attention" : "parallel";
}
char specialLetter(Family f) { return f == Family::Inter ? 'A' : 'P'; }

/// Placement rule. `k` special blocks (A or P) among `layers`, 1 <= k <
/// layers. The stack is cut into k equal segments of layers/k layers and the
/// i-th special block sits at the centre of the i-th segment (the upper
/// middle when it falls between two layers):
///     pos_i = floor((2i + 1) * layers / (2k)),  i = 0 .. k-1.
/// Consecutive positions differ by layers/k >= 1 before rounding, so they
/// are distinct, and pos_0 = floor(layers / 2k) >= 1 while k <= layers/2 (the
/// 1:1 recipe at most): attention never goes first. With more special blocks
/// than Mamba blocks (an explicit attention_fraction > 1/2), layer 0 is kept
/// Mamba and the same rule spreads them over layers 1 .. layers-1:
///     pos_i = 1 + floor((2i + 1) * (layers - 1) / (2k)).
/// Examples: 24 layers, k = 4 -> 3, 9, 15, 21 ("MMMAMM" x 4); k = 12 -> 1, 3,
/// .., 23 ("MA" x 12); 9 layers, k = 1 -> 4 (the middle); 5 layers, k = 4 ->
/// 1, 2, 3, 4.
std::string placePattern(int64_t layers, int64_t k, char special) {
  std::string p(static_cast<size_t>(layers), 'M');
  int64_t n = 2 * k <= layers ? layers : layers - 1; // layers spread over
  for (int64_t i = 0; i < k; ++i)
    p[static_cast<size_t>((layers - n) + (2 * i + 1) * n / (2 * k))] = special;
  return p;
}

/// "1:5"-style ratio of special to Mamba blocks, reduced.
std::string ratio(int64_t special, int64_t layers) {
  int64_t g = std::gcd(special, layers - special);
  return llvm::formatv("{0}:{1}", special / g, (layers - special) / g).str();
}

struct Candidate {
  Family family = Family::Inter;
  int64_t nominal = 0; // special blocks the recipe asks for
  int64_t special = 0; // special blocks kept (fewer when the budget needs it)
  std::string pattern;
  double flops = 0;    // forward FLOPs/token of the whole model
  int64_t cache = 0;   // KV + conv + SSM bytes of the whole model
  bool fits = true;    // within cache_budget (always true without a budget)
  // Smallest cache seen for this family (reported when nothing fits).
  int64_t minCache = 0;
  int64_t minCacheSpecial = 0;
};

struct HybridSelectLayoutPass
    : public mlir::hybrid::impl::HybridSelectLayoutBase<HybridSelectLayoutPass> {
  void runOnOperation() override {
    SmallVector<AutoOp> autos;
    getOperation().walk([&](AutoOp a) { autos.push_back(a); });
    for (AutoOp a : autos)
      if (failed(resolve(a)))
        return signalPassFailure();
  }

  /// Number of special blocks before any budget reduction: the explicit
  /// attention_fraction of the layers when set (for either family: the
  /// fraction of layers that hold attention), else the recipe's ratio.
  static int64_t nominalCount(AutoOp a, Family f) {
    int64_t layers = a.getLayers();
    double frac = a.getAttentionFraction().convertToDouble();
    if (frac <= 0.0) {
      // 1:1 -> 1/2 of the layers, 1:5 -> 1/6.
      bool oneToOne = f == Family::Inter && a.getObjective() == Objective::quality;
      frac = oneToOne ? 1.0 / 2.0 : 1.0 / 6.0;
    }
    int64_t k = std::llround(frac * static_cast<double>(layers));
    // At least one; at most layers - 1, as layer 0 stays Mamba.
    return std::clamp<int64_t>(k, 1, layers - 1);
  }

  LogicalResult resolve(AutoOp a) {
    auto model = a->getParentOfType<ModelOp>();
    if (!model)
      return a.emitOpError("must be inside a hybrid.model");
    int64_t layers = a.getLayers();
    if (layers < 2)
      return a.emitOpError("layers must be >= 2 to resolve a layout: attention "
                           "never goes first, so a Mamba block must precede it (got ")
             << layers << ")";

    llvm::DenseMap<char, BlockOp> templates;
    for (Operation &op : a.getBody().front())
      if (auto b = dyn_cast<BlockOp>(op))
        templates[(*b.getLabel())[0]] = b;
    bool hasP = templates.count('P');

    // The rest of the model contributes the same cost to every candidate, but
    // it counts against the cache budget, so candidates are costed as whole
    // models: blocks before the auto, the candidate, blocks after. (muP
    // multipliers do not change any count, so they are not copied.)
    ModelSpec base;
    base.name = model.getSymName().str();
    base.vocab = model.getVocab();
    base.dModel = model.getDModel();
    base.normEps = model.getNormEps().convertToDouble();
    base.tieEmbeddings = model.getTieEmbeddings();
    std::vector<BlockSpec> before, after;
    bool seenAuto = false;
    for (Operation &op : model.getBody().front()) {
      std::vector<BlockSpec> &out = seenAuto ? after : before;
      if (auto b = dyn_cast<BlockOp>(op)) {
        out.push_back(hybridc::specFromBlock(b));
      } else if (auto p = dyn_cast<PatternOp>(op)) {
        llvm::DenseMap<char, BlockSpec> t;
        for (Operation &tb : p.getBody().front())
          t[(*cast<BlockOp>(tb).getLabel())[0]] = hybridc::specFromBlock(cast<BlockOp>(tb));
        for (int64_t i = 0, e = p.getCount(); i < e; ++i)
          for (char c : p.getPattern())
            out.push_back(t[c]);
      } else if (&op == a.getOperation()) {
        seenAuto = true;
      }
    }
    llvm::DenseMap<char, BlockSpec> tspec;
    for (auto &[c, b] : templates)
      tspec[c] = hybridc::specFromBlock(b);

    hybridc::ReportOptions opts; // bf16 KV, conv and SSM caches
    opts.context = a.getContextLength();
    opts.batch = a.getBatch();

    auto costOf = [&](const std::string &pattern) {
      ModelSpec spec = base;
      spec.blocks = before;
      for (char c : pattern)
        spec.blocks.push_back(tspec[c]);
      spec.blocks.insert(spec.blocks.end(), after.begin(), after.end());
      return hybridc::computeCost(spec, opts);
    };

    int64_t budget = static_cast<int64_t>(a.getCacheBudget());
    auto evaluate = [&](Family f) {
      Candidate c;
      c.family = f;
      c.nominal = nominalCount(a, f);
      c.fits = false;
      // Without a budget the nominal count stands. With one, the largest
      // count <= nominal whose cache fits wins (the cache need not shrink
      // with fewer attention blocks: at short context an attention block's
      // KV cache can be smaller than a Mamba block's state).
      for (int64_t k = c.nominal; k >= 1; --k) {
        std::string p = placePattern(layers, k, specialLetter(f));
        hybridc::CostReport r = costOf(p);
        if (k == c.nominal || r.totalCacheBytes < c.minCache) {
          c.minCache = r.totalCacheBytes;
          c.minCacheSpecial = k;
        }
        if (budget == 0 || r.totalCacheBytes <= budget) {
          c.special = k;
          c.pattern = std::move(p);
          c.flops = r.flopsForwardPerToken;
          c.cache = r.totalCacheBytes;
          c.fits = true;
          break;
        }
      }
      return c;
    };

    SmallVector<Candidate, 2> cands;
    Layout layout = a.getLayout();
    if (layout != Layout::intra)
      cands.push_back(evaluate(Family::Inter));
    if (layout != Layout::inter && hasP)
      cands.push_back(evaluate(Family::Intra));

    SmallVector<const Candidate *, 2> viable;
    for (const Candidate &c : cands)
      if (c.fits)
        viable.push_back(&c);
    if (viable.empty()) {
      const Candidate *best = &cands.front();
      for (const Candidate &c : cands)
        if (c.minCache < best->minCache)
          best = &c;
      return a.emitOpError()
             << "no layout fits cache_budget = " << budget << " bytes ("
             << hybridc::formatBytes(budget) << "); the smallest cache found is "
             << best->minCache << " bytes (" << hybridc::formatBytes(best->minCache)
             << ", " << familyName(best->family) << " with "
             << best->minCacheSpecial << " " << specialName(best->family) << " of "
             << layers << ") at context " << opts.context << " x batch "
             << opts.batch;
    }

    const Candidate *chosen = nullptr;
    std::string why;
    if (layout != Layout::any) {
      chosen = viable.front();
      why = llvm::formatv("layout {0}", stringifyLayout(layout)).str();
    } else if (viable.size() == 1) {
      chosen = viable.front();
      why = cands.size() == 1
                ? llvm::formatv("{0}; no \"P\" template for intra-layer",
                                stringifyObjective(a.getObjective()))
                      .str()
                : "the only layout within cache_budget";
    } else {
      switch (a.getObjective()) {
      case Objective::quality:
        // Paper's recommendation: intra-layer (see the file header).
        chosen = viable[0]->family == Family::Intra ? viable[0] : viable[1];
        why = "quality: intra-layer per arXiv 2510.04800";
        break;
      case Objective::throughput:
        // Fewest FLOPs; ties go to the smaller cache, then to inter-layer.
        chosen = viable[0];
        if (viable[1]->flops < chosen->flops ||
            (viable[1]->flops == chosen->flops && viable[1]->cache < chosen->cache))
          chosen = viable[1];
        why = "throughput: fewest FLOPs/token";
        break;
      case Objective::memory:
        // Smallest cache; ties go to fewer FLOPs, then to inter-layer.
        chosen = viable[0];
        if (viable[1]->cache < chosen->cache ||
            (viable[1]->cache == chosen->cache && viable[1]->flops < chosen->flops))
          chosen = viable[1];
        why = "memory: smallest cache";
        break;
      }
    }

    // One line: the choice, its pattern and numbers, then the alternative.
    std::string msg;
    llvm::raw_string_ostream os(msg);
    os << "selected " << familyName(chosen->family) << " "
       << ratio(chosen->special, layers) << " (" << why << "): "
       << chosen->special << " " << specialName(chosen->family) << " of "
       << layers << " \"" << chosen->pattern << "\"";
    if (chosen->special != chosen->nominal)
      os << " (reduced from " << chosen->nominal << " to fit cache_budget "
         << hybridc::formatBytes(budget) << ")";
    os << "; " << hybridc::formatCount(chosen->flops) << "FLOP/token, cache "
       << hybridc::formatBytes(chosen->cache) << " at context " << opts.context
       << " x batch " << opts.batch;
    for (const Candidate &c : cands) {
      if (&c == chosen)
        continue;
      os << "; " << familyName(c.family) << ": ";
      if (c.fits)
        os << c.special << " " << specialName(c.family) << ", "
           << hybridc::formatCount(c.flops) << "FLOP/token, cache "
           << hybridc::formatBytes(c.cache);
      else
        os << "over cache_budget (smallest " << hybridc::formatBytes(c.minCache)
           << " with " << c.minCacheSpecial << " " << specialName(c.family) << ")";
    }
    a.emitRemark(msg);

    OpBuilder builder(a);
    for (char c : chosen->pattern) {
      BlockOp t = templates.lookup(c);
      BlockOp::create(builder, t.getLoc(), StringAttr(), t.getMixerAttr(),
                      t.getFfnAttr());
    }
    a.erase();
    return success();
  }
};

} // namespace
