#pragma once
// Private state of ice::TurnClient, shared by turn_client.cpp (API, inputs, data path, timers)
// and turn_client_transactions.cpp (requests, credentials, responses). Not part of the API.

#include "ice/stun_message.hpp"
#include "ice/turn_client.hpp"
#include "ice/turn_codec.hpp"
#include "ice/turn_errc.hpp"

#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace posthorn::ice {

enum class TurnRequest : std::uint8_t { Allocate, Refresh, CreatePermission, ChannelBind };

struct TurnTransaction {
  TransactionId id{};
  TurnRequest kind = TurnRequest::Allocate;
  IpAddress peer_ip;          // CreatePermission
  SocketAddress peer;         // ChannelBind
  std::uint16_t channel = 0;  // ChannelBind
  bool release = false;       // Refresh with LIFETIME 0 (close)
  bool is_refresh_of = false; // CreatePermission/ChannelBind renewing an installed one
  bool authenticated = false; // sent with USERNAME/REALM/NONCE/MESSAGE-INTEGRITY
  Bytes key;                  // the long-term key its MESSAGE-INTEGRITY used
  std::string nonce;          // the NONCE it carried
  Bytes request;
  int transmissions = 0;
  TimePoint first_sent{};
  Duration rto{};
  TimePoint deadline{}; // next retransmission (UDP), or when it fails
  int stale_nonce_retries = 0;
  bool auth_retried = false;
  /// A response arrived but failed the integrity check; a later timeout then reports
  /// IntegrityViolated rather than TimedOut (RFC 8489 §9.2.5).
  bool saw_unauthenticated = false;
};

enum class PermissionState : std::uint8_t { Pending, Active, Refused };

struct TurnPermission {
  IpAddress ip;
  PermissionState state = PermissionState::Pending;
  TimePoint refresh_at{};  // Active
  TimePoint retry_after{}; // Refused
  bool in_flight = false;  // a CreatePermission for this IP is outstanding
  std::deque<std::pair<SocketAddress, Bytes>> queued; // Pending: waits for the server's answer
};

enum class ChannelState : std::uint8_t { Binding, Bound, Failed };

struct TurnChannel {
  SocketAddress peer;
  std::uint16_t number = 0;
  ChannelState state = ChannelState::Binding;
  TimePoint refresh_at{}; // Bound
  bool in_flight = false;
};

struct TurnClient::Impl {
  Impl(TurnServerConfig c, Rng& r) : config(std::move(c)), rng(r) {}

  TurnServerConfig config;
  Rng& rng;
  TurnState state = TurnState::Idle;
  TurnStats stats;

  // RFC 8489 §9.2: long-term credential state learnt from the server's 401/438.
  std::string realm;
  std::string nonce;
  std::optional<Bytes> key;

  std::optional<SocketAddress> relayed;
  std::optional<SocketAddress> mapped;
  TimePoint refresh_at{};
  bool refresh_in_flight = false;

  std::vector<TurnTransaction> transactions;
  std::vector<TurnPermission> permissions;
  std::vector<TurnChannel> channels;
  std::uint16_t next_channel = kTurnMinChannel;

  TurnStreamFramer framer;
  std::deque<Bytes> transmits;
  std::deque<TurnEvent> events;

  [[nodiscard]] bool is_tcp() const noexcept { return config.transport == TurnTransport::Tcp; }
  [[nodiscard]] bool is_terminal() const noexcept {
    return state == TurnState::Closed || state == TurnState::Failed;
  }

  // turn_client.cpp
  void handle_frame(TimePoint now, ByteView frame);
  void handle_data_indication(const StunMessage& msg);
  void handle_channel_data(ByteView frame);
  void send_data(const SocketAddress& peer, ByteView data);
  void flush_queued(TurnPermission& permission);
  TurnPermission* find_permission(const IpAddress& ip);
  const TurnPermission* find_permission(const IpAddress& ip) const {
    return const_cast<Impl*>(this)->find_permission(ip);
  }
  /// A request that will settle this Pending permission is outstanding: its CreatePermission,
  /// or a first ChannelBind to a peer at this IP (which installs the permission too).
  bool is_resolving(const TurnPermission& p) const;
  TurnChannel* find_channel(const SocketAddress& peer);
  const TurnChannel* find_channel(const SocketAddress& peer) const {
    return const_cast<Impl*>(this)->find_channel(peer);
  }
  TurnChannel* find_channel(std::uint16_t number);
  result<TurnPermission*> make_permission(const IpAddress& ip);
  void request_permission(TimePoint now, TurnPermission& permission,
                          const std::optional<SocketAddress>& peer);
  bool maybe_bind_channel(TimePoint now, const SocketAddress& peer);
  void refresh_due(TimePoint now);
  void drop_peer_state();
  Duration refresh_delay(Duration lifetime) const;

  // turn_client_transactions.cpp
  void send_request(TimePoint now, TurnTransaction t);
  void retry(TimePoint now, const TurnTransaction& old, bool count_stale_nonce);
  Bytes build_request(TurnTransaction& t);
  TransactionId new_transaction_id();
  void handle_response(TimePoint now, const StunMessage& msg);
  void handle_challenge(TimePoint now, TurnTransaction t, const StunMessage& msg,
                        std::uint16_t code);
  void on_success(TimePoint now, const TurnTransaction& t, const StunMessage& msg);
  void on_error(TimePoint now, const TurnTransaction& t, const StunErrorCode& error,
                const StunMessage& msg);
  void on_failed(TimePoint now, const TurnTransaction& t, TurnErrc errc, std::uint16_t code,
                 std::string reason);
  void retransmit_due(TimePoint now);
  void fail_allocation(TurnErrc errc, std::uint16_t code, std::string reason);
  void finish_close();
  void release(TimePoint now);
};

} // namespace posthorn::ice
