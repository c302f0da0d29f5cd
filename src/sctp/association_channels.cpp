// Association: data channels (RFC 8831), DCEP (RFC 8832) and delivery of received messages.

#include "core/log.hpp"
#include "sctp/association_internal.hpp"
#include "sctp/usrsctp_stack.hpp"

#include <limits>

namespace posthorn::sctp {
namespace {

using detail::UsrsctpStack;

constexpr std::size_t kMaxLabel = std::numeric_limits<std::uint16_t>::max();

ChannelType channel_type_of(const ChannelOptions& o) noexcept {
  std::uint8_t t = o.ordered ? 0x00 : 0x80;
  if (o.max_retransmits)
    t |= 0x01;
  else if (o.max_packet_lifetime)
    t |= 0x02;
  return static_cast<ChannelType>(t);
}

/// The options a remote DATA_CHANNEL_OPEN describes (RFC 8832 §5.1).
ChannelOptions options_of(const DataChannelOpen& open) {
  ChannelOptions o;
  o.label = open.label;
  o.protocol = open.protocol;
  o.ordered = is_ordered(open.channel_type);
  o.priority = open.priority;
  // The wire field is 32 bits; W3C maxRetransmits is an unsigned short: clamp.
  if (is_rexmit(open.channel_type))
    o.max_retransmits = static_cast<std::uint16_t>(std::min<std::uint32_t>(
        open.reliability_parameter, std::numeric_limits<std::uint16_t>::max()));
  if (is_timed(open.channel_type))
    o.max_packet_lifetime = std::chrono::milliseconds(open.reliability_parameter);
  return o;
}

void set_send_policy(Association::Channel& ch) {
  if (ch.options.max_retransmits) {
    ch.pr_policy = Association::PrPolicy::Retransmits;
    ch.pr_value = *ch.options.max_retransmits;
  } else if (ch.options.max_packet_lifetime) {
    ch.pr_policy = Association::PrPolicy::Lifetime;
    ch.pr_value = static_cast<std::uint32_t>(ch.options.max_packet_lifetime->count());
  }
}

ChannelOpen open_event(const Association::Channel& ch) {
  const ChannelOptions& o = ch.options;
  return ChannelOpen{ch.id,
                     o.label,
                     o.protocol,
                     o.ordered,
                     o.max_retransmits,
                     o.max_packet_lifetime,
                     o.priority,
                     o.negotiated_id.has_value(),
                     ch.remote};
}

} // namespace

Association::Channel* Association::find(StreamId id) const noexcept {
  return id < channels_.size() ? channels_[id].get() : nullptr;
}

result<StreamId> Association::pick_stream_id() const {
  // RFC 8832 §6: the DTLS client uses even stream ids, the server odd ones, so the two sides
  // never pick the same id. Lowest free first, like browsers.
  for (std::uint32_t sid = config_.is_dtls_client ? 0 : 1; sid < stream_limit_; sid += 2)
    if (find(static_cast<StreamId>(sid)) == nullptr) return static_cast<StreamId>(sid);
  return Errc::NoStreamAvailable;
}

result<StreamId> Association::open_channel(const ChannelOptions& options) {
  note_activity();
  if (state_ == State::ShuttingDown || state_ == State::Closed) return Errc::NotConnected;
  if (options.label.size() > kMaxLabel || options.protocol.size() > kMaxLabel)
    return Errc::InvalidOptions; // RFC 8832 §5.1: 16-bit lengths
  if (options.max_retransmits && options.max_packet_lifetime) return Errc::InvalidOptions;
  if (options.max_packet_lifetime &&
      (options.max_packet_lifetime->count() < 0 ||
       options.max_packet_lifetime->count() > std::numeric_limits<std::uint32_t>::max()))
    return Errc::InvalidOptions;
  StreamId sid = 0;
  if (options.negotiated_id) {
    sid = *options.negotiated_id;
    if (sid >= stream_limit_) return Errc::InvalidOptions;
    if (find(sid) != nullptr) return Errc::StreamInUse;
  } else {
    auto picked = pick_stream_id();
    if (!picked) return picked.error();
    sid = *picked;
  }
  if (channels_.size() <= sid) channels_.resize(std::size_t{sid} + 1);
  auto ch = std::make_unique<Channel>();
  ch->id = sid;
  ch->options = options;
  set_send_policy(*ch);
  Channel& ref = *ch;
  channels_[sid] = std::move(ch);
  if (state_ != State::Connected) {
    pending_.push_back(sid);
    return sid;
  }
  auto session = UsrsctpStack::instance().enter(port_);
  activate(ref);
  after_io();
  return sid;
}

void Association::activate(Channel& ch) {
  ch.phase = Channel::Phase::Open;
  if (ch.options.negotiated_id) {
    ch.peer_spoke = true; // no DCEP: nothing to overtake
  } else {
    DataChannelOpen open;
    open.channel_type = channel_type_of(ch.options);
    open.priority = ch.options.priority;
    open.reliability_parameter = ch.pr_value;
    open.label = ch.options.label;
    open.protocol = ch.options.protocol;
    enqueue_control(ch.id, encode(open));
  }
  // RFC 8832 §6: the opener may send right after DATA_CHANNEL_OPEN, without waiting for the ACK.
  ch.announced = true;
  events_.emplace_back(open_event(ch));
}

void Association::close_channel(StreamId stream) {
  note_activity();
  Channel* ch = find(stream);
  if (ch == nullptr || ch->phase == Channel::Phase::Closing) return;
  if (ch->phase == Channel::Phase::Pending) {
    // Never reached the wire: nothing to reset.
    std::erase(pending_, stream);
    events_.emplace_back(ChannelClosed{stream});
    channels_[stream].reset();
    return;
  }
  ch->phase = Channel::Phase::Closing;
  auto session = UsrsctpStack::instance().enter(port_);
  request_reset(*ch);
  after_io();
}

void Association::request_reset(Channel& ch) {
  if (ch.reset_queued) return;
  ch.reset_queued = true;
  // Through the queue, so the channel's queued messages are handed to usrsctp first (usrsctp then
  // defers the reset until they are acknowledged).
  OutItem item;
  item.kind = OutItem::Kind::Reset;
  item.stream = ch.id;
  queue_.push_back(std::move(item));
}

void Association::maybe_finish_close(Channel& ch) {
  if (!ch.in_reset_done || !ch.out_reset_done) return;
  const StreamId sid = ch.id;
  if (ch.owes_low_event) --owed_low_events_;
  if (ch.announced) events_.emplace_back(ChannelClosed{sid});
  channels_[sid].reset();
}

std::size_t Association::buffered_amount(StreamId stream) const {
  const Channel* ch = find(stream);
  return ch != nullptr ? ch->buffered : 0;
}

void Association::set_buffered_amount_low_threshold(StreamId stream, std::size_t threshold) {
  if (Channel* ch = find(stream)) ch->low_threshold = threshold;
}

// --- Receiving ---

void Association::on_data_piece(StreamId sid, std::uint32_t ppid, ByteView piece,
                                bool end_of_record) {
  const std::size_t limit = ppid == static_cast<std::uint32_t>(Ppid::Dcep)
                                ? kMaxDcepMessage
                                : config_.local_max_message_size;
  Reassembly& rx = *rx_;
  if (!rx.active) {
    if (end_of_record) { // the common case: a whole message in one read
      if (piece.size() > limit) {
        ++stats_.oversize_messages_dropped;
        return;
      }
      on_message(sid, static_cast<Ppid>(ppid), Bytes(piece.begin(), piece.end()));
      return;
    }
    rx.active = true;
    rx.discarding = false;
    rx.stream = sid;
    rx.ppid = ppid;
    rx.data.clear();
  } else if (rx.stream != sid || rx.ppid != ppid) {
    // Pieces of two messages interleaved: SCTP_FRAGMENT_INTERLEAVE 0 rules this out, but never
    // glue unrelated bytes together. Drop the unfinished one.
    ++stats_.oversize_messages_dropped;
    rx.discarding = false;
    rx.stream = sid;
    rx.ppid = ppid;
    rx.data.clear();
  }
  if (!rx.discarding) {
    if (rx.data.size() + piece.size() > limit) {
      // Over our a=max-message-size: drop it, never grow without bound.
      ++stats_.oversize_messages_dropped;
      rx.discarding = true;
      rx.data = Bytes();
    } else {
      rx.data.insert(rx.data.end(), piece.begin(), piece.end());
    }
  }
  if (!end_of_record) return;
  rx.active = false;
  if (rx.discarding) return;
  Bytes message = std::move(rx.data);
  rx.data = Bytes();
  on_message(sid, static_cast<Ppid>(ppid), std::move(message));
}

void Association::on_message(StreamId sid, Ppid ppid, Bytes data) {
  if (ppid == Ppid::Dcep) {
    on_dcep(sid, data);
    return;
  }
  Channel* ch = find(sid);
  if (ch == nullptr || ch->phase == Channel::Phase::Pending || ch->in_reset_done) {
    // RFC 8832 §6: user data only flows on a stream after DATA_CHANNEL_OPEN.
    ++stats_.unknown_stream_dropped;
    return;
  }
  ch->peer_spoke = true;
  deliver(*ch, ppid, std::move(data));
}

void Association::deliver(Channel& ch, Ppid ppid, Bytes data) {
  const std::size_t limit = config_.local_max_message_size;
  auto emit = [&](Bytes bytes, bool binary) {
    ++stats_.messages_received;
    stats_.bytes_received += bytes.size();
    events_.emplace_back(ChannelMessage{ch.id, std::move(bytes), binary});
  };
  // The deprecated PPID-based fragmentation (RFC 8831 §6.6): old senders split a message into
  // pieces with the *Partial PPIDs, ending with the normal (or *Empty) PPID. Received, never sent.
  auto finish_legacy = [&](ByteView last, bool binary) {
    if (!ch.legacy_overflow && ch.legacy.size() + last.size() <= limit) {
      ch.legacy.insert(ch.legacy.end(), last.begin(), last.end());
      emit(std::move(ch.legacy), binary);
    } else {
      ++stats_.oversize_messages_dropped;
    }
    ch.legacy = Bytes();
    ch.legacy_active = false;
    ch.legacy_overflow = false;
  };
  switch (ppid) {
  case Ppid::String:
  case Ppid::Binary: {
    const bool binary = ppid == Ppid::Binary;
    if (ch.legacy_active)
      finish_legacy(data, binary);
    else
      emit(std::move(data), binary);
    return;
  }
  case Ppid::StringEmpty:
  case Ppid::BinaryEmpty: {
    // RFC 8831 §6.6: the single payload byte of an empty message is ignored.
    const bool binary = ppid == Ppid::BinaryEmpty;
    if (ch.legacy_active)
      finish_legacy({}, binary);
    else
      emit(Bytes(), binary);
    return;
  }
  case Ppid::StringPartial:
  case Ppid::BinaryPartial:
    ch.legacy_active = true;
    if (!ch.legacy_overflow && ch.legacy.size() + data.size() <= limit) {
      ch.legacy.insert(ch.legacy.end(), data.begin(), data.end());
    } else {
      ch.legacy_overflow = true;
      ch.legacy = Bytes();
    }
    return;
  case Ppid::Dcep: return; // handled by on_message
  }
  ++stats_.unknown_ppid_dropped;
}

void Association::on_dcep(StreamId sid, ByteView data) {
  auto message = parse_dcep(data);
  if (!message) {
    ++stats_.malformed_dcep;
    POSTHORN_LOG(Debug, "sctp", "malformed DCEP message on stream ", sid, ": ",
                 message.error().message());
    // An OPEN we cannot parse leaves the peer believing the channel exists: reset the stream so
    // it sees the channel close instead of talking into the void.
    if (find(sid) == nullptr && state_ == State::Connected) reset_outgoing(sid);
    return;
  }
  if (auto* open = std::get_if<DataChannelOpen>(&*message)) {
    on_remote_open(sid, std::move(*open));
    return;
  }
  // DATA_CHANNEL_ACK: the peer knows the channel; unordered sends may now go unordered.
  Channel* ch = find(sid);
  if (ch != nullptr && !ch->remote)
    ch->peer_spoke = true;
  else
    ++stats_.malformed_dcep;
}

void Association::on_remote_open(StreamId sid, DataChannelOpen open) {
  if (state_ != State::Connected) return; // shutting down: refuse new channels
  if (find(sid) != nullptr) {
    // RFC 8832 §6 splits stream ids by DTLS role, so this is the peer reusing a stream that is
    // still open (or an id the app also negotiated out of band). Keep ours; ignore theirs.
    ++stats_.malformed_dcep;
    POSTHORN_LOG(Debug, "sctp", "DATA_CHANNEL_OPEN on stream ", sid, " which is in use");
    return;
  }
  if (channels_.size() <= sid) channels_.resize(std::size_t{sid} + 1);
  auto ch = std::make_unique<Channel>();
  ch->id = sid;
  ch->remote = true;
  ch->options = options_of(open);
  ch->phase = Channel::Phase::Open;
  ch->peer_spoke = true;
  ch->announced = true;
  set_send_policy(*ch);
  events_.emplace_back(open_event(*ch));
  channels_[sid] = std::move(ch);
  // RFC 8832 §6: acknowledge on the same stream (ordered, reliable like every DCEP message).
  enqueue_control(sid, encode(DataChannelAck{}));
}

} // namespace posthorn::sctp
