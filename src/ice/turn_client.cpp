// TurnClient: the public API, inputs and outputs, the data path (Send/Data indications,
// ChannelData), permissions and channels, and refresh timers. Requests and their responses are
// in turn_client_transactions.cpp.
#include "ice/turn_client.hpp"

#include "core/log.hpp"
#include "ice/turn_client_impl.hpp"

#include <algorithm>
#include <stdexcept>

namespace posthorn::ice {
namespace {

// RFC 8489 §14.3: USERNAME is at most 509 bytes.
constexpr std::size_t kMaxUsername = 509;

posthorn::error_code err(TurnErrc e) {
  return e;
}

} // namespace

std::string_view to_string(TurnState s) noexcept {
  switch (s) {
  case TurnState::Idle: return "idle";
  case TurnState::Allocating: return "allocating";
  case TurnState::Allocated: return "allocated";
  case TurnState::Closing: return "closing";
  case TurnState::Closed: return "closed";
  case TurnState::Failed: return "failed";
  }
  return "?";
}

TurnClient::TurnClient(TurnServerConfig config, Rng& rng) {
  if (config.server.port() == 0)
    throw std::invalid_argument("TURN server address " + config.server.to_string() +
                                " has no port (the usual one is 3478)");
  if (config.username.empty() || config.username.size() > kMaxUsername)
    throw std::invalid_argument("TURN username must be 1.." + std::to_string(kMaxUsername) +
                                " bytes; got " + std::to_string(config.username.size()));
  if (config.timing.max_transmissions < 1 || config.timing.max_transmissions > 20 ||
      config.timing.rto <= Duration::zero())
    throw std::invalid_argument("TURN timing needs 1 <= max_transmissions <= 20 and rto > 0");
  impl_ = std::make_unique<Impl>(std::move(config), rng);
}

TurnClient::~TurnClient() = default;

TurnState TurnClient::state() const noexcept {
  return impl_->state;
}
const TurnServerConfig& TurnClient::config() const noexcept {
  return impl_->config;
}
std::optional<SocketAddress> TurnClient::relayed_address() const {
  return impl_->state == TurnState::Allocated ? impl_->relayed : std::nullopt;
}
std::optional<SocketAddress> TurnClient::mapped_address() const {
  return impl_->state == TurnState::Allocated ? impl_->mapped : std::nullopt;
}
const TurnStats& TurnClient::stats() const noexcept {
  return impl_->stats;
}
std::size_t TurnClient::permission_count() const noexcept {
  return impl_->permissions.size();
}
std::size_t TurnClient::channel_count() const noexcept {
  return static_cast<std::size_t>(
      std::count_if(impl_->channels.begin(), impl_->channels.end(),
                    [](const TurnChannel& c) { return c.state != ChannelState::Failed; }));
}

bool TurnClient::has_permission(const IpAddress& peer) const {
  const auto* p = impl_->find_permission(peer);
  return p && p->state == PermissionState::Active;
}

bool TurnClient::has_channel(const SocketAddress& peer) const {
  const auto* c = impl_->find_channel(peer);
  return c && c->state == ChannelState::Bound;
}

void TurnClient::start(TimePoint now) {
  auto& s = *impl_;
  if (s.state != TurnState::Idle) return;
  s.state = TurnState::Allocating;
  TurnTransaction t;
  t.kind = TurnRequest::Allocate;
  s.send_request(now, std::move(t));
}

void TurnClient::handle_datagram(TimePoint now, ByteView data) {
  impl_->handle_frame(now, data);
}

void TurnClient::handle_stream_bytes(TimePoint now, ByteView data) {
  auto& s = *impl_;
  if (s.is_terminal()) return;
  s.framer.push(data);
  for (;;) {
    auto frame = s.framer.next();
    if (!frame) {
      // RFC 8656 §12.5: without framing nothing later in the stream can be trusted.
      s.fail_allocation(TurnErrc::StreamDesynchronized, 0,
                        "the TCP stream from the TURN server lost STUN/ChannelData framing");
      return;
    }
    if (!*frame) return;
    s.handle_frame(now, **frame);
    if (s.is_terminal()) return;
  }
}

void TurnClient::handle_transport_closed(TimePoint) {
  auto& s = *impl_;
  if (s.state == TurnState::Idle || s.is_terminal()) return;
  if (s.state == TurnState::Closing) {
    s.finish_close(); // RFC 8656 §3.1: closing the connection deletes the allocation
    return;
  }
  if (!s.is_tcp()) {
    // UDP has no connection: the driver reports an ICMP port/host unreachable this way.
    s.fail_allocation(TurnErrc::ConnectionClosed, 0,
                      "the TURN server is unreachable (ICMP unreachable on the UDP socket)");
    return;
  }
  s.fail_allocation(TurnErrc::ConnectionClosed, 0,
                    "the connection to the TURN server closed; the allocation is gone with it");
}

void TurnClient::handle_timeout(TimePoint now) {
  auto& s = *impl_;
  if (s.is_terminal()) return;
  s.retransmit_due(now);
  if (s.state == TurnState::Allocated) s.refresh_due(now);
}

result<void> TurnClient::send_to(TimePoint now, const SocketAddress& peer, ByteView data) {
  auto& s = *impl_;
  if (s.state == TurnState::Idle || s.state == TurnState::Allocating)
    return err(TurnErrc::NotAllocated);
  if (s.state != TurnState::Allocated) return err(TurnErrc::Closed);
  if (peer.family() != s.relayed->family()) return err(TurnErrc::PeerFamilyMismatch);
  if (data.size() > kTurnMaxPeerPayload) return err(TurnErrc::PayloadTooLarge);

  TurnPermission* p = s.find_permission(peer.ip());
  if (p && p->state == PermissionState::Refused) {
    if (now < p->retry_after) return err(TurnErrc::PermissionDenied);
    p->state = PermissionState::Pending;
  } else if (!p) {
    auto made = s.make_permission(peer.ip());
    if (!made) return made.error();
    p = *made;
  }
  if (p->state == PermissionState::Pending) {
    // RFC 8656 §9: the server drops data to peers without a permission; hold it one round trip.
    if (p->queued.size() >= s.config.limits.max_pending_per_peer)
      return err(TurnErrc::PendingQueueFull);
    p->queued.emplace_back(peer, Bytes(data.begin(), data.end()));
    if (!s.is_resolving(*p)) s.request_permission(now, *p, peer);
    return {};
  }
  s.send_data(peer, data);
  // With the permission in place, bind a channel so later datagrams are smaller (§12).
  s.maybe_bind_channel(now, peer);
  return {};
}

result<void> TurnClient::add_permission(TimePoint now, const IpAddress& peer) {
  auto& s = *impl_;
  if (s.state == TurnState::Idle || s.state == TurnState::Allocating)
    return err(TurnErrc::NotAllocated);
  if (s.state != TurnState::Allocated) return err(TurnErrc::Closed);
  if (peer.family() != s.relayed->family()) return err(TurnErrc::PeerFamilyMismatch);
  TurnPermission* p = s.find_permission(peer);
  if (p && p->state == PermissionState::Refused) {
    if (now < p->retry_after) return err(TurnErrc::PermissionDenied);
    p->state = PermissionState::Pending;
  } else if (!p) {
    auto made = s.make_permission(peer);
    if (!made) return made.error();
    p = *made;
  }
  if (p->state == PermissionState::Pending && !s.is_resolving(*p))
    s.request_permission(now, *p, std::nullopt);
  return {};
}

void TurnClient::close(TimePoint now) {
  auto& s = *impl_;
  switch (s.state) {
  case TurnState::Idle: s.finish_close(); return;
  case TurnState::Allocating: {
    // Only an authenticated Allocate can have created an allocation; wait for its answer and
    // release it then (on_success), or close when it fails.
    const bool maybe_allocated =
        std::any_of(s.transactions.begin(), s.transactions.end(),
                    [](const TurnTransaction& t) { return t.authenticated; });
    if (maybe_allocated) {
      s.state = TurnState::Closing;
    } else {
      s.finish_close();
    }
    return;
  }
  case TurnState::Allocated: s.release(now); return;
  case TurnState::Closing:
  case TurnState::Closed:
  case TurnState::Failed: return;
  }
}

std::optional<Bytes> TurnClient::poll_transmit() {
  auto& q = impl_->transmits;
  if (q.empty()) return std::nullopt;
  Bytes b = std::move(q.front());
  q.pop_front();
  return b;
}

std::optional<TurnEvent> TurnClient::poll_event() {
  auto& q = impl_->events;
  if (q.empty()) return std::nullopt;
  TurnEvent e = std::move(q.front());
  q.pop_front();
  return e;
}

std::optional<TimePoint> TurnClient::poll_timeout() const {
  const auto& s = *impl_;
  if (s.is_terminal()) return std::nullopt;
  std::optional<TimePoint> next;
  auto consider = [&](TimePoint t) {
    if (!next || t < *next) next = t;
  };
  for (const auto& t : s.transactions)
    consider(t.deadline);
  if (s.state == TurnState::Allocated) {
    if (!s.refresh_in_flight) consider(s.refresh_at);
    for (const auto& p : s.permissions)
      if (p.state == PermissionState::Active && !p.in_flight) consider(p.refresh_at);
    for (const auto& c : s.channels)
      if (c.state == ChannelState::Bound && !c.in_flight) consider(c.refresh_at);
  }
  return next;
}

// --- Impl: inputs ---

void TurnClient::Impl::handle_frame(TimePoint now, ByteView frame) {
  if (is_terminal()) return;
  if (looks_like_channel_data(frame)) {
    handle_channel_data(frame);
    return;
  }
  auto msg = StunMessage::decode(frame);
  if (!msg) {
    ++stats.dropped_malformed;
    return;
  }
  switch (msg->cls()) {
  case StunClass::SuccessResponse:
  case StunClass::ErrorResponse: handle_response(now, *msg); return;
  case StunClass::Indication:
    if (msg->method_code() == static_cast<std::uint16_t>(StunMethod::Data)) {
      handle_data_indication(*msg);
      return;
    }
    [[fallthrough]];
  case StunClass::Request: ++stats.dropped_unexpected; return;
  }
}

void TurnClient::Impl::handle_data_indication(const StunMessage& msg) {
  if (state != TurnState::Allocated) {
    ++stats.dropped_unexpected;
    return;
  }
  auto peer = msg.xor_address(stun_attr::kXorPeerAddress);
  const auto* data = msg.find(stun_attr::kData);
  if (peer && !data && msg.has(turn_attr::kIcmp)) {
    ++stats.dropped_unexpected; // RFC 8656 §11.6: an ICMP report, which we do not surface
    return;
  }
  if (!peer || !data) {
    ++stats.dropped_malformed; // RFC 8656 §11.6: both attributes are required
    return;
  }
  // RFC 8656 §11.6: indications are unauthenticated; only accept peers we opened the relay to.
  const auto* p = find_permission(peer->ip());
  if (!p || p->state == PermissionState::Refused) {
    ++stats.dropped_no_permission;
    return;
  }
  ++stats.data_indications_received;
  events.push_back(turn_event::PeerData{*peer, data->value});
}

void TurnClient::Impl::handle_channel_data(ByteView frame) {
  auto cd = decode_channel_data(frame);
  if (!cd) {
    ++stats.dropped_malformed;
    return;
  }
  // RFC 8656 §12.6: data on a channel we did not bind is discarded. A channel still binding
  // counts: the server may relay before its success response reaches us.
  // A retired (failed) channel still maps to its peer and its number is never reused, so late
  // data on it is still delivered.
  const auto* c = find_channel(cd->channel);
  if (state != TurnState::Allocated || !c) {
    ++stats.dropped_unknown_channel;
    return;
  }
  ++stats.channel_data_received;
  events.push_back(turn_event::PeerData{c->peer, Bytes(cd->data.begin(), cd->data.end())});
}

// --- Impl: data path ---

void TurnClient::Impl::send_data(const SocketAddress& peer, ByteView data) {
  const auto* c = find_channel(peer);
  if (c && c->state == ChannelState::Bound) {
    // RFC 8656 §12.5: over TCP, ChannelData is padded to a multiple of 4 bytes.
    transmits.push_back(encode_channel_data(c->number, data, is_tcp()));
    ++stats.channel_data_sent;
    return;
  }
  // RFC 8656 §11.1: a Send indication with XOR-PEER-ADDRESS and DATA. Indications are not
  // authenticated, so no credentials; no FINGERPRINT either, to keep the overhead down.
  StunMessage msg(StunClass::Indication, StunMethod::Send, new_transaction_id());
  msg.add_xor_address(stun_attr::kXorPeerAddress, peer);
  msg.add(stun_attr::kData, data);
  transmits.push_back(msg.encode());
  ++stats.send_indications_sent;
}

void TurnClient::Impl::flush_queued(TurnPermission& permission) {
  while (!permission.queued.empty()) {
    auto [peer, data] = std::move(permission.queued.front());
    permission.queued.pop_front();
    send_data(peer, data);
  }
}

TurnPermission* TurnClient::Impl::find_permission(const IpAddress& ip) {
  for (auto& p : permissions)
    if (p.ip == ip) return &p;
  return nullptr;
}

bool TurnClient::Impl::is_resolving(const TurnPermission& p) const {
  return p.in_flight || std::any_of(channels.begin(), channels.end(), [&](const TurnChannel& c) {
           return c.state == ChannelState::Binding && c.peer.ip() == p.ip;
         });
}

TurnChannel* TurnClient::Impl::find_channel(const SocketAddress& peer) {
  for (auto& c : channels)
    if (c.peer == peer) return &c;
  return nullptr;
}

TurnChannel* TurnClient::Impl::find_channel(std::uint16_t number) {
  for (auto& c : channels)
    if (c.number == number) return &c;
  return nullptr;
}

result<TurnPermission*> TurnClient::Impl::make_permission(const IpAddress& ip) {
  if (permissions.size() >= config.limits.max_permissions) {
    // Make room from refused entries whose back-off is over; never evict live ones.
    std::erase_if(permissions, [](const TurnPermission& p) {
      return p.state == PermissionState::Refused && !p.in_flight;
    });
    if (permissions.size() >= config.limits.max_permissions) {
      ++stats.refused_permission_limit;
      return err(TurnErrc::PermissionLimit);
    }
  }
  permissions.push_back(TurnPermission{.ip = ip});
  return &permissions.back();
}

void TurnClient::Impl::request_permission(TimePoint now, TurnPermission& permission,
                                          const std::optional<SocketAddress>& peer) {
  // RFC 8656 §12: ChannelBind installs the permission too, so one round trip does both.
  if (peer && maybe_bind_channel(now, *peer)) return;
  permission.in_flight = true;
  TurnTransaction t;
  t.kind = TurnRequest::CreatePermission;
  t.peer_ip = permission.ip;
  t.is_refresh_of = permission.state == PermissionState::Active;
  send_request(now, std::move(t));
}

bool TurnClient::Impl::maybe_bind_channel(TimePoint now, const SocketAddress& peer) {
  if (!config.use_channels || find_channel(peer) || next_channel > kTurnMaxChannel) return false;
  const auto live = std::count_if(channels.begin(), channels.end(), [](const TurnChannel& c) {
    return c.state != ChannelState::Failed;
  });
  if (static_cast<std::size_t>(live) >= config.limits.max_channels) return false;
  // Retired (failed) channel entries are bounded by the 4096 channel numbers.
  channels.push_back(TurnChannel{.peer = peer, .number = next_channel++, .in_flight = true});
  TurnTransaction t;
  t.kind = TurnRequest::ChannelBind;
  t.peer = peer;
  t.channel = channels.back().number;
  send_request(now, std::move(t));
  return true;
}

void TurnClient::Impl::refresh_due(TimePoint now) {
  if (!refresh_in_flight && now >= refresh_at) {
    refresh_in_flight = true;
    TurnTransaction t;
    t.kind = TurnRequest::Refresh;
    send_request(now, std::move(t));
  }
  for (auto& p : permissions) {
    if (p.state != PermissionState::Active || p.in_flight || now < p.refresh_at) continue;
    p.in_flight = true;
    TurnTransaction t;
    t.kind = TurnRequest::CreatePermission;
    t.peer_ip = p.ip;
    t.is_refresh_of = true;
    send_request(now, std::move(t));
  }
  for (auto& c : channels) {
    if (c.state != ChannelState::Bound || c.in_flight || now < c.refresh_at) continue;
    // RFC 8656 §12.2: a refresh is a ChannelBind with the same number and peer.
    c.in_flight = true;
    TurnTransaction t;
    t.kind = TurnRequest::ChannelBind;
    t.peer = c.peer;
    t.channel = c.number;
    t.is_refresh_of = true;
    send_request(now, std::move(t));
  }
}

void TurnClient::Impl::drop_peer_state() {
  for (const auto& p : permissions)
    stats.dropped_queued_data += p.queued.size();
  permissions.clear();
  channels.clear();
}

Duration TurnClient::Impl::refresh_delay(Duration lifetime) const {
  // One margin before expiry (RFC 8656 §8), or half-way for lifetimes shorter than two margins;
  // never more often than once a second, whatever a server claims.
  const Duration margin = config.timing.refresh_margin;
  const Duration delay = lifetime > 2 * margin ? lifetime - margin : lifetime / 2;
  return std::max<Duration>(delay, seconds(1));
}

} // namespace posthorn::ice
