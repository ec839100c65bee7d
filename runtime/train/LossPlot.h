//===- LossPlot.h - Training history as CSV and SVG -------------*- C++ -*-===//
#ifndef HYBRID_RUNTIME_TRAIN_LOSSPLOT_H
#define HYBRID_RUNTIME_TRAIN_LOSSPLOT_H

#include "runtime/support/Status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace hybrid {

/// One optimizer step of the history; val is NaN where not evaluated.
struct HistoryRow {
  int64_t step = 0;
  double train = 0, val = 0, lr = 0, gradNorm = 0, tokPerS = 0;
};

/// loss.csv: a header line "step,train_loss,val_loss,lr,grad_norm,tok_per_s",
/// then one line per step, numbers as %.10g, an empty val_loss where none.
std::string historyCsv(const std::vector<HistoryRow> &rows);
/// Parses historyCsv's output (for --resume); `what` names the file.
StatusOr<std::vector<HistoryRow>> parseHistoryCsv(const std::string &text,
                                                  const std::string &what);

/// A self-contained SVG line plot of train and val loss vs step.
std::string lossPlotSvg(const std::vector<HistoryRow> &rows, const std::string &title);

} // namespace hybrid

#endif // HYBRID_RUNTIME_TRAIN_LOSSPLOT_H
