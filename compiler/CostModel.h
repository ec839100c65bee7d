//===- CostModel.h - Parameters, FLOPs and cache bytes of a model -*- C++ -*-===//
//
// The analytic cost model behind `hybridc report` and layout selection:
// exact parameter counts (from the weight table), FLOPs per token for the
// forward pass and a training step, and the KV / conv / SSM cache bytes of
// `batch` sequences at `context` tokens. Every count is defined precisely in
// docs/COST_MODEL.md; the code follows that page term by term.
//
// The spec is assumed to be verified (the dialect verifiers run first): the
// model does not re-check head/group divisibility.
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_COMPILER_COSTMODEL_H
#define HYBRIDC_COMPILER_COSTMODEL_H

#include "compiler/ModelSpec.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hybridc {

struct ReportOptions {
  int64_t context = 2048;               // tokens per sequence
  int64_t batch = 1;                    // sequences (cache bytes only)
  int64_t cacheBytesPerElement = 2;     // KV and conv state (bf16)
  int64_t ssmStateBytesPerElement = 2;  // SSM state (bf16; 4 for fp32)
};

/// Rejects options the model cannot evaluate, naming the offending field.
llvm::Error checkReportOptions(const ReportOptions &opts);

/// Cost of one block. FLOPs are per token of a sequence of `context` tokens,
/// averaged over its positions; bytes are for `batch` sequences.
struct LayerCost {
  int index = 0;
  std::string kind; // attention | mamba2 | parallel | mlp
  int64_t params = 0;
  double flopsForwardPerToken = 0;
  double flopsTrainPerToken = 0;
  // Breakdown of flopsForwardPerToken.
  double flopsMatmul = 0;   // projections and FFN
  double flopsAttention = 0; // QK^T and PV
  double flopsScan = 0;      // SSD chunked scan
  double flopsConv = 0;      // depthwise causal conv1d
  int64_t kvBytes = 0, convBytes = 0, ssmBytes = 0;
};

struct CostReport {
  int64_t params = 0;          // everything, tied embeddings counted once
  int64_t embeddingParams = 0; // vocab x d_model
  int64_t headParams = 0;      // 0 when tied
  int64_t otherParams = 0;     // model-level rest (final norm)
  double flopsForwardPerToken = 0, flopsTrainPerToken = 0;
  double flopsHeadPerToken = 0; // LM head matmul (in the totals above)
  int64_t kvBytes = 0, convBytes = 0, ssmBytes = 0, totalCacheBytes = 0;
  std::vector<LayerCost> layers;

  /// Forward FLOPs of one whole sequence of `context` tokens.
  double flopsForwardPerSequence(const ReportOptions &o) const {
    return flopsForwardPerToken * static_cast<double>(o.context);
  }
};

/// Training step = forward + backward, backward = 2 x forward.
constexpr double kTrainToForward = 3.0;

/// Mean number of keys a causal query sees over a sequence of `context`
/// tokens: mean over i in [0, context) of min(i + 1, window), window 0 = full.
double meanAttendedKeys(int64_t context, int64_t window);

/// Multiply-adds of the Mamba-2 SSD chunked scan for one sequence of
/// `context` tokens (see docs/COST_MODEL.md for the terms).
double ssdScanMacsPerSequence(const Mamba2Spec &m, int64_t context);

/// Cost of one block (params left 0: they come from the weight table).
LayerCost blockCost(const BlockSpec &block, int64_t dModel,
                    const ReportOptions &opts);

/// The whole model. Parameters come from countParams/listWeights.
CostReport computeCost(const ModelSpec &spec, const ReportOptions &opts);

/// `hybridc report --json`.
std::string costToJson(const ModelSpec &spec, const ReportOptions &opts,
                       const CostReport &report);

/// `hybridc report`: one line per layer, then the totals.
std::string costToTable(const ModelSpec &spec, const ReportOptions &opts,
                        const CostReport &report);

/// "1.24 B", "3.07 G"-style number with an SI suffix (decimal).
std::string formatCount(double v);
/// "256.00 MiB"-style byte count (binary units).
std::string formatBytes(double bytes);

} // namespace hybridc

#endif // HYBRIDC_COMPILER_COSTMODEL_H
