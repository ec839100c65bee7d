//===- SweepPlotTest.cpp - The context sweep SVG ----------------------------===//
//
// Checks the SVG is well formed (balanced tags, escaped text), has one
// polyline per model and panel with one point per context, names every model
// in the legend, and that the plotted shapes follow the data: a Mamba stack's
// FLOPs line is flat, a transformer's cache line rises.
// HYBRIDC_PLOT_OUT=path.svg writes the plot for a look.
//
//===----------------------------------------------------------------------===//
#include "compiler/SweepPlot.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

using namespace hybridc;

namespace {

BlockSpec attentionBlock() {
  BlockSpec b;
  b.mixer = MixerKind::Attention;
  b.attn.heads = 32;
  b.attn.kvHeads = 8;
  b.attn.headDim = 64;
  b.ffn.kind = FfnKind::SwiGLU;
  b.ffn.hidden = 8192;
  return b;
}

BlockSpec mambaBlock() {
  BlockSpec b;
  b.mixer = MixerKind::Mamba2;
  b.ssm.heads = 64;
  b.ssm.headDim = 64;
  b.ssm.state = 128;
  b.ffn.kind = FfnKind::SwiGLU;
  b.ffn.hidden = 8192;
  return b;
}

ModelSpec stack(const std::string &pattern) {
  ModelSpec s;
  s.vocab = 128256;
  s.dModel = 2048;
  s.tieEmbeddings = true;
  for (char c : pattern)
    s.blocks.push_back(c == 'A' ? attentionBlock() : mambaBlock());
  return s;
}

std::vector<std::pair<std::string, ModelSpec>> models() {
  ModelSpec windowed = stack("AAAAAAAAAAAAAAAA");
  for (BlockSpec &b : windowed.blocks)
    b.attn.window = 4096;
  return {{"transformer", stack("AAAAAAAAAAAAAAAA")},
          {"mamba2", stack("MMMMMMMMMMMMMMMM")},
          {"hybrid 1:5 <M&A>", stack("MMMMMAMMMMMAMMMM")},
          {"sliding window 4K", windowed}};
}

/// Minimal XML check: every tag closes in order, attribute quotes balance,
/// and text holds no raw '<' or stray '&'.
bool wellFormed(const std::string &svg, std::string &why) {
  std::vector<std::string> stack;
  size_t i = 0;
  while (i < svg.size()) {
    if (svg[i] != '<') {
      if (svg[i] == '&') {
        size_t semi = svg.find(';', i);
        std::string ent = svg.substr(i, semi == std::string::npos ? 1 : semi - i + 1);
        if (ent != "&amp;" && ent != "&lt;" && ent != "&gt;" && ent != "&quot;" &&
            ent != "&apos;") {
          why = "bad entity near " + svg.substr(i, 20);
          return false;
        }
      }
      ++i;
      continue;
    }
    size_t end = i + 1;
    bool inQuote = false;
    while (end < svg.size() && (inQuote || svg[end] != '>')) {
      if (svg[end] == '"')
        inQuote = !inQuote;
      if (svg[end] == '<' && !inQuote) {
        why = "'<' inside a tag near " + svg.substr(i, 40);
        return false;
      }
      ++end;
    }
    if (end >= svg.size()) {
      why = "unterminated tag";
      return false;
    }
    std::string tag = svg.substr(i + 1, end - i - 1);
    std::string name = tag.substr(tag[0] == '/' ? 1 : 0);
    name = name.substr(0, name.find_first_of(" \t\n/"));
    if (tag[0] == '/') {
      if (stack.empty() || stack.back() != name) {
        why = "unbalanced </" + name + ">";
        return false;
      }
      stack.pop_back();
    } else if (tag.back() != '/') {
      stack.push_back(name);
    }
    i = end + 1;
  }
  if (!stack.empty()) {
    why = "unclosed <" + stack.back() + ">";
    return false;
  }
  return true;
}

/// Points of the polylines of one model, in panel order.
std::vector<std::vector<std::pair<double, double>>>
polylines(const std::string &svg, const std::string &escapedName) {
  std::vector<std::vector<std::pair<double, double>>> out;
  std::string key = "data-model=\"" + escapedName + "\"";
  for (size_t at = svg.find(key); at != std::string::npos; at = svg.find(key, at + 1)) {
    size_t p = svg.find("points=\"", at) + 8;
    std::string pts = svg.substr(p, svg.find('"', p) - p);
    std::istringstream is(pts);
    std::vector<std::pair<double, double>> line;
    std::string xy;
    while (is >> xy) {
      size_t comma = xy.find(',');
      line.push_back({std::stod(xy.substr(0, comma)), std::stod(xy.substr(comma + 1))});
    }
    out.push_back(line);
  }
  return out;
}

size_t count(const std::string &s, const std::string &what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1))
    ++n;
  return n;
}

} // namespace

TEST(SweepPlot, WellFormedWithOneLinePerModelAndPanel) {
  std::vector<int64_t> contexts = {131072, 1024, 2048, 4096, 8192, 16384,
                                   32768, 65536, 4096, -5};
  ReportOptions base;
  std::string svg = sweepSvg(models(), contexts, base);
  if (const char *path = std::getenv("HYBRIDC_PLOT_OUT"))
    std::ofstream(path) << svg;

  ASSERT_EQ(svg.rfind("<svg", 0), 0u) << svg.substr(0, 80);
  EXPECT_NE(svg.find("xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  std::string why;
  EXPECT_TRUE(wellFormed(svg, why)) << why;
  EXPECT_EQ(count(svg, "<polyline"), 2 * models().size());
  // No external references: no links, images, scripts or stylesheets.
  EXPECT_EQ(svg.find("href"), std::string::npos);
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  EXPECT_EQ(svg.find("@import"), std::string::npos);

  // Legend names, escaped.
  for (const char *name : {">transformer<", ">mamba2<", ">hybrid 1:5 &lt;M&amp;A&gt;<",
                           ">sliding window 4K<"})
    EXPECT_NE(svg.find(name), std::string::npos) << name;
  // Titles, axis labels, x ticks at powers of two (duplicates, -5 dropped).
  EXPECT_NE(svg.find("Forward FLOPs per token"), std::string::npos);
  EXPECT_NE(svg.find("context length (tokens, log2 scale)"), std::string::npos);
  EXPECT_NE(svg.find("(MiB, log scale)"), std::string::npos);
  for (const char *tick : {">1K<", ">8K<", ">128K<"})
    EXPECT_NE(svg.find(tick), std::string::npos) << tick;

  auto tf = polylines(svg, "transformer");
  auto mb = polylines(svg, "mamba2");
  auto win = polylines(svg, "sliding window 4K");
  ASSERT_EQ(tf.size(), 2u);
  ASSERT_EQ(mb.size(), 2u);
  ASSERT_EQ(win.size(), 2u);
  for (const auto &line : {tf[0], tf[1], mb[0], mb[1]})
    ASSERT_EQ(line.size(), 8u); // 8 distinct positive contexts
  for (size_t i = 1; i < 8; ++i) {
    // x increases by the same step per doubling (log2 axis).
    EXPECT_NEAR(tf[0][i].first - tf[0][i - 1].first, tf[0][1].first - tf[0][0].first, 0.11);
    // Mamba-2 FLOPs per token and cache are flat; transformer ones rise
    // (SVG y grows downwards).
    EXPECT_NEAR(mb[0][i].second, mb[0][0].second, 0.051);
    EXPECT_NEAR(mb[1][i].second, mb[1][0].second, 0.051);
    EXPECT_LT(tf[0][i].second, tf[0][i - 1].second);
    EXPECT_LT(tf[1][i].second, tf[1][i - 1].second);
    // The transformer holds more cache than Mamba at every context.
    EXPECT_LT(tf[1][i].second, mb[1][i].second);
  }
  // The window caps the cache from 4K on: flat after the third point.
  EXPECT_NEAR(win[1][7].second, win[1][2].second, 0.051);
  EXPECT_LT(win[1][2].second, win[1][1].second);
}

TEST(SweepPlot, LinearCacheAxisWhenRangeIsNarrow) {
  std::vector<std::pair<std::string, ModelSpec>> ms = {
      {"mamba2", stack("MMMM")}};
  std::string svg = sweepSvg(ms, {1024, 4096}, ReportOptions());
  std::string why;
  EXPECT_TRUE(wellFormed(svg, why)) << why;
  EXPECT_EQ(svg.find("log scale)"), std::string::npos);
  EXPECT_NE(svg.find("cache (MiB)"), std::string::npos);
  EXPECT_EQ(count(svg, "<polyline"), 2u);
}

TEST(SweepPlot, EmptyInputsStillGiveValidSvg) {
  std::string why;
  std::string a = sweepSvg({}, {1024}, ReportOptions());
  EXPECT_TRUE(wellFormed(a, why)) << why;
  EXPECT_NE(a.find("no data"), std::string::npos);
  std::string b = sweepSvg({{"m", stack("A")}}, {}, ReportOptions());
  EXPECT_TRUE(wellFormed(b, why)) << why;
  EXPECT_NE(b.find("no data"), std::string::npos);
  // A single context still spans an axis.
  std::string c = sweepSvg({{"m", stack("A")}}, {2048}, ReportOptions());
  EXPECT_TRUE(wellFormed(c, why)) << why;
  EXPECT_NE(c.find(">2K<"), std::string::npos);
}
