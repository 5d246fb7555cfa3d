// Monitors: what a leak looks like from outside the process (DESIGN.md,
// Analyses, leaks). Sampled once a bucket per replica by the run, written
// to monitors.csv as t_s,monitor,replica,series,value.
//
//   process     from /proc/<pid> of a launched replica (or a given pid):
//               threads, open fds, RSS bytes, CPU seconds (user + system)
//   prometheus  a scrape of the replica's metrics path; each series is a
//               selector: "kvd_tasks" sums every sample of that metric (all
//               label sets); "kvd_requests_total{code=\"503\"}" sums the
//               samples whose labels include the ones given. Any Go service's
//               go_goroutines works the same way.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

namespace herd {

struct ProcessSample {
  int64_t threads = 0;
  int64_t fds = 0;          // entries of /proc/<pid>/fd
  int64_t rss_bytes = 0;
  double cpu_seconds = 0;   // utime + stime
};

// Reads /proc/<pid>/{stat,status,fd}. False with *error ("pid 123: no such
// process") when the process is gone or unreadable.
bool ReadProcess(pid_t pid, ProcessSample* out, std::string* error);

// The process series by name, in this order: "threads", "fds", "rss_bytes",
// "cpu_seconds".
std::vector<std::pair<std::string, double>> ProcessSeries(const ProcessSample& s);

// A parsed selector: metric name and required labels.
struct SeriesSelector {
  std::string metric;
  std::vector<std::pair<std::string, std::string>> labels;
};
// "name" or "name{a=\"x\",b=\"y\"}". False with *error naming what is wrong.
bool ParseSelector(std::string_view text, SeriesSelector* out, std::string* error);

// Sums the samples of the Prometheus text exposition format (version
// 0.0.4: # HELP/# TYPE lines, escaped label values, optional timestamps,
// NaN/+Inf) that match the selector. False when no sample matches.
bool SumSeries(std::string_view exposition, const SeriesSelector& selector, double* value);

// GET http://<address><path> with a timeout; the body on 200. False with
// *error otherwise (status, or the connection error).
bool Scrape(const std::string& address, const std::string& path, int timeout_ms, std::string* body,
            std::string* error);

}  // namespace herd
