#include "strategy/topic_relays.hpp"

#include "core/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <exception>

namespace posthorn::strategy::detail {

namespace asio = boost::asio;

void invoke_handler(const char* log_tag, const char* what, const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    POSTHORN_LOG(Error, log_tag, what, " handler threw: ", e.what());
  } catch (...) {
    POSTHORN_LOG(Error, log_tag, what, " handler threw");
  }
}

std::string redact_userinfo(std::string_view url) {
  const auto scheme = url.find("://");
  const auto at = url.rfind('@');
  if (scheme == std::string_view::npos || at == std::string_view::npos || at < scheme)
    return std::string(url);
  return std::string(url.substr(0, scheme + 3)) + "…@" + std::string(url.substr(at + 1));
}

TopicRelays::TopicRelays(asio::any_io_executor executor, const char* log_tag,
                         ReconnectPolicy policy, Rng& rng, std::vector<std::string> status_urls)
    : executor_(std::move(executor)), log_tag_(log_tag), policy_(policy), rng_(&rng) {
  for (auto& url : status_urls) {
    auto relay = std::make_unique<Relay>(executor_);
    relay->status.url = std::move(url);
    relays_.push_back(std::move(relay));
  }
}

TopicRelays::~TopicRelays() = default;

void TopicRelays::start() {
  for (std::size_t i = 0; i < relays_.size(); ++i)
    asio::co_spawn(executor_, run_relay(shared_from_this(), i),
                   [tag = log_tag_](std::exception_ptr e) {
                     if (!e) return;
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       POSTHORN_LOG(Error, tag, "relay coroutine failed: ", ex.what());
                     } catch (...) {
                       POSTHORN_LOG(Error, tag, "relay coroutine failed");
                     }
                   });
}

// The coroutine takes the state as a parameter, not through `this`: a coroutine's parameters are
// copied into its frame when it is created, while its body only runs once the executor gets to
// it, possibly after the strategy's facade is gone.
asio::awaitable<void> TopicRelays::run_relay(std::shared_ptr<TopicRelays> self, std::size_t index) {
  co_await self->relay_loop(index);
}

asio::awaitable<void> TopicRelays::relay_loop(std::size_t index) {
  Relay& relay = *relays_[index];
  for (;;) {
    if (closed_) co_return;
    relay.status.state = RelayState::Connecting;
    const SessionOutcome outcome = co_await run_session(index);
    relay.session.reset();
    relay.open = false;
    relay.requested.clear();
    relay.ready.clear();
    if (closed_) co_return;
    relay.status.state = RelayState::Closed;
    relay.status.last_error = outcome.error;
    if (!outcome.opened) ++relay.failures;
    if (outcome.give_up || (policy_.max_attempts != 0 && relay.failures >= policy_.max_attempts)) {
      relay.status.state = RelayState::Failed;
      POSTHORN_LOG(Warn, log_tag_, "giving up on ", relay.status.url, ": ", outcome.error);
      co_return;
    }
    const auto delay = backoff(relay.failures);
    POSTHORN_LOG(Info, log_tag_, relay.status.url, ": ", outcome.error, "; reconnecting in ",
                 delay.count(), " ms");
    relay.backoff_timer.expires_after(delay);
    co_await relay.backoff_timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

std::chrono::milliseconds TopicRelays::backoff(std::uint32_t failures) {
  auto delay = policy_.min;
  for (std::uint32_t i = 1; i < failures && delay < policy_.max; ++i)
    delay *= 2;
  delay = std::min(delay, policy_.max);
  const auto half = delay / 2;
  return half + std::chrono::milliseconds(
                    rng_->uniform(static_cast<std::uint64_t>((delay - half).count()) + 1));
}

void TopicRelays::session_started(std::size_t index, const std::shared_ptr<RelaySession>& session) {
  Relay& relay = *relays_[index];
  relay.session = session;
  relay.open = false;
}

void TopicRelays::session_opened(std::size_t index, const RelaySession* session) {
  if (!is_current(index, session)) return;
  Relay& relay = *relays_[index];
  relay.open = true;
  relay.requested.clear();
  relay.ready.clear();
  relay.status.state = RelayState::Open;
  relay.status.last_error.clear();
  if (relay.ever_opened) ++relay.status.reconnects;
  relay.ever_opened = true;
  relay.failures = 0;
  for (const auto& [topic, subscribers] : topics_) {
    relay.requested.insert(topic);
    relay.session->subscribe(topic);
  }
}

bool TopicRelays::is_current(std::size_t index, const RelaySession* session) const {
  return !closed_ && index < relays_.size() && relays_[index]->session.get() == session;
}

void TopicRelays::topic_ready(std::size_t index, const RelaySession* session,
                              const std::string& topic) {
  if (!is_current(index, session)) return;
  Relay& relay = *relays_[index];
  // Unsubscribed meanwhile: the protocol's unsubscribe is on its way.
  if (!relay.requested.contains(topic)) return;
  relay.ready.insert(topic);
  auto it = topics_.find(topic);
  if (it == topics_.end()) return;
  const SubscriberList subscribers = it->second; // handlers may (un)subscribe
  for (const auto& sub : subscribers) {
    if (!is_current(index, session)) return;
    if (!is_subscribed(topic, sub->id)) continue;
    invoke_handler(log_tag_, "ready", [&] { sub->on_ready(index); });
  }
}

void TopicRelays::topic_refused(std::size_t index, const RelaySession* session,
                                const std::string& topic, std::string why) {
  if (!is_current(index, session)) return;
  Relay& relay = *relays_[index];
  relay.requested.erase(topic);
  relay.ready.erase(topic);
  POSTHORN_LOG(Warn, log_tag_, relay.status.url, ": ", why);
  relay.status.last_error = std::move(why);
}

void TopicRelays::deliver(std::size_t index, const RelaySession* session, std::string_view topic,
                          std::string_view text) {
  if (!is_current(index, session)) return;
  auto it = topics_.find(topic);
  if (it == topics_.end()) return; // a late message after the last unsubscribe
  ++relays_[index]->status.messages_in;
  const SubscriberList subscribers = it->second;
  for (const auto& sub : subscribers) {
    if (!is_current(index, session)) return;
    if (!is_subscribed(topic, sub->id)) continue;
    invoke_handler(log_tag_, "message", [&] { sub->on_message(index, topic, text); });
  }
}

bool TopicRelays::is_subscribed(std::string_view topic, std::uint64_t id) const {
  auto it = topics_.find(topic);
  return it != topics_.end() && std::any_of(it->second.begin(), it->second.end(),
                                            [&](const auto& s) { return s->id == id; });
}

Subscription TopicRelays::subscribe(std::string topic, Strategy::MessageHandler on_message,
                                    Strategy::ReadyHandler on_ready) {
  if (closed_) return {};
  auto sub = std::make_shared<Subscriber>(
      Subscriber{next_subscriber_id_++, std::move(on_message), std::move(on_ready)});
  topics_[topic].push_back(sub);
  for (std::size_t i = 0; i < relays_.size(); ++i) {
    Relay& relay = *relays_[i];
    if (!relay.open) continue; // subscribed when the session opens
    if (!relay.requested.contains(topic)) {
      relay.requested.insert(topic);
      relay.session->subscribe(topic); // its readiness runs every ready handler of the topic
    } else if (relay.ready.contains(topic)) {
      post_ready(i, topic, sub->id); // in place for another room already
    }
  }
  return Subscription([weak = weak_from_this(), topic, id = sub->id] {
    if (auto self = weak.lock()) self->unsubscribe(topic, id);
  });
}

// One subscriber's ready handler, from the executor: never inside the subscribe() call.
void TopicRelays::post_ready(std::size_t index, const std::string& topic, std::uint64_t id) {
  asio::post(executor_,
             [weak = weak_from_this(),
              session = std::weak_ptr<RelaySession>(relays_[index]->session), index, topic, id] {
               auto self = weak.lock();
               auto s = session.lock();
               if (!self || !s || !self->is_current(index, s.get())) return;
               auto it = self->topics_.find(topic);
               if (it == self->topics_.end()) return;
               for (const auto& candidate : it->second) {
                 if (candidate->id != id) continue;
                 auto keep = candidate;
                 invoke_handler(self->log_tag_, "ready", [&] { keep->on_ready(index); });
                 return;
               }
             });
}

void TopicRelays::unsubscribe(const std::string& topic, std::uint64_t id) {
  auto it = topics_.find(topic);
  if (it == topics_.end()) return;
  std::erase_if(it->second, [&](const auto& s) { return s->id == id; });
  if (!it->second.empty()) return;
  topics_.erase(it);
  // Reference count reached zero: leave the topic on every relay we are connected to.
  for (auto& relay : relays_) {
    if (!relay->open || !relay->requested.erase(topic)) continue;
    relay->ready.erase(topic);
    relay->session->unsubscribe(topic);
  }
}

void TopicRelays::publish(std::size_t relay_index, std::string_view topic, std::string_view text) {
  if (relay_index >= relays_.size()) {
    POSTHORN_LOG(Warn, log_tag_, "publish to relay ", relay_index, " of ", relays_.size(),
                 " ignored");
    return;
  }
  Relay& relay = *relays_[relay_index];
  if (closed_ || !relay.open) {
    ++relay.status.dropped_out; // at most once: nothing is queued for a relay that is not open
    return;
  }
  if (relay.session->publish(topic, text))
    ++relay.status.messages_out;
  else
    ++relay.status.dropped_out; // the relay is not keeping up: its write queue is full
}

std::vector<RelayStatus> TopicRelays::relay_statuses() const {
  std::vector<RelayStatus> out;
  out.reserve(relays_.size());
  for (const auto& relay : relays_)
    out.push_back(relay->status);
  return out;
}

void TopicRelays::close() {
  if (closed_) return;
  closed_ = true;
  topics_.clear(); // releases the handlers (a running one is kept alive by its caller's copy)
  for (auto& relay : relays_) {
    relay->backoff_timer.cancel();
    if (relay->status.state != RelayState::Failed) relay->status.state = RelayState::Closed;
    if (auto session = relay->session) session->end("closed");
  }
}

} // namespace posthorn::strategy::detail
