//===- LMHeadLoss.cpp - Chunked LM head + cross entropy -------------------===//
#include "runtime/cpu/LMHeadLoss.h"

#include "runtime/cpu/CpuGrad.h"
#include "runtime/cpu/CpuKernels.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace hybrid {
namespace {

struct Shapes {
  int64_t T, D, V, chunk;
  double scale;
};

StatusOr<Shapes> shapesOf(const OpContext &c) {
  if (c.inputs.size() < 3)
    return HYBRID_ERROR("op '", c.op, "' takes input, weight and labels");
  const TensorRef &x = c.inputs[0], &w = c.inputs[1];
  Shapes s{x.numel() / x.dim(-1), x.dim(-1), w.dim(0), c.attrInt("chunk", 1024),
           c.attrF64("scale", 1.0)};
  if (s.chunk < 1)
    return HYBRID_ERROR("op '", c.op, "': chunk must be positive");
  return s;
}

/// logits of rows [t0, t0 + n), scaled.
void chunkLogits(const float *x, const float *w, const Shapes &s, int64_t t0, int64_t n,
                 std::vector<float> &logits) {
  logits.resize(static_cast<size_t>(n * s.V));
  cpu::linear(x + t0 * s.D, w, nullptr, n, s.D, s.V, logits.data());
  if (s.scale != 1.0)
    cpu::scale(logits.data(), n * s.V, s.scale, logits.data());
}

double logSumExp(const float *row, int64_t V) {
  double m = -INFINITY;
  for (int64_t v = 0; v < V; ++v)
    m = std::max(m, double(row[v]));
  double sum = 0;
  for (int64_t v = 0; v < V; ++v)
    sum += std::exp(double(row[v]) - m);
  return m + std::log(sum);
}

} // namespace

Status runLMHeadLoss(OpContext &c) {
  HYBRID_ASSIGN_OR_RETURN(Shapes s, shapesOf(c));
  const float *x = c.inputs[0].f(), *w = c.inputs[1].f();
  const int32_t *labels = c.inputs[2].i32();
  std::vector<float> logits;
  double total = 0;
  int64_t counted = 0;
  for (int64_t t0 = 0; t0 < s.T; t0 += s.chunk) {
    int64_t n = std::min(s.chunk, s.T - t0);
    chunkLogits(x, w, s, t0, n, logits);
    for (int64_t r = 0; r < n; ++r) {
      int32_t y = labels[t0 + r];
      if (y < 0)
        continue;
      if (y >= s.V)
        return HYBRID_ERROR("lm_head_loss: label ", y, " at position ", t0 + r,
                            " is outside the vocabulary [0, ", s.V, ")");
      const float *row = logits.data() + r * s.V;
      total += logSumExp(row, s.V) - double(row[y]);
      ++counted;
    }
  }
  c.outputs[0].f()[0] = counted ? static_cast<float>(total / double(counted)) : 0.f;
  return Status();
}

Status runLMHeadLossGrad(OpContext &c) {
  HYBRID_ASSIGN_OR_RETURN(Shapes s, shapesOf(c));
  if (c.inputs.size() != 5 || c.outputs.size() != 3)
    return HYBRID_ERROR("lm_head_loss.grad takes x, w, labels, loss, dloss and gives dx, dw, -");
  const float *x = c.inputs[0].f(), *w = c.inputs[1].f();
  const int32_t *labels = c.inputs[2].i32();
  const double dloss = c.inputs[4].valid() ? c.inputs[4].f()[0] : 1.0;
  float *dx = c.outputs[0].valid() ? c.outputs[0].f() : nullptr;
  float *dw = c.outputs[1].valid() ? c.outputs[1].f() : nullptr;
  int64_t counted = 0;
  for (int64_t t = 0; t < s.T; ++t)
    counted += labels[t] >= 0;
  if (dw)
    std::fill(dw, dw + s.V * s.D, 0.f);
  std::vector<double> dwAcc(dw ? static_cast<size_t>(s.V * s.D) : 0, 0.0);
  std::vector<float> logits, dwChunk(dw ? static_cast<size_t>(s.V * s.D) : 0);
  for (int64_t t0 = 0; t0 < s.T; t0 += s.chunk) {
    int64_t n = std::min(s.chunk, s.T - t0);
    chunkLogits(x, w, s, t0, n, logits);
    // logits -> d loss / d (x W^T) of the chunk, in place.
    for (int64_t r = 0; r < n; ++r) {
      float *row = logits.data() + r * s.V;
      int32_t y = labels[t0 + r];
      if (y < 0 || counted == 0) {
        std::fill(row, row + s.V, 0.f);
        continue;
      }
      double lse = logSumExp(row, s.V), k = dloss * s.scale / double(counted);
      for (int64_t v = 0; v < s.V; ++v)
        row[v] = static_cast<float>(k * (std::exp(double(row[v]) - lse) - (v == y ? 1.0 : 0.0)));
    }
    cpu::linearGrad(x + t0 * s.D, w, logits.data(), n, s.D, s.V, dx ? dx + t0 * s.D : nullptr,
                    dw ? dwChunk.data() : nullptr, nullptr);
    if (dw)
      for (size_t i = 0; i < dwAcc.size(); ++i)
        dwAcc[i] += dwChunk[i];
  }
  if (dw)
    for (size_t i = 0; i < dwAcc.size(); ++i)
      dw[i] = static_cast<float>(dwAcc[i]);
  return Status();
}

} // namespace hybrid
