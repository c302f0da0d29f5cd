#pragma once
// One scriptable room peer in its own process, speaking the JSON-lines contract of
// `posthorn peer` (docs/cli-peer.md, docs/interop.md): events on stdout, commands on stdin.
// The same contract is implemented by posthorn itself and by the Trystero harness in
// tests/interop/js (Node or headless Chromium), so a test can pair any two implementations.

#include "tools/child_process.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace posthorn::test {

enum class PeerImpl {
  TrysteroNode,     // Trystero 0.25.4 in Node with node-datachannel (libdatachannel)
  TrysteroChromium, // Trystero 0.25.4 in headless /usr/bin/chromium via playwright-core
  Posthorn,         // POSTHORN_BINARY peer
};

std::string_view to_string(PeerImpl impl);

/// Where the pieces live. Defaults come from the build (POSTHORN_BINARY,
/// POSTHORN_INTEROP_JS_DIR) where the including target defines them.
struct PeerPaths {
  std::string posthorn_binary; // the `posthorn` executable
  std::string js_dir;          // tests/interop/js (with node_modules)
  std::string node;            // the node executable; empty = search PATH
};

/// The full argv that starts `impl` with the shared peer `flags` (--app, --room, ...).
/// This is the one place that knows how each implementation is launched.
std::vector<std::string> peer_command(PeerImpl impl, const std::vector<std::string>& flags,
                                      const PeerPaths& paths);

/// Thrown by wait_for() when no matching event arrives in time (gtest reports it as a failure
/// with the message, which names the peer, the awaited label, recent events and stderr).
class PeerTimeout : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

using Event = nlohmann::json;
using EventPredicate = std::function<bool(const Event&)>;

class PeerProcess {
public:
  /// Starts the peer. Its stderr goes to `<log_dir>/<name>.stderr.log`, printed when the
  /// running test has failed by the time the peer is destroyed. `env` adds NAME=VALUE entries
  /// to its environment (e.g. POSTHORN_INTEROP_ID_HINT, see docs/interop.md).
  PeerProcess(PeerImpl impl, std::string name, const std::vector<std::string>& flags,
              const std::filesystem::path& log_dir, const PeerPaths& paths,
              const std::vector<std::string>& env = {});
  ~PeerProcess();
  PeerProcess(const PeerProcess&) = delete;
  PeerProcess& operator=(const PeerProcess&) = delete;

  [[nodiscard]] PeerImpl impl() const noexcept { return impl_; }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

  /// Writes one command line.
  void send(const nlohmann::json& command);
  /// Writes one raw line (for malformed-input tests).
  void send_line(const std::string& line);
  /// Closes the peer's stdin, which the contract treats as `leave` (lets several peers shut
  /// down in parallel before their destructors wait).
  void close_input();

  /// The first event matching `pred`: first from the backlog of events earlier waits skipped
  /// (oldest first, and it is removed from there), then from new output. Non-matching new events
  /// go to the backlog. Throws PeerTimeout after `timeout` or when the process ends first.
  Event wait_for(const EventPredicate& pred, std::chrono::milliseconds timeout,
                 std::string_view label);
  /// Like wait_for but returns nullopt instead of throwing.
  std::optional<Event> poll_for(const EventPredicate& pred, std::chrono::milliseconds timeout);

  /// The id from the `ready` event (waits for it, 60 s).
  const std::string& self_id();

  /// Sends {"cmd":"leave"} and waits for the process to exit; returns its exit status.
  std::optional<int> leave_and_wait(std::chrono::milliseconds timeout);
  /// Waits for the process to exit (reading its remaining output into the backlog).
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);

  /// Every event received so far, in order (including those already consumed by waits).
  [[nodiscard]] const std::vector<Event>& history() const noexcept { return history_; }
  /// Lines on stdout that were not JSON objects (a contract violation).
  [[nodiscard]] const std::vector<std::string>& garbage() const noexcept { return garbage_; }

  [[nodiscard]] std::string stderr_tail(std::size_t max_bytes = 8192) const;
  [[nodiscard]] const std::filesystem::path& stderr_path() const noexcept { return stderr_path_; }

private:
  /// Reads one line (or nothing within `timeout`); appends a parsed event to history_.
  std::optional<Event> read_event(std::chrono::milliseconds timeout);
  [[nodiscard]] std::string describe_recent() const;

  PeerImpl impl_;
  std::string name_;
  std::filesystem::path stderr_path_;
  std::unique_ptr<tools::ChildProcess> child_;
  std::vector<Event> backlog_;
  std::vector<Event> history_;
  std::vector<std::string> garbage_;
  std::string self_id_;
};

/// A string field of an event, or "" when absent or not a string.
std::string field(const Event& e, const char* key);

// Predicates for the common events.
EventPredicate is_event(std::string type);
EventPredicate is_event_from(std::string type, std::string peer);
EventPredicate is_event_with_id(std::string type, const nlohmann::json& id);
EventPredicate is_message(std::string action, std::string peer);

/// The search of PATH for an executable name (empty if not found).
std::string find_in_path(const std::string& name);

} // namespace posthorn::test
