#include "relay/nostr_hub.hpp"

#include "core/overloaded.hpp"

#include <algorithm>

namespace posthorn::relay {

namespace nostr = signal::nostr;

namespace {
/// NIP-01: kinds 20000 <= k < 30000 are ephemeral, not expected to be stored.
bool is_ephemeral(std::uint32_t kind) {
  return kind >= 20000 && kind < 30000;
}
} // namespace

void NostrHub::add_client(ClientId id, Clock::time_point now) {
  clients_[id] = Client{{}, TokenBucket(limits_.rate_per_second, limits_.burst, now), 0};
}

void NostrHub::remove_client(ClientId id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  std::vector<std::string> subs;
  for (const auto& [sub_id, filters] : it->second.subscriptions)
    subs.push_back(sub_id);
  for (const auto& sub_id : subs)
    unsubscribe(id, it->second, sub_id);
  clients_.erase(it);
}

void NostrHub::refuse(Client& client, std::string notice, HubOutput& out, ClientId id) {
  ++stats_.refused;
  if (++client.refusals_in_a_row >= limits_.max_refusals) {
    out.disconnect = true;
    ++stats_.disconnected;
    notice += "; too many refusals, closing";
  }
  out.sends.push_back({{id},
                       std::make_shared<const std::string>(
                           nostr::encode(nostr::RelayMessage(nostr::Notice{std::move(notice)})))});
}

void NostrHub::ok(ClientId to, const std::string& event_id, bool accepted, std::string message,
                  HubOutput& out) {
  out.sends.push_back({{to},
                       std::make_shared<const std::string>(nostr::encode(
                           nostr::RelayMessage(nostr::Ok{event_id, accepted, message})))});
}

HubOutput NostrHub::handle(ClientId from, std::string_view text, Clock::time_point now) {
  HubOutput out;
  auto cit = clients_.find(from);
  if (cit == clients_.end()) return out;
  Client& client = cit->second;
  if (!client.tokens.take(now)) {
    refuse(client, "rate-limited: slow down", out, from);
    return out;
  }
  if (text.size() > limits_.max_message_bytes) {
    refuse(client,
           "error: message larger than " + std::to_string(limits_.max_message_bytes) + " bytes",
           out, from);
    return out;
  }
  auto decoded = nostr::decode_client_message(text);
  if (auto* e = std::get_if<nostr::DecodeError>(&decoded)) {
    refuse(client, "error: " + e->reason, out, from);
    return out;
  }
  std::visit(overloaded{
                 [&](nostr::ClientEvent& m) { publish(from, client, std::move(m.event), out); },
                 [&](nostr::Req& m) { subscribe(from, client, std::move(m), out); },
                 [&](nostr::Close& m) {
                   client.refusals_in_a_row = 0;
                   unsubscribe(from, client, m.subscription_id);
                 },
             },
             std::get<nostr::ClientMessage>(decoded));
  return out;
}

void NostrHub::publish(ClientId from, Client& client, nostr::Event event, HubOutput& out) {
  // OK false messages use NIP-01's machine-readable prefixes.
  if (!is_ephemeral(event.kind)) {
    ++stats_.refused;
    ok(from, event.id, false, "blocked: this relay keeps only ephemeral events (kinds 20000-29999)",
       out);
    return;
  }
  if (!nostr::verify(event)) {
    ++stats_.refused;
    ok(from, event.id, false, "invalid: the id or the signature does not match", out);
    return;
  }
  client.refusals_in_a_row = 0;
  ++stats_.events_in;
  std::set<SubKey> candidates = untagged_;
  for (const auto& tag : event.tags)
    if (tag.size() >= 2 && tag[0] == "x")
      if (auto it = by_x_tag_.find(tag[1]); it != by_x_tag_.end())
        candidates.insert(it->second.begin(), it->second.end());
  for (const auto& [to, sub_id] : candidates) {
    auto cit = clients_.find(to);
    if (cit == clients_.end()) continue;
    auto sit = cit->second.subscriptions.find(sub_id);
    if (sit == cit->second.subscriptions.end()) continue;
    const auto& filters = sit->second;
    if (!std::any_of(filters.begin(), filters.end(),
                     [&](const auto& f) { return f.matches(event); }))
      continue;
    ++stats_.deliveries;
    out.sends.push_back({{to},
                         std::make_shared<const std::string>(nostr::encode(
                             nostr::RelayMessage(nostr::RelayEvent{sub_id, event})))});
  }
  ok(from, event.id, true, "", out);
}

void NostrHub::subscribe(ClientId id, Client& client, nostr::Req req, HubOutput& out) {
  if (req.filters.size() > limits_.max_filters_per_req) {
    refuse(client,
           "error: more than " + std::to_string(limits_.max_filters_per_req) +
               " filters in one REQ",
           out, id);
    return;
  }
  for (const auto& f : req.filters) {
    if (f.kinds.size() + f.x_tags.size() > limits_.max_values_per_filter) {
      refuse(client,
             "error: more than " + std::to_string(limits_.max_values_per_filter) +
                 " values in one filter",
             out, id);
      return;
    }
  }
  const bool replaces = client.subscriptions.contains(req.subscription_id);
  if (!replaces && client.subscriptions.size() >= limits_.max_subscriptions_per_client) {
    out.sends.push_back(
        {{id},
         std::make_shared<const std::string>(nostr::encode(nostr::RelayMessage(nostr::Closed{
             req.subscription_id, "error: more than " +
                                      std::to_string(limits_.max_subscriptions_per_client) +
                                      " subscriptions"})))});
    ++stats_.refused;
    return;
  }
  // NIP-01: a REQ with an id in use replaces that subscription.
  if (replaces) unsubscribe(id, client, req.subscription_id);
  client.refusals_in_a_row = 0;
  const SubKey key{id, req.subscription_id};
  for (const auto& f : req.filters) {
    if (f.x_tags.empty()) untagged_.insert(key);
    for (const auto& x : f.x_tags)
      by_x_tag_[x].insert(key);
  }
  out.sends.push_back({{id},
                       std::make_shared<const std::string>(
                           nostr::encode(nostr::RelayMessage(nostr::Eose{req.subscription_id})))});
  client.subscriptions[req.subscription_id] = std::move(req.filters);
}

void NostrHub::unsubscribe(ClientId id, Client& client, const std::string& sub_id) {
  auto sit = client.subscriptions.find(sub_id);
  if (sit == client.subscriptions.end()) return;
  const SubKey key{id, sub_id};
  for (const auto& f : sit->second) {
    untagged_.erase(key);
    for (const auto& x : f.x_tags) {
      auto it = by_x_tag_.find(x);
      if (it == by_x_tag_.end()) continue;
      it->second.erase(key);
      if (it->second.empty()) by_x_tag_.erase(it);
    }
  }
  client.subscriptions.erase(sit);
}

NostrStats NostrHub::stats() const {
  NostrStats s = stats_;
  s.clients = clients_.size();
  s.subscriptions = 0;
  for (const auto& [id, client] : clients_)
    s.subscriptions += client.subscriptions.size();
  return s;
}

} // namespace posthorn::relay
