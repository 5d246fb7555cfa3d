#include "connections.h"

#include <algorithm>
#include <vector>

namespace kvd {

uint64_t Connections::Add(std::weak_ptr<Conn> conn) {
  std::lock_guard lock(mu_);
  uint64_t id = next_id_++;
  conns_.emplace(id, std::move(conn));
  return id;
}

void Connections::Remove(uint64_t id) {
  std::lock_guard lock(mu_);
  conns_.erase(id);
}

nlohmann::json Connections::Describe() const {
  std::vector<std::pair<uint64_t, std::shared_ptr<Conn>>> live;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, weak] : conns_) {
      if (auto c = weak.lock()) live.emplace_back(id, std::move(c));
    }
  }
  std::sort(live.begin(), live.end(), [](auto& a, auto& b) { return a.first < b.first; });
  nlohmann::json out = nlohmann::json::array();
  for (auto& [id, c] : live) {
    nlohmann::json d = c->Describe();
    d["id"] = id;
    out.push_back(std::move(d));
  }
  return out;
}

void Connections::ShutdownAll() {
  std::vector<std::shared_ptr<Conn>> live;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, weak] : conns_) {
      if (auto c = weak.lock()) live.push_back(std::move(c));
    }
  }
  for (auto& c : live) c->Shutdown();
}

size_t Connections::size() const {
  std::lock_guard lock(mu_);
  return conns_.size();
}

}  // namespace kvd
