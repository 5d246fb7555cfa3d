#include "store.h"

namespace kvd {

bool Store::Get(std::string_view key, std::string* value) const {
  const Shard& s = ShardFor(key);
  std::shared_lock lock(s.mu);
  auto it = s.map.find(key);
  if (it == s.map.end()) return false;
  value->assign(it->second);
  return true;
}

void Store::ForEach(const std::function<void(std::string_view, std::string_view)>& fn) const {
  for (const Shard& s : shards_) {
    std::shared_lock lock(s.mu);
    for (const auto& [k, v] : s.map) fn(k, v);
  }
}

size_t Store::size() const {
  size_t n = 0;
  for (const Shard& s : shards_) {
    std::shared_lock lock(s.mu);
    n += s.map.size();
  }
  return n;
}

}  // namespace kvd
