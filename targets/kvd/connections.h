// Connections is the registry of open client connections, for /connections
// (peer, client id, age, requests: the Uptime talk's "what is connected to
// me right now?") and for drain, which must close idle keep-alive
// connections and let busy ones finish.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <nlohmann/json.hpp>

namespace kvd {

class Conn {
 public:
  virtual ~Conn() = default;
  virtual nlohmann::json Describe() const = 0;
  // Close now if idle, else after the answer in progress. Any thread.
  virtual void Shutdown() = 0;
};

class Connections {
 public:
  uint64_t Add(std::weak_ptr<Conn> conn);
  void Remove(uint64_t id);
  nlohmann::json Describe() const;  // array, oldest first
  void ShutdownAll();
  size_t size() const;

 private:
  mutable std::mutex mu_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, std::weak_ptr<Conn>> conns_;
};

}  // namespace kvd
