// RoomImpl: lifecycle and signaling (the coordinator's commands carried out on peer links).
#include "api/room_impl.hpp"

#include "api/app_session.hpp"
#include "api/runtime_impl.hpp"
#include "api/tuning.hpp"
#include "core/log.hpp"
#include "core/overloaded.hpp"
#include "signal/coordinator.hpp"
#include "signal/torrent_coordinator.hpp"
#include "signal/trystero_ids.hpp"

#include <boost/asio/post.hpp>

namespace posthorn::detail {

RoomImpl::RoomImpl(std::shared_ptr<RuntimeImpl> runtime, RoomConfig config, std::string room_id,
                   std::shared_ptr<strategy::Strategy> strategy)
    : runtime_(std::move(runtime)), config_(std::move(config)), room_id_(std::move(room_id)),
      token_(signal::room_token(config_.app_id, room_id_)), strategy_(std::move(strategy)),
      coordinator_timer_(runtime_->executor()),
      reassembler_(room::ReassemblerLimits{
          .max_buffered_bytes_per_peer = config_.receive_limits.max_buffered_bytes_per_peer,
          .max_message_bytes = config_.receive_limits.max_message_bytes,
      }) {
  if (strategy_->signaling_model() == strategy::SignalingModel::WebTorrentTracker) {
    signal::TorrentConfig tc;
    tc.app_id = config_.app_id;
    tc.room_id = room_id_;
    tc.password = config_.password;
    tc.self_id = runtime_->self_id();
    tc.relay_count = strategy_->relay_count();
    tc.passive = config_.passive;
    coordinator_ = std::make_unique<signal::TorrentCoordinator>(std::move(tc), runtime_->rng());
    return;
  }
  signal::CoordinatorConfig cc;
  cc.app_id = config_.app_id;
  cc.room_id = room_id_;
  cc.password = config_.password;
  cc.self_id = runtime_->self_id();
  cc.relay_count = strategy_->relay_count();
  cc.passive = config_.passive;
  coordinator_ = std::make_unique<signal::Coordinator>(std::move(cc), runtime_->rng());
}

RoomImpl::~RoomImpl() {
  for (auto& [pc, link] : negotiating_)
    link->close();
  // strategy_ is a lease on the runtime's shared strategy (RuntimeImpl::strategy_for).
}

boost::asio::any_io_executor RoomImpl::executor() const {
  return runtime_->executor();
}
const PeerId& RoomImpl::self_id() const noexcept {
  return runtime_->self_id();
}

void RoomImpl::start() {
  if (started_) return;
  started_ = true;
  session_ = runtime_->app_session(config_.app_id);
  session_->add_room(token_, shared_from_this());
  std::weak_ptr<RoomImpl> self = weak_from_this();
  coordinator_->set_shared_connection_lookup([self](const PeerId& peer) {
    auto room = self.lock();
    return room && room->session_ && room->session_->is_connected(peer);
  });
  reassembler_.set_streaming([self](const std::string&, std::string_view type) {
    auto room = self.lock();
    if (!room) return false;
    auto action = room->find_action(type);
    // An action that serves requests is never streamed: whether a message is a request is
    // known only from its metadata (§11), and a request handler takes the whole payload. Such
    // messages are buffered within the reassembler's limits and dispatched whole
    // (dispatch_user), plain messages included.
    return action && action->on_stream && !action->on_request;
  });
  coordinator_->start(Clock::now());
  drive_coordinator();
}

void RoomImpl::drive_coordinator() {
  while (auto command = coordinator_->poll_command())
    execute(*command);
  while (auto event = coordinator_->poll_event()) {
    std::visit(overloaded{
                   [&](signal::JoinError& e) { report_join_error(e.peer, e.message); },
                   [&](signal::ConnectionAbandoned& e) {
                     boost::asio::post(executor(), [self = weak_from_this(), peer = e.peer] {
                       if (auto room = self.lock(); room && room->session_)
                         room->session_->drop_link(peer);
                     });
                   },
                   [&](auto&) {},
               },
               *event);
  }
  arm_coordinator_timer();
}

void RoomImpl::arm_coordinator_timer() {
  auto next = coordinator_->poll_timeout();
  if (!next || left_) return;
  if (coordinator_armed_ && *coordinator_armed_ <= *next) return;
  coordinator_armed_ = *next;
  coordinator_timer_.expires_at(*next);
  coordinator_timer_.async_wait([self = weak_from_this()](error_code ec) {
    if (ec) return;
    auto room = self.lock();
    if (!room || room->left_) return;
    room->coordinator_armed_.reset();
    room->coordinator_->handle_timeout(Clock::now());
    room->drive_coordinator();
  });
}

void RoomImpl::execute(signal::Command& command) {
  std::weak_ptr<RoomImpl> self = weak_from_this();
  std::visit(
      overloaded{
          [&](signal::Subscribe& c) {
            subscriptions_[c.topic] = strategy_->subscribe(
                c.topic,
                [self](std::size_t relay, std::string_view topic, std::string_view text) {
                  auto room = self.lock();
                  if (!room || room->left_) return;
                  room->coordinator_->handle_message(Clock::now(), relay, topic, text);
                  room->drive_coordinator();
                },
                [self](std::size_t relay) {
                  auto room = self.lock();
                  if (!room || room->left_) return;
                  room->coordinator_->handle_relay_ready(Clock::now(), relay);
                  room->drive_coordinator();
                });
          },
          [&](signal::Unsubscribe& c) { subscriptions_.erase(c.topic); },
          [&](signal::Publish& c) { strategy_->publish(c.relay, c.topic, c.text); },
          [&](signal::CreateOffer& c) {
            auto link = make_link(c.pc, c.peer);
            auto sdp = link->create_offer();
            if (!sdp) {
              POSTHORN_LOG(Warn, "room", "cannot create an offer: {}", sdp.error().message());
              negotiating_.erase(c.pc);
              coordinator_->handle_pc_failed(Clock::now(), c.pc);
              return;
            }
            report_description(*link, c.pc, std::move(*sdp), c.complete_description);
          },
          [&](signal::CreateAnswer& c) {
            auto link = make_link(c.pc, c.peer);
            auto sdp = link->accept_offer(c.offer_sdp);
            if (!sdp) {
              POSTHORN_LOG(Debug, "room", "cannot answer an offer: {}", sdp.error().message());
              negotiating_.erase(c.pc);
              coordinator_->handle_pc_failed(Clock::now(), c.pc);
              return;
            }
            report_description(*link, c.pc, std::move(*sdp), c.complete_description);
          },
          [&](signal::ApplyAnswer& c) {
            auto it = negotiating_.find(c.pc);
            if (it == negotiating_.end()) return;
            if (!c.peer.empty()) it->second->bind_remote(c.peer);
            if (auto r = it->second->apply_answer(c.answer_sdp); !r) {
              POSTHORN_LOG(Debug, "room", "cannot apply an answer: {}", r.error().message());
              it->second->close();
              negotiating_.erase(it);
              coordinator_->handle_pc_failed(Clock::now(), c.pc);
            }
          },
          [&](signal::AddRemoteCandidate& c) {
            if (auto it = negotiating_.find(c.pc); it != negotiating_.end())
              it->second->add_remote_candidate(c.candidate);
          },
          [&](signal::ClosePc& c) {
            if (auto it = negotiating_.find(c.pc); it != negotiating_.end()) {
              it->second->close();
              negotiating_.erase(it);
            }
          },
          [&](signal::AttachShared& c) { session_->attach_shared(c.peer, token_); },
      },
      command);
}

// Trickle signaling reports the description at once (its candidates follow); non-trickle waits
// for ICE gathering to complete, as JS does for torrent (up to 15 s, spec §5.2).
void RoomImpl::report_description(PeerLink& link, signal::PcId pc, std::string sdp, bool complete) {
  if (!complete) {
    coordinator_->handle_local_description(Clock::now(), pc, sdp);
    return;
  }
  link.when_gathered(tuning::kGatheringLimit, [self = weak_from_this(), pc](std::string full) {
    auto room = self.lock();
    if (!room || room->left_) return;
    room->coordinator_->handle_local_description(Clock::now(), pc, full);
    room->drive_coordinator();
  });
}

std::shared_ptr<PeerLink> RoomImpl::make_link(signal::PcId pc, const PeerId& peer) {
  auto link =
      std::make_shared<PeerLink>(runtime_->executor(), runtime_->connection_sockets(),
                                 runtime_->mdns(), runtime_->peer_config(), runtime_->rng(), peer);
  std::weak_ptr<RoomImpl> self = weak_from_this();
  // Link events can fire inside the link call that caused them (create_offer flushes the first
  // candidates): post them, so the coordinator sees the description first.
  auto post = [self](auto fn) {
    auto room = self.lock();
    if (!room) return;
    boost::asio::post(room->executor(), [self, fn = std::move(fn)]() mutable {
      if (auto r = self.lock(); r && !r->left_) fn(*r);
    });
  };
  link->set_callbacks({
      .on_local_candidate =
          [post, pc](const signal::CandidateInit& candidate) {
            post([pc, candidate](RoomImpl& room) {
              room.coordinator_->handle_local_candidate(Clock::now(), pc, candidate);
              room.drive_coordinator();
            });
          },
      .on_open = [post, pc] { post([pc](RoomImpl& room) { room.on_link_open(pc); }); },
      .on_room_frame = {},
      .on_presence = {},
      .on_closed =
          [post, pc](std::string_view) { post([pc](RoomImpl& room) { room.on_link_failed(pc); }); },
  });
  negotiating_[pc] = link;
  return link;
}

void RoomImpl::on_link_open(signal::PcId pc) {
  auto it = negotiating_.find(pc);
  if (it == negotiating_.end()) return;
  auto link = std::move(it->second);
  negotiating_.erase(it);
  if (link->is_closed()) return;
  POSTHORN_LOG(Debug, "room", "connection to {} open", redact(link->remote()));
  coordinator_->handle_connected(Clock::now(), pc);
  drive_coordinator();
  session_->adopt_link(link, token_);
}

void RoomImpl::on_link_failed(signal::PcId pc) {
  if (negotiating_.erase(pc) == 0) return;
  coordinator_->handle_pc_failed(Clock::now(), pc);
  drive_coordinator();
}

void RoomImpl::peer_connection_lost(const PeerId& peer) {
  if (left_) return;
  remove_peer(peer, "connection lost", false);
  coordinator_->handle_peer_lost(Clock::now(), peer);
  drive_coordinator();
}

void RoomImpl::report_join_error(const PeerId& peer, std::string message) {
  if (on_join_error) on_join_error(JoinError{peer, std::move(message)});
}

void RoomImpl::report_error(RoomError error) {
  if (on_error)
    on_error(error);
  else
    POSTHORN_LOG(Warn, "room", "{} (no on_error handler)", error.message);
}

std::vector<PeerId> RoomImpl::active_peers() const {
  std::lock_guard lock(snapshot_mutex_);
  return active_snapshot_;
}

std::vector<Room::RelayInfo> RoomImpl::relay_statuses() const {
  std::vector<Room::RelayInfo> out;
  if (!strategy_) return out;
  for (const auto& s : strategy_->relay_statuses())
    out.push_back({s.url, std::string(strategy::to_string(s.state)), s.last_error});
  return out;
}

void RoomImpl::leave(std::function<void()> done) {
  if (left_) {
    if (done) done();
    return;
  }
  // §9: @_leave to every peer (pending or active), a short pause so it is written, then
  // presence 0 and teardown.
  for (auto& [peer, state] : peers_)
    send_internal(peer, "@_leave", PayloadKind::Text, {});
  left_ = true;
  coordinator_timer_.cancel();
  coordinator_->leave(Clock::now());
  while (auto command = coordinator_->poll_command())
    if (std::holds_alternative<signal::Publish>(*command) ||
        std::holds_alternative<signal::ClosePc>(*command))
      execute(*command);
  auto timer = std::make_shared<boost::asio::steady_timer>(executor(), tuning::kLeaveFlushDelay);
  timer->async_wait([self = shared_from_this(), timer, done = std::move(done)](error_code) {
    std::vector<PeerId> peers;
    for (auto& [peer, state] : self->peers_)
      peers.push_back(peer);
    for (const auto& peer : peers)
      self->remove_peer(peer, "left", true);
    for (auto& [pc, link] : self->negotiating_)
      link->close();
    self->negotiating_.clear();
    self->subscriptions_.clear(); // the shared strategy stays open for the runtime's other rooms
    if (self->session_) self->session_->remove_room(self->token_);
    self->runtime_->forget_room(self->config_.app_id, self->room_id_);
    if (done) done();
  });
}

} // namespace posthorn::detail
