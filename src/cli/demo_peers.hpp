#pragma once
// The peers of `posthorn demo`: `posthorn peer` child processes (docs/cli-peer.md), and with
// --browser a web/browser-peer.mjs one speaking the same contract, read together through poll(2)
// so that one waiting on one peer never stalls another's output.

#include "tools/child_process.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace posthorn::cli {

struct DemoPeer {
  std::string name;
  std::unique_ptr<tools::ChildProcess> process;
  std::string self; ///< from its `ready` event
  std::deque<nlohmann::json> backlog;
  void send(const nlohmann::json& command) { process->write_line(command.dump()); }
};

class DemoPeers {
public:
  using Watcher = std::function<void(std::size_t peer, const nlohmann::json& event)>;

  /// Starts one `posthorn peer` per name with the shared `flags`; stderr goes to `log_dir`.
  DemoPeers(const std::vector<std::string>& names, const std::vector<std::string>& flags,
            const std::string& log_dir);

  /// Starts one more peer: any program speaking the same contract (`argv[0]` is looked up on
  /// PATH), e.g. web/browser-peer.mjs; stderr goes to `log_dir`/`name`.log.
  void add(const std::string& name, const std::vector<std::string>& argv,
           const std::string& log_dir);

  DemoPeer& operator[](std::size_t i) { return peers_[i]; }
  [[nodiscard]] std::size_t size() const { return peers_.size(); }
  std::size_t index_of(const std::string& self_id) const;

  /// Sees every event as it is read (progress bars), before it is queued.
  void watch(Watcher watcher) { watcher_ = std::move(watcher); }

  /// The first event of peer `i` that `match` accepts, oldest first; others stay queued. Throws
  /// std::runtime_error naming `what` after `timeout`, or when the peer exits or reports an
  /// `error` event with no `peer` field (a failure of the peer itself).
  nlohmann::json wait_for(std::size_t i, const std::function<bool(const nlohmann::json&)>& match,
                          std::chrono::milliseconds timeout, const std::string& what);

private:
  /// Reads what is there (waiting up to `timeout` for something); false if nothing came.
  bool pump(std::chrono::milliseconds timeout);

  std::vector<DemoPeer> peers_;
  Watcher watcher_;
};

} // namespace posthorn::cli
