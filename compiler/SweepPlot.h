//===- SweepPlot.h - FLOPs and cache bytes vs context, as SVG ---*- C++ -*-===//
//
// `hybridc report --sweep ... --plot out.svg`: a self-contained SVG (no
// fonts, scripts or images from outside) with two panels side by side:
// forward FLOPs per token vs context (left) and total cache bytes vs context
// (right, MiB), log2 x axis, one coloured line with markers per model and a
// legend. Numbers come from computeCost (compiler/CostModel.h).
//
//===----------------------------------------------------------------------===//
#ifndef HYBRIDC_COMPILER_SWEEPPLOT_H
#define HYBRIDC_COMPILER_SWEEPPLOT_H

#include "compiler/CostModel.h"
#include "compiler/ModelSpec.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace hybridc {

/// `models` are (legend name, spec); `contexts` are the x values (any order,
/// duplicates and non-positive values are dropped); `base` gives batch and
/// dtype bytes, its context is replaced by each x value. The cache panel
/// switches to a log10 y axis when the values span more than ~1.5 decades,
/// so a Mamba stack's flat line stays visible next to a growing KV cache.
std::string sweepSvg(const std::vector<std::pair<std::string, ModelSpec>> &models,
                     const std::vector<int64_t> &contexts,
                     const ReportOptions &base);

} // namespace hybridc

#endif // HYBRIDC_COMPILER_SWEEPPLOT_H
