#include "common/duration.h"

#include <cmath>
#include <cstdio>
#include <fmt/format.h>

namespace herd {
namespace {

struct Unit {
  std::string_view name;
  double nanos;
};

// Longest names first so "ms" is not read as "m" followed by junk.
constexpr Unit kUnits[] = {
    {"ns", 1}, {"us", 1e3}, {"µs", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9},
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool ParseDuration(std::string_view text, Duration* out, std::string* error) {
  std::string_view s = Trim(text);
  auto fail = [&] {
    *error = fmt::format("expected a duration like \"150ms\" or \"2s\", got \"{}\"", text);
    return false;
  };
  if (s == "0") {
    *out = Duration::zero();
    return true;
  }
  size_t i = 0;
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
  if (i == 0) return fail();
  std::string number(s.substr(0, i));
  std::string_view unit = s.substr(i);
  char* end = nullptr;
  double value = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size() || !std::isfinite(value)) return fail();
  for (const Unit& u : kUnits) {
    if (unit == u.name) {
      double nanos = value * u.nanos;
      if (nanos > 1e18) {
        *error = fmt::format("duration \"{}\" is too long", text);
        return false;
      }
      *out = Duration(static_cast<int64_t>(std::llround(nanos)));
      return true;
    }
  }
  return fail();
}

bool ParseDurationRange(std::string_view text, Duration* min, Duration* max, std::string* error) {
  std::string_view s = Trim(text);
  size_t dash = s.find('-');
  if (dash == std::string_view::npos) {
    if (!ParseDuration(s, min, error)) return false;
    *max = *min;
    return true;
  }
  if (!ParseDuration(s.substr(0, dash), min, error) ||
      !ParseDuration(s.substr(dash + 1), max, error)) {
    *error = fmt::format("expected a duration or a range like \"0ms-198ms\", got \"{}\"", text);
    return false;
  }
  if (*min > *max) {
    *error = fmt::format("range \"{}\" has its minimum above its maximum", text);
    return false;
  }
  return true;
}

std::string FormatDuration(Duration d) {
  int64_t ns = d.count();
  if (ns == 0) return "0s";
  struct Step {
    int64_t nanos;
    const char* name;
  };
  constexpr Step kSteps[] = {{3600'000'000'000, "h"}, {60'000'000'000, "m"}, {1'000'000'000, "s"},
                             {1'000'000, "ms"},       {1'000, "us"},          {1, "ns"}};
  for (const Step& step : kSteps) {
    if (std::llabs(ns) >= step.nanos) {
      if (ns % step.nanos == 0) return fmt::format("{}{}", ns / step.nanos, step.name);
      // Up to 3 decimals when exact at that precision (1.5s), else a smaller unit.
      if (step.nanos >= 1000 && ns % (step.nanos / 1000) == 0) {
        std::string text = fmt::format("{:.3f}", static_cast<double>(ns) / step.nanos);
        while (text.back() == '0') text.pop_back();
        return text + step.name;
      }
    }
  }
  return fmt::format("{}ns", ns);
}

double ToSeconds(Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace herd
