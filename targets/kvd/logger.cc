#include "logger.h"

#include <chrono>
#include <fmt/chrono.h>
#include <fmt/format.h>

namespace kvd {

void Logger::Write(std::string_view level, std::string_view msg, nlohmann::json fields) {
  auto now = std::chrono::system_clock::now();
  nlohmann::json line = nlohmann::json::object();
  line["ts"] = fmt::format("{:%Y-%m-%dT%H:%M:%S}Z",
                           std::chrono::floor<std::chrono::microseconds>(now));
  line["level"] = level;
  line["msg"] = msg;
  if (fields.is_object()) line.update(fields);
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text += '\n';
  std::lock_guard lock(mu_);
  std::fwrite(text.data(), 1, text.size(), out_);
  std::fflush(out_);
}

}  // namespace kvd
