//===- LossPlot.cpp - Training history as CSV and SVG ---------------------===//
#include "runtime/train/LossPlot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace hybrid {
namespace {

std::string num(double v) {
  if (std::isnan(v))
    return "";
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.10g", v);
  return buf;
}

std::string esc(const std::string &s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    default: out += c;
    }
  }
  return out;
}

/// Tick step of about `target` ticks over [lo, hi]: 1, 2 or 5 x 10^k.
double niceStep(double lo, double hi, int target) {
  double raw = (hi - lo) / target;
  if (!(raw > 0))
    return 1;
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double f = raw / mag;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

std::string tickLabel(double v, double step) {
  char buf[32];
  int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  std::snprintf(buf, sizeof(buf), "%.*f", std::min(decimals, 6), v);
  return buf;
}

} // namespace

std::string historyCsv(const std::vector<HistoryRow> &rows) {
  std::string out = "step,train_loss,val_loss,lr,grad_norm,tok_per_s\n";
  for (const HistoryRow &r : rows)
    out += std::to_string(r.step) + "," + num(r.train) + "," + num(r.val) + "," + num(r.lr) +
           "," + num(r.gradNorm) + "," + num(r.tokPerS) + "\n";
  return out;
}

StatusOr<std::vector<HistoryRow>> parseHistoryCsv(const std::string &text,
                                                  const std::string &what) {
  std::vector<HistoryRow> rows;
  size_t pos = text.find('\n');
  if (pos == std::string::npos || text.compare(0, 5, "step,") != 0)
    return HYBRID_ERROR(what, ": not a loss history (expected a 'step,train_loss,...' header)");
  int line = 1;
  while (++pos < text.size()) {
    ++line;
    size_t end = text.find('\n', pos);
    if (end == std::string::npos)
      end = text.size();
    std::string row = text.substr(pos, end - pos);
    pos = end;
    if (row.empty())
      continue;
    double f[6];
    size_t start = 0;
    for (int i = 0; i < 6; ++i) {
      size_t comma = row.find(',', start);
      if ((comma == std::string::npos) != (i == 5))
        return HYBRID_ERROR(what, ":", line, ": expected 6 comma-separated fields");
      std::string field = row.substr(start, comma == std::string::npos ? std::string::npos
                                                                       : comma - start);
      start = comma + 1;
      if (field.empty()) {
        f[i] = NAN;
        continue;
      }
      char *e = nullptr;
      f[i] = std::strtod(field.c_str(), &e);
      if (!e || *e != '\0')
        return HYBRID_ERROR(what, ":", line, ": field ", i + 1, " '", field, "' is not a number");
    }
    if (std::isnan(f[0]))
      return HYBRID_ERROR(what, ":", line, ": missing step");
    rows.push_back({static_cast<int64_t>(f[0]), f[1], f[2], f[3], f[4], f[5]});
  }
  return rows;
}

std::string lossPlotSvg(const std::vector<HistoryRow> &rows, const std::string &title) {
  const double W = 720, H = 420, left = 70, right = 24, top = 48, bottom = 56;
  const double pw = W - left - right, ph = H - top - bottom;
  double x0 = 0, x1 = 1, y0 = INFINITY, y1 = -INFINITY;
  for (const HistoryRow &r : rows) {
    x1 = std::max(x1, static_cast<double>(r.step));
    for (double v : {r.train, r.val})
      if (std::isfinite(v)) {
        y0 = std::min(y0, v);
        y1 = std::max(y1, v);
      }
  }
  if (!std::isfinite(y0)) {
    y0 = 0;
    y1 = 1;
  }
  if (y1 - y0 < 1e-9) {
    y0 -= 0.5;
    y1 += 0.5;
  }
  const double ys = niceStep(y0, y1, 6), xs = niceStep(x0, x1, 8);
  y0 = std::floor(y0 / ys) * ys;
  y1 = std::ceil(y1 / ys) * ys;
  x1 = std::ceil(x1 / xs) * xs;
  auto X = [&](double v) { return left + (v - x0) / (x1 - x0) * pw; };
  auto Y = [&](double v) { return top + (1 - (v - y0) / (y1 - y0)) * ph; };
  char buf[256];
  std::string s;
  std::snprintf(buf, sizeof(buf),
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" "
                "viewBox=\"0 0 %g %g\" font-family=\"Helvetica, Arial, sans-serif\">\n",
                W, H, W, H);
  s += buf;
  s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  std::snprintf(buf, sizeof(buf),
                "<text x=\"%g\" y=\"28\" font-size=\"16\" font-weight=\"bold\" "
                "text-anchor=\"middle\">",
                left + pw / 2);
  s += buf + esc(title) + "</text>\n";
  // Grid and ticks.
  for (double v = y0; v <= y1 + ys * 1e-6; v += ys) {
    std::snprintf(buf, sizeof(buf),
                  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>\n"
                  "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\" fill=\"#444\">",
                  left, Y(v), left + pw, Y(v), left - 6, Y(v) + 4);
    s += buf + tickLabel(v, ys) + "</text>\n";
  }
  for (double v = x0; v <= x1 + xs * 1e-6; v += xs) {
    std::snprintf(buf, sizeof(buf),
                  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>\n"
                  "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\" fill=\"#444\">",
                  X(v), top, X(v), top + ph, X(v), top + ph + 16);
    s += buf + tickLabel(v, xs) + "</text>\n";
  }
  std::snprintf(buf, sizeof(buf),
                "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" stroke=\"#333\"/>\n"
                "<text x=\"%g\" y=\"%g\" font-size=\"13\" text-anchor=\"middle\">step</text>\n"
                "<text transform=\"translate(18 %g) rotate(-90)\" font-size=\"13\" "
                "text-anchor=\"middle\">loss (nats/token)</text>\n",
                left, top, pw, ph, left + pw / 2, H - 14, top + ph / 2);
  s += buf;
  // The two series: train as a line, val as a line with markers.
  const char *colors[2] = {"#1f77b4", "#ff7f0e"};
  const char *names[2] = {"train", "val"};
  for (int series = 0; series < 2; ++series) {
    std::string path;
    std::string marks;
    for (const HistoryRow &r : rows) {
      double v = series == 0 ? r.train : r.val;
      if (!std::isfinite(v))
        continue;
      std::snprintf(buf, sizeof(buf), "%s%.1f,%.1f", path.empty() ? "M" : " L", X(r.step), Y(v));
      path += buf;
      if (series == 1) {
        std::snprintf(buf, sizeof(buf), "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
                      X(r.step), Y(v), colors[1]);
        marks += buf;
      }
    }
    if (!path.empty()) {
      s += "<path d=\"" + path + "\" fill=\"none\" stroke=\"" + colors[series] +
           "\" stroke-width=\"" + (series == 0 ? "1.5" : "2") + "\"/>\n" + marks;
    }
    // Legend entry (top right).
    double ly = top + 16 + 18 * series, lx = left + pw - 90;
    std::snprintf(buf, sizeof(buf),
                  "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"%s\" stroke-width=\"2\"/>"
                  "<text x=\"%g\" y=\"%g\" font-size=\"12\">%s</text>\n",
                  lx, ly, lx + 24, ly, colors[series], lx + 30, ly + 4, names[series]);
    s += buf;
  }
  s += "</svg>\n";
  return s;
}

} // namespace hybrid
