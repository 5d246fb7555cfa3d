// Logger writes kvd's log: one JSON object per line on stderr, so herd can
// keep it with a run and people can grep it ("keep good logs", Uptime).
#pragma once

#include <cstdio>
#include <mutex>
#include <string_view>

#include <nlohmann/json.hpp>

namespace kvd {

class Logger {
 public:
  explicit Logger(std::FILE* out = stderr) : out_(out) {}

  void Info(std::string_view msg, nlohmann::json fields = nlohmann::json::object()) {
    Write("info", msg, std::move(fields));
  }
  void Warn(std::string_view msg, nlohmann::json fields = nlohmann::json::object()) {
    Write("warn", msg, std::move(fields));
  }
  void Error(std::string_view msg, nlohmann::json fields = nlohmann::json::object()) {
    Write("error", msg, std::move(fields));
  }

  void Write(std::string_view level, std::string_view msg, nlohmann::json fields);

 private:
  std::mutex mu_;
  std::FILE* out_;
};

}  // namespace kvd
