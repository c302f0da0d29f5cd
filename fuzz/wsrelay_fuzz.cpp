// ws-relay fuzz target: the codec both ways and the relay's hub. Invariants beyond "no crash":
//  - a decoded message encodes to text that decodes to the same message;
//  - the hub, fed the input as messages from a few clients (split on newlines, the first byte
//    of each choosing the client), never delivers to a client that did not subscribe to the
//    topic, never echoes a publish to its sender, and every text it emits is a relay message
//    our own decoder accepts;
//  - after every client is removed the hub holds no topics and no subscriptions.
#include "relay/pubsub_hub.hpp"
#include "signal/wsrelay_codec.hpp"

#include <cstdlib>
#include <map>
#include <set>
#include <string>

using namespace posthorn;
namespace wsrelay = posthorn::signal::wsrelay;

namespace {

void check_codec(std::string_view text) {
  auto client = wsrelay::decode_client_message(text);
  if (auto* m = std::get_if<wsrelay::ClientMessage>(&client)) {
    auto again = wsrelay::decode_client_message(wsrelay::encode(*m));
    if (!std::holds_alternative<wsrelay::ClientMessage>(again) ||
        std::get<wsrelay::ClientMessage>(again) != *m)
      std::abort();
  }
  auto relay = wsrelay::decode_relay_message(text);
  if (auto* m = std::get_if<wsrelay::RelayMessage>(&relay)) {
    auto again = wsrelay::decode_relay_message(wsrelay::encode(*m));
    if (!std::holds_alternative<wsrelay::RelayMessage>(again) ||
        std::get<wsrelay::RelayMessage>(again) != *m)
      std::abort();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_codec(input);

  relay::PubSubHub hub({.max_message_bytes = 4096, .max_topics_per_client = 4, .burst = 1000});
  const relay::Clock::time_point t0{};
  constexpr relay::ClientId kClients = 3;
  for (relay::ClientId c = 1; c <= kClients; ++c)
    hub.add_client(c, t0);
  std::map<relay::ClientId, std::set<std::string>> subscribed; // what the hub confirmed
  std::size_t start = 0;
  while (start < input.size()) {
    auto end = input.find('\n', start);
    if (end == std::string_view::npos) end = input.size();
    auto line = input.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    const relay::ClientId from = 1 + static_cast<std::uint8_t>(line[0]) % kClients;
    line.remove_prefix(1);
    auto decoded = wsrelay::decode_client_message(line);
    if (auto* m = std::get_if<wsrelay::ClientMessage>(&decoded))
      if (auto* u = std::get_if<wsrelay::Unsubscribe>(m)) subscribed[from].erase(u->topic);
    auto out = hub.handle(from, line, t0);
    for (const auto& send : out.sends) {
      auto msg = wsrelay::decode_relay_message(*send.text);
      if (!std::holds_alternative<wsrelay::RelayMessage>(msg)) std::abort();
      const auto& relay_msg = std::get<wsrelay::RelayMessage>(msg);
      if (auto* s = std::get_if<wsrelay::Subscribed>(&relay_msg)) {
        if (send.to != std::vector<relay::ClientId>{from}) std::abort();
        subscribed[from].insert(s->topic);
      }
      if (auto* d = std::get_if<wsrelay::Delivery>(&relay_msg)) {
        for (relay::ClientId to : send.to)
          if (to == from || !subscribed[to].contains(d->topic)) std::abort();
      }
    }
  }
  for (relay::ClientId c = 1; c <= kClients; ++c)
    hub.remove_client(c);
  const auto stats = hub.stats();
  if (stats.topics != 0 || stats.subscriptions != 0 || stats.clients != 0) std::abort();
  return 0;
}
