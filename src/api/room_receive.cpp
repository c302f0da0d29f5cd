// RoomImpl: membership (the §10 handshake per peer) and the receive path (§8.5–§8.6, §9, §11).
#include "api/app_session.hpp"
#include "api/peer_handshake_state.hpp"
#include "api/room_impl.hpp"
#include "api/runtime_impl.hpp"
#include "api/tuning.hpp"
#include "core/log.hpp"
#include "core/overloaded.hpp"
#include "room/envelope.hpp"

namespace posthorn::detail {
namespace {

PayloadKind to_public(room::PayloadKind kind) {
  return static_cast<PayloadKind>(kind);
}

Payload make_payload(PayloadKind kind, Bytes data) {
  switch (kind) {
  case PayloadKind::Text: return Payload::text(std::string(data.begin(), data.end()));
  case PayloadKind::Json: return Payload::json(std::string(data.begin(), data.end()));
  case PayloadKind::Binary: break;
  }
  return Payload::binary(std::move(data));
}

/// Types JS accepts from peers that have not finished the handshake (§8.6).
bool receive_while_pending(std::string_view type) {
  return type == "@_hsdata" || type == "@_hsready" || type == "@_leave";
}

} // namespace

void RoomImpl::attach_peer(const PeerId& peer, const std::shared_ptr<PeerLink>& link) {
  if (left_) return;
  auto& state = peers_[peer];
  if (state.link == link && state.handshake) return;
  state.link = link;
  if (state.active) return;
  room::HandshakeConfig hc;
  hc.self_id = self_id();
  hc.remote_id = peer;
  hc.password = config_.password;
  hc.app_id = config_.app_id;
  hc.room_id = room_id_;
  hc.timeout = config_.handshake_timeout;
  hc.user_step = static_cast<bool>(handshake_handler);
  state.handshake = std::make_unique<room::Handshake>(std::move(hc), runtime_->rng(), Clock::now());
  ++state.handshake_generation;
  state.end_user_step();
  POSTHORN_LOG(Debug, "room", "handshake with {} started", redact(peer));
  drive_handshake(peer);
}

void RoomImpl::drive_handshake(const PeerId& peer) {
  auto it = peers_.find(peer);
  if (it == peers_.end() || !it->second.handshake) return;
  auto& hs = *it->second.handshake;
  while (auto out = hs.poll_send()) {
    std::visit(
        overloaded{
            [&](room::SendHsData& s) {
              send_internal(peer, "@_hsdata", to_public(s.kind), std::move(s.data),
                            std::move(s.metadata_json));
            },
            [&](room::SendHsReady&) { send_internal(peer, "@_hsready", PayloadKind::Text, {}); },
        },
        *out);
  }
  std::optional<std::string> failure;
  bool activated = false;
  while (auto event = hs.poll_event()) {
    std::visit(overloaded{
                   [&](room::HandshakeActive&) { activated = true; },
                   [&](room::HandshakeFailed& e) { failure = e.reason; },
                   [&](room::UserStepStarted&) { start_user_step(peer, it->second); },
                   [&](room::UserData& d) {
                     auto& step = it->second.user_step;
                     if (!step) return;
                     Payload payload = make_payload(to_public(d.kind), std::move(d.data));
                     if (step->on_receive)
                       step->on_receive(std::move(payload), std::move(d.metadata_json));
                     else
                       step->early.emplace_back(std::move(payload), std::move(d.metadata_json));
                   },
               },
               *event);
  }
  if (failure || activated) it->second.end_user_step();
  if (failure) {
    report_join_error(peer, *failure);
    remove_peer(peer, *failure, true);
    return;
  }
  if (activated) {
    activate(peer);
    return;
  }
  // More output may have been produced by user_step_done.
  if (hs.has_pending_output()) return drive_handshake(peer);
  arm_handshake_timer(peer);
}

RoomImpl::PeerState::~PeerState() {
  end_user_step();
}

void RoomImpl::PeerState::end_user_step() {
  if (user_step) user_step->release();
  user_step.reset();
}

void RoomImpl::start_user_step(const PeerId& peer, PeerState& state) {
  auto step = std::make_shared<PeerHandshake::State>();
  step->room = weak_from_this();
  step->peer = peer;
  step->initiator = state.handshake->is_initiator();
  step->generation = state.handshake_generation;
  step->executor = executor();
  state.user_step = step;
  if (handshake_handler) {
    handshake_handler(PeerHandshake(step));
  } else {
    // The handler was removed after this handshake began: nothing to ask, admit.
    step->ended = true;
    boost::asio::post(executor(), [self = weak_from_this(), step] {
      if (auto room = self.lock()) room->handshake_end(*step, true, {});
    });
  }
}

/// The PeerState whose current handshake `step` belongs to, or nullptr if it ended or was
/// replaced.
RoomImpl::PeerState* RoomImpl::step_owner(const PeerHandshake::State& step) {
  auto it = peers_.find(step.peer);
  if (left_ || it == peers_.end() || !it->second.handshake ||
      it->second.handshake_generation != step.generation)
    return nullptr;
  return &it->second;
}

void RoomImpl::handshake_send(const PeerHandshake::State& step, Payload payload,
                              std::optional<std::string> metadata_json) {
  auto* state = step_owner(step);
  if (!state) return;
  const auto kind = static_cast<room::PayloadKind>(payload.kind());
  state->handshake->send_user_data(kind, std::move(payload).release(), std::move(metadata_json));
  drive_handshake(step.peer);
}

void RoomImpl::handshake_end(const PeerHandshake::State& step, bool ok, std::string reason) {
  auto* state = step_owner(step);
  if (!state) return;
  state->end_user_step();
  // As Trystero words it (handshake.ts): "handshake failed: <reason>" unless it says so itself.
  if (!ok && !reason.starts_with("handshake ")) reason = "handshake failed: " + reason;
  state->handshake->user_step_done(Clock::now(), ok, std::move(reason));
  drive_handshake(step.peer);
}

void RoomImpl::arm_handshake_timer(const PeerId& peer) {
  auto it = peers_.find(peer);
  if (it == peers_.end() || !it->second.handshake) return;
  auto next = it->second.handshake->poll_timeout();
  if (!next) return;
  auto& timer = it->second.handshake_timer;
  if (!timer) timer = std::make_unique<boost::asio::steady_timer>(executor());
  timer->expires_at(*next);
  timer->async_wait([self = weak_from_this(), peer](error_code ec) {
    if (ec) return;
    auto room = self.lock();
    if (!room || room->left_) return;
    auto it = room->peers_.find(peer);
    if (it == room->peers_.end() || !it->second.handshake) return;
    it->second.handshake->handle_timeout(Clock::now());
    room->drive_handshake(peer);
  });
}

void RoomImpl::activate(const PeerId& peer) {
  auto& state = peers_[peer];
  if (state.active) return;
  state.active = true;
  state.handshake_timer.reset();
  POSTHORN_LOG(Debug, "room", "peer {} joined", redact(peer));
  {
    std::lock_guard lock(snapshot_mutex_);
    active_snapshot_.push_back(peer);
  }
  if (on_peer_join) on_peer_join(peer);
}

void RoomImpl::remove_peer(const PeerId& peer, std::string_view why, bool notify_session) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  const bool was_active = it->second.active;
  peers_.erase(it);
  {
    std::lock_guard lock(snapshot_mutex_);
    std::erase(active_snapshot_, peer);
  }
  reassembler_.forget_peer(peer);
  for (auto s = streams_.begin(); s != streams_.end();) {
    if (std::get<0>(s->first) == peer) {
      if (s->second.sink) s->second.sink->abort(why);
      s = streams_.erase(s);
    } else {
      ++s;
    }
  }
  fail_peer_operations(peer, make_error_code(boost::system::errc::connection_reset));
  if (notify_session && session_) session_->detach(peer, token_);
  POSTHORN_LOG(Debug, "room", "peer {} removed: {}", redact(peer), why);
  if (was_active && !left_ && on_peer_leave) on_peer_leave(peer);
}

void RoomImpl::fail_peer_operations(const PeerId& peer, error_code ec) {
  // Requests to a peer that is gone reject as "disconnected" (§11).
  std::vector<std::string> failed;
  for (auto& [id, request] : requests_)
    if (request.peer == peer) failed.push_back(id);
  for (const auto& id : failed) {
    auto node = requests_.extract(id);
    settle(node.mapped(), {peer, ec, "disconnected", {}});
  }
}

void RoomImpl::handle_chunk(const PeerId& peer, ByteView chunk) {
  if (left_) return;
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  auto header = room::decode_chunk_header(chunk);
  if (!header) {
    POSTHORN_LOG(Debug, "room", "dropped a malformed chunk from {}", redact(peer));
    return;
  }
  // §8.6: only handshake and leave traffic from peers that are not active yet.
  if (!it->second.active && !receive_while_pending(header->type)) return;
  reassembler_.handle_chunk(peer, chunk);
  drain_reassembler();
}

void RoomImpl::drain_reassembler() {
  while (auto event = reassembler_.poll_event()) {
    std::visit(
        overloaded{
            [&](room::Progress& e) {
              auto action = find_action(e.type);
              if (!action || !action->on_progress) return;
              action->on_progress(ProgressInfo{e.peer, e.fraction, Direction::In, e.metadata_json});
            },
            [&](room::Complete& e) {
              dispatch_complete(e.peer, e.type, to_public(e.kind), std::move(e.data),
                                std::move(e.metadata_json));
            },
            [&](room::Chunk& e) {
              auto key = std::make_tuple(e.peer, e.type, e.nonce);
              auto sit = streams_.find(key);
              if (sit == streams_.end()) {
                StreamState state;
                state.kind = to_public(e.kind);
                state.metadata = e.metadata_json;
                auto action = find_action(e.type);
                if (action && action->on_stream)
                  state.sink = action->on_stream(MessageInfo{e.peer, e.metadata_json}, state.kind);
                sit = streams_.emplace(key, std::move(state)).first;
              }
              auto& stream = sit->second;
              if (stream.sink)
                stream.sink->write(e.data);
              else
                stream.fallback.insert(stream.fallback.end(), e.data.begin(), e.data.end());
              if (!e.last) return;
              auto done = std::move(stream);
              streams_.erase(sit);
              if (done.sink)
                done.sink->finish();
              else
                dispatch_complete(e.peer, e.type, done.kind, std::move(done.fallback),
                                  std::move(done.metadata));
            },
            [&](room::Dropped& e) {
              POSTHORN_LOG(Debug, "room", "dropped an incoming '{}' message from {}: {}", e.type,
                           redact(e.peer), e.reason);
              for (auto s = streams_.begin(); s != streams_.end();) {
                if (std::get<0>(s->first) == e.peer && std::get<1>(s->first) == e.type) {
                  if (s->second.sink) s->second.sink->abort(e.reason);
                  s = streams_.erase(s);
                } else {
                  ++s;
                }
              }
              // User data is never silently lost: the app hears about the drop.
              if (!e.type.empty())
                report_error(RoomError{
                    e.peer, e.type, "dropped an incoming '" + e.type + "' message: " + e.reason});
            },
        },
        *event);
    if (left_) return;
  }
}

void RoomImpl::dispatch_complete(const PeerId& peer, const std::string& type, PayloadKind kind,
                                 Bytes data, std::optional<std::string> metadata) {
  auto pit = peers_.find(peer);
  if (pit == peers_.end()) return;
  if (type == "@_hsdata" || type == "@_hsready") {
    auto& hs = pit->second.handshake;
    if (!hs || pit->second.active) return; // §10: @_hsdata after activation is ignored
    if (type == "@_hsready")
      hs->handle_hsready(Clock::now());
    else
      hs->handle_hsdata(Clock::now(), static_cast<room::PayloadKind>(kind), data,
                        std::move(metadata));
    drive_handshake(peer);
    return;
  }
  if (type == "@_leave") {
    remove_peer(peer, "peer left", true);
    return;
  }
  if (type == "@_ping") {
    send_internal(peer, "@_pong", PayloadKind::Text, {});
    return;
  }
  if (type == "@_pong") {
    auto& pings = pit->second.pings;
    if (pings.empty()) return;
    auto [start, done] = std::move(pings.front());
    pings.pop_front();
    done({}, std::chrono::duration<double, std::milli>(Clock::now() - start));
    return;
  }
  if (type == "@_response") {
    handle_response(peer, kind, std::move(data), metadata);
    return;
  }
  if (type.starts_with("@_")) return; // @_signal, @_stream, @_track: media is not supported yet
  auto action = find_action(type);
  if (!action || (!action->on_message && !action->on_request && !action->on_stream)) {
    if (on_unhandled) {
      on_unhandled(type, make_payload(kind, std::move(data)),
                   MessageInfo{peer, std::move(metadata)});
      return;
    }
    // §8.6: queued until the application registers the action.
    if (unregistered_.size() >= tuning::kMaxQueuedUnregisteredMessages) unregistered_.pop_front();
    unregistered_.push_back(
        {type, make_payload(kind, std::move(data)), {peer, std::move(metadata)}});
    return;
  }
  dispatch_user(action, peer, kind, std::move(data), std::move(metadata));
}

void RoomImpl::dispatch_user(const std::shared_ptr<ActionImpl>& action, const PeerId& peer,
                             PayloadKind kind, Bytes data, std::optional<std::string> metadata) {
  if (action->on_request && metadata) {
    if (auto envelope = room::parse_request_metadata(*metadata)) {
      handle_request(action, peer, make_payload(kind, std::move(data)), envelope->id,
                     std::move(envelope->user_metadata));
      return;
    }
  }
  if (action->on_message) {
    action->on_message(make_payload(kind, std::move(data)), MessageInfo{peer, std::move(metadata)});
    return;
  }
  // A plain message on an action that streams and serves requests arrives whole (requests are
  // never streamed); hand it to a sink in one piece so it is not lost.
  if (action->on_stream) {
    MessageInfo info{peer, std::move(metadata)};
    if (auto sink = action->on_stream(info, kind)) {
      sink->write(data);
      sink->finish();
    }
  }
}

void RoomImpl::deliver_queued(const std::shared_ptr<ActionImpl>& action) {
  std::deque<QueuedMessage> keep;
  auto queued = std::move(unregistered_);
  unregistered_.clear();
  for (auto& m : queued) {
    if (m.type != action->name) {
      keep.push_back(std::move(m));
      continue;
    }
    if (!peers_.count(m.info.peer)) continue;
    const auto kind = m.payload.kind();
    auto bytes = std::move(m.payload).release();
    dispatch_user(action, m.info.peer, kind, std::move(bytes), std::move(m.info.metadata));
  }
  for (auto& m : unregistered_)
    keep.push_back(std::move(m));
  unregistered_ = std::move(keep);
}

} // namespace posthorn::detail
