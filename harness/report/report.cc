#include "report/report.h"

#include "report/charts.h"
#include "report/html.h"
#include "report/run_data.h"
#include "report/run_dir.h"
#include "report/svg.h"

namespace herd {

ReportOutcome WriteReport(const std::filesystem::path& dir) {
  ReportOutcome outcome;
  RunDir out;
  if (!RunDir::Open(dir, &out, &outcome.error)) return outcome;
  const RunData run = LoadRunDir(dir);
  outcome.problems = run.problems;
  const std::vector<Chart> charts = BuildCharts(run);
  SvgOptions figure;
  figure.standalone = true;
  figure.width = 800;  // a column of a design doc at 100%, a paper's page width at 80%
  figure.height = 300;
  figure.plot_left = FitPlotLeft(charts, figure);  // one margin: the figures' time axes line up too
  for (const Chart& c : charts) {
    if (!out.Write("figures/" + c.id + ".svg", RenderSvg(c, figure), &outcome.error)) return outcome;
    ++outcome.figures;
  }
  if (!out.Write("report.html", ReportHtml(run, charts), &outcome.error)) return outcome;
  outcome.written = true;
  return outcome;
}

}  // namespace herd
