#pragma once
// Two `posthorn dc` processes (or any programs speaking its JSON-lines contract, docs/cli-dc.md)
// wired together: signaling lines (offer/answer/candidate) from one are written to the other;
// every other line is an event for the caller.

#include "tools/child_process.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace posthorn::tools {

enum class Side : std::uint8_t { Offerer = 0, Answerer = 1 };

/// How to start one `posthorn dc` peer on loopback.
struct DcPeerArgs {
  std::string role; // "offer" | "answer"
  std::string mode = "echo";
  std::uint64_t bytes = 0;
  std::size_t message_size = 64 * 1024;
  bool quiet = true;
  /// TURN servers (`--turn`, RFC 7065 URLs) with one set of credentials, and `--relay-only`.
  std::vector<std::string> turn = {};
  std::string turn_user = {};
  std::string turn_pass = {};
  bool relay_only = false;
  /// More arguments appended as they are (e.g. {"--log-level", "debug"}).
  std::vector<std::string> extra = {};
};
/// The command line for `binary dc ... --bind 127.0.0.1`.
std::vector<std::string> dc_command(const std::string& binary, const DcPeerArgs& args);

struct DcEvent {
  Side side = Side::Offerer;
  std::string type; // open, message, done, closed, error, ...
  std::string line; // the raw JSON line
  std::uint64_t bytes = 0;
  std::string sha256;
  std::string error;
  std::chrono::steady_clock::time_point at;
};

struct DcPairOptions {
  /// Start the answerer first and wait until it reads its stdin before starting the offerer, so
  /// that a figure timed from the offer does not include the answerer's start-up (a Node peer
  /// takes hundreds of milliseconds to load its WebRTC stack). The probe is a line of an unknown
  /// type, which every peer of the contract refuses with an `error` line (docs/cli-dc.md).
  bool wait_answerer_ready = false;
  std::chrono::milliseconds ready_timeout{30'000};
};

class DcPair {
public:
  /// `offer_argv`/`answer_argv`: full command lines (argv[0] = program path). Throws
  /// std::runtime_error if a child cannot start or (with wait_answerer_ready) never reads stdin.
  DcPair(const std::vector<std::string>& offer_argv, const std::vector<std::string>& answer_argv,
         const DcPairOptions& options = {});

  /// Relays signaling until `until` returns true for an event (returned), or the timeout passes,
  /// or both children ended (nullopt). Every event is also passed to `observe` if set.
  std::optional<DcEvent> run_until(const std::function<bool(const DcEvent&)>& until,
                                   std::chrono::milliseconds timeout);
  void on_event(std::function<void(const DcEvent&)> observe) { observe_ = std::move(observe); }

  ChildProcess& process(Side s) { return s == Side::Offerer ? *offerer_ : *answerer_; }
  [[nodiscard]] std::chrono::steady_clock::time_point started() const noexcept { return started_; }
  /// When the first signaling line (the offer) was read from a child.
  [[nodiscard]] std::chrono::steady_clock::time_point first_signal_at() const noexcept {
    return first_signal_at_;
  }
  /// Signaling lines relayed so far.
  [[nodiscard]] std::size_t relayed() const noexcept { return relayed_; }

private:
  std::optional<DcEvent> handle_line(Side from, const std::string& line);

  std::chrono::steady_clock::time_point started_;
  std::unique_ptr<ChildProcess> offerer_;
  std::unique_ptr<ChildProcess> answerer_;
  std::function<void(const DcEvent&)> observe_;
  std::size_t relayed_ = 0;
  std::chrono::steady_clock::time_point first_signal_at_;
};

} // namespace posthorn::tools
