#pragma once
// WebRTC data channels (RFC 8831) with DCEP (RFC 8832) on one SCTP association, over usrsctp in
// AF_CONN mode. The SCTP packets travel as DTLS application data (RFC 8261); this class never
// sees DTLS, sockets or clocks.
//
// Driving an Association (sans-IO, STYLE.md):
//   * Construct it, then call connect(now) once DTLS is connected. Both peers call connect: each
//     sends INIT and SCTP resolves the collision (RFC 8841 §9.3). Packets that arrive before
//     connect() are kept (a few) and replayed.
//   * Feed every DTLS application-data record with handle_packet(now, bytes), and call
//     handle_timeout(now) when poll_timeout() has passed.
//   * After any input or any app call (open_channel, send, close_channel, close, abort), drain
//     poll_transmit() (each item is one SCTP packet: send it as one DTLS record), then
//     poll_event(), then re-arm one timer at poll_timeout().
//     Small messages (tuning::kBatchMaxMessage) sent between two poll_transmit() calls are handed
//     to usrsctp together and bundled into shared packets: poll once per turn of the driver's
//     loop, not after every send(), to get that.
//   * Back-pressure: send() returns an error equal to Condition::Blocked when our queue is full;
//     wait for BufferedAmountLow on that channel, then retry.
//
// usrsctp is process-wide, and that shows through (docs/sctp.md, "Caveats of the global stack"):
//   * Timers: usrsctp has one global timer wheel and no "next deadline" query. poll_timeout()
//     returns the next point of a 10 ms grid shared by all associations (1 s while the
//     association is idle); whichever association is driven first advances the wheel for all.
//     Timer-driven packets (retransmissions, delayed SACKs) of association B may therefore be
//     produced while A is driven: they wait in B's outbox and B's poll_timeout() becomes "now".
//     Config::wake is called (after A's call returns into our code, on A's thread) so B's driver
//     can be poked early; without it B sees them at its next tick.
//   * `now` must come from one monotonic clock for all associations of the process. usrsctp also
//     reads the wall clock (gettimeofday) for RTT, T3 retransmission eligibility, heartbeats and
//     PR-SCTP lifetimes: a test binary that drives associations with a virtual clock must make
//     gettimeofday follow it (tests/unit/sctp/virtual_wall_clock_test.cpp).
//
// Thread safety: an Association is not thread-safe; call it from one strand. Different
// Associations may be driven from different threads (usrsctp calls are serialised by the stack).
// No callbacks into user code, except Config::wake (see there).

#include "core/bytes.hpp"
#include "core/time.hpp"
#include "sctp/dcep.hpp"
#include "sctp/error.hpp"
#include "sctp/tuning.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

struct socket; // usrsctp's socket type (global namespace)

namespace posthorn::sctp {

using StreamId = std::uint16_t;

struct ChannelOptions {
  std::string label;
  std::string protocol;
  bool ordered = true;
  /// At most one of these two (W3C RTCDataChannelInit; RFC 8831 §6.1 partial reliability).
  std::optional<std::uint16_t> max_retransmits;
  std::optional<std::chrono::milliseconds> max_packet_lifetime;
  /// Out-of-band negotiated channel (W3C `negotiated: true, id`): both sides open the same id, no
  /// DCEP is exchanged, and the channel is open as soon as the association is up.
  std::optional<StreamId> negotiated_id;
  std::uint16_t priority = priority::kNormal;
};

// --- Events (a closed variant, STYLE.md) ---

/// The association is established (SCTP COMM_UP). Channels opened before now open next.
struct Connected {};
/// A channel can carry messages. `remote`: the peer opened it with DATA_CHANNEL_OPEN.
struct ChannelOpen {
  StreamId stream = 0;
  std::string label;
  std::string protocol;
  bool ordered = true;
  std::optional<std::uint16_t> max_retransmits;
  std::optional<std::chrono::milliseconds> max_packet_lifetime;
  std::uint16_t priority = priority::kNormal;
  bool negotiated = false;
  bool remote = false;
};
struct ChannelMessage {
  StreamId stream = 0;
  Bytes data;
  bool binary = false;
};
/// The channel's buffered amount fell to or below its threshold (W3C bufferedamountlow), or a
/// send() on it that was Blocked may now be retried.
struct BufferedAmountLow {
  StreamId stream = 0;
};
/// Both directions of the channel's stream are reset (RFC 8831 §6.7), or the association ended.
/// The stream id may be reused afterwards.
struct ChannelClosed {
  StreamId stream = 0;
};
/// The association is gone: `error` says why (ShutDown for a graceful close by either side).
struct Closed {
  error_code error;
};
using Event =
    std::variant<Connected, ChannelOpen, ChannelMessage, BufferedAmountLow, ChannelClosed, Closed>;

/// Counters for diagnostics and tests; drops of remote input are counted here, never thrown.
struct AssociationStats {
  std::uint64_t packets_received = 0;
  std::uint64_t packets_sent = 0;
  std::uint64_t messages_received = 0;
  std::uint64_t messages_sent = 0; // accepted by send()
  std::uint64_t bytes_received = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t early_packets_dropped = 0;     // before connect(), beyond kMaxEarlyPackets
  std::uint64_t malformed_packets_dropped = 0; // failed is_well_formed_packet (packet_check.hpp)
  std::uint64_t oversize_messages_dropped = 0; // over local_max_message_size
  std::uint64_t unknown_stream_dropped = 0;    // data on a stream without a channel
  std::uint64_t unknown_ppid_dropped = 0;
  std::uint64_t malformed_dcep = 0;
  std::uint64_t send_errors = 0; // usrsctp refused queued data with a hard error
};

class Association {
public:
  enum class State : std::uint8_t { Idle, Connecting, Connected, ShuttingDown, Closed };

  struct Config {
    std::uint16_t local_port = 5000; // a=sctp-port (RFC 8841 §5)
    std::uint16_t remote_port = 5000;
    /// RFC 8832 §6: the DTLS client opens channels on even stream ids, the server on odd ones.
    bool is_dtls_client = false;
    /// The peer's a=max-message-size (RFC 8841 §6); 0 means no limit. 65536 is RFC 8841's value
    /// when the attribute is absent.
    std::size_t remote_max_message_size = 65536;
    /// Our a=max-message-size: larger incoming messages are dropped and counted.
    std::size_t local_max_message_size = 256 * 1024;
    /// Cap on bytes waiting in our own queue (not yet accepted by usrsctp), all streams together.
    std::size_t send_buffer_limit = tuning::kDefaultSendBufferLimit;
    /// Called when another association's activity left output or socket events for this one
    /// (usrsctp timers are global). Runs on whichever thread drove that other association, after
    /// its usrsctp work and outside every lock; it should only schedule handle_timeout() on this
    /// association's strand. May be empty: the 10 ms timer grid picks the work up anyway.
    std::function<void()> wake;
  };

  explicit Association(Config config);
  ~Association();
  Association(const Association&) = delete;
  Association& operator=(const Association&) = delete;

  // --- Inputs ---
  void connect(TimePoint now);
  void handle_packet(TimePoint now, ByteView sctp_packet);
  void handle_timeout(TimePoint now);

  // --- Outputs ---
  std::optional<Bytes> poll_transmit();
  std::optional<Event> poll_event();
  std::optional<TimePoint> poll_timeout() const;

  // --- Channels ---
  /// Picks the lowest free stream id of our parity (or uses negotiated_id), sends
  /// DATA_CHANNEL_OPEN once the association is up and reports ChannelOpen then.
  [[nodiscard]] result<StreamId> open_channel(const ChannelOptions& options);
  /// Sends one message. Errors: MessageTooLarge (over the peer's max-message-size), Blocked (our
  /// queue is full: wait for BufferedAmountLow), ChannelNotOpen, ChannelClosing, NotConnected.
  [[nodiscard]] result<void> send(StreamId stream, ByteView data, bool binary);
  /// Bytes of this channel's messages not yet accepted by usrsctp (docs/sctp.md).
  std::size_t buffered_amount(StreamId stream) const;
  void set_buffered_amount_low_threshold(StreamId stream, std::size_t threshold);
  /// Resets our outgoing stream after the channel's queued messages (RFC 8831 §6.7); the peer
  /// resets its own and ChannelClosed follows on both sides.
  void close_channel(StreamId stream);

  // --- Association ---
  /// Graceful SHUTDOWN once our queue is flushed; Closed{ShutDown} follows.
  void close();
  /// Immediate ABORT (one packet to transmit); Closed{Aborted} is queued at once.
  void abort();

  State state() const noexcept { return state_; }
  /// Streams usable in each direction (negotiated at COMM_UP; kMaxStreams before).
  std::uint16_t stream_limit() const noexcept { return stream_limit_; }
  const AssociationStats& stats() const noexcept { return stats_; }
  /// This association's id in the process-wide usrsctp registry (for drivers and logs).
  std::uintptr_t stack_id() const noexcept { return port_; }

  // Implementation types (Channel and Reassembly are defined in association_internal.hpp).
  struct Channel;
  struct Reassembly;
  /// PR-SCTP policy of a channel, as usrsctp's sctp_prinfo wants it (RFC 3758; RFC 8831 §6.1).
  enum class PrPolicy : std::uint8_t { None, Retransmits, Lifetime };
  /// One entry of our send queue: a message (or its unsent rest), or a stream reset.
  struct OutItem {
    enum class Kind : std::uint8_t { Message, Reset };
    Kind kind = Kind::Message;
    StreamId stream = 0;
    Ppid ppid = Ppid::Binary;
    bool unordered = false;
    bool counted = false; // user data: counts toward bufferedAmount and send_buffer_limit
    PrPolicy pr_policy = PrPolicy::None;
    std::uint32_t pr_value = 0;
    Bytes data;
    std::size_t offset = 0; // bytes already accepted by usrsctp (an explicit-EOR message started)
  };

private:
  friend struct AssociationTesting;

  // association.cpp: lifecycle, input, notifications
  void after_io();
  void drain_socket();
  void handle_notification(ByteView n);
  void on_assoc_change(ByteView n);
  void on_stream_reset(ByteView n);
  void on_comm_up(std::uint16_t outbound, std::uint16_t inbound);
  void finish(error_code why);
  void release_socket();
  void note_activity() noexcept;
  bool check_idle(TimePoint now);

  // association_channels.cpp: channels, DCEP, delivery
  Channel* find(StreamId id) const noexcept;
  result<StreamId> pick_stream_id() const;
  void activate(Channel& ch);
  void on_data_piece(StreamId sid, std::uint32_t ppid, ByteView piece, bool end_of_record);
  void on_message(StreamId sid, Ppid ppid, Bytes data);
  void on_dcep(StreamId sid, ByteView data);
  void on_remote_open(StreamId sid, DataChannelOpen open);
  void deliver(Channel& ch, Ppid ppid, Bytes data);
  void request_reset(Channel& ch);
  void maybe_finish_close(Channel& ch);

  // association_send.cpp: the send path and our queue
  void enqueue_control(StreamId sid, Bytes message);
  void flush();
  long send_piece(const OutItem& item, ByteView piece);
  void on_dequeued(StreamId sid, std::size_t n);
  void reset_outgoing(StreamId sid);
  void set_nodelay(bool on);

  Config config_;
  std::uintptr_t port_ = 0;
  struct socket* socket_ = nullptr;
  State state_ = State::Idle;
  bool address_registered_ = false;
  bool shutdown_requested_ = false;
  bool corked_ = false; // small messages wait in queue_ for the flush in poll_transmit()
  std::uint16_t stream_limit_ = tuning::kMaxStreams;
  // Idle detection (tuning::kIdleAfter): cheap bookkeeping, one usrsctp status query when quiet.
  TimePoint last_activity_{};
  bool active_since_timeout_ = true; // an app call since the last handle_timeout
  bool idle_ = false;

  std::vector<Bytes> early_packets_;
  std::deque<Bytes> outbox_;
  std::deque<Event> events_;

  std::vector<std::unique_ptr<Channel>> channels_; // indexed by stream id, grown on demand
  std::vector<StreamId> pending_;                  // opened before COMM_UP, in order

  std::deque<OutItem> queue_;       // FIFO of messages/resets not yet accepted by usrsctp
  std::size_t queued_bytes_ = 0;    // user bytes in queue_ (counts toward send_buffer_limit)
  std::size_t owed_low_events_ = 0; // channels refused with Blocked, owed a BufferedAmountLow

  std::unique_ptr<Reassembly> rx_; // partially received message (usrsctp partial delivery)
  Bytes notification_;             // partially received notification

  AssociationStats stats_;
};

} // namespace posthorn::sctp
