#pragma once
// The Nostr side of `posthorn relay`, sans-IO: the NIP-01 subset Trystero's Nostr strategy needs
// (spec/trystero-wire.md §5.1). Ephemeral events only (kinds 20000–29999, NIP-01: never stored),
// so a REQ gets EOSE at once and then every matching event published while it is open. Every
// event's id and signature are checked (Trystero does not check, §5.1; a relay should).
//
// Bounds per client (a refusal is an OK false or a NOTICE, counted; too many in a row close the
// connection): message size, subscriptions, filters per REQ, values per filter, and a token
// bucket on messages.

#include "relay/hub_output.hpp"
#include "relay/token_bucket.hpp"
#include "signal/nostr_messages.hpp"

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace posthorn::relay {

struct NostrLimits {
  std::size_t max_message_bytes = 64u << 10;
  std::size_t max_subscriptions_per_client = 32;
  std::size_t max_filters_per_req = 8;
  std::size_t max_values_per_filter = 256; ///< kinds plus #x values
  double rate_per_second = 50;
  double burst = 200;
  std::uint32_t max_refusals = 50;
};

struct NostrStats {
  std::uint64_t clients = 0;
  std::uint64_t subscriptions = 0;
  std::uint64_t events_in = 0;  ///< accepted events
  std::uint64_t deliveries = 0; ///< events sent to subscriptions
  std::uint64_t refused = 0;    ///< bad signature, kind not ephemeral, malformed, over a limit
  std::uint64_t disconnected = 0;
};

class NostrHub {
public:
  explicit NostrHub(NostrLimits limits = {}) : limits_(limits) {}

  void add_client(ClientId id, Clock::time_point now);
  void remove_client(ClientId id);
  [[nodiscard]] HubOutput handle(ClientId from, std::string_view text, Clock::time_point now);
  [[nodiscard]] NostrStats stats() const;

private:
  using SubKey = std::pair<ClientId, std::string>; // (client, subscription id)
  struct Client {
    std::map<std::string, std::vector<signal::nostr::Filter>> subscriptions;
    TokenBucket tokens;
    std::uint32_t refusals_in_a_row = 0;
  };

  void refuse(Client& client, std::string notice, HubOutput& out, ClientId id);
  void ok(ClientId to, const std::string& event_id, bool accepted, std::string message,
          HubOutput& out);
  void subscribe(ClientId id, Client& client, signal::nostr::Req req, HubOutput& out);
  void unsubscribe(ClientId id, Client& client, const std::string& sub_id);
  void publish(ClientId from, Client& client, signal::nostr::Event event, HubOutput& out);

  NostrLimits limits_;
  std::unordered_map<ClientId, Client> clients_;
  // Subscriptions by the #x values of their filters (Trystero always filters on #x), and those
  // with a filter that has none (they see every event).
  std::map<std::string, std::set<SubKey>, std::less<>> by_x_tag_;
  std::set<SubKey> untagged_;
  NostrStats stats_;
};

} // namespace posthorn::relay
