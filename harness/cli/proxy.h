// herd proxy: the fault proxy on its own, for other tools and tests.
//   herd proxy --listen 127.0.0.1:9000 --upstream 127.0.0.1:8080
//              [--control 127.0.0.1:9001] [--fault '{"kind":"latency","latency":"100ms"}']...
// Prints a ready line on stdout ({"proxy": ..., "upstream": ..., "control":
// ...}), serves fault/control.h's API on --control, and runs until SIGINT or
// SIGTERM (exit 0). Exit 2 on bad arguments, 1 when it cannot listen.
#pragma once

#include <string>
#include <vector>

namespace herd {

struct ProxyOptions {
  std::string listen = "127.0.0.1:0";
  std::string upstream;
  std::string control;              // empty: no control API
  std::vector<std::string> faults;  // JSON, applied at start
  bool allow_remote = false;        // an upstream off loopback
  bool quiet = false;
};

int ProxyCommand(const ProxyOptions& options);

}  // namespace herd
