// Association: lifecycle, packet input, socket draining and usrsctp notifications.
// Channels and DCEP are in association_channels.cpp, the send path in association_send.cpp.

#include "core/log.hpp"
#include "sctp/association_internal.hpp"
#include "sctp/packet_check.hpp"
#include "sctp/socket_setup.hpp"
#include "sctp/usrsctp_stack.hpp"

#include <usrsctp.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>

namespace posthorn::sctp {
namespace {

using detail::UsrsctpStack;

void* conn_addr(std::uintptr_t port) noexcept {
  return reinterpret_cast<void*>(port);
}

/// Copies the fixed part of a notification struct out of a byte buffer (no alignment assumed).
template <class T> bool read_struct(ByteView n, T& out) {
  if (n.size() < sizeof(T)) return false;
  std::memcpy(&out, n.data(), sizeof(T));
  return true;
}

} // namespace

Association::Association(Config config)
    : config_(std::move(config)), rx_(std::make_unique<Reassembly>()) {
  port_ = UsrsctpStack::instance().open_port(config_.wake);
}

Association::~Association() {
  auto& stack = UsrsctpStack::instance();
  {
    auto session = stack.enter(port_);
    release_socket();
    if (address_registered_) usrsctp_deregister_address(conn_addr(port_));
  }
  stack.close_port(port_);
}

void Association::connect(TimePoint now) {
  if (state_ != State::Idle) return;
  auto& stack = UsrsctpStack::instance();
  auto session = stack.enter(port_);
  stack.advance(now);
  usrsctp_register_address(conn_addr(port_));
  address_registered_ = true;
  socket_ = detail::make_socket(port_);
  if (socket_ == nullptr ||
      !detail::bind_and_connect(socket_, port_, config_.local_port, config_.remote_port)) {
    finish(Errc::SocketError);
    release_socket();
    return;
  }
  state_ = State::Connecting;
  last_activity_ = now;
  for (const Bytes& packet : early_packets_)
    usrsctp_conninput(conn_addr(port_), packet.data(), packet.size(), 0);
  early_packets_.clear();
  early_packets_.shrink_to_fit();
  after_io();
}

void Association::handle_packet(TimePoint now, ByteView sctp_packet) {
  // usrsctp 0.9.5 trusts TLV lengths in places (packet_check.hpp): never let it see bad framing.
  if (!is_well_formed_packet(sctp_packet)) {
    ++stats_.malformed_packets_dropped;
    return;
  }
  if (state_ == State::Idle) {
    if (early_packets_.size() < tuning::kMaxEarlyPackets) {
      early_packets_.emplace_back(sctp_packet.begin(), sctp_packet.end());
      ++stats_.packets_received;
    } else {
      ++stats_.early_packets_dropped;
    }
    return;
  }
  if (socket_ == nullptr) return; // closed
  ++stats_.packets_received;
  last_activity_ = now;
  idle_ = false;
  auto& stack = UsrsctpStack::instance();
  auto session = stack.enter(port_);
  stack.advance(now);
  usrsctp_conninput(conn_addr(port_), sctp_packet.data(), sctp_packet.size(), 0);
  after_io();
}

void Association::handle_timeout(TimePoint now) {
  if (socket_ == nullptr) return;
  if (active_since_timeout_) {
    active_since_timeout_ = false;
    last_activity_ = now;
  }
  auto& stack = UsrsctpStack::instance();
  auto session = stack.enter(port_);
  stack.advance(now);
  after_io();
  idle_ = check_idle(now);
}

std::optional<Bytes> Association::poll_transmit() {
  if (corked_) {
    // Small messages from send() calls since the last poll go to usrsctp as one batch.
    corked_ = false;
    auto session = UsrsctpStack::instance().enter(port_);
    flush();
  }
  if (outbox_.empty()) UsrsctpStack::instance().take_output(port_, outbox_);
  if (outbox_.empty()) return std::nullopt;
  Bytes packet = std::move(outbox_.front());
  outbox_.pop_front();
  ++stats_.packets_sent;
  return packet;
}

std::optional<Event> Association::poll_event() {
  if (events_.empty()) return std::nullopt;
  Event e = std::move(events_.front());
  events_.pop_front();
  return e;
}

std::optional<TimePoint> Association::poll_timeout() const {
  if (socket_ == nullptr) return std::nullopt; // not started, or closed and released
  const auto& stack = UsrsctpStack::instance();
  // Another association's timer tick left work for us: come back at once.
  if (stack.is_woken(port_)) return stack.last_advance();
  if (idle_) return stack.last_advance() + tuning::kIdlePoll;
  return stack.next_tick();
}

void Association::close() {
  note_activity();
  switch (state_) {
  case State::Idle: finish(Errc::ShutDown); return;
  case State::Connecting: abort(); return; // nothing to shut down gracefully yet
  case State::Connected: break;
  case State::ShuttingDown:
  case State::Closed: return;
  }
  shutdown_requested_ = true;
  auto session = UsrsctpStack::instance().enter(port_);
  after_io(); // flush() starts the SHUTDOWN once our queue is empty
}

void Association::abort() {
  if (state_ == State::Closed) return;
  {
    auto session = UsrsctpStack::instance().enter(port_);
    // SO_LINGER {on, 0} makes usrsctp_close send ABORT synchronously (into our outbox).
    release_socket();
  }
  finish(Errc::Aborted);
}

// --- Internals (called inside a Session) ---

void Association::note_activity() noexcept {
  active_since_timeout_ = true;
  idle_ = false;
}

bool Association::check_idle(TimePoint now) {
  if (state_ != State::Connected || !queue_.empty() || socket_ == nullptr) return false;
  if (now - last_activity_ < tuning::kIdleAfter) return false;
  for (const auto& ch : channels_)
    if (ch && ch->reset_queued && !ch->out_reset_done) return false; // RE-CONFIG timer running
  // Nothing in flight, so no T3 timer. (usrsctp sends queued data at once when nothing is in
  // flight, Nagle being off, or probes a zero window, which is in flight too.)
  sctp_status status{};
  socklen_t length = sizeof status;
  if (usrsctp_getsockopt(socket_, IPPROTO_SCTP, SCTP_STATUS, &status, &length) != 0) return false;
  return status.sstat_unackdata == 0;
}

void Association::after_io() {
  // usrsctp_get_events is a flag check under one lock, much cheaper than a recvv that ends in
  // EWOULDBLOCK: most packets on a sending association (SACKs) leave nothing to read.
  auto readable = [this] {
    return socket_ != nullptr && state_ != State::Closed &&
           (usrsctp_get_events(socket_) & SCTP_EVENT_READ) != 0;
  };
  if (readable()) drain_socket();
  if (!queue_.empty() || shutdown_requested_) {
    flush();
    // flush() may have completed or failed something usrsctp reports as a notification.
    if (readable()) drain_socket();
  }
  if (state_ == State::Closed) release_socket();
}

void Association::drain_socket() {
  MutableByteView buffer = UsrsctpStack::instance().scratch();
  while (socket_ != nullptr && state_ != State::Closed) {
    sctp_rcvinfo info{};
    socklen_t info_length = sizeof info;
    socklen_t from_length = 0;
    unsigned int info_type = 0;
    int flags = 0;
    const ssize_t n = usrsctp_recvv(socket_, buffer.data(), buffer.size(), nullptr, &from_length,
                                    &info, &info_length, &info_type, &flags);
    if (n < 0) {
      if (errno != EWOULDBLOCK && errno != EAGAIN && errno != ECONNRESET && errno != ENOTCONN)
        POSTHORN_LOG(Debug, "sctp", "usrsctp_recvv failed: ", std::strerror(errno));
      return;
    }
    if (n == 0) return; // the peer shut down and everything was read
    const ByteView piece(buffer.data(), static_cast<std::size_t>(n));
    const bool end_of_record = (flags & MSG_EOR) != 0;
    if ((flags & MSG_NOTIFICATION) != 0) {
      if (notification_.empty() && end_of_record) {
        handle_notification(piece);
      } else if (notification_.size() + piece.size() <= tuning::kMaxNotificationSize) {
        notification_.insert(notification_.end(), piece.begin(), piece.end());
        if (end_of_record) {
          Bytes whole = std::move(notification_);
          notification_.clear();
          handle_notification(whole);
        }
      } else {
        POSTHORN_LOG(Debug, "sctp", "dropping an oversized usrsctp notification");
        notification_.clear();
      }
      continue;
    }
    if (info_type != SCTP_RECVV_RCVINFO) continue; // SCTP_RECVRCVINFO is on: cannot happen
    on_data_piece(info.rcv_sid, ntohl(info.rcv_ppid), piece, end_of_record);
  }
}

void Association::handle_notification(ByteView n) {
  sctp_notification::sctp_tlv header{};
  if (!read_struct(n, header) || header.sn_length != n.size()) return;
  switch (header.sn_type) {
  case SCTP_ASSOC_CHANGE: on_assoc_change(n); break;
  case SCTP_STREAM_RESET_EVENT: on_stream_reset(n); break;
  case SCTP_PARTIAL_DELIVERY_EVENT: {
    sctp_pdapi_event pd{};
    // A partially delivered message was abandoned (PR-SCTP FORWARD-TSN): its pieces are junk.
    if (read_struct(n, pd) && pd.pdapi_indication == SCTP_PARTIAL_DELIVERY_ABORTED) {
      rx_->active = false;
      rx_->data = Bytes();
    }
    break;
  }
  case SCTP_SHUTDOWN_EVENT:
    // The peer started a graceful shutdown (RFC 9260 §9.2): no new data may be queued.
    if (state_ == State::Connected) state_ = State::ShuttingDown;
    break;
  default: break;
  }
}

void Association::on_assoc_change(ByteView n) {
  sctp_assoc_change change{};
  if (!read_struct(n, change)) return;
  switch (change.sac_state) {
  case SCTP_COMM_UP: on_comm_up(change.sac_outbound_streams, change.sac_inbound_streams); return;
  case SCTP_SHUTDOWN_COMP: finish(Errc::ShutDown); return;
  case SCTP_RESTART:
    // The peer restarted (new verification tags): its channel state is gone, ours is stale.
    finish(Errc::PeerRestarted);
    return;
  case SCTP_COMM_LOST:
  case SCTP_CANT_STR_ASSOC: {
    // usrsctp reports who ended it only through the socket error (sctp_notify_assoc_change).
    int so_error = 0;
    socklen_t length = sizeof so_error;
    usrsctp_getsockopt(socket_, SOL_SOCKET, SO_ERROR, &so_error, &length);
    if (so_error == ECONNRESET || so_error == ECONNREFUSED) {
      finish(Errc::AbortedByPeer);
    } else {
      finish(change.sac_state == SCTP_COMM_LOST ? Errc::ConnectionLost : Errc::ConnectFailed);
    }
    return;
  }
  default: return;
  }
}

void Association::on_stream_reset(ByteView n) {
  sctp_stream_reset_event ev{};
  if (!read_struct(n, ev)) return;
  const std::size_t count = (n.size() - sizeof ev) / sizeof(std::uint16_t);
  std::vector<StreamId> ids(count);
  if (count > 0) std::memcpy(ids.data(), n.data() + sizeof ev, count * sizeof(std::uint16_t));
  if (count == 0) { // RFC 6525: an empty list means every stream
    for (const auto& ch : channels_)
      if (ch) ids.push_back(ch->id);
  }
  const auto flags = ev.strreset_flags;
  const bool failed = (flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED)) != 0;
  for (StreamId sid : ids) {
    Channel* ch = find(sid);
    if (ch == nullptr) continue;
    if ((flags & SCTP_STREAM_RESET_INCOMING_SSN) != 0 && !failed) {
      // RFC 8831 §6.7: the peer closed the channel; close our direction too.
      ch->in_reset_done = true;
      ch->phase = Channel::Phase::Closing;
      request_reset(*ch);
    }
    if ((flags & SCTP_STREAM_RESET_OUTGOING_SSN) != 0) {
      // A denied or failed reset is not retried by usrsctp; treat our direction as closed rather
      // than leave the channel half-open forever.
      if (failed) POSTHORN_LOG(Debug, "sctp", "outgoing reset of stream ", sid, " refused");
      ch->out_reset_done = true;
    }
    maybe_finish_close(*ch);
  }
}

void Association::on_comm_up(std::uint16_t outbound, std::uint16_t inbound) {
  if (state_ != State::Connecting) return;
  state_ = State::Connected;
  stream_limit_ = std::min({outbound, inbound, tuning::kMaxStreams});
  events_.emplace_back(Connected{});
  std::vector<StreamId> pending = std::move(pending_);
  pending_.clear();
  for (StreamId sid : pending) {
    Channel* ch = find(sid);
    if (ch == nullptr) continue;
    if (sid >= stream_limit_) {
      // The peer offered fewer streams than this id needs.
      events_.emplace_back(ChannelClosed{sid});
      channels_[sid].reset();
      continue;
    }
    activate(*ch);
  }
}

void Association::finish(error_code why) {
  if (state_ == State::Closed) return;
  state_ = State::Closed;
  for (auto& ch : channels_) {
    if (ch) events_.emplace_back(ChannelClosed{ch->id});
    ch.reset();
  }
  channels_.clear();
  pending_.clear();
  queue_.clear();
  queued_bytes_ = 0;
  owed_low_events_ = 0;
  rx_->active = false;
  rx_->data = Bytes();
  notification_.clear();
  events_.emplace_back(Closed{why});
}

void Association::release_socket() {
  if (socket_ == nullptr) return;
  usrsctp_set_upcall(socket_, nullptr, nullptr);
  usrsctp_close(socket_);
  socket_ = nullptr;
}

} // namespace posthorn::sctp
