#pragma once
// A TURN client (RFC 8656) for one allocation on one server, with RFC 8489 long-term credentials.
//
// Sans-IO, like ice::Agent: the client never touches a socket, a clock or a global RNG.
//  - The driver owns the socket to the server: a UDP socket that only talks to `server`, or a
//    connected TCP stream. It feeds what arrives with handle_datagram() (UDP: one datagram, and
//    only datagrams whose source is the server address) or handle_stream_bytes() (TCP: any chunk
//    of the byte stream), and the time with handle_timeout().
//  - After any input or call, the driver drains poll_transmit() (bytes to send to the server: one
//    datagram each over UDP, stream bytes over TCP), then poll_event(), then arms one timer at
//    poll_timeout().
//  - start() allocates; Allocated carries the relayed address (a relayed ICE candidate) and the
//    server-reflexive one. send_to() relays a datagram to a peer; datagrams from peers come back
//    as PeerData events. close() releases the allocation; Closed follows.
//
// Permissions (RFC 8656 §9) and channels (§12) are managed for the caller: the first send_to() a
// peer installs a permission for its IP (by ChannelBind when channels are enabled, which installs
// one too) and queues the datagram until the server confirms; later datagrams go as ChannelData
// once the channel is bound, as Send indications otherwise. Allocation, permissions and channels
// are refreshed one minute before they expire for as long as the client lives.
//
// Trust: every response to an authenticated request must carry a MESSAGE-INTEGRITY valid under
// the long-term key, else it is dropped and counted (RFC 8489 §9.2.5). Data indications cannot be
// authenticated; they are accepted only from peers we hold a permission for, and ChannelData only
// on channels we bound. Remote input never throws; tables are bounded (TurnLimits).
//
// Thread safety: none; one client is driven from one strand. It has no callbacks.

#include "core/bytes.hpp"
#include "core/rng.hpp"
#include "core/socket_address.hpp"
#include "core/time.hpp"
#include "ice/turn_tuning.hpp"
#include <posthorn/error.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace posthorn::ice {

/// How the client reaches the server. The relayed side is always UDP (REQUESTED-TRANSPORT 17).
enum class TurnTransport : std::uint8_t { Udp, Tcp };

struct TurnServerConfig {
  SocketAddress server;
  TurnTransport transport = TurnTransport::Udp;
  std::string username; // at most 509 bytes (RFC 8489 §14.3)
  std::string password;
  /// The family of the relayed address (RFC 8656 §7.1; IPv4 is the server's default). Peers
  /// must have this family.
  IpFamily relay_family = IpFamily::V4;
  /// Bind a channel to each peer (RFC 8656 §12): 4 bytes of overhead per datagram instead of the
  /// 36-48 of a Send indication. Off: every datagram is a Send indication.
  bool use_channels = true;
  TurnTiming timing;
  TurnLimits limits;
};

enum class TurnState : std::uint8_t {
  Idle,       // constructed, start() not called
  Allocating, // Allocate in flight (possibly its authenticated retry)
  Allocated,  // relaying
  Closing,    // close() called, Refresh(lifetime 0) in flight
  Closed,     // terminal: released (or never allocated)
  Failed      // terminal: the allocation could not be made or was lost
};
std::string_view to_string(TurnState s) noexcept;

namespace turn_event {
struct Allocated {
  SocketAddress relayed;
  /// XOR-MAPPED-ADDRESS: our address as the server saw it (a server-reflexive candidate).
  std::optional<SocketAddress> mapped;
  Duration lifetime{};
};
/// Terminal. The allocation could not be made, or an existing one was lost (refresh refused or
/// unanswered, TCP connection closed). `reason` is a sentence for people, e.g. "401 Unauthorized:
/// the server rejected the username or password for realm "example.org"".
struct AllocationFailed {
  error_code error; // a TurnErrc
  std::uint16_t stun_code = 0;
  std::string reason;
};
struct PeerData {
  SocketAddress from;
  Bytes data;
};
/// The server refused (or did not answer) a permission for `peer`; data queued for it is dropped.
/// Sending to the peer again retries after TurnTiming::permission_retry_backoff.
struct PermissionFailed {
  IpAddress peer;
  error_code error;
  std::uint16_t stun_code = 0;
  std::string reason;
};
/// Terminal, after close(): the allocation is released (or was never made).
struct Closed {};
} // namespace turn_event
using TurnEvent =
    std::variant<turn_event::Allocated, turn_event::AllocationFailed, turn_event::PeerData,
                 turn_event::PermissionFailed, turn_event::Closed>;

/// What the client sent, received, and dropped. Remote garbage is counted, never thrown.
struct TurnStats {
  std::uint64_t requests_sent = 0; // first transmissions of requests
  std::uint64_t retransmissions = 0;
  std::uint64_t stale_nonce_retries = 0;
  std::uint64_t allocation_refreshes = 0; // successful Refresh with a non-zero lifetime
  std::uint64_t permission_refreshes = 0;
  std::uint64_t channel_refreshes = 0;
  std::uint64_t send_indications_sent = 0;
  std::uint64_t channel_data_sent = 0;
  std::uint64_t data_indications_received = 0;
  std::uint64_t channel_data_received = 0;
  std::uint64_t dropped_malformed = 0;
  std::uint64_t dropped_unknown_transaction = 0; // no such transaction, or a method mismatch
  std::uint64_t dropped_unauthenticated = 0;     // MESSAGE-INTEGRITY missing or wrong
  std::uint64_t dropped_unknown_channel = 0;
  std::uint64_t dropped_no_permission = 0; // Data indication from a peer we did not permit
  std::uint64_t dropped_unexpected = 0;    // requests, other indications, ICMP reports
  std::uint64_t dropped_queued_data = 0;   // datagrams queued for a permission that failed
  std::uint64_t refused_permission_limit = 0;
};

class TurnClient {
public:
  /// Throws std::invalid_argument for an unusable config (no server port, empty or over-long
  /// username). `rng` (transaction ids) must outlive the client.
  TurnClient(TurnServerConfig config, Rng& rng);
  TurnClient(const TurnClient&) = delete;
  TurnClient& operator=(const TurnClient&) = delete;
  ~TurnClient();

  /// Sends the Allocate request (RFC 8656 §7.1), first without credentials; the server's 401
  /// supplies realm and nonce for the authenticated retry (RFC 8489 §9.2.3). Once only.
  void start(TimePoint now);
  /// One UDP datagram from the server (or one complete STUN/ChannelData message).
  void handle_datagram(TimePoint now, ByteView data);
  /// Bytes from the TCP stream to the server, in any chunking (RFC 8656 §12.5 framing).
  void handle_stream_bytes(TimePoint now, ByteView data);
  /// The TCP connection ended: the allocation is gone with it (RFC 8656 §3.1). Over UDP: the
  /// socket reported ICMP unreachable; the allocation fails the same way.
  void handle_transport_closed(TimePoint now);
  void handle_timeout(TimePoint now);

  /// Relays `data` to `peer` (RFC 8656 §11-12). Errors: NotAllocated, Closed,
  /// PeerFamilyMismatch, PayloadTooLarge, PermissionLimit, PendingQueueFull, PermissionDenied.
  [[nodiscard]] result<void> send_to(TimePoint now, const SocketAddress& peer, ByteView data);
  /// Installs a permission for `peer` ahead of traffic (CreatePermission, RFC 8656 §10), e.g.
  /// for a remote candidate, so that the peer's first datagram is not dropped by the server.
  [[nodiscard]] result<void> add_permission(TimePoint now, const IpAddress& peer);
  /// Releases the allocation (Refresh with LIFETIME 0, RFC 8656 §8); Closed follows.
  void close(TimePoint now);

  std::optional<Bytes> poll_transmit();
  std::optional<TurnEvent> poll_event();
  [[nodiscard]] std::optional<TimePoint> poll_timeout() const;

  [[nodiscard]] TurnState state() const noexcept;
  [[nodiscard]] const TurnServerConfig& config() const noexcept;
  [[nodiscard]] std::optional<SocketAddress> relayed_address() const;
  [[nodiscard]] std::optional<SocketAddress> mapped_address() const;
  /// A permission for `peer` is installed (confirmed by the server, not expired).
  [[nodiscard]] bool has_permission(const IpAddress& peer) const;
  /// A channel to `peer` is bound, so datagrams to it go as ChannelData.
  [[nodiscard]] bool has_channel(const SocketAddress& peer) const;
  [[nodiscard]] std::size_t permission_count() const noexcept;
  [[nodiscard]] std::size_t channel_count() const noexcept;
  [[nodiscard]] const TurnStats& stats() const noexcept;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace posthorn::ice
