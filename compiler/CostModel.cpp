//===- CostModel.cpp - Parameters, FLOPs and cache bytes of a model -------===//
//
// Definitions: docs/COST_MODEL.md. FLOPs are 2 x multiply-adds; element-wise
// work (norms, activations, RoPE, softmax, gating, biases, residuals, decay
// exponentials, the D skip) is not counted.
//
//===----------------------------------------------------------------------===//
#include "compiler/CostModel.h"
#include "compiler/Weights.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>

namespace hybridc {

llvm::Error checkReportOptions(const ReportOptions &o) {
  auto bad = [](const char *field, int64_t v, const char *want) {
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        llvm::formatv("report option '{0}' is {1}; it must be {2}", field, v,
                      want)
            .str());
  };
  if (o.context < 1)
    return bad("context", o.context, "at least 1");
  if (o.batch < 1)
    return bad("batch", o.batch, "at least 1");
  if (o.cacheBytesPerElement < 1)
    return bad("cacheBytesPerElement", o.cacheBytesPerElement, "at least 1");
  if (o.ssmStateBytesPerElement < 1)
    return bad("ssmStateBytesPerElement", o.ssmStateBytesPerElement,
               "at least 1");
  return llvm::Error::success();
}

double meanAttendedKeys(int64_t context, int64_t window) {
  if (context < 1)
    return 0;
  double L = static_cast<double>(context);
  if (window <= 0 || window >= context)
    return (L + 1) / 2; // sum_{i=1..L} i / L
  // Queries 0..W-1 see i+1 keys, the remaining L-W queries see W.
  double W = static_cast<double>(window);
  return (W * (W + 1) / 2 + (L - W) * W) / L;
}

double ssdScanMacsPerSequence(const Mamba2Spec &m, int64_t context) {
  if (context < 1)
    return 0;
  const double H = m.heads, P = m.headDim, N = m.state, G = m.groups;
  const int64_t Q = m.chunk > 0 ? m.chunk : context;
  // Causal (s <= t) pairs inside one chunk of q tokens.
  auto pairs = [](double q) { return q * (q + 1) / 2; };
  const int64_t fullChunks = context / Q;
  const int64_t tail = context % Q;
  const double chunks = static_cast<double>(fullChunks + (tail ? 1 : 0));
  const double causalPairs =
      fullChunks * pairs(static_cast<double>(Q)) + pairs(static_cast<double>(tail));
  const double L = static_cast<double>(context);
  double macs = 0;
  macs += G * N * causalPairs; // C B^T per group, causal half
  macs += H * P * causalPairs; // (C B^T o decay) X per head
  macs += H * P * N * L;       // chunk states B^T X, every token once
  macs += H * P * N * chunks;  // state passing h = a h + s, once per chunk
  macs += H * P * N * L;       // state to output C h_prev, every token
  return macs;
}

namespace {

const char *kindName(const BlockSpec &b) {
  switch (b.mixer) {
  case MixerKind::Attention: return "attention";
  case MixerKind::Mamba2: return "mamba2";
  case MixerKind::Parallel: return "parallel";
  case MixerKind::None: break;
  }
  return b.hasFfn() ? "mlp" : "none";
}

// Multiply-adds per token of the q, k, v projections.
double attnInMacs(const AttentionSpec &a, double d) {
  return d * static_cast<double>(a.qDim() + 2 * a.kvDim());
}

int64_t kvBytesOf(const AttentionSpec &a, const ReportOptions &o) {
  int64_t len = o.context;
  if (a.window > 0)
    len = std::min(len, a.window);
  return 2 * a.kvHeads * a.headDim * len * o.batch * o.cacheBytesPerElement;
}

int64_t convBytesOf(const Mamba2Spec &m, const ReportOptions &o) {
  return std::max<int64_t>(m.convWidth - 1, 0) * m.convDim() * o.batch *
         o.cacheBytesPerElement;
}

int64_t ssmBytesOf(const Mamba2Spec &m, const ReportOptions &o) {
  return m.heads * m.headDim * m.state * o.batch * o.ssmStateBytesPerElement;
}

} // namespace

LayerCost blockCost(const BlockSpec &b, int64_t dModel,
                    const ReportOptions &o) {
  LayerCost c;
  c.kind = kindName(b);
  const double d = static_cast<double>(dModel);
  const double L = static_cast<double>(std::max<int64_t>(o.context, 1));
  double matmulMacs = 0, attnMacs = 0, scanMacs = 0, convMacs = 0;

  auto addAttention = [&](const AttentionSpec &a) {
    // QK^T and PV: heads x head_dim multiply-adds per attended key, each.
    attnMacs += 2.0 * static_cast<double>(a.qDim()) *
                meanAttendedKeys(o.context, a.window);
    c.kvBytes += kvBytesOf(a, o);
  };
  auto addMamba = [&](const Mamba2Spec &m) {
    scanMacs += ssdScanMacsPerSequence(m, o.context) / L;
    convMacs += static_cast<double>(m.convWidth * m.convDim());
    c.convBytes += convBytesOf(m, o);
    c.ssmBytes += ssmBytesOf(m, o);
  };

  switch (b.mixer) {
  case MixerKind::None:
    break;
  case MixerKind::Attention:
    matmulMacs += attnInMacs(b.attn, d) + static_cast<double>(b.attn.qDim()) * d;
    addAttention(b.attn);
    break;
  case MixerKind::Mamba2:
    matmulMacs += d * static_cast<double>(b.ssm.inProjDim()) +
                  static_cast<double>(b.ssm.inner()) * d;
    addMamba(b.ssm);
    break;
  case MixerKind::Parallel: {
    matmulMacs += attnInMacs(b.attn, d) + d * static_cast<double>(b.ssm.inProjDim());
    double qW = static_cast<double>(b.attn.qDim());
    double sW = static_cast<double>(b.ssm.inner());
    if (!b.fuse.sharedOutProj)
      matmulMacs += (qW + sW) * d; // one projection per branch, summed
    else if (b.fuse.combine == Combine::Concat)
      matmulMacs += (qW + sW) * d; // one projection of the concatenation
    else
      matmulMacs += qW * d; // equal widths, combined first
    addAttention(b.attn);
    addMamba(b.ssm);
    break;
  }
  }

  if (b.hasFfn()) {
    double h = static_cast<double>(b.ffn.hidden);
    // SwiGLU: gate, up, down. ReLU^2: up, down.
    matmulMacs += (b.ffn.kind == FfnKind::SwiGLU ? 3.0 : 2.0) * d * h;
  }

  c.flopsMatmul = 2 * matmulMacs;
  c.flopsAttention = 2 * attnMacs;
  c.flopsScan = 2 * scanMacs;
  c.flopsConv = 2 * convMacs;
  c.flopsForwardPerToken =
      c.flopsMatmul + c.flopsAttention + c.flopsScan + c.flopsConv;
  c.flopsTrainPerToken = kTrainToForward * c.flopsForwardPerToken;
  return c;
}

CostReport computeCost(const ModelSpec &spec, const ReportOptions &o) {
  CostReport r;
  std::vector<int64_t> layerParams(spec.blocks.size(), 0);
  int64_t modelLevel = 0;
  for (const WeightInfo &w : listWeights(spec)) {
    if (w.layer >= 0 && static_cast<size_t>(w.layer) < layerParams.size())
      layerParams[w.layer] += w.numel();
    else
      modelLevel += w.numel();
  }
  r.params = countParams(spec);
  r.embeddingParams = spec.vocab * spec.dModel;
  r.headParams = spec.tieEmbeddings ? 0 : spec.vocab * spec.dModel;
  r.otherParams = modelLevel - r.embeddingParams - r.headParams;

  for (size_t i = 0; i < spec.blocks.size(); ++i) {
    LayerCost c = blockCost(spec.blocks[i], spec.dModel, o);
    c.index = static_cast<int>(i);
    c.params = layerParams[i];
    r.flopsForwardPerToken += c.flopsForwardPerToken;
    r.kvBytes += c.kvBytes;
    r.convBytes += c.convBytes;
    r.ssmBytes += c.ssmBytes;
    r.layers.push_back(std::move(c));
  }
  // LM head on every token (tied or not); the embedding gather is free.
  r.flopsHeadPerToken =
      2.0 * static_cast<double>(spec.dModel) * static_cast<double>(spec.vocab);
  r.flopsForwardPerToken += r.flopsHeadPerToken;
  r.flopsTrainPerToken = kTrainToForward * r.flopsForwardPerToken;
  r.totalCacheBytes = r.kvBytes + r.convBytes + r.ssmBytes;
  return r;
}

std::string costToJson(const ModelSpec &spec, const ReportOptions &o,
                       const CostReport &r) {
  namespace json = llvm::json;
  json::Array layers;
  for (const LayerCost &c : r.layers) {
    layers.push_back(json::Object{
        {"index", c.index},
        {"kind", c.kind},
        {"params", c.params},
        {"flops_per_token_forward", c.flopsForwardPerToken},
        {"flops_per_token_train", c.flopsTrainPerToken},
        {"flops_breakdown", json::Object{{"matmul", c.flopsMatmul},
                                         {"attention", c.flopsAttention},
                                         {"scan", c.flopsScan},
                                         {"conv", c.flopsConv}}},
        {"cache_bytes", json::Object{{"kv", c.kvBytes},
                                     {"conv", c.convBytes},
                                     {"ssm", c.ssmBytes},
                                     {"total", c.kvBytes + c.convBytes +
                                                   c.ssmBytes}}},
    });
  }
  json::Object root{
      {"model", spec.name},
      {"family", spec.family},
      {"context", o.context},
      {"batch", o.batch},
      {"cache_bytes_per_element", o.cacheBytesPerElement},
      {"ssm_state_bytes_per_element", o.ssmStateBytesPerElement},
      {"params", r.params},
      {"params_breakdown", json::Object{{"embedding", r.embeddingParams},
                                        {"head", r.headParams},
                                        {"other", r.otherParams},
                                        {"tied_embeddings", spec.tieEmbeddings}}},
      {"flops_per_token_forward", r.flopsForwardPerToken},
      {"flops_per_token_train", r.flopsTrainPerToken},
      {"flops_per_token_head", r.flopsHeadPerToken},
      {"flops_per_sequence_forward", r.flopsForwardPerSequence(o)},
      {"cache_bytes", json::Object{{"kv", r.kvBytes},
                                   {"conv", r.convBytes},
                                   {"ssm", r.ssmBytes},
                                   {"total", r.totalCacheBytes}}},
      {"layers", std::move(layers)},
  };
  std::string out;
  llvm::raw_string_ostream os(out);
  os << llvm::formatv("{0:2}", json::Value(std::move(root))) << "\n";
  return out;
}

std::string formatCount(double v) {
  static const char *suffix[] = {"", " K", " M", " G", " T", " P", " E"};
  int i = 0;
  double a = std::fabs(v);
  while (a >= 1000.0 && i < 6) {
    a /= 1000.0;
    v /= 1000.0;
    ++i;
  }
  if (i == 0)
    return llvm::formatv("{0}", static_cast<int64_t>(std::llround(v))).str();
  return llvm::formatv("{0:f2}{1}", v, suffix[i]).str();
}

std::string formatBytes(double bytes) {
  static const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int i = 0;
  while (std::fabs(bytes) >= 1024.0 && i < 5) {
    bytes /= 1024.0;
    ++i;
  }
  if (i == 0)
    return llvm::formatv("{0} B", static_cast<int64_t>(bytes)).str();
  return llvm::formatv("{0:f2} {1}", bytes, unit[i]).str();
}

namespace {
// 1235814400 -> "1,235,814,400".
std::string grouped(int64_t v) {
  std::string digits = std::to_string(v < 0 ? -v : v), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0)
      out += ',';
    out += digits[i];
  }
  return v < 0 ? "-" + out : out;
}
} // namespace

std::string costToTable(const ModelSpec &spec, const ReportOptions &o,
                        const CostReport &r) {
  std::string out;
  llvm::raw_string_ostream os(out);
  os << llvm::formatv("model {0} ({1}): {2} layers, d_model {3}, vocab {4}{5}\n",
                      spec.name, spec.family, spec.blocks.size(), spec.dModel,
                      spec.vocab, spec.tieEmbeddings ? ", tied embeddings" : "");
  os << llvm::formatv("context {0}, batch {1}, cache {2} B/elem, SSM state {3} "
                      "B/elem; FLOPs per token are averaged over the context\n\n",
                      o.context, o.batch, o.cacheBytesPerElement,
                      o.ssmStateBytesPerElement);
  const char *rowFmt = "{0,-10} {1,-9} {2,11} {3,11} {4,11} {5,11} {6,11} {7,11}\n";
  os << llvm::formatv(rowFmt, "layer", "kind", "params", "fwd FLOP/t",
                      "mix FLOP/t", "KV", "conv", "SSM");
  os << llvm::formatv(rowFmt, "embedding", "-", formatCount(r.embeddingParams),
                      "0", "-", "-", "-", "-");
  for (const LayerCost &c : r.layers)
    os << llvm::formatv(rowFmt, c.index, c.kind, formatCount(c.params),
                        formatCount(c.flopsForwardPerToken),
                        formatCount(c.flopsAttention + c.flopsScan + c.flopsConv),
                        formatBytes(c.kvBytes), formatBytes(c.convBytes),
                        formatBytes(c.ssmBytes));
  os << llvm::formatv(rowFmt, "head",
                      spec.tieEmbeddings ? "tied" : "-",
                      formatCount(r.headParams),
                      formatCount(r.flopsHeadPerToken), "-", "-", "-", "-");
  if (r.otherParams)
    os << llvm::formatv(rowFmt, "final norm", "-", formatCount(r.otherParams),
                        "-", "-", "-", "-", "-");
  os << "\n";
  os << llvm::formatv("params                 {0} ({1})\n", grouped(r.params),
                      formatCount(r.params));
  os << llvm::formatv("FLOPs/token forward    {0}\n",
                      formatCount(r.flopsForwardPerToken));
  os << llvm::formatv("FLOPs/token train      {0} (3 x forward)\n",
                      formatCount(r.flopsTrainPerToken));
  os << llvm::formatv("FLOPs/sequence forward {0} ({1} tokens)\n",
                      formatCount(r.flopsForwardPerSequence(o)), o.context);
  auto bytesLine = [&](const char *what, int64_t b) {
    os << llvm::formatv("{0,-22} {1} B ({2})\n", what, grouped(b),
                        formatBytes(static_cast<double>(b)));
  };
  bytesLine("KV cache", r.kvBytes);
  bytesLine("conv state", r.convBytes);
  bytesLine("SSM state", r.ssmBytes);
  bytesLine("cache total", r.totalCacheBytes);
  return out;
}

} // namespace hybridc
