// Durations as people write them in scenarios, flags and admin calls:
// "150ms", "2s", "1m", "1.5s", "250us", "1h", and plain "0". One parser for
// herd and kvd, so "2s" means the same thing everywhere.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace herd {

using Duration = std::chrono::nanoseconds;

// Parses text into *out. Returns false and sets *error (what was expected)
// when the text is not a non-negative duration with a unit.
bool ParseDuration(std::string_view text, Duration* out, std::string* error);

// A range "0ms-198ms" (uniform between the two) or a single duration (both
// ends equal). Fails when min > max.
bool ParseDurationRange(std::string_view text, Duration* min, Duration* max, std::string* error);

// The shortest exact spelling: 1500ms -> "1.5s", 0 -> "0s", 250us -> "250us".
std::string FormatDuration(Duration d);

double ToSeconds(Duration d);

}  // namespace herd
