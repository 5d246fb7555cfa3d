#include "observe/monitor.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <mutex>

#include <fmt/format.h>

#include "transport/http_call.h"

namespace herd {

namespace {

// ---- /proc ---------------------------------------------------------------

// Reads a whole (small, /proc) file. False with errno's value in *err.
bool ReadSmallFile(const std::string& path, std::string* out, int* err) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *err = errno;
    return false;
  }
  out->clear();
  char buf[4096];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out->append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      *err = errno;
      ::close(fd);
      return false;
    }
  }
  ::close(fd);
  return true;
}

std::string ProcError(pid_t pid, const std::string& what, int err) {
  if (err == ENOENT || err == ESRCH) return fmt::format("pid {}: no such process", pid);
  return fmt::format("pid {}: {}: {}", pid, what, std::strerror(err));
}

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimBlank(std::string_view s) {
  while (!s.empty() && (IsBlank(s.front()) || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (IsBlank(s.back()) || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

template <typename T>
bool ParseInteger(std::string_view s, T* out) {
  if (s.empty()) return false;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// The value of "Key:\t  123 kB" in /proc/<pid>/status (the number only).
bool StatusField(std::string_view status, std::string_view key, int64_t* out) {
  size_t pos = 0;
  while (pos < status.size()) {
    size_t end = status.find('\n', pos);
    if (end == std::string_view::npos) end = status.size();
    std::string_view line = status.substr(pos, end - pos);
    pos = end + 1;
    if (line.size() <= key.size() || line.substr(0, key.size()) != key ||
        line[key.size()] != ':')
      continue;
    std::string_view rest = TrimBlank(line.substr(key.size() + 1));
    const size_t space = rest.find_first_of(" \t");
    if (space != std::string_view::npos) rest = rest.substr(0, space);
    return ParseInteger(rest, out);
  }
  return false;
}

// ---- Prometheus text format ----------------------------------------------

bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }
bool IsLabelStart(char c) { return IsNameStart(c) && c != ':'; }
bool IsLabelChar(char c) { return IsNameChar(c) && c != ':'; }

void SkipBlank(std::string_view s, size_t* i) {
  while (*i < s.size() && IsBlank(s[*i])) ++*i;
}

// A metric name starting at *i ("" if none).
std::string_view TakeMetricName(std::string_view s, size_t* i) {
  const size_t start = *i;
  if (*i >= s.size() || !IsNameStart(s[*i])) return {};
  while (*i < s.size() && IsNameChar(s[*i])) ++*i;
  return s.substr(start, *i - start);
}

std::string_view TakeLabelName(std::string_view s, size_t* i) {
  const size_t start = *i;
  if (*i >= s.size() || !IsLabelStart(s[*i])) return {};
  while (*i < s.size() && IsLabelChar(s[*i])) ++*i;
  return s.substr(start, *i - start);
}

enum class QuoteResult { kOk, kNotQuoted, kUnterminated, kBadEscape };

// A double-quoted label value starting at *i, unescaped (\\, \", \n) into
// *out; *i ends past the closing quote.
QuoteResult TakeQuoted(std::string_view s, size_t* i, std::string* out) {
  out->clear();
  if (*i >= s.size() || s[*i] != '"') return QuoteResult::kNotQuoted;
  ++*i;
  while (*i < s.size()) {
    const char c = s[*i];
    if (c == '"') {
      ++*i;
      return QuoteResult::kOk;
    }
    if (c == '\n') return QuoteResult::kUnterminated;
    if (c == '\\') {
      if (*i + 1 >= s.size()) return QuoteResult::kUnterminated;
      const char e = s[*i + 1];
      if (e == '\\') out->push_back('\\');
      else if (e == '"') out->push_back('"');
      else if (e == 'n') out->push_back('\n');
      else return QuoteResult::kBadEscape;
      *i += 2;
      continue;
    }
    out->push_back(c);
    ++*i;
  }
  return QuoteResult::kUnterminated;
}

// A sample value as Go's strconv.ParseFloat reads it in practice: decimal or
// scientific notation, an optional sign, NaN, Inf, +Inf, -Inf (any case).
bool ParseSampleValue(std::string_view s, double* out) {
  if (s.empty()) return false;
  bool negative = false;
  if (s.front() == '+' || s.front() == '-') {
    negative = s.front() == '-';
    s.remove_prefix(1);
    if (s.empty() || s.front() == '+' || s.front() == '-') return false;
  }
  double v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  // from_chars reports out-of-range (1e999) as an error; Go gives +-Inf.
  // Rather than guess, such a line counts as malformed and is skipped.
  if (ec != std::errc() || p != s.data() + s.size()) return false;
  *out = negative ? -v : v;
  return true;
}

struct Label {
  std::string_view name;
  std::string value;
};

// One sample line: name, labels, value (timestamp checked, then dropped).
// False for anything malformed.
bool ParseSampleLine(std::string_view line, std::string_view want_metric, std::string_view* name,
                     std::vector<Label>* labels, double* value) {
  size_t i = 0;
  SkipBlank(line, &i);
  *name = TakeMetricName(line, &i);
  if (name->empty()) return false;
  // Only the metric asked for is worth parsing further.
  if (*name != want_metric) return false;
  if (i < line.size() && !IsBlank(line[i]) && line[i] != '{') return false;
  SkipBlank(line, &i);
  labels->clear();
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (true) {
      SkipBlank(line, &i);
      if (i >= line.size()) return false;
      if (line[i] == '}') {
        ++i;
        break;
      }
      Label label;
      label.name = TakeLabelName(line, &i);
      if (label.name.empty()) return false;
      SkipBlank(line, &i);
      if (i >= line.size() || line[i] != '=') return false;
      ++i;
      SkipBlank(line, &i);
      if (TakeQuoted(line, &i, &label.value) != QuoteResult::kOk) return false;
      labels->push_back(std::move(label));
      SkipBlank(line, &i);
      if (i >= line.size()) return false;
      if (line[i] == ',') {
        ++i;
      } else if (line[i] != '}') {
        return false;
      }
    }
    if (i < line.size() && !IsBlank(line[i])) return false;
  }
  SkipBlank(line, &i);
  // value
  size_t start = i;
  while (i < line.size() && !IsBlank(line[i])) ++i;
  if (!ParseSampleValue(line.substr(start, i - start), value)) return false;
  SkipBlank(line, &i);
  if (i >= line.size()) return true;
  // An OpenMetrics exemplar ("# {...} v") needs no timestamp before it.
  if (line[i] == '#') return true;
  start = i;
  while (i < line.size() && !IsBlank(line[i])) ++i;
  int64_t timestamp = 0;
  if (!ParseInteger(line.substr(start, i - start), &timestamp)) return false;
  SkipBlank(line, &i);
  return i >= line.size() || line[i] == '#';
}

bool LabelsInclude(const std::vector<Label>& have,
                   const std::vector<std::pair<std::string, std::string>>& want) {
  for (const auto& [name, value] : want) {
    bool found = false;
    for (const Label& l : have) {
      if (l.name == name && l.value == value) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

// ---- HTTP ----------------------------------------------------------------

// No metrics page is this big; past it the target is misbehaving.
constexpr size_t kMaxBody = 64u << 20;

}  // namespace

bool ReadProcess(pid_t pid, ProcessSample* out, std::string* error) {
  if (pid <= 0) {
    *error = fmt::format("pid {}: no such process", pid);
    return false;
  }
  const std::string dir = fmt::format("/proc/{}", pid);
  std::string text;
  int err = 0;

  // stat: "pid (comm) state ppid ... utime stime ...". comm may hold spaces
  // and ')', so the fields are counted from the last ')'.
  if (!ReadSmallFile(dir + "/stat", &text, &err)) {
    *error = ProcError(pid, dir + "/stat", err);
    return false;
  }
  const size_t paren = text.rfind(')');
  if (paren == std::string::npos) {
    *error = fmt::format("pid {}: {}/stat: unexpected format", pid, dir);
    return false;
  }
  std::string_view fields = std::string_view(text).substr(paren + 1);
  // Fields after comm, numbered as in proc(5): 3 state ... 14 utime, 15 stime.
  std::string_view state, utime, stime;
  {
    int field = 3;
    size_t i = 0;
    while (i < fields.size() && field <= 15) {
      while (i < fields.size() && (fields[i] == ' ' || fields[i] == '\n')) ++i;
      const size_t start = i;
      while (i < fields.size() && fields[i] != ' ' && fields[i] != '\n') ++i;
      if (start == i) break;
      const std::string_view token = fields.substr(start, i - start);
      if (field == 3) state = token;
      if (field == 14) utime = token;
      if (field == 15) stime = token;
      ++field;
    }
  }
  uint64_t user_ticks = 0, system_ticks = 0;
  if (state.empty() || !ParseInteger(utime, &user_ticks) || !ParseInteger(stime, &system_ticks)) {
    *error = fmt::format("pid {}: {}/stat: unexpected format", pid, dir);
    return false;
  }
  // A zombie has exited (only its parent has not reaped it yet): its
  // threads, memory and descriptors are gone.
  if (state == "Z" || state == "X" || state == "x") {
    *error = fmt::format("pid {}: exited (zombie, not yet reaped)", pid);
    return false;
  }
  const long ticks_per_second = sysconf(_SC_CLK_TCK);
  ProcessSample sample;
  sample.cpu_seconds = static_cast<double>(user_ticks + system_ticks) /
                       static_cast<double>(ticks_per_second > 0 ? ticks_per_second : 100);

  if (!ReadSmallFile(dir + "/status", &text, &err)) {
    *error = ProcError(pid, dir + "/status", err);
    return false;
  }
  if (!StatusField(text, "Threads", &sample.threads)) {
    *error = fmt::format("pid {}: {}/status: no Threads line", pid, dir);
    return false;
  }
  // Kernel threads have no VmRSS line: no user memory, 0.
  int64_t rss_kb = 0;
  if (StatusField(text, "VmRSS", &rss_kb)) sample.rss_bytes = rss_kb * 1024;

  DIR* fd_dir = ::opendir((dir + "/fd").c_str());
  if (!fd_dir) {
    *error = ProcError(pid, dir + "/fd", errno);
    return false;
  }
  // Reading our own fd table, the descriptor opendir just took is listed
  // too; it is not the process's, so it is not counted.
  const bool self = pid == ::getpid();
  const int own_fd = ::dirfd(fd_dir);
  int64_t fds = 0;
  errno = 0;
  while (const dirent* entry = ::readdir(fd_dir)) {
    const std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    int number = -1;
    if (self && ParseInteger(name, &number) && number == own_fd) continue;
    ++fds;
  }
  const int read_errno = errno;
  ::closedir(fd_dir);
  if (read_errno != 0) {
    *error = ProcError(pid, dir + "/fd", read_errno);
    return false;
  }
  sample.fds = fds;
  *out = sample;
  return true;
}

std::vector<std::pair<std::string, double>> ProcessSeries(const ProcessSample& s) {
  return {{"threads", static_cast<double>(s.threads)},
          {"fds", static_cast<double>(s.fds)},
          {"rss_bytes", static_cast<double>(s.rss_bytes)},
          {"cpu_seconds", s.cpu_seconds}};
}

bool ParseSelector(std::string_view text, SeriesSelector* out, std::string* error) {
  const std::string_view whole = text;
  auto fail = [&](std::string_view why) {
    *error = fmt::format("series \"{}\": {}", whole, why);
    return false;
  };
  text = TrimBlank(text);
  if (text.empty()) return fail("empty selector");
  size_t i = 0;
  SeriesSelector selector;
  selector.metric = std::string(TakeMetricName(text, &i));
  if (selector.metric.empty())
    return fail("expected a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) at the start");
  SkipBlank(text, &i);
  if (i >= text.size()) {
    *out = std::move(selector);
    return true;
  }
  if (text[i] != '{')
    return fail(fmt::format("unexpected '{}' after the metric name", text[i]));
  ++i;
  while (true) {
    SkipBlank(text, &i);
    if (i >= text.size()) return fail("missing '}'");
    if (text[i] == '}') {
      ++i;
      break;
    }
    const std::string_view name = TakeLabelName(text, &i);
    if (name.empty())
      return fail(fmt::format("expected a label name ([a-zA-Z_][a-zA-Z0-9_]*) at offset {}", i));
    SkipBlank(text, &i);
    const bool other_operator =
        (i < text.size() && text[i] == '!') ||
        (i + 1 < text.size() && text[i] == '=' && (text[i + 1] == '~' || text[i + 1] == '='));
    if (other_operator)
      return fail(fmt::format("label {}: only exact matches (label=\"value\") are supported", name));
    if (i >= text.size() || text[i] != '=')
      return fail(fmt::format("label {}: expected '=' and a quoted value", name));
    ++i;
    SkipBlank(text, &i);
    std::string value;
    switch (TakeQuoted(text, &i, &value)) {
      case QuoteResult::kOk: break;
      case QuoteResult::kNotQuoted:
        return fail(fmt::format("label {}: the value must be in double quotes", name));
      case QuoteResult::kUnterminated:
        return fail(fmt::format("label {}: unterminated value", name));
      case QuoteResult::kBadEscape:
        return fail(fmt::format("label {}: bad escape (only \\\\, \\\" and \\n)", name));
    }
    for (const auto& [seen, v] : selector.labels) {
      if (seen == name) return fail(fmt::format("label {} given twice", name));
    }
    selector.labels.emplace_back(std::string(name), std::move(value));
    SkipBlank(text, &i);
    if (i >= text.size()) return fail("missing '}'");
    if (text[i] == ',') {
      ++i;
    } else if (text[i] != '}') {
      return fail(fmt::format("expected ',' or '}}' after label {}", name));
    }
  }
  SkipBlank(text, &i);
  if (i < text.size()) return fail("unexpected text after '}'");
  *out = std::move(selector);
  return true;
}

bool SumSeries(std::string_view exposition, const SeriesSelector& selector, double* value) {
  double sum = 0;
  bool matched = false;
  std::vector<Label> labels;
  size_t pos = 0;
  while (pos < exposition.size()) {
    size_t end = exposition.find('\n', pos);
    if (end == std::string_view::npos) end = exposition.size();
    std::string_view line = exposition.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t i = 0;
    SkipBlank(line, &i);
    if (i >= line.size() || line[i] == '#') continue;  // blank, # HELP, # TYPE, comments
    std::string_view name;
    double v = 0;
    if (!ParseSampleLine(line, selector.metric, &name, &labels, &v)) continue;
    if (!LabelsInclude(labels, selector.labels)) continue;
    sum += v;
    matched = true;
  }
  *value = matched ? sum : 0;
  return matched;
}

bool Scrape(const std::string& address, const std::string& path, int timeout_ms, std::string* body,
            std::string* error) {
  const std::string url =
      "http://" + address + (path.empty() || path.front() != '/' ? "/" : "") + path;
  // A scrape must never hang the run: no timeout is not an option.
  const Duration timeout = std::chrono::milliseconds(timeout_ms > 0 ? timeout_ms : 5000);
  HttpCallResult r = HttpCall("GET", url, {"Accept: text/plain;version=0.0.4;q=1,*/*;q=0.1"}, "", timeout, kMaxBody);
  if (!r.done) {
    *error = r.error;
    return false;
  }
  if (r.status != 200) {
    std::string_view first = r.body;
    first = first.substr(0, first.find('\n'));
    if (first.size() > 200) first = first.substr(0, 200);
    first = TrimBlank(first);
    *error = first.empty() ? fmt::format("GET {}: status {}", url, r.status)
                           : fmt::format("GET {}: status {} {}", url, r.status, first);
    return false;
  }
  *body = std::move(r.body);
  return true;
}

}  // namespace herd
