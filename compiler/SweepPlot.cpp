//===- SweepPlot.cpp - FLOPs and cache bytes vs context, as SVG -----------===//
#include "compiler/SweepPlot.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace hybridc {
namespace {

// d3's category10: distinct on white and in greyscale-ish print.
const char *const kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                               "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                               "#bcbd22", "#17becf"};
constexpr int kNumColors = sizeof(kColors) / sizeof(kColors[0]);
constexpr int kNumShapes = 5; // circle, square, triangle, diamond, triangle down

// Geometry (pixels).
constexpr double kPanelW = 540, kLeft = 82, kRight = 26, kTop = 92,
                 kPlotH = 300, kPad = 12, kLegendRowH = 24;
constexpr double kPlotW = kPanelW - kLeft - kRight;

std::string esc(llvm::StringRef s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&apos;"; break;
    default: out += c;
    }
  }
  return out;
}

// Up to 3 significant digits, no trailing zeros: 2, 2.5, 0.125 -> "0.125".
std::string shortNum(double v) {
  if (v == 0)
    return "0";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3g", v);
  std::string s = buf;
  // %.3g switches to exponents at 1e3 and up: write those out in full.
  if (s.find('e') != std::string::npos && std::fabs(v) >= 1)
    s = llvm::formatv("{0}", static_cast<int64_t>(std::llround(v))).str();
  return s;
}

// 2.5e9 -> "2.5G".
std::string siLabel(double v) {
  static const char *suffix[] = {"", "K", "M", "G", "T", "P", "E"};
  int i = 0;
  while (std::fabs(v) >= 1000 && i < 6) {
    v /= 1000;
    ++i;
  }
  return shortNum(v) + suffix[i];
}

// 1024 -> "1K", 131072 -> "128K", 1048576 -> "1M", 1000 -> "1000".
std::string contextLabel(int64_t c) {
  if (c >= (1 << 20) && c % (1 << 20) == 0)
    return std::to_string(c >> 20) + "M";
  if (c >= 1024 && c % 1024 == 0)
    return std::to_string(c >> 10) + "K";
  return std::to_string(c);
}

// 1, 2 or 5 times a power of ten, at least `raw`.
double niceStep(double raw) {
  double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= raw * (1 - 1e-9))
      return m * p;
  return 10 * p;
}

/// A y axis: linear from 0, or log10 over whole decades.
struct YAxis {
  bool log = false;
  double lo = 0, hi = 1; // linear: values; log: exponents of 10
  std::vector<double> ticks;

  static YAxis linear(double maxV) {
    YAxis a;
    if (!(maxV > 0))
      maxV = 1;
    double step = niceStep(maxV / 6);
    a.hi = std::ceil(maxV / step - 1e-9) * step;
    for (double t = 0; t <= a.hi * (1 + 1e-9); t += step)
      a.ticks.push_back(t);
    return a;
  }
  static YAxis log10(double minPos, double maxV) {
    YAxis a;
    a.log = true;
    a.lo = std::floor(std::log10(minPos));
    a.hi = std::ceil(std::log10(maxV));
    if (a.hi <= a.lo)
      a.hi = a.lo + 1;
    bool fine = a.hi - a.lo <= 2; // few decades: 2x and 5x ticks too
    for (double e = a.lo; e <= a.hi; e += 1)
      for (double m : {1.0, 2.0, 5.0})
        if (m == 1.0 || (fine && e < a.hi))
          a.ticks.push_back(m * std::pow(10.0, e));
    return a;
  }
  /// Fraction of the plot height, 0 at the bottom.
  double frac(double v) const {
    if (log) {
      double e = v > 0 ? std::log10(v) : lo;
      return (std::clamp(e, lo, hi) - lo) / (hi - lo);
    }
    return (v - lo) / (hi - lo);
  }
};

struct Series {
  std::string name;
  std::vector<double> flops, cacheMiB;
};

struct Panel {
  double x0; // left edge of the panel
  std::string title, yLabel;
  YAxis y;
  std::vector<std::vector<double>> values; // per model, per context
  std::string (*tickLabel)(double);
};

std::string mibLabel(double v) { return shortNum(v); }

void marker(llvm::raw_ostream &os, int shape, double x, double y,
            const char *color) {
  const double r = 4.2;
  switch (shape % kNumShapes) {
  case 0:
    os << llvm::formatv("<circle cx=\"{0:f1}\" cy=\"{1:f1}\" r=\"{2}\"", x, y, r);
    break;
  case 1:
    os << llvm::formatv("<rect x=\"{0:f1}\" y=\"{1:f1}\" width=\"{2}\" height=\"{2}\"",
                        x - r * 0.9, y - r * 0.9, r * 1.8);
    break;
  case 2:
    os << llvm::formatv("<path d=\"M{0:f1},{1:f1} L{2:f1},{3:f1} L{4:f1},{3:f1} Z\"",
                        x, y - r * 1.15, x + r * 1.05, y + r * 0.8, x - r * 1.05);
    break;
  case 3:
    os << llvm::formatv("<path d=\"M{0:f1},{1:f1} L{2:f1},{3:f1} L{0:f1},{4:f1} "
                        "L{5:f1},{3:f1} Z\"",
                        x, y - r * 1.25, x + r * 1.1, y, y + r * 1.25, x - r * 1.1);
    break;
  default:
    os << llvm::formatv("<path d=\"M{0:f1},{1:f1} L{2:f1},{3:f1} L{4:f1},{3:f1} Z\"",
                        x, y + r * 1.15, x + r * 1.05, y - r * 0.8, x - r * 1.05);
    break;
  }
  os << " fill=\"" << color << "\" stroke=\"white\" stroke-width=\"0.8\"";
}

} // namespace

std::string sweepSvg(const std::vector<std::pair<std::string, ModelSpec>> &models,
                     const std::vector<int64_t> &contextsIn,
                     const ReportOptions &base) {
  std::vector<int64_t> contexts;
  for (int64_t c : contextsIn)
    if (c > 0)
      contexts.push_back(c);
  std::sort(contexts.begin(), contexts.end());
  contexts.erase(std::unique(contexts.begin(), contexts.end()), contexts.end());

  std::vector<Series> series;
  double maxFlops = 0, maxMiB = 0, minPosMiB = 0;
  for (const auto &[name, spec] : models) {
    Series s;
    s.name = name;
    for (int64_t c : contexts) {
      ReportOptions o = base;
      o.context = c;
      CostReport r = computeCost(spec, o);
      double mib = static_cast<double>(r.totalCacheBytes) / (1024.0 * 1024.0);
      s.flops.push_back(r.flopsForwardPerToken);
      s.cacheMiB.push_back(mib);
      maxFlops = std::max(maxFlops, r.flopsForwardPerToken);
      maxMiB = std::max(maxMiB, mib);
      if (mib > 0 && (minPosMiB == 0 || mib < minPosMiB))
        minPosMiB = mib;
    }
    series.push_back(std::move(s));
  }

  // x: log2(context), padded to whole powers of two when a single point.
  double xLo = contexts.empty() ? 10 : std::log2(static_cast<double>(contexts.front()));
  double xHi = contexts.empty() ? 14 : std::log2(static_cast<double>(contexts.back()));
  if (xHi - xLo < 1e-9) {
    xLo -= 1;
    xHi += 1;
  }
  std::vector<int64_t> xTicks;
  for (double e = std::ceil(xLo - 1e-9); e <= xHi + 1e-9; e += 1)
    xTicks.push_back(static_cast<int64_t>(std::llround(std::exp2(e))));
  size_t xEvery = xTicks.size() > 11 ? (xTicks.size() + 10) / 11 : 1;

  Panel flopsPanel{0, "Forward FLOPs per token", "FLOPs per token (forward)",
                   YAxis::linear(maxFlops), {}, siLabel};
  bool logCache = minPosMiB > 0 && maxMiB / minPosMiB > 30;
  Panel cachePanel{kPanelW, "Cache: KV + conv + SSM state",
                   logCache ? "cache (MiB, log scale)" : "cache (MiB)",
                   logCache ? YAxis::log10(minPosMiB, maxMiB)
                            : YAxis::linear(maxMiB),
                   {}, mibLabel};
  for (const Series &s : series) {
    flopsPanel.values.push_back(s.flops);
    cachePanel.values.push_back(s.cacheMiB);
  }

  // Legend layout: entries flow left to right, wrapping at the width.
  const double width = 2 * kPanelW;
  struct Entry { double x, y; };
  std::vector<Entry> legend;
  const double legendTop = kTop + kPlotH + 72;
  double lx = kLeft, ly = legendTop;
  for (const Series &s : series) {
    double w = 34 + 7.2 * static_cast<double>(s.name.size()) + 26;
    if (lx + w > width - kRight && lx > kLeft) {
      lx = kLeft;
      ly += kLegendRowH;
    }
    legend.push_back({lx, ly});
    lx += w;
  }
  const double height = (series.empty() ? legendTop : ly) + kLegendRowH + 8;

  std::string out;
  llvm::raw_string_ostream os(out);
  os << llvm::formatv("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" "
                      "height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
                      "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n",
                      width, height);
  os << "<title>hybridc cost sweep</title>\n";
  os << llvm::formatv("<rect width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n",
                      width, height);
  os << llvm::formatv(
      "<text x=\"{0}\" y=\"30\" text-anchor=\"middle\" font-size=\"19\" "
      "font-weight=\"bold\">Cost vs context length</text>\n",
      width / 2);
  os << llvm::formatv(
      "<text x=\"{0}\" y=\"52\" text-anchor=\"middle\" font-size=\"13\" "
      "fill=\"#444\">batch {1}; KV and conv state {2} bytes/element, SSM state "
      "{3} bytes/element; FLOPs averaged over the sequence</text>\n",
      width / 2, base.batch, base.cacheBytesPerElement,
      base.ssmStateBytesPerElement);

  for (const Panel *p : {&flopsPanel, &cachePanel}) {
    const double left = p->x0 + kLeft, top = kTop, bottom = kTop + kPlotH;
    auto px = [&](int64_t c) {
      double f = (std::log2(static_cast<double>(c)) - xLo) / (xHi - xLo);
      return left + kPad + f * (kPlotW - 2 * kPad);
    };
    auto py = [&](double v) { return bottom - kPad - p->y.frac(v) * (kPlotH - 2 * kPad); };

    os << "<g class=\"panel\">\n";
    os << llvm::formatv("<text x=\"{0}\" y=\"{1}\" text-anchor=\"middle\" "
                        "font-size=\"15\" font-weight=\"bold\">{2}</text>\n",
                        left + kPlotW / 2, top - 12, esc(p->title));
    os << llvm::formatv("<rect x=\"{0}\" y=\"{1}\" width=\"{2}\" height=\"{3}\" "
                        "fill=\"#fafafa\" stroke=\"#333\" stroke-width=\"1\"/>\n",
                        left, top, kPlotW, kPlotH);
    // Grid and tick labels.
    for (size_t i = 0; i < xTicks.size(); ++i) {
      double x = px(xTicks[i]);
      os << llvm::formatv("<line x1=\"{0:f1}\" y1=\"{1}\" x2=\"{0:f1}\" y2=\"{2}\" "
                          "stroke=\"#ddd\"/>\n",
                          x, top, bottom);
      os << llvm::formatv("<line x1=\"{0:f1}\" y1=\"{1}\" x2=\"{0:f1}\" y2=\"{2}\" "
                          "stroke=\"#333\"/>\n",
                          x, bottom, bottom + 5);
      if (i % xEvery == 0)
        os << llvm::formatv("<text x=\"{0:f1}\" y=\"{1}\" text-anchor=\"middle\" "
                            "font-size=\"12\">{2}</text>\n",
                            x, bottom + 19, contextLabel(xTicks[i]));
    }
    for (double t : p->y.ticks) {
      double y = py(t);
      bool major = !p->y.log ||
                   std::fabs(std::log10(t) - std::round(std::log10(t))) < 1e-9;
      os << llvm::formatv("<line x1=\"{0}\" y1=\"{1:f1}\" x2=\"{2}\" y2=\"{1:f1}\" "
                          "stroke=\"{3}\"/>\n",
                          left, y, left + kPlotW, major ? "#ddd" : "#eee");
      os << llvm::formatv("<line x1=\"{0}\" y1=\"{1:f1}\" x2=\"{2}\" y2=\"{1:f1}\" "
                          "stroke=\"#333\"/>\n",
                          left - 5, y, left);
      os << llvm::formatv("<text x=\"{0}\" y=\"{1:f1}\" text-anchor=\"end\" "
                          "font-size=\"12\">{2}</text>\n",
                          left - 8, y + 4, p->tickLabel(t));
    }
    os << llvm::formatv("<text x=\"{0}\" y=\"{1}\" text-anchor=\"middle\" "
                        "font-size=\"13\">context length (tokens, log2 scale)</text>\n",
                        left + kPlotW / 2, bottom + 42);
    double yc = top + kPlotH / 2, xc = p->x0 + 20;
    os << llvm::formatv("<text x=\"{0}\" y=\"{1}\" text-anchor=\"middle\" "
                        "font-size=\"13\" transform=\"rotate(-90 {0} {1})\">{2}</text>\n",
                        xc, yc, esc(p->yLabel));
    // One line with markers per model.
    for (size_t m = 0; m < series.size(); ++m) {
      const char *color = kColors[m % kNumColors];
      os << llvm::formatv("<polyline class=\"series\" data-model=\"{0}\" "
                          "fill=\"none\" stroke=\"{1}\" stroke-width=\"2.2\" "
                          "stroke-linejoin=\"round\" points=\"",
                          esc(series[m].name), color);
      for (size_t i = 0; i < contexts.size(); ++i)
        os << llvm::formatv("{0}{1:f1},{2:f1}", i ? " " : "", px(contexts[i]),
                            py(p->values[m][i]));
      os << "\"/>\n";
      for (size_t i = 0; i < contexts.size(); ++i) {
        marker(os, static_cast<int>(m), px(contexts[i]), py(p->values[m][i]),
               color);
        os << llvm::formatv("><title>{0} @ {1}: {2}</title></{3}>\n",
                            esc(series[m].name), contexts[i],
                            p == &flopsPanel ? formatCount(p->values[m][i])
                                             : shortNum(p->values[m][i]) + " MiB",
                            m % kNumShapes == 0   ? "circle"
                            : m % kNumShapes == 1 ? "rect"
                                                  : "path");
      }
    }
    os << "</g>\n";
  }

  if (series.empty() || contexts.empty())
    os << llvm::formatv("<text x=\"{0}\" y=\"{1}\" text-anchor=\"middle\" "
                        "font-size=\"16\" fill=\"#a00\">no data: {2}</text>\n",
                        width / 2, kTop + kPlotH / 2,
                        series.empty() ? "no models" : "no context lengths");

  os << "<g class=\"legend\">\n";
  for (size_t m = 0; m < series.size(); ++m) {
    const char *color = kColors[m % kNumColors];
    double x = legend[m].x, y = legend[m].y;
    os << llvm::formatv("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" "
                        "stroke=\"{3}\" stroke-width=\"2.2\"/>\n",
                        x, y, x + 26, color);
    marker(os, static_cast<int>(m), x + 13, y, color);
    os << "/>\n";
    os << llvm::formatv("<text x=\"{0}\" y=\"{1}\" font-size=\"13\">{2}</text>\n",
                        x + 34, y + 4.5, esc(series[m].name));
  }
  os << "</g>\n</svg>\n";
  return out;
}

} // namespace hybridc
