// Tests for kvd::Store: the map operations, the under-lock callback that
// keeps the transaction log's order equal to the store's, and concurrent use.
#include "store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace kvd {
namespace {

using namespace std::chrono_literals;

TEST(Store, GetPutDelete) {
  Store store;
  std::string value = "untouched";
  EXPECT_FALSE(store.Get("a", &value));
  EXPECT_EQ(value, "untouched");  // not written on a miss

  store.Put("a", "1");
  ASSERT_TRUE(store.Get("a", &value));
  EXPECT_EQ(value, "1");

  store.Put("a", "22");  // overwrite
  ASSERT_TRUE(store.Get("a", &value));
  EXPECT_EQ(value, "22");
  EXPECT_EQ(store.size(), 1u);

  // Empty values and binary keys are ordinary data.
  const std::string binary_key("k\0\xff", 3);
  store.Put(binary_key, "");
  ASSERT_TRUE(store.Get(binary_key, &value));
  EXPECT_EQ(value, "");
  EXPECT_FALSE(store.Get(std::string("k\0", 2), &value));
  EXPECT_EQ(store.size(), 2u);

  store.Delete("a");
  EXPECT_FALSE(store.Get("a", &value));
  store.Delete("a");  // idempotent
  store.Delete("never-there");
  EXPECT_EQ(store.size(), 1u);
}

TEST(Store, UnderLockRunsOnceAfterTheChange) {
  Store store;
  int calls = 0;
  store.Put("k", "v", [&] { ++calls; });
  EXPECT_EQ(calls, 1);
  store.Delete("k", [&] { ++calls; });
  EXPECT_EQ(calls, 2);
  // Deleting an absent key still calls it: DELETE is logged either way.
  store.Delete("k", [&] { ++calls; });
  EXPECT_EQ(calls, 3);
}

// Inside under_lock(), a reader of the same key on another thread must block
// until the callback returns, and then see the new value.
TEST(Store, UnderLockHoldsTheKeysLock) {
  Store store;
  store.Put("k", "old");
  for (bool is_delete : {false, true}) {
    SCOPED_TRACE(is_delete ? "Delete" : "Put");
    std::atomic<bool> started{false};
    std::atomic<bool> read_done{false};
    bool found = false;
    std::string seen;
    std::thread reader;
    auto under_lock = [&] {
      reader = std::thread([&] {
        started = true;
        found = store.Get("k", &seen);
        read_done = true;
      });
      while (!started) std::this_thread::yield();
      std::this_thread::sleep_for(100ms);
      EXPECT_FALSE(read_done.load()) << "Get did not wait for the lock";
    };
    if (is_delete) {
      store.Delete("k", under_lock);
    } else {
      store.Put("k", "new", under_lock);
    }
    reader.join();
    EXPECT_TRUE(read_done.load());
    if (is_delete) {
      EXPECT_FALSE(found);
    } else {
      EXPECT_TRUE(found);
      EXPECT_EQ(seen, "new");
    }
  }
}

TEST(Store, ForEachVisitsEveryEntryOnce) {
  Store store;
  std::map<std::string, std::string> want;
  for (int i = 0; i < 1000; ++i) {
    const std::string key = "key-" + std::to_string(i);
    store.Put(key, "value-" + std::to_string(i));
    want[key] = "value-" + std::to_string(i);
  }
  for (int i = 0; i < 1000; i += 3) {
    store.Delete("key-" + std::to_string(i));
    want.erase("key-" + std::to_string(i));
  }
  std::map<std::string, std::string> got;
  size_t visits = 0;
  store.ForEach([&](std::string_view k, std::string_view v) {
    ++visits;
    got[std::string(k)] = std::string(v);
  });
  EXPECT_EQ(visits, want.size());
  EXPECT_EQ(got, want);
  EXPECT_EQ(store.size(), want.size());
}

// Many threads race on a few shared keys. Each mutation records its value in
// a per-key history from inside under_lock(), as kvd appends to its log
// there. The history's last entry must be the store's final state for every
// key: that is the property that makes log replay reproduce the store.
TEST(Store, ConcurrentWritersEndConsistent) {
  Store store;
  constexpr int kThreads = 8;
  constexpr int kOps = 2000;
  constexpr int kKeys = 16;
  // Built up front so the threads only touch each vector under its key's
  // shard lock (TSan checks that claim).
  std::unordered_map<std::string, std::vector<std::string>> history;
  for (int k = 0; k < kKeys; ++k) history["shared-" + std::to_string(k)];

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kOps; ++i) {
        const std::string key = "shared-" + std::to_string((i * 7 + t) % kKeys);
        std::vector<std::string>& h = history.at(key);
        if (i % 9 == 0) {
          store.Delete(key, [&] { h.push_back("<deleted>"); });
        } else {
          const std::string value = std::to_string(t) + "/" + std::to_string(i);
          store.Put(key, value, [&] { h.push_back(value); });
        }
        // A private key per thread: never contended, must end exact.
        store.Put("own-" + std::to_string(t), std::to_string(i));
        std::string unused;
        store.Get(key, &unused);
      }
    });
  }
  for (auto& th : threads) th.join();

  size_t total = 0;
  for (const auto& [key, h] : history) {
    SCOPED_TRACE(key);
    ASSERT_FALSE(h.empty());
    total += h.size();
    std::string value;
    if (h.back() == "<deleted>") {
      EXPECT_FALSE(store.Get(key, &value));
    } else {
      ASSERT_TRUE(store.Get(key, &value));
      EXPECT_EQ(value, h.back());
    }
  }
  EXPECT_EQ(total, static_cast<size_t>(kThreads * kOps));
  for (int t = 0; t < kThreads; ++t) {
    std::string value;
    ASSERT_TRUE(store.Get("own-" + std::to_string(t), &value));
    EXPECT_EQ(value, std::to_string(kOps - 1));
  }
}

}  // namespace
}  // namespace kvd
