#pragma once
// The ws-relay pub/sub hub of `posthorn relay`, sans-IO: clients come and go by id, their text
// messages go in with the time, and what to send to whom comes out. The WebSocket server
// (relay/ws_server) only moves bytes.
//
// Bounds, so that no client can grow the relay's memory or take its CPU (every refusal is
// answered with a ws-relay "error" and counted):
//  - a message over max_message_bytes is refused (the WebSocket layer caps frames too);
//  - a client holds at most max_topics_per_client subscriptions;
//  - a token bucket per client limits its messages (rate_per_second, burst), so a flood costs
//    the relay a refusal per message, then a disconnect after max_refusals in a row.
// Topics live while someone subscribes; a publish to a topic nobody holds costs nothing.

#include "relay/hub_output.hpp"
#include "relay/token_bucket.hpp"
#include "signal/wsrelay_codec.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace posthorn::relay {

struct HubLimits {
  std::size_t max_message_bytes = 64u << 10;
  std::size_t max_topics_per_client = 64;
  double rate_per_second = 50;
  double burst = 200;
  /// Refusals in a row after which the client is disconnected.
  std::uint32_t max_refusals = 50;
};

struct HubStats {
  std::uint64_t clients = 0;
  std::uint64_t topics = 0;
  std::uint64_t subscriptions = 0;
  std::uint64_t messages_in = 0;
  std::uint64_t deliveries = 0; ///< messages fanned out to subscribers
  std::uint64_t refused = 0;    ///< malformed, oversized, over a limit
  std::uint64_t disconnected = 0;
};

class PubSubHub {
public:
  explicit PubSubHub(HubLimits limits = {}) : limits_(limits) {}

  void add_client(ClientId id, Clock::time_point now);
  void remove_client(ClientId id);
  /// One text message from `from` (a client that was added).
  [[nodiscard]] HubOutput handle(ClientId from, std::string_view text, Clock::time_point now);

  [[nodiscard]] HubStats stats() const;
  [[nodiscard]] const HubLimits& limits() const noexcept { return limits_; }

private:
  struct Client {
    std::set<std::string, std::less<>> topics;
    TokenBucket tokens;
    std::uint32_t refusals_in_a_row = 0;
  };

  void refuse(Client& client, ClientId id, std::string why, HubOutput& out);
  void unsubscribe(ClientId id, Client& client, const std::string& topic);

  HubLimits limits_;
  std::unordered_map<ClientId, Client> clients_;
  std::map<std::string, std::set<ClientId>, std::less<>> topics_;
  HubStats stats_;
};

} // namespace posthorn::relay
