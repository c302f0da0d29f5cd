#include "api/app_session.hpp"

#include "api/room_impl.hpp"
#include "api/runtime_impl.hpp"
#include "api/tuning.hpp"
#include "core/log.hpp"

namespace posthorn::detail {

AppSession::AppSession(std::weak_ptr<RuntimeImpl> runtime, std::string app_id)
    : runtime_(std::move(runtime)), app_id_(std::move(app_id)) {}

AppSession::~AppSession() {
  for (auto& [peer, entry] : links_)
    entry.link->close();
}

void AppSession::add_room(const std::string& token, const std::shared_ptr<RoomImpl>& room) {
  rooms_[token] = room;
  // spec §7.2: a room joined later announces itself on every live connection of the app.
  for (auto& [peer, entry] : links_)
    entry.link->send_presence(token, true);
}

void AppSession::remove_room(const std::string& token) {
  rooms_.erase(token);
  std::vector<PeerId> peers;
  for (auto& [peer, entry] : links_)
    peers.push_back(peer);
  for (const auto& peer : peers) {
    auto it = links_.find(peer);
    if (it == links_.end()) continue;
    it->second.link->send_presence(token, false);
    detach(peer, token);
  }
}

bool AppSession::is_connected(const PeerId& peer) const {
  auto it = links_.find(peer);
  return it != links_.end() && it->second.link->is_open();
}

std::shared_ptr<PeerLink> AppSession::link(const PeerId& peer) const {
  auto it = links_.find(peer);
  return it == links_.end() ? nullptr : it->second.link;
}

void AppSession::adopt_link(const std::shared_ptr<PeerLink>& link, const std::string& room_token) {
  const PeerId peer = link->remote();
  if (auto it = links_.find(peer); it != links_.end() && it->second.link != link) {
    if (it->second.link->is_open()) {
      // Never two connections to one peer of an app (§7.4): keep the one already carrying rooms.
      POSTHORN_LOG(Debug, "room", "closing a duplicate connection to {}", redact(peer));
      link->close();
      attach_shared(peer, room_token);
      return;
    }
    links_.erase(it);
  }
  auto& entry = links_[peer];
  entry.link = link;
  std::weak_ptr<AppSession> self = weak_from_this();
  link->set_callbacks({
      .on_local_candidate = {},
      .on_open = {},
      .on_room_frame =
          [self, peer](std::string_view token, ByteView chunk) {
            if (auto s = self.lock()) s->on_room_frame(peer, token, chunk);
          },
      .on_presence =
          [self, peer](std::string_view token, bool present) {
            if (auto s = self.lock()) s->on_presence(peer, token, present);
          },
      .on_closed =
          [self, peer](std::string_view) {
            if (auto s = self.lock()) s->on_link_closed(peer);
          },
  });
  // §7.2: when a connection comes up, present=1 for every room of the app we are in.
  for (const auto& [token, room] : rooms_)
    link->send_presence(token, true);
  attach(peer, entry, room_token);
  link->deliver_early_frames();
}

void AppSession::attach_shared(const PeerId& peer, const std::string& token) {
  auto it = links_.find(peer);
  if (it == links_.end()) return;
  attach(peer, it->second, token);
}

void AppSession::attach(const PeerId& peer, LinkEntry& entry, const std::string& token) {
  auto room_it = rooms_.find(token);
  if (room_it == rooms_.end()) return;
  auto room = room_it->second.lock();
  if (!room) return;
  if (entry.linger) entry.linger.reset();
  if (!entry.attached.insert(token).second) return;
  room->attach_peer(peer, entry.link);
  // Frames that arrived for this room before it attached (§7.2 "buffered").
  auto pending = std::move(entry.unattached);
  entry.unattached.clear();
  for (auto& [frame_token, chunk] : pending) {
    if (frame_token == token)
      room->handle_chunk(peer, chunk);
    else
      entry.unattached.emplace_back(std::move(frame_token), std::move(chunk));
  }
}

void AppSession::detach(const PeerId& peer, const std::string& token) {
  auto it = links_.find(peer);
  if (it == links_.end()) return;
  it->second.attached.erase(token);
  if (it->second.attached.empty()) schedule_linger(peer, it->second);
}

void AppSession::schedule_linger(const PeerId& peer, LinkEntry& entry) {
  auto runtime = runtime_.lock();
  if (!runtime) return;
  // §7.2: a link no room uses is kept a while (another room may attach), then closed.
  entry.linger =
      std::make_unique<boost::asio::steady_timer>(runtime->executor(), tuning::kIdleLinkLinger);
  std::weak_ptr<AppSession> self = weak_from_this();
  entry.linger->async_wait([self, peer](error_code ec) {
    if (ec) return;
    auto s = self.lock();
    if (!s) return;
    auto it = s->links_.find(peer);
    if (it == s->links_.end() || !it->second.attached.empty()) return;
    auto link = std::move(it->second.link);
    s->links_.erase(it);
    link->close();
  });
}

void AppSession::on_room_frame(const PeerId& peer, std::string_view token, ByteView chunk) {
  auto it = links_.find(peer);
  if (it == links_.end()) return;
  auto& entry = it->second;
  const std::string key(token);
  if (entry.attached.count(key)) {
    if (auto room_it = rooms_.find(key); room_it != rooms_.end())
      if (auto room = room_it->second.lock()) room->handle_chunk(peer, chunk);
    return;
  }
  // A frame for a room we joined but the peer never announced: JS accepts the signaling room's
  // frames without presence (§7.3), so attach on first frame.
  if (rooms_.count(key)) {
    attach(peer, entry, key);
    if (auto room = rooms_[key].lock()) room->handle_chunk(peer, chunk);
    return;
  }
  if (entry.unattached.size() >= tuning::kMaxBufferedUnattachedFrames) {
    POSTHORN_LOG(Debug, "room", "dropped a frame for an unknown room from {}", redact(peer));
    return;
  }
  entry.unattached.emplace_back(key, Bytes(chunk.begin(), chunk.end()));
}

void AppSession::on_presence(const PeerId& peer, std::string_view token, bool present) {
  auto it = links_.find(peer);
  if (it == links_.end()) return;
  const std::string key(token);
  // §7.2: present=1 for a room we joined attaches it and starts its handshake; present=0 only
  // updates bookkeeping (leaving is @_leave).
  if (present && rooms_.count(key)) attach(peer, it->second, key);
}

void AppSession::drop_link(const PeerId& peer) {
  if (auto it = links_.find(peer); it != links_.end()) it->second.link->close();
  on_link_closed(peer);
}

void AppSession::on_link_closed(const PeerId& peer) {
  auto it = links_.find(peer);
  if (it == links_.end()) return;
  auto link = std::move(it->second.link);
  links_.erase(it);
  // Every room loses the peer, attached or not: their coordinators may have been ignoring its
  // signaling because the connection was live (§10 "Connection gone").
  for (auto& [token, weak_room] : rooms_)
    if (auto room = weak_room.lock()) room->peer_connection_lost(peer);
}

} // namespace posthorn::detail
