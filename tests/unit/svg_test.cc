// The SVG charts: output parses (libxml2) for every kind, holds no URL but
// the SVG namespace, draws windows where XPixel says, lines up the plots of
// charts sharing a plot_left, keeps labels and legend items apart, thins
// long lines without losing spikes, breaks lines at NaN, stacks, ticks on
// 1-2-5 (whole steps for whole numbers) and escapes text.
#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <set>
#include <tuple>
#include <string>
#include <vector>

#include "report/svg.h"

namespace herd {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- libxml2 helpers ----------------------------------------------------

struct DocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
struct ContextFree {
  void operator()(xmlXPathContext* c) const { xmlXPathFreeContext(c); }
};
struct ObjectFree {
  void operator()(xmlXPathObject* o) const { xmlXPathFreeObject(o); }
};

std::string Attr(xmlNode* node, const char* name) {
  xmlChar* v = xmlGetProp(node, reinterpret_cast<const xmlChar*>(name));
  if (v == nullptr) return "";
  std::string s(reinterpret_cast<const char*>(v));
  xmlFree(v);
  return s;
}

double Num(xmlNode* node, const char* name) {
  const std::string s = Attr(node, name);
  EXPECT_FALSE(s.empty()) << "no attribute " << name;
  return std::strtod(s.c_str(), nullptr);
}

std::string Text(xmlNode* node) {
  xmlChar* v = xmlNodeGetContent(node);
  std::string s(reinterpret_cast<const char*>(v));
  xmlFree(v);
  return s;
}

// A parsed chart. Queries use plain element names: inline charts have no
// namespace; standalone ones are queried through local-name().
class Svg {
 public:
  explicit Svg(const std::string& text)
      : doc_(xmlReadMemory(text.data(), static_cast<int>(text.size()), "chart.svg", nullptr,
                           XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)) {}

  bool ok() const { return doc_ != nullptr; }
  xmlNode* root() const { return xmlDocGetRootElement(doc_.get()); }

  std::vector<xmlNode*> Find(const std::string& xpath) const {
    std::vector<xmlNode*> nodes;
    if (!doc_) return nodes;
    std::unique_ptr<xmlXPathContext, ContextFree> ctx(xmlXPathNewContext(doc_.get()));
    std::unique_ptr<xmlXPathObject, ObjectFree> obj(
        xmlXPathEval(reinterpret_cast<const xmlChar*>(xpath.c_str()), ctx.get()));
    EXPECT_TRUE(obj) << "bad XPath " << xpath;
    if (obj && obj->nodesetval) {
      for (int i = 0; i < obj->nodesetval->nodeNr; ++i) nodes.push_back(obj->nodesetval->nodeTab[i]);
    }
    return nodes;
  }

  xmlNode* One(const std::string& xpath) const {
    const auto nodes = Find(xpath);
    EXPECT_EQ(nodes.size(), 1u) << xpath;
    return nodes.empty() ? nullptr : nodes.front();
  }

 private:
  std::unique_ptr<xmlDoc, DocFree> doc_;
};

// The plot's box, from the axes: the x axis runs along the bottom.
struct Plot {
  double left, right, bottom;
};
Plot PlotOf(const Svg& svg) {
  xmlNode* axis = svg.Find("//g[@class='axes']/line").at(0);
  return {Num(axis, "x1"), Num(axis, "x2"), Num(axis, "y1")};
}

// The pixel of value v on a linear axis, from the grid lines' positions.
double YOf(const Svg& svg, double v, bool log = false) {
  const auto grid = svg.Find("//line[@class='grid']");
  EXPECT_GE(grid.size(), 2u);
  const double v0 = Num(grid.front(), "data-value"), v1 = Num(grid.back(), "data-value");
  const double y0 = Num(grid.front(), "y1"), y1 = Num(grid.back(), "y1");
  const double f = log ? (std::log10(v) - std::log10(v0)) / (std::log10(v1) - std::log10(v0)) : (v - v0) / (v1 - v0);
  return y0 + f * (y1 - y0);
}

// ---- Path helpers -------------------------------------------------------

struct P {
  double x, y;
};

// Subpaths of path data with M/m, L/l, H/h, V/v and Z.
std::vector<std::vector<P>> ParsePath(const std::string& d) {
  std::vector<std::vector<P>> subpaths;
  double x = 0, y = 0;
  char cmd = 0;
  size_t i = 0;
  auto number = [&] {
    while (i < d.size() && (d[i] == ' ' || d[i] == ',')) ++i;
    char* end = nullptr;
    const double v = std::strtod(d.c_str() + i, &end);
    EXPECT_NE(end, d.c_str() + i) << "number expected at " << i << " in " << d.substr(0, 80);
    i = static_cast<size_t>(end - d.c_str());
    return v;
  };
  while (true) {
    while (i < d.size() && (d[i] == ' ' || d[i] == ',')) ++i;
    if (i >= d.size()) break;
    if (std::isalpha(static_cast<unsigned char>(d[i]))) cmd = d[i++];
    switch (cmd) {
      case 'M': x = number(); y = number(); subpaths.push_back({{x, y}}); cmd = 'L'; continue;
      case 'm': x += number(); y += number(); subpaths.push_back({{x, y}}); cmd = 'l'; continue;
      case 'L': x = number(); y = number(); break;
      case 'l': x += number(); y += number(); break;
      case 'H': x = number(); break;
      case 'h': x += number(); break;
      case 'V': y = number(); break;
      case 'v': y += number(); break;
      case 'Z': case 'z': continue;
      default: ADD_FAILURE() << "unexpected command " << cmd; return subpaths;
    }
    if (subpaths.empty()) subpaths.emplace_back();
    subpaths.back().push_back({x, y});
  }
  return subpaths;
}

size_t PointCount(const std::vector<std::vector<P>>& subpaths) {
  size_t n = 0;
  for (const auto& s : subpaths) n += s.size();
  return n;
}

// The renderer's width estimate, repeated: the tests check boxes with it.
double TextWidth(const std::string& s, double size) {
  double em = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) == 0x80) continue;
    em += c >= 0xE0 ? 1.0 : (c >= 0x80 || std::isupper(c) || c == 'm' || c == 'w') ? 0.8 : 0.6;
  }
  return em * size;
}

struct Box {
  double x0, x1, y0, y1;
  bool Overlaps(const Box& o) const { return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1; }
};

// ---- Charts -------------------------------------------------------------

ChartLine Line(std::string label, std::vector<double> x, std::vector<double> y, size_t colour = 0) {
  ChartLine l;
  l.label = std::move(label);
  l.x = std::move(x);
  l.y = std::move(y);
  l.colour = std::string(kPalette[colour % kPaletteSize]);
  return l;
}

std::vector<double> Seconds(size_t n) {
  std::vector<double> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = static_cast<double>(i);
  return x;
}

Chart LinesChart() {
  Chart c;
  c.id = "throughput-clients";
  c.title = "clients: offered, attempts and goodput";
  c.note = "slope +3.2/min, p = 0.001";
  c.y_label = "requests/s";
  c.x_min = 0;
  c.x_max = 120;
  std::vector<double> x = Seconds(121), offered(121), attempts(121), goodput(121);
  for (size_t i = 0; i <= 120; ++i) {
    const bool down = i >= 30 && i < 50;
    offered[i] = 1000;
    attempts[i] = down ? 2600 + 40.0 * static_cast<double>(i % 5) : 1000 + 5.0 * static_cast<double>(i % 3);
    goodput[i] = down ? 300 : 990;
  }
  ChartLine o = Line("offered", x, offered, 7);
  o.dashed = true;
  o.step = true;
  c.lines.push_back(o);
  c.lines.push_back(Line("attempts", x, attempts, 1));
  c.lines.push_back(Line("goodput", x, goodput, 0));
  c.windows = {{30, 50, "down r0"}, {80, 95, "latency r1"}};
  return c;
}

Chart StackedChart() {
  Chart c;
  c.id = "outcomes-clients";
  c.title = "clients: attempts by outcome";
  c.y_label = "attempts/s";
  c.kind = Chart::Kind::kStacked;
  c.x_min = 0;
  c.x_max = 120;
  const std::vector<double> x = Seconds(121);
  std::vector<double> ok(121), shed(121), timeout(121);
  for (size_t i = 0; i <= 120; ++i) {
    const bool down = i >= 30 && i < 50;
    ok[i] = down ? 300 : 950;
    shed[i] = down ? 800 : 30;
    timeout[i] = down ? 1500 : (i % 4 == 0 ? kNaN : 20);
  }
  for (auto [label, y, colour] :
       {std::tuple{"ok", ok, 2}, std::tuple{"shed", shed, 1}, std::tuple{"timeout", timeout, 3}}) {
    ChartLine l = Line(label, x, y, colour);
    l.step = true;
    c.lines.push_back(l);
  }
  c.windows = {{30, 50, "down r0"}, {80, 95, "latency r1"}};
  return c;
}

Chart StatesChart() {
  Chart c;
  c.id = "probes";
  c.title = "Probe states per replica";
  c.kind = Chart::Kind::kStates;
  c.x_min = 0;
  c.x_max = 120;
  c.rows = {{"readiness r0", {{0, 30, "healthy"}, {30, 52, "unhealthy"}, {52, 120, "healthy"}}},
            {"readiness r1", {{0, 5, "unknown"}, {5, 120, "healthy"}}},
            {"liveness r0", {{0, 31, "healthy"}, {31, 50, "timeout"}, {50, 120, "healthy"}}}};
  c.windows = {{30, 50, "down r0"}, {80, 95, "latency r1"}};
  return c;
}

std::vector<Chart> EveryKind() { return {LinesChart(), StackedChart(), StatesChart()}; }

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

// ---- Tests --------------------------------------------------------------

TEST(Svg, EveryKindParsesInlineAndStandalone) {
  for (const Chart& c : EveryKind()) {
    for (bool standalone : {false, true}) {
      const std::string text = RenderSvg(c, {.standalone = standalone});
      Svg svg(text);
      ASSERT_TRUE(svg.ok()) << c.id << (standalone ? " standalone" : " inline") << "\n" << text;
      EXPECT_STREQ(reinterpret_cast<const char*>(svg.root()->name), "svg");
      EXPECT_EQ(Attr(svg.root(), "class"), "chart");
      EXPECT_EQ(Attr(svg.root(), "id"), "chart-" + c.id);
      EXPECT_EQ(Text(svg.Find("/*/*[local-name()='title']").at(0)), c.title);
      EXPECT_EQ(svg.Find("//*[local-name()='rect'][@class='window']").size(), 2u) << c.id;
    }
  }
}

TEST(Svg, StandaloneNamesOnlyTheSvgNamespace) {
  for (const Chart& c : EveryKind()) {
    const std::string text = RenderSvg(c, {.standalone = true});
    EXPECT_EQ(text.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>", 0), 0u);
    Svg svg(text);
    ASSERT_TRUE(svg.ok());
    ASSERT_NE(svg.root()->ns, nullptr);
    EXPECT_STREQ(reinterpret_cast<const char*>(svg.root()->ns->href), "http://www.w3.org/2000/svg");
    EXPECT_EQ(Count(text, "http"), 1u) << c.id;
    EXPECT_EQ(Attr(svg.root(), "width"), "960");
    EXPECT_FALSE(Attr(svg.root(), "viewBox").empty());
    xmlNode* bg = svg.One("/*/*[local-name()='rect'][1]");
    EXPECT_EQ(Attr(bg, "fill"), "#ffffff");
    for (const char* banned : {"<image", "<use", "<script", "href", "url(", "@import"}) {
      EXPECT_EQ(text.find(banned), std::string::npos) << banned;
    }
  }
}

TEST(Svg, InlineHasNoUrlAndScales) {
  for (const Chart& c : EveryKind()) {
    const std::string text = RenderSvg(c);
    EXPECT_EQ(text.find("http"), std::string::npos) << c.id;
    EXPECT_EQ(text.find("<?xml"), std::string::npos);
    EXPECT_EQ(text.find("xmlns"), std::string::npos);
    Svg svg(text);
    ASSERT_TRUE(svg.ok());
    EXPECT_EQ(Attr(svg.root(), "width"), "100%");
    EXPECT_EQ(Attr(svg.root(), "viewBox").rfind("0 0 960 ", 0), 0u);
    // The page's CSS decides how wide: no cap of its own to override.
    EXPECT_EQ(Attr(svg.root(), "style").find("max-width"), std::string::npos) << Attr(svg.root(), "style");
  }
}

// Charts of one page, each with its own labels: wide y ticks (2.6k), long
// row labels, narrow ticks and no y title.
std::vector<Chart> OnePage() {
  Chart small;
  small.id = "small";
  small.x_min = 0;
  small.x_max = 120;
  small.lines.push_back(Line("v", {0, 60, 120}, {1, 3, 2}));
  small.windows = {{30, 50, "down r0"}};
  Chart states = StatesChart();
  states.rows.push_back({"readiness-with-a-long-name r12", {{0, 120, "healthy"}}});
  return {LinesChart(), states, small, StackedChart()};
}

TEST(Svg, ChartsSharingPlotLeftLineUp) {
  const std::vector<Chart> charts = OnePage();
  // Fitted each to its own labels, the plots start at different x...
  std::set<double> fitted;
  for (const Chart& c : charts) fitted.insert(PlotOf(Svg(RenderSvg(c))).left);
  ASSERT_GT(fitted.size(), 1u);
  // ...one shared margin, the widest of them, lines them all up.
  SvgOptions options;
  options.plot_left = FitPlotLeft(charts, options);
  EXPECT_GE(options.plot_left, *fitted.rbegin());
  EXPECT_LT(options.plot_left, *fitted.rbegin() + 1.06);
  for (const Chart& c : charts) {
    SCOPED_TRACE(c.id);
    Svg svg(RenderSvg(c, options));
    ASSERT_TRUE(svg.ok());
    const Plot plot = PlotOf(svg);
    EXPECT_NEAR(plot.left, options.plot_left, 0.051);
    EXPECT_NEAR(plot.right, 960 - 28, 0.051);
    EXPECT_NEAR(XPixel(c, options, 0), options.plot_left, 1e-9);
    EXPECT_NEAR(XPixel(c, options, 120), 960 - 28, 1e-9);
    const auto windows = svg.Find("//rect[@class='window']");
    ASSERT_FALSE(windows.empty());
    EXPECT_NEAR(Num(windows[0], "x"), XPixel(c, options, 30), 0.051);
    EXPECT_NEAR(Num(windows[0], "width"), XPixel(c, options, 50) - XPixel(c, options, 30), 0.11);
    // Every label still fits, the longest row label uncut.
    for (const char* cls : {"y-tick", "row-label"}) {
      for (xmlNode* t : svg.Find(std::string("//text[@class='") + cls + "']")) {
        EXPECT_GE(Num(t, "x") - TextWidth(Text(t), 12), 0) << Text(t);
        EXPECT_LE(Num(t, "x"), options.plot_left) << Text(t);
      }
    }
  }
  Svg states(RenderSvg(charts[1], options));
  EXPECT_EQ(Text(states.Find("//text[@class='row-label']").back()), "readiness-with-a-long-name r12");
  // The figure's own width bounds the margin: standalone figures of 800 px
  // share theirs just as well.
  SvgOptions figure{.width = 800, .standalone = true};
  figure.plot_left = FitPlotLeft(charts, figure);
  for (const Chart& c : charts) {
    Svg svg(RenderSvg(c, figure));
    xmlNode* axis = svg.Find("//*[local-name()='g'][@class='axes']/*[local-name()='line']").at(0);
    EXPECT_NEAR(Num(axis, "x1"), figure.plot_left, 0.051) << c.id;
  }
  EXPECT_EQ(FitPlotLeft({}, options), 0);
}

TEST(Svg, ANarrowPlotLeftCutsRowLabelsShort) {
  const Chart c = OnePage()[1];
  SvgOptions options;
  options.plot_left = 80;
  Svg svg(RenderSvg(c, options));
  ASSERT_TRUE(svg.ok());
  EXPECT_NEAR(PlotOf(svg).left, 80, 0.051);
  const auto rows = svg.Find("//text[@class='row-label']");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_NE(Text(rows.back()).find("\u2026"), std::string::npos) << Text(rows.back());
  for (xmlNode* t : rows) {
    EXPECT_GE(Num(t, "x") - TextWidth(Text(t), 12), 12 - 0.051) << Text(t);
  }
}

TEST(Svg, WindowsAreDrawnWhereXPixelSays) {
  for (const Chart& c : EveryKind()) {
    const SvgOptions options{.width = 800};
    Svg svg(RenderSvg(c, options));
    ASSERT_TRUE(svg.ok());
    const auto rects = svg.Find("//rect[@class='window']");
    ASSERT_EQ(rects.size(), c.windows.size());
    const Plot plot = PlotOf(svg);
    for (size_t i = 0; i < rects.size(); ++i) {
      const ChartWindow& w = c.windows[i];
      EXPECT_NEAR(Num(rects[i], "x"), XPixel(c, options, w.start_s), 0.051) << c.id;
      EXPECT_NEAR(Num(rects[i], "width"), XPixel(c, options, w.end_s) - XPixel(c, options, w.start_s), 0.11);
      EXPECT_NEAR(Num(rects[i], "y") + Num(rects[i], "height"), plot.bottom, 0.11);
      EXPECT_EQ(Attr(rects[i], "data-start"), i == 0 ? "30.000" : "80.000");
    }
    EXPECT_EQ(Text(svg.Find("//rect[@class='window']/title").at(0)), "down r0: 30.0\u201350.0 s");
    // The plot spans x_min..x_max.
    EXPECT_NEAR(plot.left, XPixel(c, options, 0), 0.051);
    EXPECT_NEAR(plot.right, XPixel(c, options, 120), 0.051);
  }
}

TEST(Svg, WindowsAreDrawnUnderTheData) {
  const std::string text = RenderSvg(LinesChart());
  EXPECT_LT(text.find("class=\"window\""), text.find("class=\"line\""));
  EXPECT_LT(text.find("class=\"window-edge\""), text.find("class=\"line\""));
  EXPECT_EQ(text.find("window-shade"), std::string::npos) << "lines leave the shading visible";
}

TEST(Svg, WindowsShowOverStateBars) {
  const Chart c = StatesChart();
  const SvgOptions options;
  const std::string text = RenderSvg(c, options);
  Svg svg(text);
  ASSERT_TRUE(svg.ok());
  const auto shades = svg.Find("//rect[@class='window-shade']");
  ASSERT_EQ(shades.size(), c.windows.size());
  const Plot plot = PlotOf(svg);
  for (size_t i = 0; i < shades.size(); ++i) {
    EXPECT_NEAR(Num(shades[i], "x"), XPixel(c, options, c.windows[i].start_s), 0.051);
    EXPECT_NEAR(Num(shades[i], "width"),
                XPixel(c, options, c.windows[i].end_s) - XPixel(c, options, c.windows[i].start_s), 0.11);
    EXPECT_NEAR(Num(shades[i], "y") + Num(shades[i], "height"), plot.bottom, 0.11);
    EXPECT_GE(Num(shades[i], "fill-opacity"), 0.1);
    // The bars' tooltips show through.
    EXPECT_EQ(Attr(shades[i], "pointer-events"), "none");
  }
  // Over the bars, not under them.
  EXPECT_GT(text.find("class=\"window-shade\""), text.rfind("class=\"state "));
  // The window itself, with its tooltip, is still there.
  EXPECT_EQ(svg.Find("//rect[@class='window']/title").size(), c.windows.size());
}

TEST(Svg, LinesHaveTheirLabelAsTooltip) {
  for (Chart c : {LinesChart(), StackedChart()}) {
    c.lines[1].label = "";  // a trend line, say
    Svg svg(RenderSvg(c));
    ASSERT_TRUE(svg.ok());
    const auto paths = svg.Find("//path[@class='line']");
    ASSERT_EQ(paths.size(), c.lines.size()) << c.id;
    for (size_t i = 0; i < paths.size(); ++i) {
      const auto titles = svg.Find("//path[@class='line'][" + std::to_string(i + 1) + "]/title");
      if (c.lines[i].label.empty()) {
        EXPECT_TRUE(titles.empty()) << c.id << " " << i;
      } else {
        ASSERT_EQ(titles.size(), 1u) << c.id << " " << i;
        EXPECT_EQ(Text(titles[0]), c.lines[i].label);
      }
    }
  }
}

TEST(Svg, OverlappingWindowLabelsGoToDifferentLanes) {
  Chart c = LinesChart();
  c.windows = {{30, 50, "down r0 (replica zero)"},
               {35, 45, "latency r1 with a long label"},
               {40, 60, "bandwidth r0"},
               {100, 110, "kill r2"}};
  Svg svg(RenderSvg(c));
  ASSERT_TRUE(svg.ok());
  const auto labels = svg.Find("//text[@class='window-label']");
  ASSERT_EQ(labels.size(), 4u);
  std::vector<Box> boxes;
  for (xmlNode* t : labels) {
    const double x = Num(t, "x"), y = Num(t, "y");
    boxes.push_back({x, x + TextWidth(Text(t), 10.5), y - 10.5, y + 2.5});
  }
  for (size_t i = 0; i < boxes.size(); ++i) {
    for (size_t j = i + 1; j < boxes.size(); ++j) {
      EXPECT_FALSE(boxes[i].Overlaps(boxes[j])) << Text(labels[i]) << " / " << Text(labels[j]);
    }
  }
  // The three overlapping ones each have their own lane; the lone one
  // shares the first lane.
  EXPECT_NE(boxes[0].y0, boxes[1].y0);
  EXPECT_NE(boxes[1].y0, boxes[2].y0);
  EXPECT_NE(boxes[0].y0, boxes[2].y0);
  EXPECT_EQ(boxes[3].y0, boxes[0].y0);
  // Every lane is above the plot and below the legend.
  const double plot_top = Num(svg.Find("//line[@class='grid']").back(), "y1");
  double legend_bottom = 0;
  for (xmlNode* t : svg.Find("//g[@class='legend-item']/text")) {
    legend_bottom = std::max(legend_bottom, Num(t, "y") + 3);
  }
  for (const Box& b : boxes) {
    EXPECT_LE(b.y1, plot_top);
    EXPECT_GE(b.y0, legend_bottom);
    EXPECT_LE(b.x1, 960);
  }
}

TEST(Svg, WindowsOutsideAreSkippedAndStraddlingOnesClipped) {
  Chart c = LinesChart();
  c.x_min = 0;
  c.x_max = 100;
  c.windows = {{150, 160, "after"}, {-20, -10, "before"}, {-10, 20, "straddles start"}, {90, 200, "straddles end"}};
  const SvgOptions options;
  Svg svg(RenderSvg(c, options));
  ASSERT_TRUE(svg.ok());
  const auto rects = svg.Find("//rect[@class='window']");
  ASSERT_EQ(rects.size(), 2u);
  EXPECT_EQ(Attr(rects[0], "data-start"), "-10.000");
  EXPECT_NEAR(Num(rects[0], "x"), XPixel(c, options, 0), 0.051);
  EXPECT_NEAR(Num(rects[0], "width"), XPixel(c, options, 20) - XPixel(c, options, 0), 0.11);
  EXPECT_EQ(Attr(rects[1], "data-end"), "200.000");
  EXPECT_NEAR(Num(rects[1], "x") + Num(rects[1], "width"), XPixel(c, options, 100), 0.11);
  // Only real edges are drawn: the end of the first, the start of the second.
  EXPECT_EQ(svg.Find("//line[@class='window-edge']").size(), 2u);
  EXPECT_EQ(svg.Find("//text[@class='window-label']").size(), 2u);
}

TEST(Svg, LongLinesAreThinnedButKeepSpikes) {
  Chart c;
  c.id = "hour";
  c.x_min = 0;
  c.x_max = 3600;
  const std::vector<double> x = Seconds(3600);
  for (int k = 0; k < 5; ++k) {
    std::vector<double> y(3600);
    for (size_t i = 0; i < y.size(); ++i) y[i] = 100 + 10 * k + static_cast<double>((i * 7919 + k * 31) % 23);
    c.lines.push_back(Line("line " + std::to_string(k), x, y, k));
  }
  c.lines[2].y[1800] = 5000;  // one spike, one bucket wide
  c.lines[3].step = true;
  const std::string text = RenderSvg(c);
  EXPECT_LT(text.size(), 120u * 1024) << "5 lines x 3600 points";
  Svg svg(text);
  ASSERT_TRUE(svg.ok());
  const Plot plot = PlotOf(svg);
  const double width = plot.right - plot.left;
  const auto paths = svg.Find("//path[@class='line']");
  ASSERT_EQ(paths.size(), 5u);
  for (xmlNode* p : paths) {
    const auto sub = ParsePath(Attr(p, "d"));
    EXPECT_EQ(sub.size(), 1u);
    EXPECT_LE(PointCount(sub), static_cast<size_t>(2 * 4 * width)) << Attr(p, "data-label");
    // Thinned points share their pixel column's x: one x a column.
    std::set<double> xs;
    for (const P& pt : sub.at(0)) xs.insert(pt.x);
    EXPECT_LE(xs.size(), static_cast<size_t>(width) + 2) << Attr(p, "data-label");
  }
  double top = 1e9;
  const auto spiky = ParsePath(Attr(paths[2], "d"));
  for (const P& pt : spiky.at(0)) top = std::min(top, pt.y);
  EXPECT_NEAR(top, YOf(svg, 5000), 0.11);
  // Every coordinate has at most one decimal.
  const std::string d = Attr(paths[0], "d");
  for (size_t dot = d.find('.'); dot != std::string::npos; dot = d.find('.', dot + 1)) {
    ASSERT_LT(dot + 1, d.size());
    if (dot + 2 < d.size()) {
      EXPECT_FALSE(std::isdigit(static_cast<unsigned char>(d[dot + 2]))) << d.substr(dot - 3, 8);
    }
  }
}

TEST(Svg, ShortLinesAreNotThinned) {
  Chart c;
  c.id = "short";
  c.x_min = 0;
  c.x_max = 100;
  std::vector<double> y(101);
  for (size_t i = 0; i < y.size(); ++i) y[i] = static_cast<double>(i % 2);
  c.lines.push_back(Line("zigzag", Seconds(101), y));
  Svg svg(RenderSvg(c));
  EXPECT_EQ(PointCount(ParsePath(Attr(svg.One("//path[@class='line']"), "d"))), 101u);
}

TEST(Svg, NaNBreaksALine) {
  for (bool step : {false, true}) {
    Chart c;
    c.id = "gap";
    c.x_min = 0;
    c.x_max = 4;
    ChartLine l = Line("gappy", {0, 1, 2, 3, 4}, {1, 2, kNaN, 3, 4});
    l.step = step;
    c.lines.push_back(l);
    const SvgOptions options;
    Svg svg(RenderSvg(c, options));
    const auto sub = ParsePath(Attr(svg.One("//path[@class='line']"), "d"));
    ASSERT_EQ(sub.size(), 2u) << "step " << step;
    EXPECT_NEAR(sub[1].front().x, XPixel(c, options, 3), 0.051);
    // A step's last value before the gap holds until the gap's x.
    if (step) {
      EXPECT_NEAR(sub[0].back().x, XPixel(c, options, 2), 0.051);
    }
  }
}

TEST(Svg, StepLinesHoldEachValueUntilTheNextX) {
  Chart c;
  c.id = "steps";
  c.x_min = 0;
  c.x_max = 20;
  ChartLine l = Line("s", {0, 10}, {1, 2});
  l.step = true;
  c.lines.push_back(l);
  const SvgOptions options;
  Svg svg(RenderSvg(c, options));
  const auto pts = ParsePath(Attr(svg.One("//path[@class='line']"), "d")).at(0);
  ASSERT_EQ(pts.size(), 4u);
  const double x0 = XPixel(c, options, 0), x10 = XPixel(c, options, 10), x20 = XPixel(c, options, 20);
  const double y1 = YOf(svg, 1), y2 = YOf(svg, 2);
  const P want[] = {{x0, y1}, {x10, y1}, {x10, y2}, {x20, y2}};  // the last bucket as wide as the one before
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_NEAR(pts[i].x, want[i].x, 0.11) << i;
    EXPECT_NEAR(pts[i].y, want[i].y, 0.11) << i;
  }
}

TEST(Svg, StepLinesLeaveOutAPointAtTheAxisEnd) {
  // The bucket at 20 s starts where the axis ends: drawn, it would be a
  // zero-width step, a cliff down to 0 at the right edge.
  Chart c;
  c.id = "steps";
  c.x_min = 0;
  c.x_max = 20;
  ChartLine l = Line("s", {0, 10, 20}, {1, 2, 0});
  l.step = true;
  c.lines.push_back(l);
  const SvgOptions options;
  Svg svg(RenderSvg(c, options));
  const auto pts = ParsePath(Attr(svg.One("//path[@class='line']"), "d")).at(0);
  ASSERT_EQ(pts.size(), 4u);
  EXPECT_NEAR(pts.back().x, XPixel(c, options, 20), 0.11) << "the last step still reaches the end";
  EXPECT_NEAR(pts.back().y, YOf(svg, 2), 0.11);
  // Nor does the value left out stretch the axis.
  c.lines[0].y[2] = 50;
  Svg high(RenderSvg(c, options));
  EXPECT_LT(Num(high.Find("//line[@class='grid']").back(), "data-value"), 50);
  // A line that is not a step has a point there, and draws it.
  c.lines[0].step = false;
  Svg plain(RenderSvg(c, options));
  const auto plain_pts = ParsePath(Attr(plain.One("//path[@class='line']"), "d")).at(0);
  ASSERT_EQ(plain_pts.size(), 3u);
  EXPECT_NEAR(plain_pts.back().y, YOf(plain, 50), 0.11);
}

TEST(Svg, StackedStepsLeaveOutAPointAtTheAxisEnd) {
  Chart c;
  c.id = "stack-steps";
  c.kind = Chart::Kind::kStacked;
  c.x_min = 0;
  c.x_max = 20;
  for (size_t k = 0; k < 2; ++k) {
    ChartLine l = Line("l" + std::to_string(k), {0, 10, 20}, {1, 2, 0}, k);
    l.step = true;
    c.lines.push_back(l);
  }
  const SvgOptions options;
  Svg svg(RenderSvg(c, options));
  ASSERT_TRUE(svg.ok());
  const auto top = ParsePath(Attr(svg.Find("//path[@class='line']").at(1), "d")).at(0);
  // The top edge: (0, 2) (10, 2) (10, 4) (20, 4), then back along the
  // layer below's, which never drops to 0 either.
  ASSERT_GE(top.size(), 4u);
  EXPECT_NEAR(top[3].x, XPixel(c, options, 20), 0.11);
  EXPECT_NEAR(top[3].y, YOf(svg, 4), 0.11);
  for (const P& p : top) EXPECT_LE(p.y, YOf(svg, 1) + 0.11) << "no cliff to 0";
  // Nor do the values left out stretch the axis.
  for (ChartLine& l : c.lines) l.y[2] = 50;
  Svg high(RenderSvg(c, options));
  EXPECT_LT(Num(high.Find("//line[@class='grid']").back(), "data-value"), 100);
}

TEST(Svg, StackedLayersSumUp) {
  Chart c;
  c.id = "stack";
  c.kind = Chart::Kind::kStacked;
  c.x_min = 0;
  c.x_max = 4;
  const std::vector<double> x = {0, 1, 2, 3, 4};
  c.lines.push_back(Line("a", x, {1, 2, 3, 4, 5}, 0));
  c.lines.push_back(Line("b", x, {2, kNaN, 2, 2, 2}, 1));
  c.lines.push_back(Line("c", x, {10, 10, 0, 10, 10}, 2));
  const SvgOptions options;
  Svg svg(RenderSvg(c, options));
  ASSERT_TRUE(svg.ok());
  const auto paths = svg.Find("//path[@class='line']");
  ASSERT_EQ(paths.size(), 3u);
  const std::vector<double> sum = {13, 12, 5, 16, 17};
  const auto top = ParsePath(Attr(paths[2], "d"));
  ASSERT_EQ(top.size(), 1u);
  ASSERT_GE(top[0].size(), 5u);
  for (size_t j = 0; j < 5; ++j) {
    EXPECT_NEAR(top[0][j].x, XPixel(c, options, x[j]), 0.051);
    EXPECT_NEAR(top[0][j].y, YOf(svg, sum[j]), 0.11) << j;
  }
  // The bottom layer closes on the zero line; every layer is closed and filled.
  const auto bottom = ParsePath(Attr(paths[0], "d")).at(0);
  EXPECT_NEAR(bottom.back().y, YOf(svg, 0), 0.11);
  for (xmlNode* p : paths) {
    EXPECT_EQ(Attr(p, "d").back(), 'Z');
    EXPECT_NE(Attr(p, "fill"), "none");
  }
  EXPECT_GE(Num(svg.Find("//line[@class='grid']").back(), "data-value"), 17);
}

// Tick values from the grid lines; checks they are evenly spaced on a
// 1-2-5 step and cover [min(0, lo), hi].
void ExpectNiceTicks(const std::vector<double>& values) {
  Chart c;
  c.id = "ticks";
  c.x_min = 0;
  c.x_max = static_cast<double>(values.size() - 1);
  c.lines.push_back(Line("v", Seconds(values.size()), values));
  Svg svg(RenderSvg(c));
  std::vector<double> ticks;
  for (xmlNode* g : svg.Find("//line[@class='grid']")) ticks.push_back(Num(g, "data-value"));
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  SCOPED_TRACE(::testing::Message() << "data " << *lo << ".." << *hi);
  ASSERT_GE(ticks.size(), 3u);
  EXPECT_LE(ticks.size(), 11u);
  const double step = ticks[1] - ticks[0];
  const double mantissa = step / std::pow(10.0, std::floor(std::log10(step) + 1e-9));
  EXPECT_TRUE(std::abs(mantissa - 1) < 1e-6 || std::abs(mantissa - 2) < 1e-6 || std::abs(mantissa - 5) < 1e-6)
      << "step " << step;
  for (size_t i = 1; i < ticks.size(); ++i) EXPECT_NEAR(ticks[i] - ticks[i - 1], step, step * 1e-6);
  EXPECT_LE(ticks.front(), std::min(*lo, 0.0));
  EXPECT_GE(ticks.back(), std::max(*hi, 0.0));
  EXPECT_LT(ticks.back() - step, std::max(*hi, 0.0)) << "no empty tick at the top";
  // Labels are distinct.
  std::vector<std::string> labels;
  for (xmlNode* t : svg.Find("//text[@class='y-tick']")) labels.push_back(Text(t));
  EXPECT_EQ(std::unique(labels.begin(), labels.end()), labels.end());
}

TEST(Svg, YTicksAreNiceAndCoverTheData) {
  ExpectNiceTicks({0.1, 0.37});
  ExpectNiceTicks({0, 7});
  ExpectNiceTicks({3, 13});
  ExpectNiceTicks({999, 10});
  ExpectNiceTicks({1234, 1000});
  ExpectNiceTicks({87000, 1});
  ExpectNiceTicks({2.5e6, 1});
  ExpectNiceTicks({-40, 25});
  ExpectNiceTicks({-3, -1});
  ExpectNiceTicks({100, 100});
  ExpectNiceTicks({-1e308, 1e308});
  ExpectNiceTicks({-10, 600});
  ExpectNiceTicks({-0.5, 0.25, 7.5});
  ExpectNiceTicks({0, 1050});
}

std::vector<double> TicksOf(const std::vector<ChartLine>& lines, Chart::Kind kind = Chart::Kind::kLines) {
  Chart c;
  c.id = "ticks";
  c.kind = kind;
  c.x_min = 0;
  c.x_max = 10;
  c.lines = lines;
  Svg svg(RenderSvg(c));
  std::vector<double> ticks;
  for (xmlNode* g : svg.Find("//line[@class='grid']")) ticks.push_back(Num(g, "data-value"));
  return ticks;
}

TEST(Svg, ANegativeMinimumWastesNoWholeStep) {
  // Steps of 200 would start the axis at -200, a quarter of the plot below
  // a minimum of -10; steps of 100 start it at -100.
  EXPECT_EQ(TicksOf({Line("v", {0, 5, 10}, {-10, 300, 600})}),
            (std::vector<double>{-100, 0, 100, 200, 300, 400, 500, 600}));
  // No more ticks than that for it: otherwise the coarser step stays.
  EXPECT_EQ(TicksOf({Line("v", {0, 10}, {0, 1000})}), (std::vector<double>{0, 200, 400, 600, 800, 1000}));
}

TEST(Svg, FlatZeroSeriesGetsAZeroToOneAxis) {
  Chart c;
  c.id = "zero";
  c.x_min = 0;
  c.x_max = 10;
  c.lines.push_back(Line("zero", Seconds(11), std::vector<double>(11, 0.0)));
  Svg svg(RenderSvg(c));
  const auto grid = svg.Find("//line[@class='grid']");
  ASSERT_EQ(grid.size(), 2u) << "0 and 1 only: no 0.2 of a count";
  EXPECT_EQ(Num(grid.front(), "data-value"), 0);
  EXPECT_EQ(Num(grid.back(), "data-value"), 1);
  std::vector<std::string> labels;
  for (xmlNode* t : svg.Find("//text[@class='y-tick']")) labels.push_back(Text(t));
  EXPECT_EQ(labels, (std::vector<std::string>{"0", "1"}));
  EXPECT_TRUE(svg.Find("//text[@class='no-data']").empty());
  // No data at all: the same axis.
  c.lines.clear();
  EXPECT_EQ(Svg(RenderSvg(c)).Find("//line[@class='grid']").size(), 2u);
}

TEST(Svg, WholeNumbersGetWholeTicks) {
  // In flight: 0, 1 or 2 attempts, never 0.5.
  EXPECT_EQ(TicksOf({Line("a", {0, 2, 4, 6, 8}, {0, 1, 2, 1, 0}), Line("b", {0, 10}, {1, kNaN})}),
            (std::vector<double>{0, 1, 2}));
  EXPECT_EQ(TicksOf({Line("a", {0, 10}, {0, 1})}), (std::vector<double>{0, 1}));
  // Stacked whole numbers sum to whole numbers.
  EXPECT_EQ(TicksOf({Line("a", {0, 10}, {1, 0}), Line("b", {0, 10}, {1, 1})}, Chart::Kind::kStacked),
            (std::vector<double>{0, 1, 2}));
  // One fraction anywhere and the finer steps are back.
  EXPECT_EQ(TicksOf({Line("a", {0, 2, 4, 6, 8}, {0, 1, 2, 1, 0}), Line("b", {0, 10}, {0.5, 0.5})}),
            (std::vector<double>{0, 0.5, 1, 1.5, 2}));
}

TEST(Svg, LogAxisShowsDecadesAndLeavesOutNonPositiveValues) {
  Chart c;
  c.id = "latency";
  c.log_y = true;
  c.x_min = 0;
  c.x_max = 6;
  c.lines.push_back(Line("p99", Seconds(7), {0.1, 1, 10, 0, 100, 1000, -5}));
  const SvgOptions options;
  Svg svg(RenderSvg(c, options));
  ASSERT_TRUE(svg.ok());
  std::vector<std::string> labels;
  for (xmlNode* t : svg.Find("//text[@class='y-tick']")) labels.push_back(Text(t));
  EXPECT_EQ(labels, (std::vector<std::string>{"0.1", "1", "10", "100", "1k"}));
  const auto sub = ParsePath(Attr(svg.One("//path[@class='line']"), "d"));
  ASSERT_EQ(sub.size(), 2u) << "the 0 breaks the line, the -5 is left out";
  ASSERT_EQ(sub[0].size(), 3u);
  ASSERT_EQ(sub[1].size(), 2u);
  EXPECT_NEAR(sub[0][0].y, YOf(svg, 0.1, true), 0.11);
  EXPECT_NEAR(sub[0][2].y, YOf(svg, 10, true), 0.11);
  EXPECT_NEAR(sub[1][1].y, YOf(svg, 1000, true), 0.11);
  // 10 lies halfway between 0.1 and 1000 on a log axis.
  EXPECT_NEAR(YOf(svg, 10, true), (YOf(svg, 0.1, true) + YOf(svg, 1000, true)) / 2, 0.11);
}

TEST(Svg, LogAxisLabelsTwoAndFiveOverFewDecades) {
  Chart c;
  c.id = "narrow";
  c.log_y = true;
  c.x_min = 0;
  c.x_max = 1;
  c.lines.push_back(Line("p50", {0, 1}, {3, 40}));
  Svg svg(RenderSvg(c));
  std::vector<std::string> labels;
  for (xmlNode* t : svg.Find("//text[@class='y-tick']")) labels.push_back(Text(t));
  EXPECT_EQ(labels, (std::vector<std::string>{"1", "2", "5", "10", "20", "50", "100"}));
}

TEST(Svg, TextIsEscaped) {
  const std::string nasty = "a<b & \"c\" > 'd' </svg>";
  Chart c = LinesChart();
  c.title = nasty;
  c.note = nasty;
  c.y_label = "ms <&>";
  c.lines[0].label = nasty;
  c.windows = {{30, 50, nasty}};
  Chart s = StatesChart();
  s.title = nasty;
  s.rows[0].label = nasty;
  for (const Chart& chart : {c, s}) {
    for (bool standalone : {false, true}) {
      const std::string text = RenderSvg(chart, {.standalone = standalone});
      Svg svg(text);
      ASSERT_TRUE(svg.ok()) << text;
      EXPECT_EQ(Text(svg.Find("/*/*[local-name()='title']").at(0)), nasty);
      EXPECT_EQ(Count(text, "</svg>"), 1u);
      if (chart.kind == Chart::Kind::kLines && !standalone) {
        EXPECT_EQ(Attr(svg.One("//path[@class='line'][1]"), "data-label"), nasty);
        EXPECT_EQ(Text(svg.One("//text[@class='title']")), nasty);
        EXPECT_EQ(Text(svg.One("//text[@class='note']")), nasty);
        EXPECT_EQ(Text(svg.One("//text[@class='y-label']")), "ms <&>");
        EXPECT_EQ(Text(svg.One("//text[@class='window-label']")), nasty);
        EXPECT_EQ(Text(svg.One("//rect[@class='window']/title")), nasty + ": 30.0\u201350.0 s");
      }
      if (chart.kind == Chart::Kind::kStates && !standalone) {
        EXPECT_EQ(Text(svg.Find("//text[@class='row-label']").at(0)), nasty);
      }
    }
  }
}

TEST(Svg, StateChartRowsAndColours) {
  const Chart c = StatesChart();
  const SvgOptions options;
  Svg svg(RenderSvg(c, options));
  ASSERT_TRUE(svg.ok());
  const auto rows = svg.Find("//text[@class='row-label']");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(Text(rows[0]), "readiness r0");
  EXPECT_EQ(Text(rows[2]), "liveness r0");
  const auto healthy = svg.Find("//rect[@class='state healthy']");
  const auto unhealthy = svg.Find("//rect[@class='state unhealthy']");
  const auto unknown = svg.Find("//rect[@class='state unknown']");
  EXPECT_EQ(healthy.size(), 5u);
  EXPECT_EQ(unhealthy.size(), 1u);
  EXPECT_EQ(unknown.size(), 2u) << "\"unknown\" and \"timeout\"";
  for (xmlNode* r : healthy) EXPECT_EQ(Attr(r, "fill"), "#009E73");
  for (xmlNode* r : unhealthy) EXPECT_EQ(Attr(r, "fill"), "#D55E00");
  for (xmlNode* r : unknown) EXPECT_EQ(Attr(r, "fill"), "#BBBBBB");
  EXPECT_NEAR(Num(unhealthy[0], "x"), XPixel(c, options, 30), 0.051);
  EXPECT_NEAR(Num(unhealthy[0], "width"), XPixel(c, options, 52) - XPixel(c, options, 30), 0.11);
  EXPECT_EQ(Text(svg.One("//rect[@class='state unhealthy']/title")), "readiness r0: unhealthy 30.0\u201352.0 s");
  // Rows stack downwards, one after another, the labels at their middles.
  const double y0 = Num(healthy[0], "y");
  const double y1 = Num(svg.Find("//rect[@class='state unknown']")[0], "y");
  EXPECT_GT(y1, y0 + Num(healthy[0], "height"));
  EXPECT_GT(Num(rows[1], "y"), y1);
  EXPECT_LT(Num(rows[1], "y"), y1 + Num(healthy[0], "height"));
  // Row labels end left of the plot.
  for (xmlNode* r : rows) EXPECT_LE(Num(r, "x"), XPixel(c, options, 0));
  std::vector<std::string> legend;
  for (xmlNode* t : svg.Find("//g[@class='legend-item']/text")) legend.push_back(Text(t));
  EXPECT_EQ(legend, (std::vector<std::string>{"healthy", "unhealthy", "unknown"}));
}

TEST(Svg, StateChartGrowsWithItsRows) {
  Chart c = StatesChart();
  const double h3 = Num(Svg(RenderSvg(c, {.standalone = true})).root(), "height");
  for (int i = 0; i < 7; ++i) c.rows.push_back({"liveness r" + std::to_string(i + 1), {{0, 120, "healthy"}}});
  const double h10 = Num(Svg(RenderSvg(c, {.standalone = true})).root(), "height");
  EXPECT_NEAR(h10 - h3, 7 * 22, 0.11);
}

TEST(Svg, CompactNumbers) {
  const std::pair<double, const char*> cases[] = {
      {0, "0"},           {-0.0, "0"},          {0.25, "0.25"},       {1, "1"},
      {12.5, "12.5"},     {120, "120"},         {999, "999"},         {999.7, "1k"},
      {1000, "1k"},       {1500, "1.5k"},       {1234, "1.23k"},      {123456, "123k"},
      {999999, "1M"},     {2000000, "2M"},      {3.5e9, "3.5G"},      {7e12, "7T"},
      {4.5e15, "4.5e15"}, {0.1, "0.1"},         {0.001, "0.001"},     {0.000123, "0.000123"},
      {0.0000123, "1.23e-5"}, {0.3333333, "0.333"}, {-1500, "-1.5k"}, {-0.25, "-0.25"},
      {2.0 / 3.0, "0.667"},
  };
  for (const auto& [v, want] : cases) EXPECT_EQ(CompactNumber(v), want) << v;
}

TEST(Svg, LegendExtraEntriesFollowTheLines) {
  Chart c;
  c.id = "monitor";
  c.x_min = 0;
  c.x_max = 10;
  ChartLine r0 = Line("r0", {0, 10}, {1, 2}, 0), r1 = Line("r1", {0, 10}, {2, 3}, 1);
  ChartLine t0 = Line("", {0, 10}, {1, 2}, 0), t1 = Line("", {0, 10}, {2, 3}, 1);
  t0.dashed = t1.dashed = true;
  c.lines = {r0, t0, r1, t1};
  c.legend_extra = {{"trend (Theil-Sen)", "#888888", true, 1.25}};
  Svg svg(RenderSvg(c));
  ASSERT_TRUE(svg.ok());
  std::vector<std::string> legend;
  for (xmlNode* t : svg.Find("//g[@class='legend-item']/text")) legend.push_back(Text(t));
  EXPECT_EQ(legend, (std::vector<std::string>{"r0", "r1", "trend (Theil-Sen)"}));
  xmlNode* swatch = svg.One("//g[@class='legend-item'][3]/line");
  ASSERT_NE(swatch, nullptr);
  EXPECT_EQ(Attr(swatch, "stroke"), "#888888");
  EXPECT_FALSE(Attr(swatch, "stroke-dasharray").empty());
  // On the same row as the lines' entries, after them, apart.
  xmlNode* before = svg.One("//g[@class='legend-item'][2]/text");
  EXPECT_NEAR(Num(swatch, "y1") + 4, Num(before, "y"), 0.11);
  EXPECT_GT(Num(swatch, "x1"), Num(before, "x") + TextWidth("r1", 12));
  // Four lines drawn, the legend entry none of them.
  EXPECT_EQ(svg.Find("//path[@class='line']").size(), 4u);
}

TEST(Svg, LegendWrapsWithoutOverlapping) {
  Chart c;
  c.id = "legend";
  c.title = "many fleets";
  c.x_min = 0;
  c.x_max = 10;
  for (int i = 0; i < 14; ++i) {
    c.lines.push_back(Line("Fleet number " + std::to_string(i) + " with a rather long label", Seconds(11),
                           std::vector<double>(11, i), static_cast<size_t>(i)));
  }
  c.lines.push_back(Line(std::string(300, 'W'), Seconds(11), std::vector<double>(11, 1.0)));
  const SvgOptions options{.width = 600};
  Svg svg(RenderSvg(c, options));
  ASSERT_TRUE(svg.ok());
  const auto items = svg.Find("//g[@class='legend-item']");
  ASSERT_EQ(items.size(), 15u);
  std::vector<Box> boxes;
  std::set<double> rows;
  for (size_t i = 1; i <= items.size(); ++i) {
    const std::string item = "//g[@class='legend-item'][" + std::to_string(i) + "]";
    const auto swatch = svg.Find(item + "/line");
    const auto text = svg.Find(item + "/text");
    ASSERT_EQ(swatch.size(), 1u);
    ASSERT_EQ(text.size(), 1u);
    const double y = Num(text[0], "y");
    rows.insert(y);
    boxes.push_back({Num(swatch[0], "x1"), Num(text[0], "x") + TextWidth(Text(text[0]), 12), y - 12, y + 3});
  }
  EXPECT_GE(rows.size(), 5u);
  for (size_t i = 0; i < boxes.size(); ++i) {
    EXPECT_GE(boxes[i].x0, 0);
    EXPECT_LE(boxes[i].x1, 600) << i;
    for (size_t j = i + 1; j < boxes.size(); ++j) EXPECT_FALSE(boxes[i].Overlaps(boxes[j])) << i << " " << j;
  }
  // The last label could never fit: it is cut short.
  EXPECT_NE(Text(svg.Find("//g[@class='legend-item']/text").back()).find("\u2026"), std::string::npos);
  // The legend ends above the plot, which still has its room.
  const auto grid = svg.Find("//line[@class='grid']");
  const double plot_top = Num(grid.back(), "y1"), plot_bottom = Num(grid.front(), "y1");
  for (const Box& b : boxes) EXPECT_LT(b.y1, plot_top - 6);
  EXPECT_GE(plot_bottom - plot_top, 100);
}

TEST(Svg, XTickLabelsDoNotOverlap) {
  for (double end : {1.0, 7.5, 60.0, 240.0, 300.0, 1000.0, 3600.0, 86400.0}) {
    Chart c;
    c.id = "x";
    c.x_min = 0;
    c.x_max = end;
    c.lines.push_back(Line("v", {0, end}, {1, 2}));
    for (int width : {400, 960}) {
      Svg svg(RenderSvg(c, {.width = width}));
      const auto ticks = svg.Find("//text[@class='x-tick']");
      SCOPED_TRACE(::testing::Message() << "end " << end << " width " << width);
      ASSERT_GE(ticks.size(), 2u);
      EXPECT_LE(ticks.size(), 9u);
      EXPECT_EQ(Text(ticks[0]), "0");
      for (size_t i = 1; i < ticks.size(); ++i) {
        const double gap = Num(ticks[i], "x") - Num(ticks[i - 1], "x");
        EXPECT_GT(gap, (TextWidth(Text(ticks[i]), 12) + TextWidth(Text(ticks[i - 1]), 12)) / 2 + 4);
      }
      EXPECT_LE(Num(ticks.back(), "x") + TextWidth(Text(ticks.back()), 12) / 2, width);
    }
  }
}

TEST(Svg, TimeTicksAreRoundSeconds) {
  Chart c = LinesChart();
  c.x_max = 300;
  Svg svg(RenderSvg(c));
  std::vector<std::string> labels;
  for (xmlNode* t : svg.Find("//text[@class='x-tick']")) labels.push_back(Text(t));
  EXPECT_EQ(labels, (std::vector<std::string>{"0", "60", "120", "180", "240", "300"}));
  EXPECT_EQ(Text(svg.One("//text[@class='x-label']")), "time (s)");
}

TEST(Svg, NoDataSaysSo) {
  Chart lines;
  lines.id = "empty";
  lines.title = "nothing";
  lines.x_min = 0;
  lines.x_max = 60;
  lines.lines.push_back(Line("all NaN", {0, 1, 2}, {kNaN, kNaN, kNaN}));
  Chart stacked = lines;
  stacked.kind = Chart::Kind::kStacked;
  Chart no_lines = lines;
  no_lines.lines.clear();
  Chart states = lines;
  states.kind = Chart::Kind::kStates;
  states.lines.clear();
  Chart log = lines;
  log.log_y = true;
  log.lines = {Line("zeros", {0, 1}, {0, 0})};
  for (const Chart& c : {lines, stacked, no_lines, states, log}) {
    Svg svg(RenderSvg(c));
    ASSERT_TRUE(svg.ok());
    EXPECT_EQ(Text(svg.One("//text[@class='no-data']")), "no data");
    EXPECT_FALSE(svg.Find("//g[@class='axes']/line").empty());
    EXPECT_FALSE(svg.Find("//text[@class='x-tick']").empty());
    EXPECT_TRUE(svg.Find("//path[@class='line']").empty());
  }
  Svg with_data(RenderSvg(LinesChart()));
  EXPECT_TRUE(with_data.Find("//text[@class='no-data']").empty());
}

TEST(Svg, NothingLeavesTheFigure) {
  for (Chart c : EveryKind()) {
    c.windows.push_back({118, 120, "a window at the very end with a long label"});
    for (int width : {480, 960}) {
      Svg svg(RenderSvg(c, {.width = width, .standalone = true}));
      ASSERT_TRUE(svg.ok());
      const double w = Num(svg.root(), "width"), h = Num(svg.root(), "height");
      for (xmlNode* t : svg.Find("//*[local-name()='text']")) {
        if (!Attr(t, "transform").empty()) continue;  // the rotated y title
        const std::string anchor = Attr(t, "text-anchor");
        const double tw = TextWidth(Text(t), Attr(t, "font-size").empty() ? 12 : Num(t, "font-size"));
        const double x0 = Num(t, "x") - (anchor == "end" ? tw : anchor == "middle" ? tw / 2 : 0);
        EXPECT_GE(x0, 0) << Text(t);
        EXPECT_LE(x0 + tw, w) << Text(t) << " in " << c.id << " at width " << width;
        EXPECT_LE(Num(t, "y"), h);
      }
    }
  }
}

// Not a check: writes one figure of each kind, standalone, and an HTML
// page with them inline, for a human to look at.
TEST(Svg, WritesSampleFigures) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "herd-svg-sample";
  std::filesystem::create_directories(dir);
  std::string html = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>herd charts</title></head>"
                     "<body style=\"max-width:1000px;margin:auto\">\n";
  // A busy one too: an hour of latency percentiles on a log axis, with
  // overlapping windows, in a narrow figure.
  Chart busy;
  busy.id = "latency-hour";
  busy.title = "clients: attempt latency (solid) and end-to-end latency (dashed)";
  busy.note = "p50, p90, p99 per 1 s bucket";
  busy.y_label = "ms";
  busy.log_y = true;
  busy.x_min = 0;
  busy.x_max = 3600;
  const std::vector<double> x = Seconds(3600);
  const char* names[] = {"p50", "p90", "p99"};
  for (int e2e = 0; e2e < 2; ++e2e) {
    for (int q = 0; q < 3; ++q) {
      std::vector<double> y(3600);
      for (size_t i = 0; i < y.size(); ++i) {
        const bool slow = i >= 600 && i < 900;
        const double wobble = 1 + 0.2 * std::sin(static_cast<double>(i) * 0.37 * (q + 1));
        y[i] = (2 + 3 * q) * (1 + e2e * (1 + q)) * (slow ? 40 : 1) * wobble;
      }
      y[1500] = kNaN;
      ChartLine l = Line(std::string(e2e ? "e2e " : "attempt ") + names[q], x, y, static_cast<size_t>(q));
      l.dashed = e2e == 1;
      l.step = true;
      busy.lines.push_back(l);
    }
  }
  busy.windows = {{600, 900, "latency r0"}, {700, 760, "down r1"}, {720, 1000, "bandwidth all"},
                  {2000, 2010, "kill r2"}, {3500, 3700, "pause r0 until the end"}};
  std::vector<Chart> charts = EveryKind();
  charts.push_back(busy);
  for (const Chart& c : charts) {
    std::ofstream(dir / (c.id + ".svg")) << RenderSvg(c, {.width = c.id == busy.id ? 640 : 960, .standalone = true});
    html += RenderSvg(c);
  }
  html += "</body></html>\n";
  std::ofstream(dir / "charts.html") << html;
  EXPECT_TRUE(std::filesystem::exists(dir / "probes.svg"));
  std::cout << "sample figures: " << dir.string()
            << "/{throughput-clients,outcomes-clients,probes,latency-hour}.svg, charts.html\n";
}

}  // namespace
}  // namespace herd
