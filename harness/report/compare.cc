#include "report/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

namespace herd {

using nlohmann::json;

namespace {

// --- reading summary.json ---------------------------------------------------

// The number at `path` below `j`; nullopt when any step is missing, is not
// an object, or the value is null, not a number or not finite. summary.json
// writes null for what it could not measure, and a comparison treats that
// exactly like a field that is not there.
std::optional<double> Number(const json& j, std::initializer_list<const char*> path) {
  const json* at = &j;
  for (const char* key : path) {
    if (!at->is_object()) return std::nullopt;
    const auto it = at->find(key);
    if (it == at->end()) return std::nullopt;
    at = &*it;
  }
  if (!at->is_number()) return std::nullopt;
  const double value = at->get<double>();
  if (!std::isfinite(value)) return std::nullopt;
  return value;
}

std::string FleetName(const json& fleet) { return fleet.at("name").get<std::string>(); }

// The objects of `list` that carry a string "name": fleets in summary
// fleets[] and in analyses.fleets[]. Anything else is not a fleet one could
// match, so it is skipped rather than trusted.
std::vector<const json*> NamedObjects(const json* list) {
  std::vector<const json*> out;
  if (list == nullptr || !list->is_array()) return out;
  for (const json& item : *list) {
    if (item.is_object() && item.contains("name") && item["name"].is_string()) out.push_back(&item);
  }
  return out;
}

const json* Member(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  const auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

const json* FindByName(const std::vector<const json*>& objects, const std::string& name) {
  for (const json* o : objects) {
    if (FleetName(*o) == name) return o;
  }
  return nullptr;
}

// --- the headline figures ---------------------------------------------------

// A fleet with nothing offered has amplification 0 and latencies of 0 in
// summary.json: placeholders, not measurements, so they read as missing.
bool NothingOffered(const json& fleet) { return Number(fleet, {"totals", "offered"}) == 0.0; }

std::optional<double> Latency(const json& fleet, const char* kind, const char* quantile) {
  if (Number(fleet, {"latency_ms", kind, "count"}) == 0.0) return std::nullopt;
  return Number(fleet, {"latency_ms", kind, quantile});
}

std::optional<double> Goodput(const RunData&, const json& fleet) { return Number(fleet, {"rates_per_s", "goodput"}); }

std::optional<double> SuccessRatio(const RunData&, const json& fleet) {
  const std::optional<double> offered = Number(fleet, {"totals", "offered"});
  const std::optional<double> succeeded = Number(fleet, {"totals", "succeeded"});
  if (!offered || !succeeded || *offered <= 0) return std::nullopt;
  return *succeeded / *offered;
}

std::optional<double> Amplification(const RunData&, const json& fleet) {
  if (NothingOffered(fleet)) return std::nullopt;
  return Number(fleet, {"amplification"});
}

// Window i of analyses is the i-th *applied* fault of summary faults[]
// (herd run builds its analysis windows from exactly those); its end is
// where recovery starts counting.
std::optional<double> WindowEnd(const json& summary, size_t window) {
  const json* faults = Member(summary, "faults");
  if (faults == nullptr || !faults->is_array()) return std::nullopt;
  size_t index = 0;
  for (const json& fault : *faults) {
    if (!fault.is_object()) continue;
    const auto applied = fault.find("applied");
    if (applied != fault.end() && applied->is_boolean() && !applied->get<bool>()) continue;
    if (index++ == window) return Number(fault, {"end_s"});
  }
  return std::nullopt;
}

// How long a window that never recovered took: the rest of the run after
// it, per the header. Unknown when the run length or the window's end is.
std::optional<double> RestOfRun(const RunData& run, const json& entry, size_t position) {
  std::optional<double> elapsed = Number(run.summary, {"elapsed_s"});
  if (!elapsed && run.end_s > 0) elapsed = run.end_s;
  const std::optional<double> index = Number(entry, {"window"});
  const size_t window = index && *index >= 0 ? static_cast<size_t>(*index) : position;
  const std::optional<double> end = WindowEnd(run.summary, window);
  if (!elapsed || !end) return std::nullopt;
  return std::max(0.0, *elapsed - *end);
}

// The fleet's entry in analyses.fleets[], matched by name like the fleets.
const json* FleetAnalysis(const json& summary, const std::string& name) {
  const json* analyses = Member(summary, "analyses");
  return analyses ? FindByName(NamedObjects(Member(*analyses, "fleets")), name) : nullptr;
}

// The longest recovery of the fleet's windows (analyses.fleets[].recovery).
// A window with target_goodput_per_s null was not judged (no goodput before
// the first fault to recover to), so it is skipped; recovery_s null on a
// judged window means it never recovered. Nullopt when no window was judged,
// or when a window never recovered and the rest of the run is unknown (a
// guess would either hide or invent a regression).
std::optional<double> LongestRecovery(const RunData& run, const json& fleet) {
  const json* analysis = FleetAnalysis(run.summary, FleetName(fleet));
  const json* windows = analysis ? Member(*analysis, "recovery") : nullptr;
  if (windows == nullptr || !windows->is_array()) return std::nullopt;
  std::optional<double> longest;
  for (size_t i = 0; i < windows->size(); ++i) {
    const json& entry = (*windows)[i];
    if (!Number(entry, {"target_goodput_per_s"})) continue;
    std::optional<double> recovery = Number(entry, {"recovery_s"});
    if (!recovery) recovery = RestOfRun(run, entry, i);
    if (!recovery) return std::nullopt;
    longest = std::max(longest.value_or(0.0), *recovery);
  }
  return longest;
}

enum class Worse { kHigher, kLower };

struct MetricSpec {
  const char* name;
  Worse worse;
  // The smallest change in the bad direction that counts, in the metric's
  // unit: percentages alone would flag 0.2 ms -> 0.4 ms on loopback.
  double floor;
  std::optional<double> (*read)(const RunData& run, const json& fleet);
};

// The header's table, in its order.
constexpr MetricSpec kMetrics[] = {
    {"goodput_per_s", Worse::kLower, 1.0, Goodput},
    {"success_ratio", Worse::kLower, 0.01, SuccessRatio},
    {"amplification", Worse::kHigher, 0.01, Amplification},
    {"p50_ms", Worse::kHigher, 1.0, [](const RunData&, const json& f) { return Latency(f, "attempt", "p50"); }},
    {"p90_ms", Worse::kHigher, 1.0, [](const RunData&, const json& f) { return Latency(f, "attempt", "p90"); }},
    {"p99_ms", Worse::kHigher, 1.0, [](const RunData&, const json& f) { return Latency(f, "attempt", "p99"); }},
    {"e2e_p99_ms", Worse::kHigher, 1.0, [](const RunData&, const json& f) { return Latency(f, "e2e", "p99"); }},
    {"recovery_s", Worse::kHigher, 1.0, LongestRecovery},
};

const MetricSpec* FindMetric(std::string_view name) {
  for (const MetricSpec& m : kMetrics) {
    if (name == m.name) return &m;
  }
  return nullptr;
}

// --- comparing --------------------------------------------------------------

double ChangePct(double base, double candidate) {
  if (base == 0) {
    if (candidate == 0) return 0;
    return candidate > 0 ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
  }
  return (candidate - base) / base * 100;
}

bool Regressed(const MetricSpec& metric, double base, double candidate, double change_pct, double tolerance_pct) {
  const bool higher_is_worse = metric.worse == Worse::kHigher;
  const double worse_by = higher_is_worse ? candidate - base : base - candidate;
  const double worse_pct = higher_is_worse ? change_pct : -change_pct;
  return worse_pct > tolerance_pct && worse_by > metric.floor;
}

HeadlineChange Change(const MetricSpec& metric, const std::string& fleet, std::optional<double> base,
                      std::optional<double> candidate, double tolerance_pct) {
  HeadlineChange c;
  c.fleet = fleet;
  c.metric = metric.name;
  c.base = base;
  c.candidate = candidate;
  c.tolerance_pct = tolerance_pct;
  c.lower_is_worse = metric.worse == Worse::kLower;
  if (base && candidate) {
    c.change_pct = ChangePct(*base, *candidate);
    c.regressed = Regressed(metric, *base, *candidate, c.change_pct, tolerance_pct);
  }
  return c;
}

double ToleranceFor(const MetricSpec& metric, const std::map<std::string, double>& tolerances) {
  const auto it = tolerances.find(metric.name);
  return it == tolerances.end() ? kDefaultTolerancePct : it->second;
}

void CompareFleet(const RunData& base, const json& base_fleet, const RunData& candidate, const json& candidate_fleet,
                  const std::map<std::string, double>& tolerances, std::vector<HeadlineChange>* out) {
  const std::string name = FleetName(base_fleet);
  for (const MetricSpec& metric : kMetrics) {
    out->push_back(Change(metric, name, metric.read(base, base_fleet), metric.read(candidate, candidate_fleet),
                          ToleranceFor(metric, tolerances)));
  }
}

// --- ParseMaxRegression -----------------------------------------------------

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string KnownMetrics() { return fmt::format("{}", fmt::join(HeadlineMetrics(), ", ")); }

// "12.5" or "12.5%": a finite number >= 0.
std::optional<double> ParsePercent(std::string_view text) {
  if (!text.empty() && text.back() == '%') text = Trim(text.substr(0, text.size() - 1));
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (!std::isfinite(value) || value < 0) return std::nullopt;
  return value;
}

bool Fail(std::string_view arg, std::string_view why, std::string* error) {
  if (error != nullptr) {
    *error = fmt::format("--max-regression '{}': {} (metrics: {})", arg, why, KnownMetrics());
  }
  return false;
}

// --- ComparisonText ---------------------------------------------------------

// Three significant digits, but never a float's exponent for values a run
// produces (147 not 1.47e+02), and never more than 2 decimals from 1 up.
std::string FormatNumber(double v) {
  if (v == 0) return "0";
  const double a = std::abs(v);
  if (a >= 100) return fmt::format("{:.0f}", v);
  if (a >= 10) return fmt::format("{:.1f}", v);
  if (a >= 1) return fmt::format("{:.2f}", v);
  return fmt::format("{:.3g}", v);
}

std::string FormatValue(const std::optional<double>& v) { return v ? FormatNumber(*v) : "-"; }

std::string FormatChange(const HeadlineChange& c) {
  if (!c.base || !c.candidate) return "-";
  if (std::isinf(c.change_pct)) return c.change_pct > 0 ? "+inf%" : "-inf%";
  return fmt::format("{:+.1f}%", c.change_pct);
}

// The tolerance points the way the metric gets worse, so "(max -20%)" on
// goodput reads as "may drop by 20%".
std::string FormatTolerance(const HeadlineChange& c) {
  return fmt::format("(max {}{:g}%)", c.lower_is_worse ? '-' : '+', c.tolerance_pct);
}

struct Row {
  std::string fleet, metric, base, candidate, change, tolerance;
  bool regressed = false;
};

Row MakeRow(const HeadlineChange& c) {
  return {c.fleet, c.metric, FormatValue(c.base), FormatValue(c.candidate), FormatChange(c), FormatTolerance(c),
          c.regressed};
}

}  // namespace

const std::vector<std::string>& HeadlineMetrics() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const MetricSpec& m : kMetrics) out.emplace_back(m.name);
    return out;
  }();
  return names;
}

bool ParseMaxRegression(std::string_view arg, std::map<std::string, double>* tolerances, std::string* error) {
  const size_t eq = arg.find('=');
  if (eq == std::string_view::npos) return Fail(arg, "expected METRIC=PERCENT, like p99_ms=10", error);
  const std::string_view name = Trim(arg.substr(0, eq));
  if (FindMetric(name) == nullptr) return Fail(arg, fmt::format("unknown metric '{}'", name), error);
  const std::optional<double> pct = ParsePercent(Trim(arg.substr(eq + 1)));
  if (!pct) return Fail(arg, "the percentage must be a number >= 0", error);
  (*tolerances)[std::string(name)] = *pct;
  return true;
}

Comparison Compare(const RunData& base, const RunData& candidate,
                   const std::map<std::string, double>& tolerances) {
  Comparison out;
  const std::vector<const json*> base_fleets = NamedObjects(Member(base.summary, "fleets"));
  const std::vector<const json*> candidate_fleets = NamedObjects(Member(candidate.summary, "fleets"));
  if (!base.summary.is_object()) out.notes.push_back("the base has no readable summary.json");
  if (!candidate.summary.is_object()) out.notes.push_back("the candidate has no readable summary.json");

  bool any_common = false;
  for (const json* fleet : base_fleets) {
    const json* match = FindByName(candidate_fleets, FleetName(*fleet));
    if (match == nullptr) {
      out.notes.push_back(fmt::format("fleet '{}' only in the base", FleetName(*fleet)));
      continue;
    }
    any_common = true;
    CompareFleet(base, *fleet, candidate, *match, tolerances, &out.changes);
  }
  for (const json* fleet : candidate_fleets) {
    if (FindByName(base_fleets, FleetName(*fleet)) == nullptr) {
      out.notes.push_back(fmt::format("fleet '{}' only in the candidate", FleetName(*fleet)));
    }
  }
  if (!any_common) out.notes.push_back("no fleet is in both runs: nothing was compared");

  out.regressed = std::any_of(out.changes.begin(), out.changes.end(),
                              [](const HeadlineChange& c) { return c.regressed; });
  return out;
}

std::string ComparisonText(const Comparison& comparison) {
  std::vector<Row> rows;
  rows.reserve(comparison.changes.size());
  for (const HeadlineChange& c : comparison.changes) rows.push_back(MakeRow(c));

  size_t fleet = 0, metric = 0, base = 0, candidate = 0, change = 0, tolerance = 0;
  for (const Row& r : rows) {
    fleet = std::max(fleet, r.fleet.size());
    metric = std::max(metric, r.metric.size());
    base = std::max(base, r.base.size());
    candidate = std::max(candidate, r.candidate.size());
    change = std::max(change, r.change.size());
    tolerance = std::max(tolerance, r.tolerance.size());
  }

  std::string out;
  for (const Row& r : rows) {
    out += fmt::format("{:<{}}  {:<{}}  {:>{}} -> {:>{}}  {:>{}} ", r.fleet, fleet, r.metric, metric, r.base, base,
                       r.candidate, candidate, r.change, change);
    // Only a regressed line has anything after the tolerance, so only it
    // is padded: no line ends in blanks.
    out += r.regressed ? fmt::format("{:<{}}  REGRESSED\n", r.tolerance, tolerance) : r.tolerance + "\n";
  }
  for (const std::string& note : comparison.notes) out += fmt::format("note: {}\n", note);

  const auto regressions = std::count_if(comparison.changes.begin(), comparison.changes.end(),
                                         [](const HeadlineChange& c) { return c.regressed; });
  if (comparison.regressed || regressions > 0) {
    out += fmt::format("verdict: regression ({} metric{})\n", regressions, regressions == 1 ? "" : "s");
  } else {
    out += "verdict: pass\n";
  }
  return out;
}

}  // namespace herd
