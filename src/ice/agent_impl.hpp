#pragma once
// Private state of ice::Agent, shared by agent.cpp (inputs, checks, nomination) and
// agent_gathering.cpp (candidates and STUN-server queries). Not part of the API.

#include "ice/agent.hpp"

#include <deque>
#include <optional>
#include <vector>

namespace posthorn::ice {

enum class PairState : std::uint8_t { Frozen, Waiting, InProgress, Succeeded, Failed };

/// A local socket: the base of host and server-reflexive candidates (RFC 8445 §5.1.1).
struct LocalBase {
  SocketAddress address;
  Candidate host;
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
  void form_pairs_for_remote(std::size_t remote_index);
  void send_check(TimePoint now, std::size_t pair, bool use_candidate, TransactionKind kind);
  void maybe_send_paced_check(TimePoint now);
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
  void send_error(std::size_t base, const SocketAddress& remote, const StunMessage& request,
                  std::uint16_t code, std::string_view reason, bool with_integrity);
  std::optional<TimePoint> next_deadline() const;
  TransactionId new_transaction_id();

  // agent_gathering.cpp
  void gather(TimePoint now);
  void on_gather_response(const Transaction& t, const StunMessage& msg);
  void on_gather_finished(TimePoint now);
  Candidate make_local_candidate(CandidateType type, const SocketAddress& address,
                                 const LocalBase& base, std::size_t base_index) const;
};

} // namespace posthorn::ice
