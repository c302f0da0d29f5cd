#include "relay/pubsub_hub.hpp"

#include "core/overloaded.hpp"

#include <algorithm>

namespace posthorn::relay {

namespace wsrelay = signal::wsrelay;

void PubSubHub::add_client(ClientId id, Clock::time_point now) {
  clients_[id] = Client{{}, TokenBucket(limits_.rate_per_second, limits_.burst, now), 0};
}

void PubSubHub::remove_client(ClientId id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  for (const auto& topic : std::set<std::string, std::less<>>(it->second.topics))
    unsubscribe(id, it->second, topic);
  clients_.erase(it);
}

void PubSubHub::refuse(Client& client, ClientId id, std::string why, HubOutput& out) {
  ++stats_.refused;
  if (++client.refusals_in_a_row >= limits_.max_refusals) {
    out.disconnect = true;
    ++stats_.disconnected;
    why += "; too many refusals, closing";
  }
  out.sends.push_back(
      {{id}, std::make_shared<const std::string>(wsrelay::encode(wsrelay::Refusal{why}))});
}

void PubSubHub::unsubscribe(ClientId id, Client& client, const std::string& topic) {
  if (!client.topics.erase(topic)) return;
  auto it = topics_.find(topic);
  if (it == topics_.end()) return;
  it->second.erase(id);
  if (it->second.empty()) topics_.erase(it);
}

HubOutput PubSubHub::handle(ClientId from, std::string_view text, Clock::time_point now) {
  HubOutput out;
  auto cit = clients_.find(from);
  if (cit == clients_.end()) return out;
  Client& client = cit->second;
  ++stats_.messages_in;
  if (!client.tokens.take(now)) {
    refuse(client, from, "rate-limited: slow down", out);
    return out;
  }
  if (text.size() > limits_.max_message_bytes) {
    refuse(client, from,
           "message larger than " + std::to_string(limits_.max_message_bytes) + " bytes", out);
    return out;
  }
  auto decoded = wsrelay::decode_client_message(text);
  if (auto* e = std::get_if<wsrelay::DecodeError>(&decoded)) {
    refuse(client, from, "bad message: " + e->reason, out);
    return out;
  }
  std::visit(overloaded{
                 [&](wsrelay::Subscribe& m) {
                   if (!client.topics.contains(m.topic)) {
                     if (client.topics.size() >= limits_.max_topics_per_client) {
                       refuse(client, from,
                              "more than " + std::to_string(limits_.max_topics_per_client) +
                                  " subscriptions",
                              out);
                       return;
                     }
                     client.topics.insert(m.topic);
                     topics_[m.topic].insert(from);
                   }
                   client.refusals_in_a_row = 0;
                   out.sends.push_back({{from},
                                        std::make_shared<const std::string>(wsrelay::encode(
                                            wsrelay::Subscribed{std::move(m.topic)}))});
                 },
                 [&](wsrelay::Unsubscribe& m) {
                   client.refusals_in_a_row = 0;
                   unsubscribe(from, client, m.topic);
                 },
                 [&](wsrelay::Publish& m) {
                   client.refusals_in_a_row = 0;
                   auto it = topics_.find(m.topic);
                   if (it == topics_.end()) return;
                   Outgoing fanout;
                   for (ClientId to : it->second)
                     if (to != from) fanout.to.push_back(to); // a publisher hears only others
                   if (fanout.to.empty()) return;
                   stats_.deliveries += fanout.to.size();
                   fanout.text = std::make_shared<const std::string>(wsrelay::encode(
                       wsrelay::Delivery{std::move(m.topic), std::move(m.payload)}));
                   out.sends.push_back(std::move(fanout));
                 },
             },
             std::get<wsrelay::ClientMessage>(decoded));
  return out;
}

HubStats PubSubHub::stats() const {
  HubStats s = stats_;
  s.clients = clients_.size();
  s.topics = topics_.size();
  s.subscriptions = 0;
  for (const auto& [topic, subscribers] : topics_)
    s.subscriptions += subscribers.size();
  return s;
}

} // namespace posthorn::relay
