// Store is kvd's in-memory map: the book's sharded map (chapter 7), so that
// concurrent requests on different keys do not serialise on one lock.
//
// Mutations take a callback that runs while the key's shard is locked. kvd
// appends the mutation to the transaction log there, which makes the log's
// order agree with the store's order for every key: replaying the log gives
// back the same map even when two writers race on one key.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace kvd {

class Store {
 public:
  Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Copies the value of `key` into *value; false when the key is absent.
  bool Get(std::string_view key, std::string* value) const;

  // Sets key to value, then calls under_lock() with the shard still locked.
  template <typename F>
  void Put(std::string_view key, std::string_view value, F&& under_lock);

  // Removes key (absent keys are fine: DELETE is idempotent), then calls
  // under_lock() with the shard still locked.
  template <typename F>
  void Delete(std::string_view key, F&& under_lock);

  void Put(std::string_view key, std::string_view value) { Put(key, value, [] {}); }
  void Delete(std::string_view key) { Delete(key, [] {}); }

  // Calls fn(key, value) for every entry, one shard at a time with that shard
  // locked. Used to write a log snapshot; writers to other shards go on.
  void ForEach(const std::function<void(std::string_view, std::string_view)>& fn) const;

  size_t size() const;

 private:
  static constexpr size_t kShards = 64;

  // Heterogeneous lookup so Get(string_view) does not build a std::string.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Map = std::unordered_map<std::string, std::string, Hash, std::equal_to<>>;

  struct alignas(64) Shard {
    mutable std::shared_mutex mu;
    Map map;
  };

  Shard& ShardFor(std::string_view key) { return shards_[Hash{}(key) % kShards]; }
  const Shard& ShardFor(std::string_view key) const { return shards_[Hash{}(key) % kShards]; }

  std::array<Shard, kShards> shards_;
};

template <typename F>
void Store::Put(std::string_view key, std::string_view value, F&& under_lock) {
  Shard& s = ShardFor(key);
  std::unique_lock lock(s.mu);
  auto it = s.map.find(key);
  if (it == s.map.end()) {
    s.map.emplace(std::string(key), std::string(value));
  } else {
    it->second.assign(value);
  }
  under_lock();
}

template <typename F>
void Store::Delete(std::string_view key, F&& under_lock) {
  Shard& s = ShardFor(key);
  std::unique_lock lock(s.mu);
  auto it = s.map.find(key);
  if (it != s.map.end()) s.map.erase(it);
  under_lock();
}

}  // namespace kvd
