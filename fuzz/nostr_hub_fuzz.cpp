// The relay's NostrHub fed arbitrary NIP-01 lines from a few clients (one line per message, the
// first byte choosing the client). Invariants beyond "no crash":
//  - every text the hub emits is a relay message our own decoder accepts;
//  - an EVENT is delivered only to a subscription its client opened (REQ answered by EOSE, not
//    closed since) whose filters match, and only if the event verifies;
//  - after every client is removed the hub holds no subscriptions.
// Most fuzzed events cannot verify (the fuzzer cannot sign), so the seeds carry a signed one.
#include "relay/nostr_hub.hpp"

#include <cstdlib>
#include <map>
#include <string>

using namespace posthorn;
namespace nostr = posthorn::signal::nostr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  relay::NostrHub hub({.max_subscriptions_per_client = 4,
                       .max_filters_per_req = 2,
                       .max_values_per_filter = 8,
                       .burst = 1000});
  const relay::Clock::time_point t0{};
  constexpr relay::ClientId kClients = 3;
  for (relay::ClientId c = 1; c <= kClients; ++c)
    hub.add_client(c, t0);
  // What each client subscribed, as far as the hub confirmed it.
  std::map<std::pair<relay::ClientId, std::string>, std::vector<nostr::Filter>> open;
  std::size_t start = 0;
  while (start < input.size()) {
    auto end = input.find('\n', start);
    if (end == std::string_view::npos) end = input.size();
    auto line = input.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    const relay::ClientId from = 1 + static_cast<std::uint8_t>(line[0]) % kClients;
    line.remove_prefix(1);
    auto decoded = nostr::decode_client_message(line);
    const auto* message = std::get_if<nostr::ClientMessage>(&decoded);
    if (message)
      if (const auto* close = std::get_if<nostr::Close>(message))
        open.erase({from, close->subscription_id});
    auto out = hub.handle(from, line, t0);
    for (const auto& send : out.sends) {
      auto m = nostr::decode_relay_message(*send.text);
      if (!std::holds_alternative<nostr::RelayMessage>(m)) std::abort();
      const auto& relay_message = std::get<nostr::RelayMessage>(m);
      if (const auto* eose = std::get_if<nostr::Eose>(&relay_message)) {
        const auto* req = message ? std::get_if<nostr::Req>(message) : nullptr;
        if (!req || req->subscription_id != eose->subscription_id) std::abort();
        open[{from, req->subscription_id}] = req->filters;
      }
      if (const auto* delivered = std::get_if<nostr::RelayEvent>(&relay_message)) {
        if (!nostr::verify(delivered->event)) std::abort();
        for (auto to : send.to) {
          auto it = open.find({to, delivered->subscription_id});
          if (it == open.end()) std::abort();
          bool matched = false;
          for (const auto& f : it->second)
            matched = matched || f.matches(delivered->event);
          if (!matched) std::abort();
        }
      }
    }
  }
  for (relay::ClientId c = 1; c <= kClients; ++c)
    hub.remove_client(c);
  if (hub.stats().subscriptions != 0 || hub.stats().clients != 0) std::abort();
  return 0;
}
