#pragma once
// A full ICE agent (RFC 8445) for one data stream with one component (BUNDLE + rtcp-mux, which is
// all WebRTC data channels use), with trickle (RFC 8838) and consent freshness (RFC 7675).
//
// Sans-IO. The agent never touches a socket, a clock or a global RNG:
//  - The driver tells it which local UDP sockets exist (add_local_socket) and feeds it every STUN
//    datagram that arrives on them (handle_datagram), and the time (handle_timeout).
//  - After any input, the driver drains poll_transmit() (datagrams to send from a given local
//    socket to a remote address), then poll_event(), then arms one timer at poll_timeout().
//  - Non-STUN datagrams (DTLS, RTP) are not the agent's business: the PeerConnection routes them,
//    asking is_permitted_source() whether the sender is a checked remote.
//
// Candidates are pairs of a local *base* (a socket; server-reflexive candidates share their host
// base, RFC 8445 §6.1.2.4) and a remote transport address. Once a pair is valid the agent selects
// it for data (W3C "connected"); nomination (regular, §8.1) then fixes it ("completed").
//
// TURN (RFC 8656): each configured server gets one TurnClient, whose relayed address becomes a
// base of its own (a `relay` candidate, RFC 8445 §5.1.1.2). The client talks to its server over a
// *TURN link*: a socket the runtime dedicates to it (a UDP socket or a TCP connection; one per
// link because RFC 8656 §2.2 ties an allocation to its 5-tuple, and a shared ICE socket would
// make every connection of a process collide on one allocation). Transmits with `turn` set go on
// that link; what arrives on it is fed to handle_turn_bytes(). Checks and responses on relayed
// pairs travel inside the TURN client; non-STUN datagrams that arrive through a relay come out of
// poll_relayed() for the caller's demultiplexer, and non-STUN data to send on a relayed pair goes
// in through send_relayed().

#include "core/bytes.hpp"
#include "core/rng.hpp"
#include "core/socket_address.hpp"
#include "core/time.hpp"
#include "ice/candidate.hpp"
#include "ice/stun_message.hpp"
#include "ice/tuning.hpp"
#include "ice/turn_client.hpp"
#include <posthorn/error.hpp>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace posthorn::ice {

enum class Role : std::uint8_t { Controlling, Controlled };

/// W3C RTCIceConnectionState.
enum class IceState : std::uint8_t {
  New,
  Checking,
  Connected,
  Completed,
  Disconnected,
  Failed,
  Closed
};
std::string_view to_string(IceState s) noexcept;

struct IceCredentials {
  std::string ufrag; // RFC 8445 §5.3: at least 24 bits of randomness (we use 8 ice-chars = 48)
  std::string pwd;   // at least 128 bits (we use 24 ice-chars = 144)
  /// Random credentials from the ice-char set (RFC 8839 §5.4).
  static IceCredentials generate(Rng& rng);
};

/// W3C RTCIceTransportPolicy: which local candidates are gathered, signalled and paired.
enum class IceTransportPolicy : std::uint8_t {
  All,
  /// Only relayed candidates: the peer never learns our addresses (W3C "relay"). Host sockets
  /// only carry the TURN links; STUN servers are not asked.
  Relay
};
std::string_view to_string(IceTransportPolicy p) noexcept; // "all", "relay"

struct AgentConfig {
  Role role = Role::Controlling;
  std::vector<SocketAddress> stun_servers;
  /// One allocation per server (RFC 8656); each successful one is a relayed candidate. Servers
  /// listed twice (same address and transport) are used once.
  std::vector<TurnServerConfig> turn_servers;
  IceTransportPolicy transport_policy = IceTransportPolicy::All;
  /// Tests pin credentials; production leaves them empty and they are generated.
  std::optional<IceCredentials> credentials;
  IceTiming timing;
};

/// A TURN client's connection to its server, which the runtime provides (see the header comment).
/// Ids are never reused within one agent: a new id means a new socket.
using TurnLinkId = std::uint32_t;
struct TurnLink {
  TurnLinkId id = 0;
  TurnTransport transport = TurnTransport::Udp;
  friend bool operator==(const TurnLink&, const TurnLink&) = default;
};

struct Transmit {
  SocketAddress local;  // send from this local socket ...
  SocketAddress remote; // ... to this address
  Bytes payload;
  /// Set for a TURN client's own traffic to its server `remote`: send `payload` on the runtime's
  /// socket for this link — one UDP datagram, or the next bytes of the TCP stream (opened on first
  /// use, from `local`'s IP) — not from the candidate socket `local`.
  std::optional<TurnLink> turn = std::nullopt;
};

/// A non-STUN datagram that arrived through a TURN relay: handle it as if it had been received on
/// local socket `local` (the relayed address) from `remote`.
struct RelayedDatagram {
  SocketAddress local;
  SocketAddress remote;
  Bytes data;
};

/// A TURN server could not be used, in the shape of the W3C RTCPeerConnectionIceErrorEvent. The
/// agent goes on with its other candidates.
struct CandidateError {
  std::string url;        // "turn:192.0.2.1:3478?transport=udp"
  std::uint16_t code = 0; // the STUN error code (401, 403, 486 ...), or 701: no answer/connection
  std::string text;       // for people: "401 Unauthorized: bad credentials (...)"
  posthorn::error_code error; // a TurnErrc
};

struct SelectedPair {
  SocketAddress local;
  SocketAddress remote;
  CandidateType local_type = CandidateType::Host;
  CandidateType remote_type = CandidateType::Host;
  bool nominated = false;
  friend bool operator==(const SelectedPair&, const SelectedPair&) = default;
};

namespace event {
struct LocalCandidate {
  Candidate candidate;
};
struct GatheringComplete {};
struct StateChanged {
  IceState state;
};
struct SelectedPairChanged {
  SelectedPair pair;
};
struct RoleChanged {
  Role role;
};
} // namespace event
using Event = std::variant<event::LocalCandidate, event::GatheringComplete, event::StateChanged,
                           event::SelectedPairChanged, event::RoleChanged>;

/// Counters for what the agent dropped or refused; remote garbage never throws.
struct AgentStats {
  std::uint64_t checks_sent = 0;
  std::uint64_t checks_received = 0;
  std::uint64_t responses_received = 0;
  std::uint64_t dropped_malformed = 0;
  std::uint64_t dropped_bad_integrity = 0;
  std::uint64_t dropped_unknown_transaction = 0;
  std::uint64_t role_conflicts = 0;
  std::uint64_t pairs_failed = 0;
  std::uint64_t turn_allocations = 0;
  std::uint64_t turn_allocations_failed = 0; // each also reported by poll_candidate_error()
  std::uint64_t relayed_send_failures = 0;   // TurnClient::send_to refused a datagram
  std::uint64_t dropped_relayed = 0;         // relayed datagrams not polled in time (bounded queue)
  std::uint64_t dropped_by_policy = 0; // STUN on a host socket under IceTransportPolicy::Relay
  std::uint64_t dropped_candidate_errors = 0; // not polled in time (the queue is bounded)
};

class Agent {
public:
  /// `rng` must outlive the agent.
  Agent(AgentConfig config, Rng& rng);
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;
  ~Agent();

  // --- setup ---
  /// A local UDP socket (a candidate base). Loopback and link-local addresses are accepted; the
  /// driver decides which interfaces to offer.
  void add_local_socket(const SocketAddress& address);
  /// Emits host candidates, then queries STUN servers for server-reflexive ones; ends with
  /// GatheringComplete. May be called once per ICE generation.
  void gather(TimePoint now);
  /// Remote ufrag/pwd from the remote description. New values mean an ICE restart by the peer:
  /// remote candidates and pairs of the old generation are dropped (RFC 8445 §9); data keeps
  /// flowing on the old selected pair until a new one is valid.
  void set_remote_credentials(TimePoint now, std::string ufrag, std::string pwd);
  [[nodiscard]] bool has_remote_credentials() const noexcept;
  [[nodiscard]] bool remote_credentials_equal(std::string_view ufrag,
                                              std::string_view pwd) const noexcept;
  /// The initial role (JSEP: the offerer controls). Later changes come from role conflicts.
  void set_role(Role role);
  /// Trickled or SDP candidate. Unknown/unsupported (TCP, unresolved mDNS) ones are ignored and
  /// reported false.
  bool add_remote_candidate(TimePoint now, const Candidate& candidate);
  /// The peer signalled end-of-candidates (RFC 8838 §4.4).
  void set_remote_gathering_complete(TimePoint now);
  /// Local ICE restart (RFC 8445 §9): new local credentials, re-gather, checks from scratch.
  /// Live TURN allocations are kept (their relayed candidates are signalled again with the new
  /// credentials); failed ones are tried again on a new link.
  void restart(TimePoint now);
  /// Stops ICE and releases every TURN allocation (Refresh with LIFETIME 0, RFC 8656 §8; sent
  /// once, not awaited).
  void close(TimePoint now);
  /// Same, at the time of the last input.
  void close();

  // --- inputs ---
  /// A datagram that looks_like_stun(), received on local socket `local` from `remote`.
  void handle_datagram(TimePoint now, const SocketAddress& local, const SocketAddress& remote,
                       ByteView data);
  /// Non-STUN traffic from a permitted source keeps the pair alive for Disconnected detection.
  void note_inbound_data(TimePoint now, const SocketAddress& local, const SocketAddress& remote);
  void handle_timeout(TimePoint now);
  /// What arrived on a TURN link: one UDP datagram from the server, or any chunk of the TCP
  /// stream. Afterwards drain poll_relayed() as well.
  void handle_turn_bytes(TimePoint now, TurnLinkId link, ByteView data);
  /// The link's TCP connection ended or could not be made (its allocation is gone with it), or a
  /// UDP link got "port unreachable" (counts only while allocating).
  void handle_turn_closed(TimePoint now, TurnLinkId link);

  // --- data through relays ---
  /// Sends a non-STUN datagram on a pair whose local side is a relayed address
  /// (SelectedPair::local_type == Relayed). Errors: TurnErrc::NotAllocated when `local` is not a
  /// relayed base, TurnErrc::Closed when its allocation is gone, otherwise TurnClient::send_to's
  /// (the datagram is dropped, as on a lossy path).
  [[nodiscard]] result<void> send_relayed(TimePoint now, const SocketAddress& local,
                                          const SocketAddress& remote, ByteView data);

  // --- outputs ---
  std::optional<Transmit> poll_transmit();
  std::optional<Event> poll_event();
  /// Non-STUN datagrams received through relays, in arrival order.
  std::optional<RelayedDatagram> poll_relayed();
  /// TURN servers that failed (at most one report per allocation attempt; bounded queue).
  std::optional<CandidateError> poll_candidate_error();
  [[nodiscard]] std::optional<TimePoint> poll_timeout() const;

  // --- queries ---
  [[nodiscard]] const IceCredentials& local_credentials() const noexcept;
  [[nodiscard]] IceState state() const noexcept;
  [[nodiscard]] Role role() const noexcept;
  [[nodiscard]] std::optional<SelectedPair> selected_pair() const;
  /// Whether non-STUN data from `remote` on `local` should be accepted: a live pair to it exists.
  [[nodiscard]] bool is_permitted_source(const SocketAddress& local,
                                         const SocketAddress& remote) const;
  [[nodiscard]] const AgentStats& stats() const noexcept;
  [[nodiscard]] std::size_t pair_count() const noexcept;
  /// The TURN client behind link `link` (tests and diagnostics), or null.
  [[nodiscard]] const TurnClient* turn_client(TurnLinkId link) const;

private:
  struct Impl;
  // The agent's state is large and private; keeping it behind a pointer keeps this header small.
  std::unique_ptr<Impl> impl_;
};

} // namespace posthorn::ice
