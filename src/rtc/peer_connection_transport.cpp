// The data path of PeerConnection: demultiplexing datagrams (RFC 7983), wiring ICE → DTLS →
// SCTP, and the data channel calls.
#include "core/log.hpp"
#include "core/overloaded.hpp"
#include "ice/stun_message.hpp"
#include "rtc/peer_connection_impl.hpp"

namespace posthorn::rtc {
namespace {

// DTLS that arrives before the answer told us our DTLS role (the peer's ICE finished first) is
// held, not dropped: a lost ClientHello would cost a full retransmission timeout (≥ 400 ms).
constexpr std::size_t kMaxEarlyDtls = 32;
// DTLS output before ICE selected a pair (a client started by a very fast answer).
constexpr std::size_t kMaxUnsentDtls = 64;

enum class Demux { Stun, Dtls, Other };

// RFC 7983 §7: the first byte tells STUN [0..3], DTLS [20..63], RTP/RTCP [128..191] apart.
Demux classify(ByteView d) {
  if (d.empty()) return Demux::Other;
  if (d[0] <= 3) return Demux::Stun;
  if (d[0] >= 20 && d[0] <= 63) return Demux::Dtls;
  return Demux::Other;
}

} // namespace

// --- PeerConnection API (data path) ---------------------------------------------------------

void PeerConnection::handle_datagram(TimePoint now, const SocketAddress& local,
                                     const SocketAddress& remote, ByteView data) {
  auto& s = *impl_;
  if (s.closed) return;
  s.on_datagram(now, local, remote, data);
  s.pump(now);
}

void PeerConnection::handle_turn_bytes(TimePoint now, ice::TurnLinkId link, ByteView data) {
  auto& s = *impl_;
  if (s.closed) return;
  s.agent.handle_turn_bytes(now, link, data);
  s.drain_relayed(now);
  s.pump(now);
}

void PeerConnection::handle_turn_closed(TimePoint now, ice::TurnLinkId link) {
  auto& s = *impl_;
  if (s.closed) return;
  s.agent.handle_turn_closed(now, link);
  s.pump(now);
}

std::optional<ice::CandidateError> PeerConnection::poll_candidate_error() {
  return impl_->agent.poll_candidate_error();
}

// RFC 7983 §7 demultiplexing of one datagram from a socket or, through a TURN relay, as received
// on the relayed address.
void PeerConnection::Impl::on_datagram(TimePoint now, const SocketAddress& local,
                                       const SocketAddress& remote, ByteView data) {
  switch (classify(data)) {
  case Demux::Stun: agent.handle_datagram(now, local, remote, data); break;
  case Demux::Dtls:
    if (!agent.is_permitted_source(local, remote)) {
      ++stats.dropped_unpermitted_source;
      return;
    }
    agent.note_inbound_data(now, local, remote);
    if (dtls) {
      dtls->handle_datagram(now, data);
    } else if (early_dtls.size() < kMaxEarlyDtls) {
      early_dtls.emplace_back(data.begin(), data.end());
    } else {
      ++stats.dropped_early_dtls;
    }
    break;
  case Demux::Other: ++stats.dropped_unknown_datagrams; return;
  }
}

// Datagrams that came through a TURN relay (the agent already consumed the STUN among them).
void PeerConnection::Impl::drain_relayed(TimePoint now) {
  while (auto d = agent.poll_relayed())
    on_datagram(now, d->local, d->remote, d->data);
}

void PeerConnection::handle_timeout(TimePoint now) {
  auto& s = *impl_;
  if (s.closed) return;
  s.agent.handle_timeout(now);
  if (s.dtls) s.dtls->handle_timeout(now);
  if (s.sctp) s.sctp->handle_timeout(now);
  s.pump(now);
}

std::optional<ice::Transmit> PeerConnection::poll_transmit() {
  impl_->pump_if_pending();
  auto& q = impl_->transmits;
  if (q.empty()) return std::nullopt;
  auto t = std::move(q.front());
  q.pop_front();
  return t;
}

std::optional<Event> PeerConnection::poll_event() {
  impl_->pump_if_pending();
  auto& q = impl_->events;
  if (q.empty()) return std::nullopt;
  auto e = std::move(q.front());
  q.pop_front();
  return e;
}

std::optional<TimePoint> PeerConnection::poll_timeout() const {
  const auto& s = *impl_;
  if (s.closed) return std::nullopt;
  if (s.pending_pump) return s.pending_pump; // sends await a pump: poll now
  std::optional<TimePoint> next = s.agent.poll_timeout();
  auto consider = [&](std::optional<TimePoint> t) {
    if (t && (!next || *t < *next)) next = t;
  };
  if (s.dtls) consider(s.dtls->poll_timeout());
  if (s.sctp) consider(s.sctp->poll_timeout());
  return next;
}

result<ChannelId> PeerConnection::create_data_channel(const sctp::ChannelOptions& options) {
  auto& s = *impl_;
  if (s.closed) return error_code(Errc::InvalidState);
  const ChannelId id = s.next_channel++;
  ChannelEntry entry;
  entry.options = options;
  entry.info = ChannelInfo{.id = id,
                           .label = options.label,
                           .protocol = options.protocol,
                           .ordered = options.ordered,
                           .max_retransmits = options.max_retransmits,
                           .max_packet_lifetime = options.max_packet_lifetime,
                           .negotiated = options.negotiated_id.has_value(),
                           .stream = options.negotiated_id};
  s.channels.emplace(id, std::move(entry));
  if (s.sctp) s.open_pending_channels();
  return id;
}

result<void> PeerConnection::send(TimePoint now, ChannelId channel, ByteView data, bool binary) {
  auto& s = *impl_;
  auto* ch = s.find_channel(channel);
  if (!ch) return error_code(Errc::UnknownChannel);
  if (!ch->open || ch->closed || !s.sctp || !ch->info.stream)
    return error_code(Errc::ChannelNotOpen);
  auto r = s.sctp->send(*ch->info.stream, data, binary);
  // Not pumped here: consecutive small sends are bundled into one SCTP packet when the driver
  // next drains poll_transmit() (see Impl::pump_if_pending).
  s.pending_pump = now;
  return r;
}

std::size_t PeerConnection::buffered_amount(ChannelId channel) const {
  const auto& s = *impl_;
  const auto* ch = s.find_channel(channel);
  if (!ch || !ch->info.stream || !s.sctp) return 0;
  return s.sctp->buffered_amount(*ch->info.stream);
}

void PeerConnection::set_buffered_amount_low_threshold(ChannelId channel, std::size_t bytes) {
  auto& s = *impl_;
  auto* ch = s.find_channel(channel);
  if (!ch) return;
  ch->low_threshold = bytes;
  if (ch->info.stream && s.sctp) s.sctp->set_buffered_amount_low_threshold(*ch->info.stream, bytes);
}

void PeerConnection::close_channel(TimePoint now, ChannelId channel) {
  auto& s = *impl_;
  auto* ch = s.find_channel(channel);
  if (!ch || ch->closed) return;
  if (ch->info.stream && s.sctp && ch->open) {
    s.sctp->close_channel(*ch->info.stream);
  } else {
    ch->closed = true;
    s.events.push_back(event::DataChannelClosed{channel});
  }
  s.pump(now);
}

std::optional<ChannelInfo> PeerConnection::channel_info(ChannelId channel) const {
  const auto* ch = impl_->find_channel(channel);
  if (!ch) return std::nullopt;
  return ch->info;
}

void PeerConnection::close(TimePoint now) {
  auto& s = *impl_;
  if (s.closed) return;
  // Graceful order: SCTP SHUTDOWN out, then DTLS close_notify, then ICE stops.
  if (s.sctp) s.sctp->close();
  s.pump(now);
  if (s.dtls) s.dtls->close(now);
  while (s.dtls) {
    auto d = s.dtls->poll_transmit();
    if (!d) break;
    s.send_dtls_datagram(now, std::move(*d));
  }
  for (auto& [id, ch] : s.channels) {
    if (ch.open && !ch.closed) s.events.push_back(event::DataChannelClosed{id});
    ch.closed = true;
  }
  // Releases TURN allocations too; their last requests (and a relayed close_notify) go out.
  s.agent.close(now);
  while (auto t = s.agent.poll_transmit())
    s.transmits.push_back(std::move(*t));
  s.closed = true;
  s.set_signaling(SignalingState::Closed);
  s.update_connection_state();
}

// --- Impl: the pump -------------------------------------------------------------------------

ChannelEntry* PeerConnection::Impl::find_channel(ChannelId id) {
  auto it = channels.find(id);
  return it == channels.end() ? nullptr : &it->second;
}
const ChannelEntry* PeerConnection::Impl::find_channel(ChannelId id) const {
  auto it = channels.find(id);
  return it == channels.end() ? nullptr : &it->second;
}

void PeerConnection::Impl::pump_if_pending() {
  if (!pending_pump) return;
  const TimePoint now = *pending_pump;
  pending_pump.reset();
  pump(now);
}

// Moves work between the layers until none has output left: ICE events, DTLS records up to
// SCTP, SCTP packets down to DTLS, DTLS datagrams out over the selected pair.
void PeerConnection::Impl::pump(TimePoint now) {
  pending_pump.reset();
  for (bool progress = true; progress;) {
    progress = false;
    while (auto e = agent.poll_event()) {
      progress = true;
      on_ice_event(now, std::move(*e));
    }
    if (sctp) {
      while (auto packet = sctp->poll_transmit()) {
        progress = true;
        if (dtls) {
          if (auto r = dtls->send(*packet); !r)
            POSTHORN_LOG(Debug, "rtc", "DTLS refused an SCTP packet: ", r.error().message());
        }
      }
    }
    if (dtls) {
      while (auto d = dtls->poll_transmit()) {
        progress = true;
        send_dtls_datagram(now, std::move(*d));
      }
      while (auto e = dtls->poll_event()) {
        progress = true;
        on_dtls_event(now, std::move(*e));
      }
    }
    if (sctp) {
      while (auto e = sctp->poll_event()) {
        progress = true;
        on_sctp_event(now, std::move(*e));
      }
    }
    while (auto t = agent.poll_transmit()) {
      progress = true;
      transmits.push_back(std::move(*t));
    }
  }
  update_connection_state();
}

void PeerConnection::Impl::on_ice_event(TimePoint now, ice::Event e) {
  std::visit(overloaded{
                 [&](ice::event::LocalCandidate& c) {
                   events.push_back(event::LocalCandidate{c.candidate.to_string(), data_mid});
                   local_candidates.push_back(std::move(c.candidate));
                 },
                 [&](ice::event::GatheringComplete&) {
                   gathering_complete = true;
                   events.push_back(event::LocalCandidate{"", data_mid});
                 },
                 [&](ice::event::StateChanged& c) {
                   POSTHORN_LOG(Debug, "rtc", "ICE ", ice::to_string(c.state));
                   events.push_back(event::IceStateChanged{c.state});
                 },
                 [&](ice::event::SelectedPairChanged& p) {
                   POSTHORN_LOG(Debug, "rtc", "ICE selected a pair, nominated=", p.pair.nominated);
                   flush_unsent_dtls(now);
                   // The DTLS client starts as soon as there is a path (W3C: ICE "connected").
                   if (dtls && dtls_role == dtls::Role::Client && !dtls_started) {
                     dtls_started = true;
                     dtls->start(now);
                   }
                 },
                 [&](ice::event::RoleChanged&) {},
             },
             e);
}

void PeerConnection::Impl::start_dtls(TimePoint now) {
  if (dtls || !dtls_role || !remote_fingerprint) return;
  dtls.emplace(dtls::Endpoint::Config{.role = *dtls_role,
                                      .certificate = config.certificate,
                                      .remote_fingerprint = remote_fingerprint,
                                      // Offered/accepted even though we carry only data:
                                      // Chromium, libwebrtc and libdatachannel negotiate
                                      // use_srtp (RFC 5764 §4.1.1) in data-only sessions too,
                                      // and werift fails the connection without a profile.
                                      .enable_srtp = true});
  POSTHORN_LOG(Debug, "rtc", "DTLS endpoint created, client=", *dtls_role == dtls::Role::Client);
  if (*dtls_role == dtls::Role::Server) {
    dtls_started = true;
    dtls->start(now);
  } else if (agent.selected_pair()) {
    dtls_started = true;
    dtls->start(now);
  }
  while (!early_dtls.empty()) {
    dtls->handle_datagram(now, early_dtls.front());
    early_dtls.pop_front();
  }
}

void PeerConnection::Impl::send_dtls_datagram(TimePoint now, Bytes datagram) {
  auto pair = agent.selected_pair();
  if (!pair) {
    if (unsent_dtls.size() < kMaxUnsentDtls) {
      unsent_dtls.push_back(std::move(datagram));
    } else {
      ++stats.dropped_unsent_dtls;
    }
    return;
  }
  if (pair->local_type == ice::CandidateType::Relayed) {
    // Through the TURN client: its transmits reach `transmits` when the pump drains the agent.
    // A refusal (e.g. allocation lost) is a lost datagram; DTLS and SCTP retransmit.
    if (auto r = agent.send_relayed(now, pair->local, pair->remote, datagram); !r)
      POSTHORN_LOG(Debug, "rtc", "relayed datagram dropped: ", r.error().message());
    return;
  }
  transmits.push_back({pair->local, pair->remote, std::move(datagram)});
}

void PeerConnection::Impl::flush_unsent_dtls(TimePoint now) {
  while (!unsent_dtls.empty() && agent.selected_pair()) {
    auto d = std::move(unsent_dtls.front());
    unsent_dtls.pop_front();
    send_dtls_datagram(now, std::move(d));
  }
}

void PeerConnection::Impl::on_dtls_event(TimePoint now, dtls::Event e) {
  std::visit(overloaded{
                 [&](dtls::Connected&) {
                   POSTHORN_LOG(Debug, "rtc", "DTLS connected");
                   dtls_connected = true;
                   start_sctp(now);
                 },
                 [&](dtls::ApplicationData& d) {
                   if (sctp) sctp->handle_packet(now, d.data);
                 },
                 [&](dtls::Closed&) {
                   remote_closed = true;
                   for (auto& [id, ch] : channels) {
                     if (ch.open && !ch.closed) events.push_back(event::DataChannelClosed{id});
                     ch.closed = true;
                   }
                 },
                 [&](dtls::Failed& f) {
                   POSTHORN_LOG(Info, "rtc", "DTLS failed: ", f.error.message());
                   dtls_failed = true;
                 },
             },
             e);
}

void PeerConnection::Impl::start_sctp(TimePoint now) {
  if (sctp) return;
  sctp.emplace(sctp::Association::Config{
      .local_port = config.sctp_port,
      .remote_port = remote_sctp_port,
      .is_dtls_client = dtls_role == dtls::Role::Client,
      .remote_max_message_size = remote_max_message_size,
      .local_max_message_size = config.max_message_size,
  });
  sctp->connect(now);
  open_pending_channels();
}

void PeerConnection::Impl::open_pending_channels() {
  for (auto& [id, ch] : channels) {
    if (ch.open || ch.closed || ch.info.remote || ch.requested) continue;
    auto stream = sctp->open_channel(ch.options);
    ch.requested = true;
    if (!stream) {
      POSTHORN_LOG(Info, "rtc", "cannot open data channel: ", stream.error().message());
      ch.closed = true;
      events.push_back(event::DataChannelClosed{id});
      continue;
    }
    ch.info.stream = *stream;
    by_stream[*stream] = id;
    if (ch.low_threshold) sctp->set_buffered_amount_low_threshold(*stream, ch.low_threshold);
  }
}

void PeerConnection::Impl::on_sctp_event(TimePoint, sctp::Event e) {
  std::visit(
      overloaded{
          [&](sctp::Connected&) { POSTHORN_LOG(Debug, "rtc", "SCTP connected"); },
          [&](sctp::ChannelOpen& o) {
            ChannelId id;
            if (auto it = by_stream.find(o.stream); it != by_stream.end() && !o.remote) {
              id = it->second;
            } else {
              id = next_channel++;
              ChannelEntry entry;
              entry.info.id = id;
              entry.info.remote = o.remote;
              entry.requested = true;
              channels.emplace(id, std::move(entry));
              by_stream[o.stream] = id;
            }
            auto& ch = channels[id];
            ch.open = true;
            ch.info.label = o.label;
            ch.info.protocol = o.protocol;
            ch.info.ordered = o.ordered;
            ch.info.max_retransmits = o.max_retransmits;
            ch.info.max_packet_lifetime = o.max_packet_lifetime;
            ch.info.negotiated = o.negotiated;
            ch.info.stream = o.stream;
            POSTHORN_LOG(Debug, "rtc", "data channel open, remote=", o.remote);
            events.push_back(event::DataChannelOpen{ch.info});
          },
          [&](sctp::ChannelMessage& m) {
            auto it = by_stream.find(m.stream);
            if (it == by_stream.end()) return;
            events.push_back(event::DataChannelMessage{it->second, std::move(m.data), m.binary});
          },
          [&](sctp::BufferedAmountLow& b) {
            if (auto it = by_stream.find(b.stream); it != by_stream.end())
              events.push_back(event::DataChannelBufferedAmountLow{it->second});
          },
          [&](sctp::ChannelClosed& c) {
            auto it = by_stream.find(c.stream);
            if (it == by_stream.end()) return;
            auto& ch = channels[it->second];
            if (!ch.closed) events.push_back(event::DataChannelClosed{it->second});
            ch.closed = true;
            ch.open = false;
            by_stream.erase(it); // the stream id may be reused by a new channel
          },
          [&](sctp::Closed&) {
            for (auto& [id, ch] : channels) {
              if (ch.open && !ch.closed) events.push_back(event::DataChannelClosed{id});
              ch.closed = true;
            }
            remote_closed = true;
          },
      },
      e);
}

// W3C RTCPeerConnectionState from the ICE and DTLS transports.
void PeerConnection::Impl::update_connection_state() {
  ConnectionState next;
  const auto ice = agent.state();
  if (closed) {
    next = ConnectionState::Closed;
  } else if (ice == ice::IceState::Failed || dtls_failed) {
    next = ConnectionState::Failed;
  } else if (remote_closed) {
    next = ConnectionState::Closed;
  } else if (ice == ice::IceState::Disconnected) {
    next = ConnectionState::Disconnected;
  } else if ((ice == ice::IceState::Connected || ice == ice::IceState::Completed) &&
             dtls_connected) {
    next = ConnectionState::Connected;
  } else if (ice == ice::IceState::New && !dtls_started) {
    next = ConnectionState::New;
  } else {
    next = ConnectionState::Connecting;
  }
  if (next == connection) return;
  connection = next;
  events.push_back(event::ConnectionStateChanged{next});
}

} // namespace posthorn::rtc
