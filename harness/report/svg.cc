#include "report/svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <tuple>
#include <utility>

#include "report/xml.h"

namespace herd {
namespace {

// A pixel coordinate, written with at most one decimal ("12", "12.5"):
// finer than any screen, and an hour of data stays small.
struct Px {
  double v;
};

int64_t Tenths(double px) { return std::llround(px * 10); }

template <typename Out>
Out FormatTenths(Out out, int64_t t) {
  if (t < 0) {
    *out++ = '-';
    t = -t;
  }
  out = fmt::format_to(out, "{}", t / 10);
  if (t % 10 != 0) {
    *out++ = '.';
    *out++ = static_cast<char>('0' + t % 10);
  }
  return out;
}

}  // namespace
}  // namespace herd

template <>
struct fmt::formatter<herd::Px> {
  constexpr auto parse(format_parse_context& ctx) { return ctx.begin(); }
  template <typename Ctx>
  auto format(herd::Px p, Ctx& ctx) const {
    return herd::FormatTenths(ctx.out(), herd::Tenths(p.v));
  }
};

namespace herd {
namespace {

// Sizes in px.
constexpr double kPad = 12;             // around the whole figure
constexpr double kFontSize = 12;        // ticks, legend, axis titles, row labels
constexpr double kTitleSize = 14;
constexpr double kNoteSize = 11;
constexpr double kWindowLabelSize = 10.5;
constexpr double kLegendRow = 18;
constexpr double kSwatchLine = 18;      // a line's swatch: a short stroke
constexpr double kSwatchBox = 11;       // an area's or state's swatch: a square
constexpr double kSwatchGap = 5;        // swatch to its label
constexpr double kLegendGap = 16;       // between legend items
constexpr double kLane = 14;            // a lane of window labels
constexpr double kLabelGap = 6;         // least room between two window labels
constexpr int kMaxLanes = 6;            // more labels than this go to tooltips only
constexpr double kStateRow = 22;
constexpr double kStateBar = 16;
constexpr double kAbovePlot = 8;        // half a y tick label sticks out above the plot
constexpr double kBelowPlot = 42;       // x tick labels and "time (s)"
constexpr double kRightMargin = 28;     // half the last x tick label
constexpr double kMinPlotHeight = 100;  // room for ~6 y tick labels
constexpr double kMinPlotWidth = 60;
constexpr int kYTicks = 5;              // intervals aimed at: about 6 labels
constexpr int kMaxYIntervals = 8;       // a finer step that wastes less room: at most 9 labels
constexpr int kXTicks = 8;

constexpr std::string_view kFontFamily = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
constexpr std::string_view kTextColour = "#333333";
constexpr std::string_view kMutedColour = "#666666";
constexpr std::string_view kAxisColour = "#444444";
constexpr std::string_view kGridColour = "#e5e5e5";

using Out = std::back_insert_iterator<std::string>;

// ---- Text ---------------------------------------------------------------

size_t CodepointLength(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  const size_t n = c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  return std::min(n, s.size() - i);
}

// No fonts are measured (the viewer picks the font), so widths are
// estimated, on the wide side: sans-serif glyphs average about 0.55 em,
// capitals and m/w nearer 0.8, CJK a whole em.
double TextWidth(std::string_view s, double size) {
  double em = 0;
  for (size_t i = 0; i < s.size(); i += CodepointLength(s, i)) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0xE0) {
      em += 1.0;
    } else if (c >= 0x80 || (c >= 'A' && c <= 'Z') || c == 'm' || c == 'w') {
      em += 0.8;
    } else {
      em += 0.6;
    }
  }
  return em * size;
}

// `s` cut short with an ellipsis so that it fits `max_width`.
std::string Fit(std::string_view s, double size, double max_width) {
  if (TextWidth(s, size) <= max_width) return std::string(s);
  constexpr std::string_view kEllipsis = "\u2026";
  const double room = max_width - TextWidth(kEllipsis, size);
  size_t end = 0;
  double used = 0;
  for (size_t i = 0; i < s.size();) {
    const size_t n = CodepointLength(s, i);
    used += TextWidth(s.substr(i, n), size);
    if (used > room) break;
    i += n;
    end = i;
  }
  return std::string(s.substr(0, end)) + std::string(kEllipsis);
}

// "1.50" -> "1.5", "2.00" -> "2", "120" -> "120".
std::string TrimZeros(std::string s) {
  if (s.find('.') == std::string::npos) return s;
  s.erase(s.find_last_not_of('0') + 1);
  if (s.back() == '.') s.pop_back();
  return s;
}

// x in [1e-4, 1000) with three significant digits.
std::string Significant(double x) {
  const int before_point = static_cast<int>(std::floor(std::log10(x) + 1e-9)) + 1;
  return TrimZeros(fmt::format("{:.{}f}", x, std::max(3 - before_point, 0)));
}

// ---- Ticks --------------------------------------------------------------

// A 1-2-5 step: mantissa * 10^exponent, kept apart so that tick values are
// computed exactly (3 * 0.1 would be 0.30000000000000004).
struct Step {
  int mantissa = 1;
  int exponent = 0;
  double Value() const { return Times(1); }
  double Times(int64_t i) const {
    const double m = static_cast<double>(i * mantissa);
    return exponent >= 0 ? m * std::pow(10.0, exponent) : m / std::pow(10.0, -exponent);
  }
};

// The smallest 1-2-5 step >= raw.
Step NiceStep(double raw) {
  if (!(raw > 0) || !std::isfinite(raw)) return {};
  int e = static_cast<int>(std::floor(std::log10(raw)));
  const double f = raw / std::pow(10.0, e);
  const double eps = 1e-9;
  if (f <= 1 + eps) return {1, e};
  if (f <= 2 + eps) return {2, e};
  if (f <= 5 + eps) return {5, e};
  return {1, e + 1};
}

struct YAxis {
  bool log = false;
  double lo = 0, hi = 1;       // the axis' ends (values)
  std::vector<double> ticks;   // labelled, with a grid line each
};

// The next 1-2-5 step down: 1 -> 0.5, 2 -> 1, 5 -> 2.
Step Finer(Step s) {
  if (s.mantissa == 1) return {5, s.exponent - 1};
  return {s.mantissa == 2 ? 1 : 2, s.exponent};
}

// From 0 (or a tick at or below the data's minimum when negative) to a
// tick >= the maximum. The step is the 1-2-5 step >= range / 5, or the
// next finer one when that wastes less room at either end and still makes
// at most kMaxYIntervals intervals: -10..600 in steps of 200 would start
// at -200, in steps of 100 it starts at -100. `whole`: every value is a
// whole number, so no step below 1.
YAxis LinearAxis(double lo, double hi, bool whole) {
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  if (!(hi > lo)) hi = lo + 1;  // all zero: still a readable 0..1 axis
  Step step = NiceStep(hi / kYTicks - lo / kYTicks);  // hi - lo may overflow
  if (whole && step.Value() < 1) step = {1, 0};
  const auto ends = [&](Step st) {
    const double s = st.Value();
    return std::pair{static_cast<int64_t>(std::floor(lo / s + 1e-9)), static_cast<int64_t>(std::ceil(hi / s - 1e-9))};
  };
  auto [first, last] = ends(step);
  const Step finer = Finer(step);
  if (!whole || finer.Value() >= 1) {
    const auto [f, l] = ends(finer);
    // Spans compared in units of the coarser step: hi - lo may overflow.
    const double ratio = finer.Value() / step.Value();
    if (l - f <= kMaxYIntervals && static_cast<double>(l - f) * ratio < static_cast<double>(last - first) - 1e-9) {
      step = finer;
      first = f;
      last = l;
    }
  }
  YAxis axis;
  for (int64_t i = first; i <= last; ++i) axis.ticks.push_back(step.Times(i));
  axis.lo = axis.ticks.front();
  axis.hi = axis.ticks.back();
  return axis;
}

// Whole decades around the data; 2 and 5 labelled too when there are at
// most two decades, and every n-th decade only when there are many.
YAxis LogAxis(double min_positive, double max) {
  int first = static_cast<int>(std::floor(std::log10(min_positive) + 1e-9));
  int last = static_cast<int>(std::ceil(std::log10(max) - 1e-9));
  if (last <= first) last = first + 1;
  const int every = (last - first + kYTicks) / (kYTicks + 1);  // ceil((last - first) / 6)
  last = first + (last - first + every - 1) / every * every;
  YAxis axis;
  axis.log = true;
  for (int d = first; d <= last; d += every) {
    axis.ticks.push_back(std::pow(10.0, d));
    if (last - first <= 2 && d < last) {
      axis.ticks.push_back(2 * std::pow(10.0, d));
      axis.ticks.push_back(5 * std::pow(10.0, d));
    }
  }
  axis.lo = axis.ticks.front();
  axis.hi = axis.ticks.back();
  return axis;
}

struct XAxis {
  std::vector<double> ticks;
  int decimals = 0;
};

std::string SecondsLabel(double t, int decimals) { return TrimZeros(fmt::format("{:.{}f}", t, decimals)); }

// Steps a reader counts time in: seconds, minutes, hours, days.
std::vector<Step> TimeSteps() {
  std::vector<Step> steps;
  for (int e = -3; e < 0; ++e) {
    for (int m : {1, 2, 5}) steps.push_back({m, e});
  }
  for (int s : {1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400}) {
    steps.push_back({s, 0});
  }
  for (int e = 0; e < 6; ++e) {
    for (int m : {2, 5, 10}) steps.push_back({m * 86400, e});
  }
  return steps;
}

// About 8 ticks, on the first step whose labels do not touch.
XAxis MakeXAxis(double x_min, double x_max, double plot_width) {
  const double range = x_max - x_min;
  XAxis axis;
  for (const Step& step : TimeSteps()) {
    const double s = step.Value();
    if (range / s > kXTicks) continue;
    const int decimals = s < 1 ? static_cast<int>(std::ceil(-std::log10(s) - 1e-9)) : 0;
    const auto first = static_cast<int64_t>(std::ceil(x_min / s - 1e-9));
    const auto last = static_cast<int64_t>(std::floor(x_max / s + 1e-9));
    if (last <= first) continue;  // fewer than two ticks say nothing
    double widest = 0;
    for (int64_t i : {first, last}) {
      widest = std::max(widest, TextWidth(SecondsLabel(step.Times(i), decimals), kFontSize));
    }
    if (plot_width * s / range < widest + 10) continue;
    axis.decimals = decimals;
    for (int64_t i = first; i <= last; ++i) axis.ticks.push_back(step.Times(i));
    return axis;
  }
  axis.decimals = range < 10 ? 2 : 0;
  axis.ticks = {x_min, x_max};
  return axis;
}

// ---- Data ---------------------------------------------------------------

struct Range {
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  bool any() const { return min <= max; }
  void Add(double v) {
    min = std::min(min, v);
    max = std::max(max, v);
  }
};

// Whether a point at x = t is drawn: in [x_min, x_max]; for a step line,
// whose value holds from t on, in [x_min, x_max): a bucket starting at the
// axis' end would be a zero-width step, a cliff at the right edge.
bool InRange(double t, double x_min, double x_max, bool step = false) {
  return std::isfinite(t) && t >= x_min && (step ? t < x_max : t <= x_max);
}

// A stack is drawn as steps when any of its layers is.
bool StepStack(const Chart& chart) {
  return std::any_of(chart.lines.begin(), chart.lines.end(), [](const ChartLine& c) { return c.step; });
}

bool Whole(double v) { return v == std::floor(v); }

std::string_view LineColour(const ChartLine& line, size_t i) {
  return line.colour.empty() ? kPalette[i % kPaletteSize] : std::string_view(line.colour);
}

// Stacked lines share one x: the longest line's. Each layer's top is the
// running sum of the layers up to it, NaN counting as 0.
struct Stack {
  std::vector<double> x;
  std::vector<std::vector<double>> tops;
  bool any_finite = false;  // in range: otherwise the chart has no data
};

Stack StackLines(const Chart& chart, double x_min, double x_max) {
  const bool step = StepStack(chart);
  Stack stack;
  for (const ChartLine& line : chart.lines) {
    if (line.x.size() > stack.x.size()) stack.x = line.x;
  }
  std::vector<double> sum(stack.x.size(), 0.0);
  for (const ChartLine& line : chart.lines) {
    for (size_t j = 0; j < sum.size() && j < line.y.size(); ++j) {
      if (!std::isfinite(line.y[j])) continue;
      sum[j] += line.y[j];
      if (InRange(stack.x[j], x_min, x_max, step)) stack.any_finite = true;
    }
    stack.tops.push_back(sum);
  }
  return stack;
}

std::pair<double, double> XRange(const Chart& chart) {
  if (std::isfinite(chart.x_min) && std::isfinite(chart.x_max) && chart.x_max > chart.x_min) {
    return {chart.x_min, chart.x_max};
  }
  // No usable range given: the data's own.
  Range r;
  auto add = [&r](double t) {
    if (std::isfinite(t)) r.Add(t);
  };
  for (const ChartLine& line : chart.lines) {
    for (double t : line.x) add(t);
  }
  for (const StateRow& row : chart.rows) {
    for (const StateSpan& s : row.spans) {
      add(s.start_s);
      add(s.end_s);
    }
  }
  if (r.any() && r.max > r.min) return {r.min, r.max};
  const double base = std::isfinite(chart.x_min) ? chart.x_min : r.any() ? r.min : 0;
  return {base, base + 1};
}

std::string_view StateClass(std::string_view state) {
  if (state == "healthy" || state == "unhealthy") return state;
  return "unknown";
}

std::string_view StateColour(std::string_view state_class) {
  if (state_class == "healthy") return "#009E73";
  if (state_class == "unhealthy") return "#D55E00";
  return "#BBBBBB";
}

// ---- Layout -------------------------------------------------------------

struct LegendItem {
  std::string label;   // fitted to the plot's width
  std::string colour;
  bool box = false;    // a filled square (areas, states), else a stroke
  bool dashed = false;
  double stroke = 2;
  double x = 0, y = 0; // the swatch's left, the row's middle
};

struct WindowDraw {
  const ChartWindow* window = nullptr;
  double start = 0, end = 0;              // clipped to the x range
  bool clipped_start = false, clipped_end = false;
  std::string label;                      // fitted; "" when in no lane
  int lane = -1;                          // 0: just above the plot
  double label_x = 0, label_y = 0;
};

struct Layout {
  Chart::Kind kind = Chart::Kind::kLines;
  double width = 0, height = 0;
  double left = 0, right = 0, top = 0, bottom = 0;  // the plot
  double x_min = 0, x_max = 1;
  bool empty = false;
  YAxis y;
  XAxis x;
  std::string title, note, y_label;
  double title_y = 0, note_y = 0;
  std::vector<LegendItem> legend;
  std::vector<WindowDraw> windows;
  std::vector<std::string> row_labels;

  double X(double t) const { return left + (t - x_min) / (x_max - x_min) * (right - left); }
  double Y(double v) const {
    const double f = y.log ? (std::log10(v) - std::log10(y.lo)) / (std::log10(y.hi) - std::log10(y.lo))
                           : (v - y.lo) / (y.hi - y.lo);
    return std::clamp(bottom - f * (bottom - top), top, bottom);
  }
};

// The y axis, from the values drawn, and whether there is anything to draw.
void LayOutValues(const Chart& chart, Layout& l) {
  Range r;
  bool whole = true;  // every value drawn a whole number
  const auto add = [&](double v) {
    r.Add(v);
    whole = whole && Whole(v);
  };
  if (chart.kind == Chart::Kind::kStacked) {
    const bool step = StepStack(chart);
    const Stack stack = StackLines(chart, l.x_min, l.x_max);
    for (const auto& top : stack.tops) {
      for (size_t j = 0; j < top.size(); ++j) {
        if (InRange(stack.x[j], l.x_min, l.x_max, step)) add(top[j]);
      }
    }
    l.empty = !stack.any_finite;
  } else {
    for (const ChartLine& line : chart.lines) {
      for (size_t i = 0; i < line.x.size() && i < line.y.size(); ++i) {
        const double v = line.y[i];
        if (std::isfinite(v) && (!l.y.log || v > 0) && InRange(line.x[i], l.x_min, l.x_max, line.step)) add(v);
      }
    }
    l.empty = !r.any();
  }
  if (l.y.log) {
    l.y = r.any() ? LogAxis(r.min, r.max) : LogAxis(1, 10);
  } else {
    l.y = r.any() ? LinearAxis(r.min, r.max, whole) : LinearAxis(0, 0, true);
  }
}

std::vector<LegendItem> LegendItems(const Chart& chart) {
  std::vector<LegendItem> items;
  if (chart.kind == Chart::Kind::kStates) {
    bool present[3] = {};
    constexpr std::string_view kStates[] = {"healthy", "unhealthy", "unknown"};
    for (const StateRow& row : chart.rows) {
      for (const StateSpan& s : row.spans) {
        const std::string_view c = StateClass(s.state);
        for (int k = 0; k < 3; ++k) present[k] |= c == kStates[k];
      }
    }
    for (int k = 0; k < 3; ++k) {
      if (present[k]) items.push_back({std::string(kStates[k]), std::string(StateColour(kStates[k])), true});
    }
    return items;
  }
  for (size_t i = 0; i < chart.lines.size(); ++i) {
    const ChartLine& line = chart.lines[i];
    if (line.label.empty()) continue;
    items.push_back({line.label, std::string(LineColour(line, i)), chart.kind == Chart::Kind::kStacked,
                     line.dashed, std::clamp(line.width, 1.5, 3.0)});
  }
  for (const LegendEntry& e : chart.legend_extra) {
    if (e.label.empty()) continue;
    items.push_back({e.label, e.colour.empty() ? std::string(kMutedColour) : e.colour, false, e.dashed,
                     std::clamp(e.width, 1.5, 3.0)});
  }
  return items;
}

double SwatchWidth(const LegendItem& item) { return item.box ? kSwatchBox : kSwatchLine; }

// Rows of items from the plot's left, wrapping at its right; returns the
// number of rows.
int WrapLegend(std::vector<LegendItem>& items, double left, double right, double first_row_middle) {
  double x = left;
  int row = 0;
  for (LegendItem& item : items) {
    const double swatch = SwatchWidth(item) + kSwatchGap;
    item.label = Fit(item.label, kFontSize, std::max(right - left - swatch, 0.0));
    const double w = swatch + TextWidth(item.label, kFontSize);
    if (x > left && x + w > right) {
      x = left;
      ++row;
    }
    item.x = x;
    item.y = first_row_middle + row * kLegendRow;
    x += w + kLegendGap;
  }
  return items.empty() ? 0 : row + 1;
}

// Windows clipped to the x range, in order of start; labels in lanes:
// each goes to the first lane where it touches no other label. Returns
// the number of lanes used. label_y is set later, once the plot's top is
// known.
int LayOutWindows(const Chart& chart, Layout& l) {
  std::vector<const ChartWindow*> sorted;
  for (const ChartWindow& w : chart.windows) {
    if (!std::isfinite(w.start_s) || !std::isfinite(w.end_s) || w.end_s < w.start_s) continue;
    if (w.end_s < l.x_min || w.start_s > l.x_max) continue;
    sorted.push_back(&w);
  }
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const ChartWindow* a, const ChartWindow* b) { return a->start_s < b->start_s; });
  std::vector<std::vector<std::pair<double, double>>> lanes;
  const double label_right = l.width - kPad;
  for (const ChartWindow* w : sorted) {
    WindowDraw d;
    d.window = w;
    d.clipped_start = w->start_s < l.x_min;
    d.clipped_end = w->end_s > l.x_max;
    d.start = std::max(w->start_s, l.x_min);
    d.end = std::min(w->end_s, l.x_max);
    if (!w->label.empty()) {
      const std::string text = Fit(w->label, kWindowLabelSize, std::max(label_right - l.left, 0.0));
      const double width = TextWidth(text, kWindowLabelSize);
      // Sticks out to the right of a narrow window, but not off the figure.
      double x = l.X(d.start) + 3;
      if (x + width > label_right) x = std::max(l.left, label_right - width);
      for (int k = 0; k < kMaxLanes && d.lane < 0; ++k) {
        if (k == static_cast<int>(lanes.size())) lanes.emplace_back();
        const bool free = std::none_of(lanes[k].begin(), lanes[k].end(), [&](const auto& box) {
          return x < box.second + kLabelGap && box.first < x + width + kLabelGap;
        });
        if (free) d.lane = k;
      }
      if (d.lane >= 0) {
        lanes[d.lane].push_back({x, x + width});
        d.label = text;
        d.label_x = x;
      }
    }
    l.windows.push_back(std::move(d));
  }
  int used = 0;
  for (size_t k = 0; k < lanes.size(); ++k) {
    if (!lanes[k].empty()) used = static_cast<int>(k) + 1;
  }
  return used;
}

// Left of the labels: the padding, and the rotated y title if any.
double LabelsStart(const Chart& chart) { return kPad + (chart.y_label.empty() ? 0 : kFontSize + 6); }

// A row label, cut short to fit `room` and at most 40 % of the figure.
std::string RowLabel(const StateRow& row, const Layout& l, double room) {
  return Fit(row.label, kFontSize, std::min(l.width * 0.4, room));
}

// The left margin that fits this chart's labels: the rotated y title,
// then the widest y tick or row label.
double FittedLeft(const Chart& chart, const Layout& l) {
  double widest = 0;
  if (chart.kind == Chart::Kind::kStates) {
    for (const StateRow& row : chart.rows) {
      widest = std::max(widest, TextWidth(RowLabel(row, l, l.width), kFontSize));
    }
  } else {
    for (double v : l.y.ticks) widest = std::max(widest, TextWidth(CompactNumber(v), kFontSize));
  }
  return LabelsStart(chart) + widest + 8;
}

// The x range and the y axis: all that the left margin depends on.
Layout StartLayout(const Chart& chart, const SvgOptions& options) {
  Layout l;
  l.kind = chart.kind;
  l.width = std::max(options.width, 1);
  std::tie(l.x_min, l.x_max) = XRange(chart);
  l.y.log = chart.log_y && chart.kind == Chart::Kind::kLines;  // a log stack would lie about the sum
  if (chart.kind == Chart::Kind::kStates) {
    l.empty = std::all_of(chart.rows.begin(), chart.rows.end(),
                          [](const StateRow& r) { return r.spans.empty(); });
  } else {
    LayOutValues(chart, l);
  }
  return l;
}

Layout ComputeLayout(const Chart& chart, const SvgOptions& options) {
  Layout l = StartLayout(chart, options);
  if (options.plot_left > 0) {
    // Shared with the other charts of the page: row labels fit it, or are
    // cut short.
    l.left = options.plot_left;
    for (const StateRow& row : chart.rows) {
      l.row_labels.push_back(RowLabel(row, l, std::max(l.left - 8 - LabelsStart(chart), 0.0)));
    }
  } else {
    l.left = FittedLeft(chart, l);
    for (const StateRow& row : chart.rows) l.row_labels.push_back(RowLabel(row, l, l.width));
  }
  l.right = std::max(l.width - kRightMargin, l.left + kMinPlotWidth);
  l.width = std::max(l.width, l.right + kRightMargin);
  l.x = MakeXAxis(l.x_min, l.x_max, l.right - l.left);

  // Top down: title, note, legend rows, window label lanes, the plot.
  double y = kPad;
  const double text_width = l.width - 2 * kPad;
  if (!chart.title.empty()) {
    l.title = Fit(chart.title, kTitleSize * 1.1, text_width);  // bold is wider
    l.title_y = y + 12;
    y += 18;
  }
  if (!chart.note.empty()) {
    l.note = Fit(chart.note, kNoteSize, text_width);
    l.note_y = y + 11;
    y += 16;
  }
  l.legend = LegendItems(chart);
  if (!l.legend.empty()) {
    y += 4;
    y += WrapLegend(l.legend, l.left, l.right, y + kLegendRow / 2) * kLegendRow;
  }
  const int lanes = LayOutWindows(chart, l);
  l.top = y + lanes * kLane + kAbovePlot;
  for (WindowDraw& w : l.windows) w.label_y = l.top - 4 - w.lane * kLane;

  double plot_height;
  if (chart.kind == Chart::Kind::kStates) {
    // options.height is ignored: a state chart is as tall as its rows
    // (three rows' room for "no data" when it has none).
    plot_height = (chart.rows.empty() ? 3 : static_cast<double>(chart.rows.size())) * kStateRow;
  } else {
    // Grows past options.height rather than squeeze the y ticks together
    // under a tall legend.
    plot_height = std::max(options.height - kBelowPlot - l.top, kMinPlotHeight);
  }
  l.bottom = l.top + plot_height;
  l.height = l.bottom + kBelowPlot;
  l.y_label = Fit(chart.y_label, kFontSize, plot_height);
  return l;
}

// ---- Paths --------------------------------------------------------------

struct Pt {
  double x, y;
};

// Path data in tenths of a pixel: absolute moves, relative lines (h, v or
// l), so that a long series costs a few bytes a point.
class PathWriter {
 public:
  explicit PathWriter(std::string& out) : out_(out) {}

  void MoveTo(Pt p) {
    x_ = Tenths(p.x);
    y_ = Tenths(p.y);
    out_ += 'M';
    Number(x_);
    out_ += ' ';
    Number(y_);
  }

  void LineTo(Pt p) {
    const int64_t x = Tenths(p.x), y = Tenths(p.y), dx = x - x_, dy = y - y_;
    if (dx == 0 && dy == 0) return;
    if (dy == 0) {
      out_ += 'h';
      Number(dx);
    } else if (dx == 0) {
      out_ += 'v';
      Number(dy);
    } else {
      out_ += 'l';
      Number(dx);
      if (dy > 0) out_ += ' ';
      Number(dy);
    }
    x_ = x;
    y_ = y;
  }

  void Polyline(const std::vector<Pt>& pts) {
    if (pts.empty()) return;
    MoveTo(pts.front());
    for (size_t i = 1; i < pts.size(); ++i) LineTo(pts[i]);
  }

  void Close() { out_ += 'Z'; }

 private:
  void Number(int64_t tenths) { FormatTenths(std::back_inserter(out_), tenths); }

  std::string& out_;
  int64_t x_ = 0, y_ = 0;
};

// Per pixel column: the first, lowest, highest and last point, in order,
// all at the column's first x. A spike survives; an hour at 1 s costs at
// most four points a pixel.
std::vector<Pt> Thin(const std::vector<Pt>& pts, double left) {
  std::vector<Pt> out;
  size_t i = 0;
  while (i < pts.size()) {
    const double column = std::floor(pts[i].x - left);
    size_t j = i, lo = i, hi = i;
    for (; j < pts.size() && std::floor(pts[j].x - left) == column; ++j) {
      if (pts[j].y < pts[lo].y) lo = j;
      if (pts[j].y > pts[hi].y) hi = j;
    }
    size_t keep[] = {i, lo, hi, j - 1};
    std::sort(std::begin(keep), std::end(keep));
    const size_t* end = std::unique(std::begin(keep), std::end(keep));
    for (const size_t* k = keep; k != end; ++k) out.push_back({pts[i].x, pts[*k].y});
    i = j;
  }
  return out;
}

// Stairs: each value holds until the next point's x, the last until end_x.
std::vector<Pt> Stairs(const std::vector<Pt>& pts, double end_x) {
  std::vector<Pt> out;
  out.reserve(pts.size() * 2);
  for (size_t k = 0; k < pts.size(); ++k) {
    out.push_back(pts[k]);
    out.push_back({k + 1 < pts.size() ? pts[k + 1].x : end_x, pts[k].y});
  }
  return out;
}

// Where the value at index `last` stops: the next x, or (for the final
// point) one more step of the same width; never past the x range.
double EndOf(const std::vector<double>& x, size_t last, double x_max) {
  double end = x[last];
  if (last + 1 < x.size() && std::isfinite(x[last + 1])) {
    end = x[last + 1];
  } else if (last > 0 && std::isfinite(x[last - 1])) {
    end = x[last] + (x[last] - x[last - 1]);
  }
  return std::min(end, x_max);
}

// A line's runs of drawable points (pixels); a NaN (or, on a log axis, a
// value <= 0) ends a run. end_x is where the run's last value stops.
struct Run {
  std::vector<Pt> pts;
  double end_x = 0;
};

std::vector<Run> Runs(const ChartLine& line, const Layout& l) {
  std::vector<Run> runs;
  Run run;
  size_t last = 0;
  auto finish = [&](double end_t) {
    if (run.pts.empty()) return;
    run.end_x = l.X(std::min(end_t, l.x_max));
    runs.push_back(std::move(run));
    run = {};
  };
  const size_t n = std::min(line.x.size(), line.y.size());
  for (size_t i = 0; i < n; ++i) {
    const double t = line.x[i], v = line.y[i];
    if (!std::isfinite(t) || t < l.x_min) continue;
    if (!InRange(t, l.x_min, l.x_max, line.step)) {  // past the axis' end: the last run ends there
      finish(l.x_max);
      break;
    }
    if (!std::isfinite(v) || (l.y.log && v <= 0)) {
      finish(t);
      continue;
    }
    run.pts.push_back({l.X(t), l.Y(v)});
    last = i;
  }
  if (!run.pts.empty()) finish(EndOf(line.x, last, l.x_max));
  return runs;
}

// ---- Drawing ------------------------------------------------------------

void OpenSvg(std::string& out, const Chart& chart, const SvgOptions& options, const Layout& l) {
  Out it(out);
  const std::string title = XmlEscape(chart.title);
  if (options.standalone) {
    out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    fmt::format_to(it,
                   "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"chart-{}\" width=\"{}\" "
                   "height=\"{}\" viewBox=\"0 0 {} {}\"",
                   XmlEscape(chart.id), Px{l.width}, Px{l.height}, Px{l.width}, Px{l.height});
  } else {
    // As wide as its container, in proportion: the page's CSS decides the
    // rest (a max-width here would fight the column's width).
    fmt::format_to(it,
                   "<svg class=\"chart\" id=\"chart-{}\" viewBox=\"0 0 {} {}\" width=\"100%\" "
                   "style=\"height:auto\"",
                   XmlEscape(chart.id), Px{l.width}, Px{l.height});
  }
  fmt::format_to(it, " role=\"img\" font-family=\"{}\" font-size=\"{}\">\n<title>{}</title>\n",
                 XmlEscape(kFontFamily), kFontSize, title);
  fmt::format_to(it, "<rect class=\"background\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>\n", Px{l.width},
                 Px{l.height});
}

void DrawHeading(std::string& out, const Layout& l) {
  Out it(out);
  if (!l.title.empty()) {
    fmt::format_to(it,
                   "<text class=\"title\" x=\"{}\" y=\"{}\" font-size=\"{}\" font-weight=\"bold\" "
                   "fill=\"#222222\">{}</text>\n",
                   Px{kPad}, Px{l.title_y}, kTitleSize, XmlEscape(l.title, false));
  }
  if (!l.note.empty()) {
    fmt::format_to(it, "<text class=\"note\" x=\"{}\" y=\"{}\" font-size=\"{}\" fill=\"{}\">{}</text>\n", Px{kPad},
                   Px{l.note_y}, kNoteSize, kMutedColour, XmlEscape(l.note, false));
  }
}

void DrawLegend(std::string& out, const Layout& l) {
  Out it(out);
  for (const LegendItem& item : l.legend) {
    out += "<g class=\"legend-item\">";
    if (item.box) {
      fmt::format_to(it, "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>", Px{item.x},
                     Px{item.y - kSwatchBox / 2}, kSwatchBox, kSwatchBox, XmlEscape(item.colour));
    } else {
      fmt::format_to(it, "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"{}\"{}/>",
                     Px{item.x}, Px{item.y}, Px{item.x + kSwatchLine}, Px{item.y}, XmlEscape(item.colour),
                     Px{item.stroke}, item.dashed ? " stroke-dasharray=\"4 2\"" : "");
    }
    fmt::format_to(it, "<text x=\"{}\" y=\"{}\" fill=\"{}\">{}</text></g>\n",
                   Px{item.x + SwatchWidth(item) + kSwatchGap}, Px{item.y + 4}, kTextColour,
                   XmlEscape(item.label, false));
  }
}

void DrawGrid(std::string& out, const Layout& l) {
  Out it(out);
  for (double v : l.y.ticks) {
    const double y = l.Y(v);
    fmt::format_to(it,
                   "<line class=\"grid\" data-value=\"{}\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" "
                   "shape-rendering=\"crispEdges\"/>\n",
                   v, Px{l.left}, Px{y}, Px{l.right}, Px{y}, kGridColour);
  }
}

void DrawWindows(std::string& out, const Layout& l) {
  Out it(out);
  for (const WindowDraw& w : l.windows) {
    const double x0 = l.X(w.start), x1 = l.X(w.end);
    const std::string tip = w.window->label.empty()
                                ? fmt::format("{:.1f}\u2013{:.1f} s", w.window->start_s, w.window->end_s)
                                : fmt::format("{}: {:.1f}\u2013{:.1f} s", w.window->label, w.window->start_s,
                                              w.window->end_s);
    fmt::format_to(it,
                   "<rect class=\"window\" data-start=\"{:.3f}\" data-end=\"{:.3f}\" x=\"{}\" y=\"{}\" "
                   "width=\"{}\" height=\"{}\" fill=\"#000000\" fill-opacity=\"0.07\"><title>{}</title></rect>\n",
                   w.window->start_s, w.window->end_s, Px{x0}, Px{l.top}, Px{x1 - x0}, Px{l.bottom - l.top},
                   XmlEscape(tip, false));
  }
}

// On a state chart, a darker band over the bars: the shading under them
// shows only in the gaps between rows. No tooltip: the bars' show through.
void DrawWindowShades(std::string& out, const Layout& l) {
  Out it(out);
  for (const WindowDraw& w : l.windows) {
    const double x0 = l.X(w.start), x1 = l.X(w.end);
    fmt::format_to(it,
                   "<rect class=\"window-shade\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#000000\" "
                   "fill-opacity=\"0.14\" pointer-events=\"none\"/>\n",
                   Px{x0}, Px{l.top}, Px{x1 - x0}, Px{l.bottom - l.top});
  }
}

// The tooltip of a line or a stacked layer: its label, if it has one.
std::string LineTitle(const ChartLine& line) {
  return line.label.empty() ? "" : fmt::format("<title>{}</title>", XmlEscape(line.label, false));
}

// Dashed lines at the starts and ends that fall inside the x range (a
// clipped side is not a real edge).
void DrawWindowEdges(std::string& out, const Layout& l) {
  Out it(out);
  auto edge = [&](double t) {
    const double x = l.X(t);
    fmt::format_to(it,
                   "<line class=\"window-edge\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#777777\" "
                   "stroke-width=\"0.8\" stroke-dasharray=\"3 3\"/>\n",
                   Px{x}, Px{l.top}, Px{x}, Px{l.bottom});
  };
  for (const WindowDraw& w : l.windows) {
    if (!w.clipped_start) edge(w.start);
    if (!w.clipped_end) edge(w.end);
  }
}

void DrawLines(std::string& out, const Chart& chart, const Layout& l) {
  Out it(out);
  const double max_points = 2 * (l.right - l.left);
  for (size_t i = 0; i < chart.lines.size(); ++i) {
    const ChartLine& line = chart.lines[i];
    const std::vector<Run> runs = Runs(line, l);
    size_t points = 0;
    for (const Run& r : runs) points += r.pts.size();
    if (points == 0) continue;
    std::string d;
    PathWriter path(d);
    for (const Run& r : runs) {
      std::vector<Pt> pts = points > max_points ? Thin(r.pts, l.left) : r.pts;
      if (line.step) {
        pts = Stairs(pts, r.end_x);
      } else if (pts.size() == 1) {
        pts.push_back({pts[0].x + 1, pts[0].y});  // a lone point between gaps: a dot, not nothing
      }
      path.Polyline(pts);
    }
    fmt::format_to(it,
                   "<path class=\"line\" data-label=\"{}\" d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" "
                   "stroke-linejoin=\"round\"{}>{}</path>\n",
                   XmlEscape(line.label), d, XmlEscape(LineColour(line, i)), Px{line.width},
                   line.dashed ? " stroke-dasharray=\"6 4\"" : "", LineTitle(line));
  }
}

// Each layer a closed polygon: its top edge left to right, then the layer
// below's top edge (or the zero line) back. Neighbours share the exact
// same edge, so the thin white stroke is the only gap.
void DrawStacked(std::string& out, const Chart& chart, const Layout& l) {
  if (l.empty) return;
  const Stack stack = StackLines(chart, l.x_min, l.x_max);
  const bool step = StepStack(chart);
  std::vector<size_t> visible;
  for (size_t j = 0; j < stack.x.size(); ++j) {
    if (InRange(stack.x[j], l.x_min, l.x_max, step)) visible.push_back(j);
  }
  if (visible.empty()) return;
  const bool thin = static_cast<double>(visible.size()) > 2 * (l.right - l.left);
  const double first_x = l.X(stack.x[visible.front()]);
  const double end_x = step ? l.X(EndOf(stack.x, visible.back(), l.x_max)) : l.X(stack.x[visible.back()]);
  auto edge = [&](const std::vector<double>& top) {
    std::vector<Pt> pts;
    pts.reserve(visible.size());
    for (size_t j : visible) pts.push_back({l.X(stack.x[j]), l.Y(top[j])});
    if (thin) pts = Thin(pts, l.left);
    return step ? Stairs(pts, end_x) : pts;
  };
  std::vector<Pt> below = {{first_x, l.Y(0)}, {end_x, l.Y(0)}};
  Out it(out);
  for (size_t i = 0; i < chart.lines.size(); ++i) {
    std::vector<Pt> above = edge(stack.tops[i]);
    std::string d;
    PathWriter path(d);
    path.Polyline(above);
    for (auto p = below.rbegin(); p != below.rend(); ++p) path.LineTo(*p);
    path.Close();
    fmt::format_to(it,
                   "<path class=\"line\" data-label=\"{}\" d=\"{}\" fill=\"{}\" fill-opacity=\"0.85\" "
                   "stroke=\"#ffffff\" stroke-width=\"0.5\" stroke-linejoin=\"round\">{}</path>\n",
                   XmlEscape(chart.lines[i].label), d, XmlEscape(LineColour(chart.lines[i], i)),
                   LineTitle(chart.lines[i]));
    below = std::move(above);
  }
}

void DrawStates(std::string& out, const Chart& chart, const Layout& l) {
  Out it(out);
  for (size_t r = 0; r < chart.rows.size(); ++r) {
    const StateRow& row = chart.rows[r];
    const double y = l.top + static_cast<double>(r) * kStateRow;
    fmt::format_to(it, "<text class=\"row-label\" x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"{}\">{}</text>\n",
                   Px{l.left - 8}, Px{y + kStateRow / 2 + 4}, kTextColour, XmlEscape(l.row_labels[r], false));
    for (const StateSpan& s : row.spans) {
      if (!std::isfinite(s.start_s) || !std::isfinite(s.end_s) || s.end_s < s.start_s) continue;
      if (s.end_s < l.x_min || s.start_s > l.x_max) continue;
      const double x0 = l.X(std::max(s.start_s, l.x_min)), x1 = l.X(std::min(s.end_s, l.x_max));
      const std::string_view cls = StateClass(s.state);
      const std::string tip = fmt::format("{}: {} {:.1f}\u2013{:.1f} s", row.label, s.state, s.start_s, s.end_s);
      fmt::format_to(it,
                     "<rect class=\"state {}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\">"
                     "<title>{}</title></rect>\n",
                     cls, Px{x0}, Px{y + (kStateRow - kStateBar) / 2}, Px{x1 - x0}, Px{kStateBar}, StateColour(cls),
                     XmlEscape(tip, false));
    }
  }
}

void DrawAxes(std::string& out, const Layout& l) {
  Out it(out);
  fmt::format_to(it,
                 "<g class=\"axes\" stroke=\"{}\" shape-rendering=\"crispEdges\">"
                 "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>",
                 kAxisColour, Px{l.left}, Px{l.bottom}, Px{l.right}, Px{l.bottom});
  if (l.kind != Chart::Kind::kStates) {
    fmt::format_to(it, "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>", Px{l.left}, Px{l.top}, Px{l.left},
                   Px{l.bottom});
  }
  for (double t : l.x.ticks) {
    const double x = l.X(t);
    fmt::format_to(it, "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>", Px{x}, Px{l.bottom}, Px{x},
                   Px{l.bottom + 4});
  }
  out += "</g>\n";
  for (double t : l.x.ticks) {
    fmt::format_to(it, "<text class=\"x-tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{}\">{}</text>\n",
                   Px{l.X(t)}, Px{l.bottom + 18}, kTextColour, SecondsLabel(t, l.x.decimals));
  }
  if (l.kind != Chart::Kind::kStates) {
    for (double v : l.y.ticks) {
      fmt::format_to(it,
                     "<text class=\"y-tick\" data-value=\"{}\" x=\"{}\" y=\"{}\" text-anchor=\"end\" "
                     "fill=\"{}\">{}</text>\n",
                     v, Px{l.left - 6}, Px{l.Y(v) + 4}, kTextColour, CompactNumber(v));
    }
  }
  fmt::format_to(it, "<text class=\"x-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{}\">time (s)</text>\n",
                 Px{(l.left + l.right) / 2}, Px{l.bottom + 34}, kTextColour);
  if (!l.y_label.empty()) {
    const double x = kPad + kFontSize - 2, y = (l.top + l.bottom) / 2;
    fmt::format_to(it,
                   "<text class=\"y-label\" x=\"{}\" y=\"{}\" transform=\"rotate(-90 {} {})\" text-anchor=\"middle\" "
                   "fill=\"{}\">{}</text>\n",
                   Px{x}, Px{y}, Px{x}, Px{y}, kTextColour, XmlEscape(l.y_label, false));
  }
}

void DrawWindowLabels(std::string& out, const Layout& l) {
  Out it(out);
  for (const WindowDraw& w : l.windows) {
    if (w.label.empty()) continue;
    fmt::format_to(it,
                   "<text class=\"window-label\" data-start=\"{:.3f}\" x=\"{}\" y=\"{}\" font-size=\"{}\" "
                   "fill=\"{}\">{}</text>\n",
                   w.window->start_s, Px{w.label_x}, Px{w.label_y}, kWindowLabelSize, kAxisColour,
                   XmlEscape(w.label, false));
  }
}

void DrawNoData(std::string& out, const Layout& l) {
  fmt::format_to(Out(out),
                 "<text class=\"no-data\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#888888\">"
                 "no data</text>\n",
                 Px{(l.left + l.right) / 2}, Px{(l.top + l.bottom) / 2 + 4});
}

}  // namespace

std::string RenderSvg(const Chart& chart, const SvgOptions& options) {
  const Layout l = ComputeLayout(chart, options);
  std::string out;
  out.reserve(8192);
  OpenSvg(out, chart, options, l);
  DrawHeading(out, l);
  DrawLegend(out, l);
  if (chart.kind != Chart::Kind::kStates) DrawGrid(out, l);
  // Windows go under the data; on a state chart the bars would hide them,
  // so a darker band and the edges go on top.
  DrawWindows(out, l);
  if (chart.kind != Chart::Kind::kStates) DrawWindowEdges(out, l);
  switch (chart.kind) {
    case Chart::Kind::kLines: DrawLines(out, chart, l); break;
    case Chart::Kind::kStacked: DrawStacked(out, chart, l); break;
    case Chart::Kind::kStates:
      DrawStates(out, chart, l);
      DrawWindowShades(out, l);
      DrawWindowEdges(out, l);
      break;
  }
  DrawAxes(out, l);
  DrawWindowLabels(out, l);
  if (l.empty) DrawNoData(out, l);
  out += "</svg>\n";
  return out;
}

int FitPlotLeft(const std::vector<Chart>& charts, const SvgOptions& options) {
  double left = 0;
  for (const Chart& c : charts) left = std::max(left, FittedLeft(c, StartLayout(c, options)));
  return static_cast<int>(std::ceil(left - 1e-9));
}

double XPixel(const Chart& chart, const SvgOptions& options, double t_s) {
  return ComputeLayout(chart, options).X(t_s);
}

std::string CompactNumber(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == 0) return "0";
  if (v < 0) return "-" + CompactNumber(-v);
  // Rounded first, so that the suffix fits the rounded value: 999,950 is
  // "1M", not "1000k".
  const std::string rounded = fmt::format("{:.2e}", v);
  double r = v;
  std::from_chars(rounded.data(), rounded.data() + rounded.size(), r);  // unlike stod, ignores the locale
  if (r >= 1e-4 && r < 1e3) return Significant(r);
  constexpr std::pair<double, std::string_view> kSuffixes[] = {{1e3, "k"}, {1e6, "M"}, {1e9, "G"}, {1e12, "T"}};
  for (const auto& [scale, suffix] : kSuffixes) {
    if (r >= scale && r < 1e3 * scale) return Significant(r / scale) + std::string(suffix);
  }
  // Tiny or huge: "1.23e-5", "4.5e15".
  const size_t e = rounded.find('e');
  return fmt::format("{}e{}", TrimZeros(rounded.substr(0, e)), std::stoi(rounded.substr(e + 1)));
}

}  // namespace herd
