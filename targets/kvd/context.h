// Context is what kvd's frontends share: the parts of the server they call
// into. The server (server.h) owns every part; frontends only borrow them.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "config.h"
#include "connections.h"
#include "faults.h"
#include "logger.h"
#include "metrics.h"
#include "service.h"

namespace kvd {

class Context {
 public:
  virtual ~Context() = default;
  virtual const Config& config() const = 0;
  virtual Service& service() = 0;
  virtual Metrics& metrics() = 0;
  virtual Faults& faults() = 0;
  virtual Connections& connections() = 0;
  virtual Logger& logger() = 0;

  virtual std::string MetricsText() = 0;  // /metrics body
  virtual nlohmann::json Info() = 0;      // /info body
};

}  // namespace kvd
