#pragma once
// A WebTorrent tracker for interop tests: the npm bittorrent-tracker 11.2.3 Server
// (tests/interop/js/tracker.mjs) with only its WebSocket tracker, on a free loopback port, stopped
// with SIGTERM (our own child, by pid) when the test ends. This is the tracker Trystero's torrent
// strategy is written against (its public defaults run the same package).

#include "tools/child_process.hpp"

#include <nlohmann/json.hpp>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace posthorn::test {

class LocalBittorrentTracker {
public:
  /// Starts `node js_dir/tracker.mjs` with its stderr appended to `log`; returns once it listens.
  /// Throws std::runtime_error if it does not come up within 10 s.
  LocalBittorrentTracker(const std::string& node, const std::string& js_dir,
                         const std::filesystem::path& log)
      : log_(log),
        // `exec` keeps the pid the tracker's own; the shell only redirects stderr.
        process_({"/bin/sh", "-c", "log=$1; shift; exec \"$@\" 2>>\"$log\"", "sh", log.string(),
                  node, js_dir + "/tracker.mjs"}) {
    const auto line = process_.read_line(std::chrono::seconds(10));
    const auto event = nlohmann::json::parse(line.value_or("{}"), nullptr, false);
    if (!event.is_object() || event.value("event", "") != "listening")
      throw std::runtime_error("bittorrent-tracker did not start: " + line.value_or("(no output)") +
                               "; see " + log_.string());
    url_ = event.value("url", "");
  }
  ~LocalBittorrentTracker() {
    ::kill(process_.pid(), SIGTERM);
    process_.wait(std::chrono::seconds(5));
  }
  LocalBittorrentTracker(const LocalBittorrentTracker&) = delete;
  LocalBittorrentTracker& operator=(const LocalBittorrentTracker&) = delete;

  /// ws://127.0.0.1:PORT. The tracker accepts the WebSocket upgrade on any path, so trackers'
  /// usual `/announce` suffix may be appended or not.
  [[nodiscard]] const std::string& ws_url() const noexcept { return url_; }
  /// The tracker's stderr: one line per announce (peer, offers or answer target), warnings.
  [[nodiscard]] const std::filesystem::path& log_path() const noexcept { return log_; }

private:
  std::filesystem::path log_;
  tools::ChildProcess process_;
  std::string url_;
};

} // namespace posthorn::test
