// Association: the send path, our bounded send queue and buffered-amount accounting.
//
// Data goes straight from the caller's buffer into usrsctp (one copy, usrsctp's own) whenever our
// queue is empty. Only what usrsctp cannot take yet is copied into our queue. The queue is one FIFO
// for all streams: it keeps the app's order, and usrsctp (without I-DATA) cannot interleave a new
// message while an explicit-EOR message is half handed over, so the FIFO head must be finished
// first anyway. Each stream's share of the queue is its bufferedAmount.

#include "core/log.hpp"
#include "sctp/association_internal.hpp"
#include "sctp/usrsctp_stack.hpp"

#include <usrsctp.h>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>

namespace posthorn::sctp {
namespace {

using detail::UsrsctpStack;

std::uint16_t usrsctp_policy(Association::PrPolicy p) noexcept {
  switch (p) {
  case Association::PrPolicy::None: return SCTP_PR_SCTP_NONE;
  case Association::PrPolicy::Retransmits: return SCTP_PR_SCTP_RTX;
  case Association::PrPolicy::Lifetime: return SCTP_PR_SCTP_TTL;
  }
  return SCTP_PR_SCTP_NONE;
}

} // namespace

result<void> Association::send(StreamId stream, ByteView data, bool binary) {
  note_activity();
  Channel* ch = find(stream);
  if (ch == nullptr) return state_ == State::Closed ? Errc::NotConnected : Errc::UnknownChannel;
  if (ch->phase == Channel::Phase::Pending) return Errc::ChannelNotOpen;
  if (ch->phase == Channel::Phase::Closing) return Errc::ChannelClosing;
  if (state_ != State::Connected) return Errc::NotConnected;
  // RFC 8841 §6.1: never send more than the peer's max-message-size (0: no limit).
  if (config_.remote_max_message_size != 0 && data.size() > config_.remote_max_message_size)
    return Errc::MessageTooLarge;
  if (data.size() > config_.send_buffer_limit) return Errc::MessageTooLarge;

  static constexpr std::uint8_t kEmptyPayload[1] = {0};
  // RFC 8831 §6.6: SCTP has no empty user messages; send one byte with the *Empty* PPID.
  const ByteView payload = data.empty() ? ByteView(kEmptyPayload) : data;

  OutItem item;
  item.stream = stream;
  item.ppid = ppid_for(binary, data.size());
  // RFC 8832 §6: ordered until the peer has said anything on this stream.
  item.unordered = !ch->options.ordered && ch->peer_spoke;
  item.counted = !data.empty();
  item.pr_policy = ch->pr_policy;
  item.pr_value = ch->pr_value;

  const auto refuse_if_full = [&]() -> bool {
    if (queued_bytes_ + payload.size() <= config_.send_buffer_limit) return false;
    if (!ch->owes_low_event) {
      ch->owes_low_event = true;
      ++owed_low_events_;
    }
    return true;
  };
  if (payload.size() <= tuning::kBatchMaxMessage) {
    // Batched: poll_transmit() hands it to usrsctp together with the other small messages.
    if (refuse_if_full()) return Errc::Blocked;
    ++stats_.messages_sent;
    stats_.bytes_sent += data.size();
    item.data.assign(payload.begin(), payload.end());
    if (item.counted) {
      queued_bytes_ += item.data.size();
      ch->buffered += item.data.size();
    }
    queue_.push_back(std::move(item));
    corked_ = true;
    return {};
  }

  auto session = UsrsctpStack::instance().enter(port_);
  if (!queue_.empty()) flush();
  std::size_t accepted = 0;
  if (!queue_.empty()) {
    if (refuse_if_full()) return Errc::Blocked;
  } else {
    const long n = send_piece(item, payload);
    if (n < 0) {
      const int err = errno;
      after_io(); // usrsctp may have queued the notification explaining it
      POSTHORN_LOG(Debug, "sctp", "usrsctp_sendv failed: ", std::strerror(err));
      return state_ == State::Connected ? Errc::SocketError : Errc::NotConnected;
    }
    accepted = static_cast<std::size_t>(n);
  }
  ++stats_.messages_sent;
  stats_.bytes_sent += data.size();
  if (accepted == payload.size()) return {};
  // Keep what usrsctp could not take: copied once, sent from flush() when space frees up.
  item.data.assign(payload.begin() + static_cast<std::ptrdiff_t>(accepted), payload.end());
  if (item.counted) {
    queued_bytes_ += item.data.size();
    ch->buffered += item.data.size();
  }
  queue_.push_back(std::move(item));
  return {};
}

void Association::enqueue_control(StreamId sid, Bytes message) {
  OutItem item;
  item.stream = sid;
  item.ppid = Ppid::Dcep; // RFC 8832 §6: DCEP messages are sent reliably and in order
  item.data = std::move(message);
  queue_.push_back(std::move(item));
}

long Association::send_piece(const OutItem& item, ByteView piece) {
  sctp_sendv_spa spa{};
  spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
  spa.sendv_sndinfo.snd_sid = item.stream;
  spa.sendv_sndinfo.snd_ppid = htonl(static_cast<std::uint32_t>(item.ppid));
  // Always offer the whole rest of the message with EOR: usrsctp takes what fits (explicit EOR
  // mode) and only marks the message complete when it took the last byte.
  spa.sendv_sndinfo.snd_flags = SCTP_EOR | (item.unordered ? SCTP_UNORDERED : 0);
  if (item.pr_policy != Association::PrPolicy::None) {
    spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
    spa.sendv_prinfo.pr_policy = usrsctp_policy(item.pr_policy);
    spa.sendv_prinfo.pr_value = item.pr_value;
  }
  const ssize_t n = usrsctp_sendv(socket_, piece.data(), piece.size(), nullptr, 0, &spa, sizeof spa,
                                  SCTP_SENDV_SPA, 0);
  if (n >= 0) return n;
  // EAGAIN is also usrsctp's answer for a stream whose reset is in progress; we never queue data
  // behind a reset of the same stream, so here it means "send buffer full".
  if (errno == EWOULDBLOCK || errno == EAGAIN) return 0;
  return -1;
}

void Association::flush() {
  // A batch: Nagle on while handing over all but the last message, so usrsctp holds small
  // messages back and bundles them; the last one, sent with Nagle off, pushes everything out.
  std::size_t last_message = queue_.size(); // index of the last Message item, if any
  for (std::size_t i = queue_.size(); i-- > 0;) {
    if (queue_[i].kind == OutItem::Kind::Message) {
      last_message = i;
      break;
    }
  }
  // Only worth it for small messages: large ones fill packets by themselves (and a bulk transfer
  // flushes on every SACK; two setsockopt calls each time would be pure overhead).
  const bool batch = last_message != queue_.size() && last_message > 0 && socket_ != nullptr &&
                     queue_[last_message].data.size() <= tuning::kBatchMaxMessage;
  if (batch) set_nodelay(false);
  bool nodelay = !batch;
  for (std::size_t index = 0; !queue_.empty() && socket_ != nullptr; ++index) {
    if (!nodelay && index == last_message) {
      set_nodelay(true);
      nodelay = true;
    }
    OutItem& item = queue_.front();
    if (item.kind == OutItem::Kind::Reset) {
      reset_outgoing(item.stream);
      queue_.pop_front();
      continue;
    }
    const ByteView rest(item.data.data() + item.offset, item.data.size() - item.offset);
    long n = send_piece(item, rest);
    if (n < 0) {
      // A hard error for this message (the association is going away, or usrsctp refused the
      // stream): drop it rather than block everything behind it.
      ++stats_.send_errors;
      POSTHORN_LOG(Debug, "sctp", "dropping a queued message: ", std::strerror(errno));
      n = static_cast<long>(rest.size());
    }
    const auto taken = static_cast<std::size_t>(n);
    item.offset += taken;
    if (item.counted && taken > 0) on_dequeued(item.stream, taken);
    if (item.offset < item.data.size()) break; // usrsctp's buffer is full
    queue_.pop_front();
  }
  // Stopped early (buffer full): data is in flight, so SACKs will clock the held data out.
  if (!nodelay && socket_ != nullptr) set_nodelay(true);
  // A channel refused with Blocked while its own share was at or below its threshold would never
  // see its amount cross the threshold: it gets BufferedAmountLow once half the queue has
  // drained. Channels above their threshold get the ordinary crossing event (on_dequeued).
  if (owed_low_events_ > 0 && queued_bytes_ <= config_.send_buffer_limit / 2) {
    for (auto& ch : channels_) {
      if (!ch || !ch->owes_low_event || ch->buffered > ch->low_threshold) continue;
      ch->owes_low_event = false;
      --owed_low_events_;
      events_.emplace_back(BufferedAmountLow{ch->id});
    }
  }
  if (shutdown_requested_ && queue_.empty() && state_ == State::Connected && socket_ != nullptr) {
    // RFC 9260 §9.2: SHUTDOWN goes out once everything queued has been acknowledged.
    if (usrsctp_shutdown(socket_, SHUT_WR) == 0)
      state_ = State::ShuttingDown;
    else
      finish(Errc::ShutDown);
  }
}

void Association::on_dequeued(StreamId sid, std::size_t n) {
  queued_bytes_ -= n;
  Channel* ch = find(sid);
  if (ch == nullptr) return;
  const std::size_t before = ch->buffered;
  ch->buffered -= n;
  // W3C bufferedamountlow: fires when the amount decreases to or below the threshold.
  if (before > ch->low_threshold && ch->buffered <= ch->low_threshold) {
    events_.emplace_back(BufferedAmountLow{sid});
    if (ch->owes_low_event) {
      ch->owes_low_event = false;
      --owed_low_events_;
    }
  }
}

void Association::set_nodelay(bool on) {
  const int value = on ? 1 : 0;
  usrsctp_setsockopt(socket_, IPPROTO_SCTP, SCTP_NODELAY, &value, sizeof value);
}

void Association::reset_outgoing(StreamId sid) {
  if (socket_ == nullptr) return;
  // RFC 8831 §6.7: a channel is closed by resetting its outgoing stream (RFC 6525 §5.1.2).
  // usrsctp sends the request once the stream's queued data is acknowledged.
  alignas(sctp_reset_streams)
      std::uint8_t buffer[sizeof(sctp_reset_streams) + sizeof(std::uint16_t)]{};
  auto* request = reinterpret_cast<sctp_reset_streams*>(buffer);
  request->srs_flags = SCTP_STREAM_RESET_OUTGOING;
  request->srs_number_streams = 1;
  request->srs_stream_list[0] = sid;
  if (usrsctp_setsockopt(socket_, IPPROTO_SCTP, SCTP_RESET_STREAMS, request, sizeof buffer) != 0)
    POSTHORN_LOG(Debug, "sctp", "reset of stream ", sid, " failed: ", std::strerror(errno));
}

} // namespace posthorn::sctp
