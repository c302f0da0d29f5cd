#pragma once
// Private state of ice::Agent, shared by agent.cpp (inputs, checks, nomination),
// agent_gathering.cpp (candidates and STUN-server queries) and agent_turn.cpp (TURN clients,
// relayed bases and the data path through them). Not part of the API.

#include "ice/agent.hpp"

#include <deque>
#include <optional>
#include <vector>

namespace posthorn::ice {

// agent_gathering.cpp: candidate helpers shared with agent_turn.cpp.
std::string make_foundation(CandidateType type, const IpAddress& base_ip, std::string_view server);
std::uint32_t local_preference(const SocketAddress& address, std::size_t index);
bool server_reachable_from(const SocketAddress& base, const SocketAddress& server);

enum class PairState : std::uint8_t { Frozen, Waiting, InProgress, Succeeded, Failed };

/// A candidate base (RFC 8445 §5.1.1): a local socket (the base of host and server-reflexive
/// candidates), or a relayed address, which is its own base (§5.1.1.2). Bases are never removed,
/// pairs refer to them by index; a relayed base whose allocation is lost is marked dead.
struct LocalBase {
  SocketAddress address;
  Candidate candidate;             // the host or relay candidate of this base
  std::optional<std::size_t> turn; // relayed: index into Impl::turns
  bool dead = false;

  [[nodiscard]] bool is_relayed() const noexcept { return turn.has_value(); }
};

/// One TURN client and its link (RFC 8656: one allocation per configured server).
struct TurnEntry {
  TurnLinkId link = 0;
  std::size_t server = 0; // index into config.turn_servers
  SocketAddress local;    // the host base whose IP the link's socket uses
  std::unique_ptr<TurnClient> client;
  std::optional<std::size_t> base; // the relayed base once allocated
  bool pending = true;             // gathering still waits for its outcome
  bool failed = false;             // AllocationFailed (or closed): retried on ICE restart
};

struct RemoteCandidate {
  Candidate candidate;
  SocketAddress address;
};

struct CandidatePair {
  std::size_t base = 0; // index into Impl::bases
  SocketAddress remote;
  std::uint32_t local_priority = 0;
  std::uint32_t remote_priority = 0;
  CandidateType remote_type = CandidateType::Host;
  std::string foundation; // local foundation + ":" + remote foundation (RFC 8445 §6.1.2.6)
  PairState state = PairState::Frozen;
  bool nominated = false;
  bool nominating = false; // controlling: a USE-CANDIDATE check is in flight on this pair
  /// Controlled side: the peer sent USE-CANDIDATE before our own check on this pair succeeded
  /// (RFC 8445 §7.3.1.5); the pair is nominated as soon as it does.
  bool nominate_on_success = false;
  bool in_triggered_queue = false;
  TimePoint last_response{}; // last successful check response (consent, RFC 7675)
  TimePoint last_activity{}; // last response, request or data from the remote
};

enum class TransactionKind : std::uint8_t { Check, Gather, Consent };

struct Transaction {
  TransactionId id{};
  TransactionKind kind = TransactionKind::Check;
  std::size_t pair = 0;   // Check/Consent
  std::size_t server = 0; // Gather: index into config.stun_servers
  std::size_t base = 0;
  SocketAddress remote;
  Bytes request;
  int transmissions = 0;
  int max_transmissions = 0;
  Duration rto{};
  TimePoint next_retransmit{};
  bool use_candidate = false;
  Role role_at_send = Role::Controlling;
};

struct Agent::Impl {
  Impl(AgentConfig c, Rng& r);

  AgentConfig config;
  Rng& rng;
  IceCredentials local_creds;
  std::optional<IceCredentials> remote_creds;
  Role role;
  std::uint64_t tie_breaker;
  IceState state = IceState::New;
  AgentStats stats;

  std::vector<LocalBase> bases;
  std::vector<TurnEntry> turns;
  TurnLinkId next_link = 1;
  bool draining_turn = false; // re-entrancy guard for process_turn
  std::deque<RelayedDatagram> relayed_in;
  std::deque<CandidateError> candidate_errors;
  bool gathered_once = false;
  TimePoint last_now{};         // the time of the last input, for close() without a time
  std::vector<Candidate> srflx; // gathered server-reflexive candidates (for dedup)
  std::vector<RemoteCandidate> remotes;
  std::vector<CandidatePair> pairs;
  std::vector<Transaction> transactions;
  std::deque<std::size_t> triggered; // pair indices (RFC 8445 §6.1.4.1)

  bool gathering = false;
  bool remote_gathering_complete = false;
  bool closed = false;
  std::optional<TimePoint> checking_since;
  std::optional<TimePoint> first_success_at;
  TimePoint next_check_at{};
  std::optional<std::size_t> selected; // pair index
  /// After an ICE restart: the previous selected pair keeps carrying data until a new one is
  /// valid (RFC 8445 §9).
  std::optional<SelectedPair> previous_selection;
  std::optional<SelectedPair> announced_selection;
  TimePoint next_consent_at{};

  std::deque<Transmit> transmits;
  std::deque<Event> events;

  // agent.cpp
  void set_state(IceState s);
  void set_role(Role r);
  std::uint64_t pair_priority(const CandidatePair& p) const;
  std::size_t find_or_add_pair(std::size_t base, const RemoteCandidate& remote);
  std::optional<std::size_t> find_pair(std::size_t base, const SocketAddress& remote) const;
  std::optional<std::size_t> find_base(const SocketAddress& address) const;
  [[nodiscard]] bool pairable(std::size_t base) const;
  void form_pairs_for_remote(std::size_t remote_index);
  void send_check(TimePoint now, std::size_t pair, bool use_candidate, TransactionKind kind);
  void maybe_send_paced_check(TimePoint now);
  void handle_stun(TimePoint now, std::size_t base, const SocketAddress& remote, ByteView data);
  void after_input(TimePoint now);
  void handle_request(TimePoint now, std::size_t base, const SocketAddress& remote,
                      const StunMessage& msg);
  void handle_response(TimePoint now, std::size_t base, const SocketAddress& remote,
                       const StunMessage& msg);
  void on_check_response(TimePoint now, const Transaction& t, const SocketAddress& from,
                         std::size_t base, const StunMessage& msg);
  void on_check_failed(TimePoint now, std::size_t pair);
  void unfreeze_foundation(const std::string& foundation);
  void update_nomination(TimePoint now);
  void update_selection(TimePoint now);
  void update_liveness(TimePoint now);
  void retransmit(TimePoint now);
  void reset_checks();
  void send_error(TimePoint now, std::size_t base, const SocketAddress& remote,
                  const StunMessage& request, std::uint16_t code, std::string_view reason,
                  bool with_integrity);
  /// Sends from a base: a datagram on its socket, or through its TURN client when relayed.
  void send_from(TimePoint now, std::size_t base, const SocketAddress& remote, Bytes payload);
  std::optional<TimePoint> next_deadline() const;
  TransactionId new_transaction_id();

  // agent_gathering.cpp
  void gather(TimePoint now);
  void on_gather_response(const Transaction& t, const StunMessage& msg);
  void on_gather_finished(TimePoint now);
  Candidate make_local_candidate(CandidateType type, const SocketAddress& address,
                                 const LocalBase& base, std::size_t base_index) const;
  [[nodiscard]] bool gathering_pending() const;
  [[nodiscard]] bool relay_only() const noexcept {
    return config.transport_policy == IceTransportPolicy::Relay;
  }

  // agent_turn.cpp
  void start_turn(TimePoint now);
  void start_turn_entry(TimePoint now, std::size_t slot, std::size_t server);
  void report_candidate_error(std::size_t server, std::uint16_t code, std::string text,
                              error_code error);
  void process_turn(TimePoint now, std::size_t index);
  void flush_turn_transmits(std::size_t index);
  void on_turn_event(TimePoint now, std::size_t index, TurnEvent& e);
  void on_allocated(TimePoint now, std::size_t index, const turn_event::Allocated& a);
  void on_turn_failed(TimePoint now, std::size_t index, const turn_event::AllocationFailed& f);
  void add_turn_permissions(TimePoint now, const IpAddress& ip);
  void form_pairs_for_base(std::size_t base);
  void close_turn(TimePoint now);
  std::optional<std::size_t> find_turn(TurnLinkId link) const;
  std::optional<TimePoint> next_turn_deadline() const;
  void turn_timeouts(TimePoint now);
  Candidate make_relay_candidate(const TurnEntry& entry, const turn_event::Allocated& a) const;
};

} // namespace posthorn::ice
