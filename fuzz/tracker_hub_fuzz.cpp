// The relay's TrackerHub fed arbitrary lines from a few clients, on virtual time. Each line is
// one event: its first byte picks the client (low two bits) and whether that client disconnects
// (0x40) instead of sending; its second byte advances the clock by 0–63 s (the member TTL is 60 s,
// so members expire); the rest is the message. Invariants beyond "no crash":
//  - the hub's indexes stay consistent (TrackerHubTesting::audit): members only of connected
//    clients, one peer_id per client and swarm, every bound;
//  - every text it emits is a tracker message our own decoder accepts, for a connected client;
//  - forwarded offers and routed answers never go back to the sender, offers of one announce go
//    to distinct clients, at most max_offers of them, and carry the sender's peer_id;
//  - after every client is removed the hub holds no swarms and no members.
#include "relay/testing.hpp"
#include "relay/tracker_hub.hpp"

#include <cstdlib>
#include <set>
#include <string>

using namespace posthorn;
namespace tracker = posthorn::signal::tracker;
using namespace std::chrono_literals;

namespace {

void check_output(const relay::HubOutput& out, relay::ClientId from, std::string_view text,
                  const std::set<relay::ClientId>& connected, const relay::TrackerLimits& limits) {
  auto decoded = tracker::decode_client_message(text);
  const auto* message = std::get_if<tracker::ClientMessage>(&decoded);
  const auto* announce = message ? std::get_if<tracker::Announce>(message) : nullptr;
  std::set<relay::ClientId> offered;
  for (const auto& send : out.sends) {
    auto m = tracker::decode_tracker_message(*send.text);
    if (!std::holds_alternative<tracker::TrackerMessage>(m)) std::abort();
    const auto& sent = std::get<tracker::TrackerMessage>(m);
    for (relay::ClientId to : send.to)
      if (!connected.contains(to)) std::abort();
    if (const auto* offer = std::get_if<tracker::PeerOffer>(&sent)) {
      if (!announce || offer->peer_id != announce->peer_id ||
          offer->info_hash != announce->info_hash)
        std::abort();
      for (relay::ClientId to : send.to)
        if (to == from || !offered.insert(to).second) std::abort();
    }
    if (std::holds_alternative<tracker::PeerAnswer>(sent))
      for (relay::ClientId to : send.to)
        if (to == from) std::abort();
  }
  if (offered.size() > limits.max_offers) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const relay::TrackerLimits limits{.max_message_bytes = 4096,
                                    .max_swarms_per_client = 3,
                                    .max_members_per_swarm = 3,
                                    .max_offers = 3,
                                    .member_ttl = 60s,
                                    .burst = 1000};
  relay::TrackerHub hub(limits, size);
  relay::Clock::time_point now{};
  constexpr relay::ClientId kClients = 4;
  std::set<relay::ClientId> connected;
  std::size_t start = 0;
  while (start < input.size()) {
    auto end = input.find('\n', start);
    if (end == std::string_view::npos) end = input.size();
    auto line = input.substr(start, end - start);
    start = end + 1;
    if (line.size() < 2) continue;
    const auto control = static_cast<std::uint8_t>(line[0]);
    const relay::ClientId from = 1 + control % kClients;
    now += std::chrono::seconds(static_cast<std::uint8_t>(line[1]) % 64);
    line.remove_prefix(2);
    if (control & 0x40) {
      hub.remove_client(from);
      connected.erase(from);
    } else {
      if (connected.insert(from).second) hub.add_client(from, now);
      auto out = hub.handle(from, line, now);
      check_output(out, from, line, connected, limits);
      if (out.disconnect) { // what the server does
        hub.remove_client(from);
        connected.erase(from);
      }
    }
    if (!relay::TrackerHubTesting::audit(hub).empty()) std::abort();
  }
  for (relay::ClientId c = 1; c <= kClients; ++c)
    hub.remove_client(c);
  const auto stats = hub.stats();
  if (stats.swarms != 0 || stats.members != 0 || stats.clients != 0) std::abort();
  return 0;
}
