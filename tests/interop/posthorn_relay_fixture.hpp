#pragma once
// A `posthorn relay` process for interop tests: started on a free loopback port, stopped with
// SIGTERM (our own child, by pid) when the test ends.

#include "tools/child_process.hpp"

#include <nlohmann/json.hpp>

#include <signal.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

namespace posthorn::test {

class LocalPosthornRelay {
public:
  /// `extra` adds `posthorn relay` options, e.g. {"--tracker-interval", "10"}.
  explicit LocalPosthornRelay(const std::string& posthorn_binary,
                              const std::vector<std::string>& extra = {})
      : process_(command(posthorn_binary, extra)) {
    const auto line = process_.read_line(std::chrono::seconds(10));
    const auto event = nlohmann::json::parse(line.value_or("{}"), nullptr, false);
    if (!event.is_object() || event.value("event", "") != "listening")
      throw std::runtime_error("posthorn relay did not start: " + line.value_or("(no output)"));
    url_ = event.value("url", "");
  }
  ~LocalPosthornRelay() {
    ::kill(process_.pid(), SIGTERM);
    process_.wait(std::chrono::seconds(5));
  }
  LocalPosthornRelay(const LocalPosthornRelay&) = delete;
  LocalPosthornRelay& operator=(const LocalPosthornRelay&) = delete;

  /// ws://127.0.0.1:PORT: ws-relay, Nostr and the WebTorrent tracker on one port.
  [[nodiscard]] const std::string& ws_url() const noexcept { return url_; }

  /// The relay's statistics line (`posthorn relay` prints one on SIGUSR1), or an empty object.
  nlohmann::json stats() {
    ::kill(process_.pid(), SIGUSR1);
    for (;;) {
      const auto line = process_.read_line(std::chrono::seconds(5));
      if (!line) return nlohmann::json::object();
      auto event = nlohmann::json::parse(*line, nullptr, false);
      if (event.is_object() && event.value("event", "") == "stats") return event;
    }
  }

private:
  static std::vector<std::string> command(const std::string& binary,
                                          const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {binary, "relay", "--port", "0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  tools::ChildProcess process_;
  std::string url_;
};

} // namespace posthorn::test
