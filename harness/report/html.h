// report.html: one self-contained page a person opens offline and reads in
// a minute. No scripts, no external fonts, images or styles: the CSS is in
// the page and the charts are inline SVG (tooltips are SVG <title>s). The
// markup is well-formed XML as well as HTML, so tests parse it with an XML
// parser.
//
// Top to bottom:
//  1. the scenario's name, its verdict as a coloured badge, started at, run
//     length, herd's version and revision, the seed;
//  2. "Could not read", when RunData::problems is not empty, one item each;
//  3. the gates: result, name, metric, scope, measured value (with its
//     unit), bound; one row per measured value, failed gates first;
//  4. the charts (BuildCharts), in order;
//  5. tables: totals per fleet (rates, success ratio, amplification,
//     latency, and the outcomes that occurred); phases (phase, span, and
//     per fleet the same figures);
//     faults (start, end, kind, replica, detail); analyses (storm,
//     spreading and recovery per window, throttling, probes, monitors,
//     durability), each only when the summary has it;
//  6. the resolved scenario as indented JSON, and a footer with herd's
//     version and the seed again.
#pragma once

#include <string>
#include <vector>

#include "report/compare.h"
#include "report/run_data.h"
#include "report/svg.h"

namespace herd {

std::string ReportHtml(const RunData& run, const std::vector<Chart>& charts);

// compare.html: both runs (name, directory as text, verdict, seed), the
// comparison table with regressions highlighted and the verdict, notes,
// then `charts` (BuildCompareCharts). Self-contained as report.html is.
std::string ComparisonHtml(const RunData& base, const RunData& candidate, const Comparison& comparison,
                           const std::vector<Chart>& charts);

// The parts every herd page shares, so report.html and compare.html look
// alike: the opening of the document up to <body> (title, inline CSS) and
// its end.
std::string PageStart(std::string_view title);
std::string PageEnd();

}  // namespace herd
