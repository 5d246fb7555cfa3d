// Charts drawn as SVG: the one drawing layer of the report, the figures and
// compare.html. A Chart is data (lines over time, or states over time) and
// the run's fault windows; RenderSvg lays it out: title, legend, axes with
// units and "nice" ticks, the windows shaded and labelled under the data.
//
// Why by hand: no Debian package draws SVG charts from C++, and the report
// must be one file with no scripts or fonts fetched from anywhere.
//
// The output is well-formed XML (it parses as XHTML and as SVG) and never
// holds a URL: inline SVG in HTML needs no namespace, and a standalone
// figure names only the SVG namespace.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace herd {

// Okabe & Ito's palette, safe for the common colour-vision deficiencies;
// lines cycle through it in this order.
inline constexpr std::string_view kPalette[] = {
    "#0072B2",  // blue
    "#E69F00",  // orange
    "#009E73",  // bluish green
    "#D55E00",  // vermillion
    "#CC79A7",  // reddish purple
    "#56B4E9",  // sky blue
    "#F0E442",  // yellow
    "#000000",  // black
};
inline constexpr size_t kPaletteSize = std::size(kPalette);

struct ChartLine {
  std::string label;           // in the legend; "" for none (a trend line, say)
  std::vector<double> x, y;    // same length, x ascending; a NaN y breaks the line
  std::string colour;          // "#rrggbb"
  bool dashed = false;
  double width = 1.5;          // stroke width, px
  bool step = false;           // a bucket's value holds until the next x (stairs)
};

// A row of a state chart: one replica's state for one probe over time.
struct StateSpan {
  double start_s = 0, end_s = 0;
  std::string state;           // "healthy", "unhealthy", anything else: unknown
};
struct StateRow {
  std::string label;           // "readiness r0"
  std::vector<StateSpan> spans;
};

// A fault window, shaded on every chart: [start_s, end_s] with a label.
struct ChartWindow {
  double start_s = 0, end_s = 0;
  std::string label;           // "down r0"
};

struct Chart {
  enum class Kind {
    kLines,    // every line drawn as is
    kStacked,  // lines stacked bottom-up in order and filled (NaN counts 0)
    kStates,   // rows of coloured spans
  };
  std::string id;              // [a-z0-9-]+: the element id and figures/<id>.svg
  std::string title;
  std::string note;            // a line under the title ("slope +3.2/min, p = 0.001"); may be ""
  std::string y_label;         // with its unit: "requests/s", "ms"
  Kind kind = Kind::kLines;
  double x_min = 0, x_max = 0; // seconds; every chart of a report shares them
  bool log_y = false;          // log10 axis; values <= 0 are left out
  std::vector<ChartLine> lines;   // kLines, kStacked
  std::vector<StateRow> rows;     // kStates
  std::vector<ChartWindow> windows;
};

struct SvgOptions {
  int width = 960;             // px, whole figure
  int height = 300;            // px, whole figure (a state chart grows with its rows)
  // true: a file of its own (figures/*.svg): XML declaration, the SVG
  // namespace, a <title>, a white background. false: inline in HTML.
  bool standalone = false;
};

// The chart as one <svg> element. Layout rules, so that nothing overlaps:
// - the legend sits in rows above the plot, wrapping at the plot's width;
// - window labels sit in lanes above the plot; a label that would overlap
//   one already in a lane goes to the next lane, and a label wider than its
//   window may stick out to the right but never into another label;
// - about 6 y ticks and 8 x ticks on 1-2-5 steps, labels with SI suffixes
//   (1.5k, 2M) or the time in seconds; x axis titled "time (s)";
// - a line with more points than twice the plot's width in pixels is
//   thinned to the first, min, max and last point of each pixel column, so
//   spikes survive and an hour at 1 s stays small;
// - no data at all: the axes and the words "no data".
// For tests and readers, each window is a <rect class="window"
// data-start="S" data-end="E"> spanning the plot's height (S and E as
// given, %.3f), each line a <path class="line" data-label="...">, each
// state span a <rect class="state STATE">, and the chart's root has
// class="chart" and id="chart-<id>".
std::string RenderSvg(const Chart& chart, const SvgOptions& options = {});

// The x pixel of time `t_s` in a chart rendered with `options`: lets tests
// check that a window is drawn where faults.csv says.
double XPixel(const Chart& chart, const SvgOptions& options, double t_s);

// "1.5k", "2M", "0.25", "120": at most 3 significant digits.
std::string CompactNumber(double v);

}  // namespace herd
