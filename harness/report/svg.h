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
  std::string label;           // in the legend and the line's tooltip; "" for neither (a trend line, say)
  std::vector<double> x, y;    // same length, x ascending; a NaN y breaks the line
  std::string colour;          // "#rrggbb"
  bool dashed = false;
  double width = 1.5;          // stroke width, px
  bool step = false;           // a bucket's value holds until the next x (stairs); a point at
                               // x >= x_max starts a bucket past the axis and is left out
};

// A legend entry that stands for no one line: the key to a style several
// lines share ("trend (Theil-Sen)", dashed grey), drawn as a line swatch.
struct LegendEntry {
  std::string label;
  std::string colour;          // "#rrggbb"
  bool dashed = false;
  double width = 1.5;          // the swatch's stroke width, px
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
  std::vector<LegendEntry> legend_extra;  // after the lines' entries (kLines, kStacked)
};

struct SvgOptions {
  int width = 960;             // px, whole figure
  int height = 300;            // px, whole figure (a state chart grows with its rows)
  // px from the figure's left edge to the plot's (x_min's) left edge; 0:
  // fitted to this chart's y tick or row labels. Charts stacked on one page
  // share one value, FitPlotLeft's, so that their time axes line up: the
  // plot then spans [plot_left, width - 28] on every chart of that width.
  // A y tick label wider than the room sticks out to the left; a row label
  // is cut short with an ellipsis.
  int plot_left = 0;
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
// - a linear y axis runs from 0 (or a tick at or below the data's minimum,
//   when negative) to a tick at or above the maximum, in the smallest
//   1-2-5 step >= range/5, or the next finer one when that wastes less room
//   and makes at most 9 ticks: -10..600 gets -100..600 in steps of 100,
//   not -200..600 in steps of 200;
// - when every value drawn is a whole number (counts, in flight), no tick
//   step is below 1: an all-zero or empty axis is 0..1, ticked at 0 and 1;
// - a line's entry in the legend is its label, then the chart's
//   legend_extra; a line with a label carries it as a tooltip (<title>);
// - a line with more points than twice the plot's width in pixels is
//   thinned to the first, min, max and last point of each pixel column, so
//   spikes survive and an hour at 1 s stays small;
// - no data at all: the axes and the words "no data";
// - windows are shaded under the data, with dashed edges; on a state chart,
//   whose bars would hide that shading, a darker translucent band
//   (<rect class="window-shade">, no tooltip of its own) lies over the bars
//   as well, letting the bars' tooltips through.
// For tests and readers, each window is a <rect class="window"
// data-start="S" data-end="E"> spanning the plot's height (S and E as
// given, %.3f), each line a <path class="line" data-label="...">, each
// state span a <rect class="state STATE">, and the chart's root has
// class="chart" and id="chart-<id>". Standalone, the root is width x height
// px; inline, it is width="100%" with the viewBox's aspect ratio, and the
// page's CSS decides how wide that is (no max-width of its own).
std::string RenderSvg(const Chart& chart, const SvgOptions& options = {});

// The plot_left that fits every chart's labels (the widest one's margin):
// render every chart of a page with it, and their time axes line up.
// `options` as they will be rendered (the width bounds a row label);
// its own plot_left is ignored.
int FitPlotLeft(const std::vector<Chart>& charts, const SvgOptions& options = {});

// The x pixel of time `t_s` in a chart rendered with `options` (the same
// plot_left included): lets tests check that a window is drawn where
// faults.csv says.
double XPixel(const Chart& chart, const SvgOptions& options, double t_s);

// "1.5k", "2M", "0.25", "120": at most 3 significant digits.
std::string CompactNumber(double v);

}  // namespace herd
