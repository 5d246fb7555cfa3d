// ProxyControl is the JSON control API of a standalone proxy (`herd proxy
// --control ADDR`), so other tools and tests can add and remove faults:
//
//   GET    /faults       {"faults": [{"id": 1, "kind": "latency", ...}]}
//   POST   /faults       body: a fault as in a scenario, without at/until,
//                        e.g. {"kind": "latency", "latency": "100ms"} or
//                        {"kind": "down", "for": "5s"}; answers 201 with
//                        its id. "for" removes it after that long.
//   DELETE /faults/ID    204, or 404 for an unknown id
//   DELETE /faults       204: every fault removed
//   GET    /stats        the proxy's counters
//
// Errors are 400 with {"error": "latency: required for latency"}. This
// class is the protocol only; cli/proxy.cc serves it over HTTP.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fault/proxy.h"
#include "scenario/scenario.h"

namespace herd {

class ProxyControl {
 public:
  explicit ProxyControl(Proxy& proxy) : proxy_(proxy) {}

  struct Response {
    int status = 200;
    std::string body;         // JSON, or empty
    Duration remove_after{};  // POST with "for": the caller calls Remove(id) then
    uint64_t id = 0;
  };
  Response Handle(std::string_view method, std::string_view target, std::string_view body);

  // Adds a parsed fault now; returns its id.
  uint64_t Add(const FaultSpec& fault);
  bool Remove(uint64_t id);
  void Clear();

 private:
  struct Entry {
    FaultSpec fault;
    uint64_t proxy_id = 0;  // 0 for down
  };
  Proxy& proxy_;
  std::mutex mu_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Entry> entries_;
};

}  // namespace herd
