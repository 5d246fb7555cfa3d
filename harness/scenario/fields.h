// Reading one JSON object of a scenario at a time, with errors that name
// their JSON path and say what was expected (parse.h shows the format).
// Internal to scenario/: parse.cc and faults.cc share it.
#pragma once

#include <algorithm>
#include <cctype>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/duration.h"
#include "scenario/parse.h"

namespace herd::scenario_detail {

using json = nlohmann::json;

// Names of enumerations, one table each, used both ways (parse and resolve).
template <typename E>
using NameTable = std::initializer_list<std::pair<std::string_view, E>>;

template <typename E>
inline std::string NameOf(NameTable<E> table, E value) {
  for (const auto& [name, v] : table) {
    if (v == value) return std::string(name);
  }
  return "unknown";
}

// ---------------------------------------------------------------------------
// Messages.

inline bool IsPlainKey(std::string_view key) {
  if (key.empty()) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '$';
  });
}

// "fleets[0].retry" + "base". Keys that would make the path ambiguous
// (a user's typo may contain anything) are quoted: fleets[0]["a.b"].
// JSON text of a value for a message. Strings from --set come from the
// command line and may not be UTF-8; dump() would throw on them.
inline std::string Dump(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

inline std::string Quoted(std::string_view s) { return Dump(json(std::string(s))); }

inline std::string KeyPath(std::string_view parent, std::string_view key) {
  if (!IsPlainKey(key)) return fmt::format("{}[{}]", parent, Quoted(key));
  if (parent.empty()) return std::string(key);
  return fmt::format("{}.{}", parent, key);
}

inline std::string IndexPath(std::string_view parent, size_t index) {
  return fmt::format("{}[{}]", parent, index);
}

// What a value is, for "got ..." in messages: scalars as written, so the
// user recognises them (got 5, got "5"), containers by kind.
inline std::string Describe(const json& v) {
  if (v.is_object()) return "an object";
  if (v.is_array()) return "an array";
  std::string text = Dump(v);
  constexpr size_t kMax = 60;
  if (text.size() > kMax) text = text.substr(0, kMax) + "...";
  return text;
}

inline std::string QuotedList(const std::vector<std::string_view>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ", ";
    out += Quoted(names[i]);
  }
  return out;
}

// Optimal string alignment distance, case-insensitive: catches the usual
// typos, including swapped letters ("retyr" -> "retry" is 1).
inline size_t EditDistance(std::string_view a, std::string_view b) {
  auto lower = [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  };
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      const size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
          lower(a[i - 2]) == lower(b[j - 1])) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

// The known name closest to `word`, if it is close enough to be a typo of it.
inline std::optional<std::string_view> Closest(std::string_view word,
                                        const std::vector<std::string_view>& known) {
  std::optional<std::string_view> best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (std::string_view candidate : known) {
    const size_t distance = EditDistance(word, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  if (!best) return std::nullopt;
  const size_t limit = std::max<size_t>(2, std::max(word.size(), best->size()) / 3);
  if (best_distance > limit) return std::nullopt;
  return best;
}

// " (did you mean "x"?)" when there is a plausible x, else "".
inline std::string DidYouMean(std::string_view word, const std::vector<std::string_view>& known) {
  if (auto close = Closest(word, known)) return fmt::format(" (did you mean {}?)", Quoted(*close));
  return "";
}

// "did you mean" when there is a plausible one, else the whole list.
inline std::string Unknown(std::string_view what, std::string_view word,
                    const std::vector<std::string_view>& known) {
  std::string hint = DidYouMean(word, known);
  if (!hint.empty()) return std::string(what) + hint;
  return fmt::format("{} (expected one of: {})", what, QuotedList(known));
}

// Shortest form that reads back the same: 100, not 100.0.
inline std::string FormatNumber(double v) { return fmt::format("{}", v); }

class Errors {
 public:
  explicit Errors(std::vector<ParseError>* out) : out_(out), start_(out->size()) {}
  void Add(std::string path, std::string message) {
    out_->push_back(ParseError{std::move(path), std::move(message)});
  }
  bool any() const { return out_->size() > start_; }

 private:
  std::vector<ParseError>* out_;
  size_t start_;
};

// Lower bounds of numbers and durations: exclusive ones are "more than".
struct NumberRange {
  double min = -std::numeric_limits<double>::infinity();
  bool min_exclusive = false;
  double max = std::numeric_limits<double>::infinity();
};
inline constexpr NumberRange kNonNegative{0, false};
inline constexpr NumberRange kPositive{0, true};

struct DurationRange {
  Duration min = Duration::zero();
  bool min_exclusive = false;
};
inline constexpr DurationRange kPositiveDuration{Duration::zero(), true};

// ---------------------------------------------------------------------------
// Fields reads one JSON object. Each getter leaves *out alone (the default)
// when the field is absent, reports an error naming the field's path when
// it is present but wrong, and returns whether *out was set.

class Fields {
 public:
  Fields(const json& object, std::string path, Errors* errors, std::vector<std::string_view> known)
      : object_(object), path_(std::move(path)), errors_(errors), known_(std::move(known)) {
    for (const auto& [key, value] : object_.items()) {
      if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
        errors_->Add(At(key), Unknown("unknown field", key, known_));
      }
    }
  }

  std::string At(std::string_view key) const { return KeyPath(path_, key); }
  void Fail(std::string_view key, std::string message) const {
    errors_->Add(At(key), std::move(message));
  }

  // The raw value, or nullptr when the field is absent.
  const json* Find(std::string_view key) const {
    auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }
  bool Has(std::string_view key) const { return Find(key) != nullptr; }
  // Absent or null: for the fields where null means "none".
  bool HasValue(std::string_view key) const {
    const json* v = Find(key);
    return v != nullptr && !v->is_null();
  }

  bool ReadDuration(std::string_view key, Duration* out, DurationRange range = {}) const {
    const json* v = Find(key);
    if (!v) return false;
    Duration d{};
    std::string why;
    if (!v->is_string() || !ParseDuration(v->get_ref<const std::string&>(), &d, &why)) {
      Fail(key, "expected a duration like \"1s\", got " + Describe(*v));
      return false;
    }
    if (range.min_exclusive ? d <= range.min : d < range.min) {
      Fail(key, fmt::format("must be {} {}, got {}", range.min_exclusive ? "more than" : "at least",
                            FormatDuration(range.min), Describe(*v)));
      return false;
    }
    *out = d;
    return true;
  }

  template <typename T>
  bool ReadInteger(std::string_view key, T* out, int64_t min,
                   int64_t max = static_cast<int64_t>(std::numeric_limits<T>::max())) const {
    const json* v = Find(key);
    if (!v) return false;
    int64_t n = 0;
    if (!AsInteger(*v, &n)) {
      Fail(key, "expected an integer, got " + Describe(*v));
      return false;
    }
    if (n < min) {
      Fail(key, min == 0 ? "must not be negative, got " + Describe(*v)
                         : fmt::format("must be at least {}, got {}", min, Describe(*v)));
      return false;
    }
    if (n > max) {
      Fail(key, fmt::format("must be at most {}, got {}", max, Describe(*v)));
      return false;
    }
    *out = static_cast<T>(n);
    return true;
  }

  bool ReadNumber(std::string_view key, double* out, NumberRange range = {}) const {
    const json* v = Find(key);
    if (!v) return false;
    if (!v->is_number()) {
      Fail(key, "expected a number, got " + Describe(*v));
      return false;
    }
    const double x = v->get<double>();
    const bool low = range.min_exclusive ? x <= range.min : x < range.min;
    const bool high = x > range.max;
    if (low || high) {
      std::string problem;
      if (std::isfinite(range.min) && std::isfinite(range.max)) {
        problem = fmt::format("must be between {} and {}", FormatNumber(range.min),
                              FormatNumber(range.max));
      } else if (high) {
        problem = fmt::format("must be at most {}", FormatNumber(range.max));
      } else if (range.min == 0 && !range.min_exclusive) {
        problem = "must not be negative";
      } else {
        problem = fmt::format("must be {} {}", range.min_exclusive ? "more than" : "at least",
                              FormatNumber(range.min));
      }
      Fail(key, fmt::format("{}, got {}", problem, Describe(*v)));
      return false;
    }
    *out = x;
    return true;
  }

  bool ReadString(std::string_view key, std::string* out) const {
    const json* v = Find(key);
    if (!v) return false;
    if (!v->is_string()) {
      Fail(key, "expected a string, got " + Describe(*v));
      return false;
    }
    *out = v->get<std::string>();
    return true;
  }

  bool ReadBool(std::string_view key, bool* out) const {
    const json* v = Find(key);
    if (!v) return false;
    if (!v->is_boolean()) {
      Fail(key, "expected true or false, got " + Describe(*v));
      return false;
    }
    *out = v->get<bool>();
    return true;
  }

  template <typename E>
  bool ReadEnum(std::string_view key, E* out, NameTable<E> table) const {
    const json* v = Find(key);
    if (!v) return false;
    std::vector<std::string_view> names;
    for (const auto& [name, value] : table) names.push_back(name);
    if (v->is_string()) {
      const std::string& s = v->get_ref<const std::string&>();
      for (const auto& [name, value] : table) {
        if (name == s) {
          *out = value;
          return true;
        }
      }
      Fail(key, Unknown(fmt::format("unknown value {}", Quoted(s)), s, names));
      return false;
    }
    Fail(key, fmt::format("expected one of {}, got {}", QuotedList(names), Describe(*v)));
    return false;
  }

  // A nested object; nullptr when absent (or null, if `nullable`).
  const json* ReadObject(std::string_view key, bool nullable = false) const {
    const json* v = Find(key);
    if (!v || (nullable && v->is_null())) return nullptr;
    if (!v->is_object()) {
      Fail(key,
           fmt::format("expected an object{}, got {}", nullable ? " or null" : "", Describe(*v)));
      return nullptr;
    }
    return v;
  }

  const json* ReadArray(std::string_view key) const {
    const json* v = Find(key);
    if (!v) return nullptr;
    if (!v->is_array()) {
      Fail(key, "expected an array, got " + Describe(*v));
      return nullptr;
    }
    return v;
  }

  // Fields that make no sense in the object's current mode (rate in a
  // closed-model arrival): reported rather than silently ignored.
  void Reject(std::initializer_list<std::string_view> keys, std::string_view why) const {
    for (std::string_view key : keys) {
      if (Has(key)) Fail(key, fmt::format("{} is {}", key, why));
    }
  }

  // JSON Schema's "integer" accepts 1000.0 and 1e3; so does herd.
  static bool AsInteger(const json& v, int64_t* out) {
    if (v.is_number_unsigned()) {
      const uint64_t u = v.get<uint64_t>();
      *out = u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                 ? std::numeric_limits<int64_t>::max()
                 : static_cast<int64_t>(u);
      return true;
    }
    if (v.is_number_integer()) {
      *out = v.get<int64_t>();
      return true;
    }
    if (v.is_number_float()) {
      const double d = v.get<double>();
      if (std::trunc(d) == d && std::fabs(d) < 9e15) {
        *out = static_cast<int64_t>(d);
        return true;
      }
    }
    return false;
  }

 private:
  const json& object_;
  std::string path_;
  Errors* errors_;
  std::vector<std::string_view> known_;
};

// Names that become directory and file names (reports/<name>-<time>/) and
// CSV values: no separators, no "..", nothing a shell would mangle.
inline bool IsSafeName(std::string_view name, std::string* why) {
  constexpr size_t kMaxName = 100;
  if (name.empty()) {
    *why = "must not be empty";
    return false;
  }
  if (name.size() > kMaxName) {
    *why = fmt::format("must be at most {} characters, got {}", kMaxName, name.size());
    return false;
  }
  const bool ok =
      std::isalnum(static_cast<unsigned char>(name[0])) &&
      std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
      });
  if (!ok) {
    *why = fmt::format(
        "must start with a letter or digit and use only letters, digits, '-', '_' and '.', "
        "got {}",
        Quoted(name));
    return false;
  }
  return true;
}

}  // namespace herd::scenario_detail
