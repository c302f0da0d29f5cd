// The public handles: join_room, Room, Action, Responder, Payload, strategies. Each call hops to
// the runtime's loop (posthorn/room.hpp "Threading").
#include "api/app_session.hpp"
#include "api/peer_handshake_state.hpp"
#include "api/responder_state.hpp"
#include "api/room_impl.hpp"
#include "api/runtime_impl.hpp"
#include "core/assert.hpp"
#include "room/chunk.hpp"
#include "strategy/mqtt_strategy.hpp"
#include "strategy/nostr_strategy.hpp"
#include "strategy/torrent_strategy.hpp"

#include <boost/asio/post.hpp>

#include <stdexcept>

namespace posthorn {

using detail::ActionImpl;
using detail::RoomImpl;

// --- Payload ---

std::string_view to_string(PayloadKind kind) noexcept {
  switch (kind) {
  case PayloadKind::Text: return "text";
  case PayloadKind::Json: return "json";
  case PayloadKind::Binary: return "binary";
  }
  return "?";
}

Payload Payload::text(std::string utf8) {
  return {PayloadKind::Text, std::vector<std::uint8_t>(utf8.begin(), utf8.end())};
}
Payload Payload::json(std::string json_text) {
  return {PayloadKind::Json, std::vector<std::uint8_t>(json_text.begin(), json_text.end())};
}
Payload Payload::binary(std::vector<std::uint8_t> bytes) {
  return {PayloadKind::Binary, std::move(bytes)};
}
Payload Payload::binary(std::span<const std::uint8_t> bytes) {
  return {PayloadKind::Binary, std::vector<std::uint8_t>(bytes.begin(), bytes.end())};
}

// --- strategies ---

StrategyConfig strategies::mqtt(std::vector<std::string> broker_urls) {
  return {"mqtt", std::move(broker_urls)};
}

StrategyConfig strategies::wsrelay(std::vector<std::string> relay_urls) {
  return {"wsrelay", std::move(relay_urls)};
}

StrategyConfig strategies::nostr(std::vector<std::string> relay_urls) {
  return {"nostr", std::move(relay_urls)};
}

StrategyConfig strategies::torrent(std::vector<std::string> tracker_urls) {
  return {"torrent", std::move(tracker_urls)};
}

// --- join_room ---

Room join_room(Runtime& runtime, RoomConfig config, std::string room_id) {
  if (config.app_id.empty()) throw std::invalid_argument("posthorn: RoomConfig::app_id is empty");
  if (room_id.empty()) throw std::invalid_argument("posthorn: the room id is empty");
  // Trystero's Nostr strategy picks relays by app id when none are given (spec §5.1, TV9).
  if (config.strategy.name == "nostr" && config.strategy.relay_urls.empty())
    config.strategy.relay_urls = strategy::nostr_default_relays(config.app_id);
  // Trystero's torrent strategy uses the first three of its default trackers (spec §5.2).
  if (config.strategy.name == "torrent" && config.strategy.relay_urls.empty())
    config.strategy.relay_urls = strategy::torrent_default_trackers();
  if (config.strategy.relay_urls.empty())
    throw std::invalid_argument("posthorn: the strategy has no relay URL");
  auto rt = runtime.impl();
  if (auto existing = rt->find_room(config.app_id, room_id); existing && !existing->has_left())
    return Room(existing);
  auto strategy = rt->strategy_for(config.strategy);
  auto app_id = config.app_id;
  // The last reference may be dropped on any thread; the room is destroyed on the loop.
  std::shared_ptr<RoomImpl> room(new RoomImpl(rt, std::move(config), room_id, std::move(strategy)),
                                 [](RoomImpl* dropped) {
                                   auto runtime = dropped->runtime();
                                   runtime->destroy_on_loop(std::unique_ptr<RoomImpl>(dropped));
                                 });
  rt->register_room(app_id, room_id, room);
  boost::asio::post(rt->executor(), [room] { room->start(); });
  return Room(room);
}

// --- Room ---

boost::asio::any_io_executor Room::executor() const {
  return impl_->executor();
}
const PeerId& Room::self_id() const {
  return impl_->self_id();
}
const std::string& Room::room_id() const {
  return impl_->room_id();
}
std::vector<PeerId> Room::peers() const {
  return impl_->active_peers();
}

void Room::on_peer_join(std::function<void(const PeerId&)> handler) {
  boost::asio::post(executor(), [impl = impl_, h = std::move(handler)]() mutable {
    impl->on_peer_join = std::move(h);
  });
}
void Room::on_peer_leave(std::function<void(const PeerId&)> handler) {
  boost::asio::post(executor(), [impl = impl_, h = std::move(handler)]() mutable {
    impl->on_peer_leave = std::move(h);
  });
}
void Room::on_join_error(std::function<void(const JoinError&)> handler) {
  boost::asio::post(executor(), [impl = impl_, h = std::move(handler)]() mutable {
    impl->on_join_error = std::move(h);
  });
}
void Room::on_error(std::function<void(const RoomError&)> handler) {
  boost::asio::post(executor(), [impl = impl_, h = std::move(handler)]() mutable {
    impl->on_error = std::move(h);
  });
}
void Room::on_unhandled_message(
    std::function<void(const std::string&, Payload, const MessageInfo&)> handler) {
  boost::asio::post(executor(), [impl = impl_, h = std::move(handler)]() mutable {
    impl->on_unhandled = std::move(h);
  });
}
void Room::on_peer_handshake(std::function<bool(const PeerId&)> admit) {
  if (!admit) return on_peer_handshake(std::function<void(PeerHandshake)>());
  on_peer_handshake(std::function<void(PeerHandshake)>([admit = std::move(admit)](PeerHandshake h) {
    if (admit(h.peer()))
      h.admit();
    else
      h.reject("refused by on_peer_handshake");
  }));
}
void Room::on_peer_handshake(std::function<void(PeerHandshake)> handler) {
  boost::asio::post(executor(), [impl = impl_, h = std::move(handler)]() mutable {
    impl->handshake_handler = std::move(h);
  });
}

Action Room::make_action(std::string_view name) {
  if (auto valid = room::validate_action_name(name, /*allow_reserved=*/false); !valid)
    throw std::invalid_argument("posthorn: " +
                                room::action_name_error_message(name, valid.error()));
  // Same name, same action (Trystero caches makeAction per room).
  return Action(impl_->action(std::string(name)));
}

void Room::start_ping(
    PeerId peer, std::function<void(error_code, std::chrono::duration<double, std::milli>)> done) {
  boost::asio::post(executor(), [impl = impl_, p = std::move(peer), d = std::move(done)]() mutable {
    impl->ping(p, std::move(d));
  });
}

void Room::start_leave(std::function<void()> done) {
  boost::asio::post(executor(),
                    [impl = impl_, d = std::move(done)]() mutable { impl->leave(std::move(d)); });
}

void Room::leave() {
  start_leave({});
}

std::vector<Room::RelayInfo> Room::relay_statuses() const {
  return impl_->relay_statuses();
}

// --- Action ---

const std::string& Action::name() const {
  return impl_->name;
}
boost::asio::any_io_executor Action::executor() const {
  return impl_->executor;
}

namespace {
/// Sets a handler on the loop, then hands over messages queued for this action (§8.6).
template <class Member, class Handler>
void set_on_loop(const std::shared_ptr<ActionImpl>& impl, Member member, Handler handler) {
  boost::asio::post(impl->executor, [impl, member, h = std::move(handler)]() mutable {
    (*impl).*member = std::move(h);
    if (auto room = impl->room.lock()) room->deliver_queued(impl);
  });
}
} // namespace

void Action::on_message(std::function<void(Payload, const MessageInfo&)> handler) {
  set_on_loop(impl_, &ActionImpl::on_message, std::move(handler));
}
void Action::on_progress(std::function<void(const ProgressInfo&)> handler) {
  set_on_loop(impl_, &ActionImpl::on_progress, std::move(handler));
}
void Action::on_stream(
    std::function<std::unique_ptr<MessageSink>(const MessageInfo&, PayloadKind)> make_sink) {
  set_on_loop(impl_, &ActionImpl::on_stream, std::move(make_sink));
}
void Action::on_request(std::function<void(Payload, const MessageInfo&, Responder)> handler) {
  set_on_loop(impl_, &ActionImpl::on_request, std::move(handler));
}

void Action::start_send(Payload payload, SendOptions options,
                        std::function<void(error_code)> done) {
  boost::asio::post(impl_->executor, [impl = impl_, p = std::move(payload), o = std::move(options),
                                      d = std::move(done)]() mutable {
    auto room = impl->room.lock();
    if (!room) return d(make_error_code(boost::system::errc::not_connected));
    room->send(impl, std::move(p), std::move(o), std::move(d));
  });
}

void Action::start_send_file(std::string path, SendOptions options,
                             std::function<void(error_code)> done) {
  boost::asio::post(impl_->executor, [impl = impl_, p = std::move(path), o = std::move(options),
                                      d = std::move(done)]() mutable {
    auto room = impl->room.lock();
    if (!room) return d(make_error_code(boost::system::errc::not_connected));
    room->send_file(impl, p, std::move(o), std::move(d));
  });
}

void Action::start_request(Payload payload, std::vector<PeerId> targets, RequestOptions options,
                           std::function<void(std::vector<Response>)> done) {
  boost::asio::post(impl_->executor, [impl = impl_, p = std::move(payload), t = std::move(targets),
                                      o = std::move(options), d = std::move(done)]() mutable {
    auto room = impl->room.lock();
    if (!room) {
      std::vector<Response> none;
      for (auto& peer : t)
        none.push_back({std::move(peer),
                        make_error_code(boost::system::errc::not_connected),
                        "the room was left",
                        {}});
      return d(std::move(none));
    }
    room->request(impl, std::move(p), std::move(t), std::move(o), std::move(d));
  });
}

void Action::start_request_one(Payload payload, PeerId peer, RequestOptions options,
                               std::function<void(Response)> done) {
  std::vector<PeerId> targets{std::move(peer)};
  start_request(std::move(payload), std::move(targets), std::move(options),
                [d = std::move(done)](std::vector<Response> responses) {
                  POSTHORN_ASSERT(responses.size() == 1, "one target, one Response");
                  d(std::move(responses.front()));
                });
}

// --- Responder ---

void Responder::State::answer(std::optional<Payload> reply, std::string error) {
  if (answered.exchange(true)) return;
  boost::asio::post(executor, [room = room, peer = peer, id = request_id, r = std::move(reply),
                               e = std::move(error)]() mutable {
    if (auto impl = room.lock()) impl->respond(peer, id, std::move(r), std::move(e));
  });
}

Responder::State::~State() {
  if (!answered) answer(std::nullopt, "request handler returned no response");
}

const PeerId& PeerHandshake::peer() const {
  return state_->peer;
}
bool PeerHandshake::is_initiator() const {
  return state_->initiator;
}
void PeerHandshake::send(Payload payload, std::optional<std::string> metadata_json) const {
  boost::asio::post(state_->executor,
                    [s = state_, p = std::move(payload), m = std::move(metadata_json)]() mutable {
                      if (auto room = s->room.lock())
                        room->handshake_send(*s, std::move(p), std::move(m));
                    });
}
void PeerHandshake::on_receive(
    std::function<void(Payload, std::optional<std::string>)> handler) const {
  boost::asio::post(state_->executor, [s = state_, h = std::move(handler)]() mutable {
    s->on_receive = std::move(h);
    while (s->on_receive && !s->early.empty()) {
      auto [payload, metadata] = std::move(s->early.front());
      s->early.pop_front();
      s->on_receive(std::move(payload), std::move(metadata));
    }
  });
}
void PeerHandshake::admit() const {
  if (state_->ended.exchange(true)) return;
  boost::asio::post(state_->executor, [s = state_] {
    if (auto room = s->room.lock()) room->handshake_end(*s, true, {});
  });
}
void PeerHandshake::reject(std::string reason) const {
  if (state_->ended.exchange(true)) return;
  boost::asio::post(state_->executor, [s = state_, r = std::move(reason)]() mutable {
    if (auto room = s->room.lock()) room->handshake_end(*s, false, std::move(r));
  });
}

void Responder::reply(Payload payload) const {
  state_->answer(std::move(payload), {});
}
void Responder::fail(std::string message) const {
  state_->answer(std::nullopt, std::move(message));
}

} // namespace posthorn

namespace posthorn::detail {

// Any thread (make_action); the loop reads actions_ through find_action.
std::shared_ptr<ActionImpl> RoomImpl::action(const std::string& name) {
  std::lock_guard lock(snapshot_mutex_);
  auto& slot = actions_[name];
  if (!slot) slot = std::make_shared<ActionImpl>(weak_from_this(), name, executor());
  return slot;
}

} // namespace posthorn::detail

namespace posthorn::detail {

std::shared_ptr<ActionImpl> RoomImpl::find_action(std::string_view name) const {
  std::lock_guard lock(snapshot_mutex_);
  auto it = actions_.find(std::string(name));
  return it == actions_.end() ? nullptr : it->second;
}

} // namespace posthorn::detail
