#pragma once
// What a hub of `posthorn relay` (ws-relay, Nostr, tracker) hands the server after one message.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace posthorn::relay {

using ClientId = std::uint64_t;
using Clock = std::chrono::steady_clock;

/// Something to send: one encoded text for one or many clients (a fan-out shares the text).
struct Outgoing {
  std::vector<ClientId> to;
  std::shared_ptr<const std::string> text;
};

struct HubOutput {
  std::vector<Outgoing> sends;
  bool disconnect = false; ///< the sender broke the rules too often: close its connection
};

} // namespace posthorn::relay
