#pragma once
// Collects a room's events (joins, leaves, join errors) from the runtime thread for the test
// thread to wait on, in the order they came.

#include <posthorn/posthorn.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>

namespace posthorn::test {

using namespace std::chrono_literals;

/// Collects a room's events from the runtime thread for the test thread to wait on.
class RoomObserver {
public:
  RoomObserver() = default;
  explicit RoomObserver(Room& room) { attach(room); }
  void attach(Room& room) {
    room.on_peer_join([this](const PeerId& p) { push("join:" + p); });
    room.on_peer_leave([this](const PeerId& p) { push("leave:" + p); });
    room.on_join_error([this](const JoinError& e) { push("join-error:" + e.message); });
  }
  void push(std::string event) {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
    cv_.notify_all();
  }
  /// Waits for an event starting with `prefix`; returns it (consumed).
  std::string wait(const std::string& prefix, std::chrono::seconds timeout = 30s) {
    std::unique_lock lock(mutex_);
    std::string found;
    const bool ok = cv_.wait_for(lock, timeout, [&] {
      for (auto it = events_.begin(); it != events_.end(); ++it)
        if (it->starts_with(prefix)) {
          found = *it;
          events_.erase(it);
          return true;
        }
      return false;
    });
    EXPECT_TRUE(ok) << "timed out waiting for '" << prefix << "'";
    return found;
  }

private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::string> events_;
};

} // namespace posthorn::test
