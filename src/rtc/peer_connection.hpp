#pragma once
// A WebRTC peer connection for data channels: ICE (our agent) + DTLS 1.2 + SCTP, negotiated with
// JSEP offers and answers (RFC 8829) in the W3C RTCPeerConnection shape.
//
// Sans-IO, like every core (STYLE.md):
//  - The driver registers the local UDP sockets (add_local_socket) before the first
//    set_local_description, and feeds every datagram received on them to handle_datagram.
//  - After any input or API call, the driver drains poll_transmit() (send each datagram from
//    `local` to `remote`), then poll_event(), then arms one timer for poll_timeout() and calls
//    handle_timeout() when it fires.
//  - Nothing here blocks, reads a clock or calls back into the application.
//  - With TURN servers configured, transmits with `turn` set go on the runtime's socket for that
//    TURN link (see ice/agent.hpp), and what arrives there is fed to handle_turn_bytes().
//
// Demultiplexing follows RFC 7983 §7: first byte 0-3 STUN, 20-63 DTLS, 128-191 RTP/RTCP (media
// is not negotiated yet: such datagrams are dropped and counted).
//
// Perfect negotiation (which Trystero relies on) needs rollback: set_local_description with
// type Rollback, or set_remote_description(offer) in have-local-offer (implicit rollback).

#include "core/bytes.hpp"
#include "core/rng.hpp"
#include "core/socket_address.hpp"
#include "core/time.hpp"
#include "ice/agent.hpp"
#include "sctp/association.hpp"
#include <posthorn/error.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace posthorn::dtls {
class Certificate;
}

namespace posthorn::rtc {

enum class DescriptionType : std::uint8_t { Offer, Pranswer, Answer, Rollback };
std::string_view to_string(DescriptionType t) noexcept; // "offer", "pranswer", ...
std::optional<DescriptionType> parse_description_type(std::string_view s) noexcept;

/// RTCSessionDescriptionInit.
struct Description {
  DescriptionType type = DescriptionType::Offer;
  std::string sdp;
};

/// W3C RTCSignalingState.
enum class SignalingState : std::uint8_t {
  Stable,
  HaveLocalOffer,
  HaveRemoteOffer,
  HaveLocalPranswer,
  HaveRemotePranswer,
  Closed
};
/// W3C RTCPeerConnectionState.
enum class ConnectionState : std::uint8_t {
  New,
  Connecting,
  Connected,
  Disconnected,
  Failed,
  Closed
};
std::string_view to_string(SignalingState s) noexcept;
std::string_view to_string(ConnectionState s) noexcept;

struct Configuration {
  std::vector<SocketAddress> stun_servers;
  /// RTCIceServer entries for TURN (RFC 8656): one allocation each, a relayed candidate each.
  std::vector<ice::TurnServerConfig> turn_servers;
  /// RTCConfiguration.iceTransportPolicy: Relay gathers, signals and pairs relayed candidates only.
  ice::IceTransportPolicy ice_transport_policy = ice::IceTransportPolicy::All;
  /// Shared across connections (generating a P-256 key costs ~0.1 ms, but browsers also reuse
  /// one per RTCPeerConnection lifetime). Generated on construction when null.
  std::shared_ptr<const dtls::Certificate> certificate;
  /// Our a=max-message-size: the largest message we accept (RFC 8841 §6).
  std::size_t max_message_size = 256 * 1024;
  std::uint16_t sctp_port = 5000;
  ice::IceTiming ice_timing;
};

/// Identifies a data channel within one PeerConnection for its whole life (the SCTP stream id is
/// only known once the association is up, W3C's `id` being null until then).
using ChannelId = std::uint32_t;

struct ChannelInfo {
  ChannelId id = 0;
  std::string label;
  std::string protocol;
  bool ordered = true;
  std::optional<std::uint16_t> max_retransmits;
  std::optional<std::chrono::milliseconds> max_packet_lifetime;
  bool negotiated = false;
  std::optional<sctp::StreamId> stream;
  bool remote = false; // opened by the peer
};

namespace event {
/// A trickled local candidate in W3C form; `candidate` empty = end-of-candidates.
struct LocalCandidate {
  std::string candidate;
  std::string mid;
};
struct SignalingStateChanged {
  SignalingState state;
};
struct IceStateChanged {
  ice::IceState state;
};
struct ConnectionStateChanged {
  ConnectionState state;
};
struct DataChannelOpen {
  ChannelInfo channel;
};
struct DataChannelMessage {
  ChannelId channel;
  Bytes data;
  bool binary;
};
struct DataChannelBufferedAmountLow {
  ChannelId channel;
};
struct DataChannelClosed {
  ChannelId channel;
};
} // namespace event
using Event =
    std::variant<event::LocalCandidate, event::SignalingStateChanged, event::IceStateChanged,
                 event::ConnectionStateChanged, event::DataChannelOpen, event::DataChannelMessage,
                 event::DataChannelBufferedAmountLow, event::DataChannelClosed>;

struct PeerConnectionStats {
  std::uint64_t dropped_unknown_datagrams = 0; // neither STUN nor DTLS (RFC 7983)
  std::uint64_t dropped_unpermitted_source = 0;
  std::uint64_t dropped_early_dtls = 0;    // DTLS before we knew our role, beyond the buffer
  std::uint64_t dropped_unsent_dtls = 0;   // DTLS output before a pair was selected, beyond buffer
  std::uint64_t mdns_names_unresolved = 0; // a .local name the resolver could not resolve
  std::uint64_t dropped_mdns_candidates = 0; // .local candidates beyond the pending bounds
};

class PeerConnection {
public:
  /// `rng` must outlive the connection.
  PeerConnection(Configuration config, Rng& rng);
  ~PeerConnection();
  PeerConnection(const PeerConnection&) = delete;
  PeerConnection& operator=(const PeerConnection&) = delete;

  void add_local_socket(const SocketAddress& address);

  // --- signaling (JSEP) ---
  [[nodiscard]] result<Description> create_offer();
  [[nodiscard]] result<Description> create_answer();
  [[nodiscard]] result<void> set_local_description(TimePoint now, const Description& d);
  [[nodiscard]] result<void> set_remote_description(TimePoint now, const Description& d);
  /// A trickled remote candidate ("candidate:..."; empty = end-of-candidates).
  [[nodiscard]] result<void> add_remote_candidate(TimePoint now, std::string_view candidate,
                                                  std::string_view mid = {});
  /// The current local description with every candidate gathered so far (and
  /// a=end-of-candidates once gathering completed): what non-trickle signaling sends.
  [[nodiscard]] std::optional<Description> local_description() const;
  [[nodiscard]] bool is_gathering_complete() const noexcept;
  /// Starts an ICE restart (RFC 8445 §9); the next create_offer carries new credentials.
  void restart_ice(TimePoint now);

  // --- data channels ---
  [[nodiscard]] result<ChannelId> create_data_channel(const sctp::ChannelOptions& options);
  /// Errors: Condition::Blocked when the send queue is full (wait for BufferedAmountLow),
  /// Closed when the channel is not open, InvalidArgument over the peer's max-message-size.
  [[nodiscard]] result<void> send(TimePoint now, ChannelId channel, ByteView data, bool binary);
  [[nodiscard]] std::size_t buffered_amount(ChannelId channel) const;
  void set_buffered_amount_low_threshold(ChannelId channel, std::size_t bytes);
  void close_channel(TimePoint now, ChannelId channel);
  [[nodiscard]] std::optional<ChannelInfo> channel_info(ChannelId channel) const;
  /// The peer's a=max-message-size (0 = unlimited) once known.
  [[nodiscard]] std::size_t remote_max_message_size() const noexcept;

  void close(TimePoint now);

  // --- inputs ---
  void handle_datagram(TimePoint now, const SocketAddress& local, const SocketAddress& remote,
                       ByteView data);
  void handle_timeout(TimePoint now);
  /// Bytes that arrived on TURN link `link` (a UDP datagram from the server, or a chunk of the
  /// TCP stream to it).
  void handle_turn_bytes(TimePoint now, ice::TurnLinkId link, ByteView data);
  /// The TURN link's TCP connection ended or failed to open (or UDP got ICMP unreachable).
  void handle_turn_closed(TimePoint now, ice::TurnLinkId link);
  /// The outcome of a poll_mdns_query() name: its waiting candidates join ICE with `address`, or
  /// are dropped (counted in stats) when it could not be resolved.
  void handle_mdns_resolved(TimePoint now, std::string_view name, const result<IpAddress>& address);

  // --- outputs ---
  std::optional<ice::Transmit> poll_transmit();
  std::optional<Event> poll_event();
  /// A TURN server that could not be used (W3C `icecandidateerror`); ICE goes on without it.
  /// Drain it along with poll_event() (before it, to report the cause ahead of a resulting
  /// ConnectionStateChanged{Failed}); the queue is bounded.
  std::optional<ice::CandidateError> poll_candidate_error();
  /// A remote host candidate hides its address behind an mDNS name ("<uuid>.local", as browsers
  /// emit them): resolve the name (RFC 6762; runtime::MdnsService) and report the outcome with
  /// handle_mdns_resolved(). Each name is asked for once; its candidates wait meanwhile.
  std::optional<std::string> poll_mdns_query();
  [[nodiscard]] std::optional<TimePoint> poll_timeout() const;

  // --- queries ---
  [[nodiscard]] SignalingState signaling_state() const noexcept;
  [[nodiscard]] ConnectionState connection_state() const noexcept;
  [[nodiscard]] ice::IceState ice_state() const noexcept;
  [[nodiscard]] const ice::IceCredentials& local_ice_credentials() const noexcept;
  [[nodiscard]] std::optional<ice::SelectedPair> selected_pair() const;
  [[nodiscard]] const PeerConnectionStats& stats() const noexcept;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace posthorn::rtc
