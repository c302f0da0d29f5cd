#pragma once
// A DTLS 1.2 endpoint for WebRTC data channels (RFC 8827 §6.5, RFC 8842), sans-IO, over
// OpenSSL 3.0.
//
// The endpoint does no I/O and reads no clock for its own decisions. The driver feeds it UDP
// payloads that demultiplex as DTLS (is_dtls() in dtls/record.hpp, RFC 7983) with
// handle_datagram(), and clock ticks with handle_timeout(). After any input, and after send(),
// close() and set_remote_fingerprint(), the driver drains, in this order:
//   1. poll_transmit() until empty — each item is one UDP datagram for the selected ICE pair;
//   2. poll_event() until empty — Connected, ApplicationData, Closed or Failed;
//   3. poll_timeout() — the one deadline at which to call handle_timeout() next.
// Application data flows once Connected: one send() is one record; one ApplicationData event
// is one record, so SCTP packet boundaries survive.
//
// Authentication (RFC 8827 §6.5, RFC 8122 §5): the peer's self-signed certificate is trusted
// only if it hashes to the fingerprint signalled in its SDP. That fingerprint may arrive before
// the handshake (checked as the certificate arrives; a mismatch aborts with a bad_certificate
// alert) or after it (signaling and trickle ICE race the handshake). In the second case the
// handshake completes, incoming application data is held (bounded, unauthenticated) and
// Connected is emitted only by set_remote_fingerprint() with a matching value.
//
// Timers: OpenSSL keeps its own retransmission timer on the real clock (gettimeofday) and offers
// no way to drive it with ours. The compromise: after every input we translate OpenSSL's
// remaining time (DTLSv1_get_timeout) into a TimePoint relative to `now`, and handle_timeout()
// calls DTLSv1_handle_timeout(), which retransmits if OpenSSL agrees the timer expired. With a
// real clock both agree; under a virtual clock that runs ahead of real time retransmissions
// simply do not happen (nothing else breaks). The handshake timeout is ours and deterministic.
//
// Thread safety: none; use one Endpoint from one strand. It invokes no user callbacks. A moved-from
// Endpoint may only be destroyed or assigned to.

#include "core/bytes.hpp"
#include "core/time.hpp"
#include "dtls/certificate.hpp"
#include "dtls/fingerprint.hpp"
#include "dtls/role.hpp"
#include "dtls/srtp.hpp"
#include "dtls/tuning.hpp"
#include <posthorn/error.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <variant>

namespace posthorn::dtls {

/// The handshake completed and the peer certificate matches the remote fingerprint.
struct Connected {};
/// One decrypted record from the peer (for data channels: one SCTP packet).
struct ApplicationData {
  Bytes data;
};
/// The peer sent close_notify (we answered with ours). Terminal.
struct Closed {};
/// The connection failed; `error` compares equal to a posthorn::Condition (AuthFailed for a
/// fingerprint mismatch, TimedOut, ProtocolViolation). Terminal.
struct Failed {
  error_code error;
};
using Event = std::variant<Connected, ApplicationData, Closed, Failed>;

/// Mirrors W3C RTCDtlsTransportState. Connecting covers both the handshake and the wait for the
/// remote fingerprint.
enum class State : std::uint8_t { New, Connecting, Connected, Closed, Failed };

class Endpoint {
public:
  struct Config {
    Role role = Role::Client;
    /// Our identity; required. Share one across connections.
    std::shared_ptr<const Certificate> certificate;
    /// The peer's a=fingerprint, if signaling already delivered it (else set_remote_fingerprint).
    std::optional<Fingerprint> remote_fingerprint;
    /// Largest datagram the handshake emits (handshake messages are fragmented to fit).
    /// Application records are not limited by it: SCTP sizes its own packets.
    std::size_t mtu = kDefaultMtu;
    /// From start() to Connected, fingerprint check included; then Failed{TimedOut}.
    Duration handshake_timeout = kDefaultHandshakeTimeout;
    /// First flight retransmission timeout, doubled per retransmission (clamped to
    /// [kMinRetransmitTimeout, kMaxRetransmitTimeout]). ~2× the ICE RTT is a good value.
    Duration initial_retransmit_timeout = kDefaultInitialRetransmitTimeout;
    /// Offer/accept use_srtp (RFC 5764 §4.1.1). Media needs it; rtc::PeerConnection turns it on
    /// for data-only sessions as well, as browsers do (some stacks insist on a profile).
    bool enable_srtp = false;
  };

  /// Throws std::invalid_argument for a missing certificate or an MTU outside [256, 65507].
  explicit Endpoint(Config config);
  ~Endpoint();
  Endpoint(Endpoint&&) noexcept;
  Endpoint& operator=(Endpoint&&) noexcept;
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  /// Starts the handshake clock; a Client sends its ClientHello. A Server also starts by itself
  /// on the first datagram, so a ClientHello that beats start() is not lost. Idempotent.
  void start(TimePoint now);

  /// One UDP payload from the peer. Datagrams that are not well-formed DTLS records, and any
  /// datagram after Closed/Failed, are dropped and counted (dropped_datagrams()).
  void handle_datagram(TimePoint now, ByteView datagram);

  /// The clock reached poll_timeout() (calling it early or late is harmless).
  void handle_timeout(TimePoint now);

  /// Encrypts `app_data` as one record. Errors: NotConnected, Closed, EmptyMessage,
  /// MessageTooLarge (> 16384 bytes), or the Failed error once failed.
  [[nodiscard]] result<void> send(ByteView app_data);

  /// Sends close_notify (if the handshake finished) and stops. No event follows.
  void close(TimePoint now);

  /// The peer's fingerprint, from signaling, at any time before Connected. After the handshake
  /// this decides at once: Connected (plus held data) or Failed{FingerprintMismatch}. Ignored once
  /// Connected, Closed or Failed.
  void set_remote_fingerprint(Fingerprint fingerprint);

  [[nodiscard]] std::optional<Bytes> poll_transmit();
  [[nodiscard]] std::optional<Event> poll_event();
  [[nodiscard]] std::optional<TimePoint> poll_timeout() const;

  /// RFC 5764 §4.2 keys (label "EXTRACTOR-dtls_srtp", no context). NotConnected before
  /// Connected; SrtpNotNegotiated unless both sides enabled SRTP.
  [[nodiscard]] result<SrtpKeyingMaterial> export_srtp_keying_material() const;

  [[nodiscard]] State state() const noexcept;
  [[nodiscard]] Role role() const noexcept;
  /// Datagrams we did not process: malformed (not DTLS records), or received after the endpoint
  /// closed or failed; plus application records dropped because the pre-authentication hold
  /// was full. OpenSSL silently discards records that fail decryption on top of this.
  [[nodiscard]] std::uint64_t dropped_datagrams() const noexcept;
  /// DER of the peer's certificate once it arrived (empty before).
  [[nodiscard]] ByteView remote_certificate_der() const noexcept;
  /// OpenSSL's name of the negotiated suite ("ECDHE-ECDSA-AES128-GCM-SHA256"), or "".
  [[nodiscard]] std::string_view cipher_suite() const noexcept;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace posthorn::dtls
