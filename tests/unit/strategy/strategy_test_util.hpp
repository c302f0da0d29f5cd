#pragma once
// Shared pieces of the strategy tests: driving the io_context until a condition holds (failing
// the test with a label instead of hanging), and a recorder for handler calls.

#include "strategy/strategy.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace posthorn::strategy::test {

using namespace std::chrono_literals;

inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds timeout, const std::string& label) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ADD_FAILURE() << "timed out waiting for: " << label;
      return false;
    }
    if (io.stopped()) io.restart();
    io.run_one_for(20ms);
  }
  return true;
}

/// Runs the loop until it has no work left: every coroutine, timer and socket of the code under
/// test has finished. False (a test failure) if work remains after `timeout`.
inline bool drain(boost::asio::io_context& io, std::chrono::milliseconds timeout = 5s) {
  io.restart();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!io.stopped()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ADD_FAILURE() << "the io_context still has work: something was left running";
      return false;
    }
    io.run_one_for(20ms);
  }
  return true;
}

struct Received {
  std::size_t relay;
  std::string topic;
  std::string text;
  friend bool operator==(const Received&, const Received&) = default;
};

/// Records what a subscription's handlers saw.
struct Recorder {
  std::vector<Received> messages;
  std::vector<std::size_t> ready; // relay index per ready call
  bool inside_call = false;       // set by the test around subscribe()/publish() calls
  bool reentered = false;         // a handler ran while inside_call

  Strategy::MessageHandler on_message() {
    return [this](std::size_t relay, std::string_view topic, std::string_view text) {
      if (inside_call) reentered = true;
      messages.push_back({relay, std::string(topic), std::string(text)});
    };
  }
  Strategy::ReadyHandler on_ready() {
    return [this](std::size_t relay) {
      if (inside_call) reentered = true;
      ready.push_back(relay);
    };
  }
  [[nodiscard]] std::size_t ready_on(std::size_t relay) const {
    return static_cast<std::size_t>(std::count(ready.begin(), ready.end(), relay));
  }
  [[nodiscard]] bool got(std::string_view text) const {
    return std::any_of(messages.begin(), messages.end(),
                       [&](const Received& r) { return r.text == text; });
  }
};

} // namespace posthorn::strategy::test
