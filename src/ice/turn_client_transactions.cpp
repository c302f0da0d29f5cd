// TurnClient requests: building them with long-term credentials, retransmitting them, and
// acting on their responses (RFC 8489 §6.2, §9.2; RFC 8656 §7-§12).
#include "core/log.hpp"
#include "ice/turn_client_impl.hpp"

#include <algorithm>

namespace posthorn::ice {
namespace {

// RFC 8489 §14.9-§14.10: REALM and NONCE are under 128 characters, at most 763 bytes.
constexpr std::size_t kMaxRealmOrNonce = 763;

StunMethod method_of(TurnRequest kind) noexcept {
  switch (kind) {
  case TurnRequest::Allocate: return StunMethod::Allocate;
  case TurnRequest::Refresh: return StunMethod::Refresh;
  case TurnRequest::CreatePermission: return StunMethod::CreatePermission;
  case TurnRequest::ChannelBind: return StunMethod::ChannelBind;
  }
  return StunMethod::Allocate;
}

std::string_view name_of(TurnRequest kind) noexcept {
  switch (kind) {
  case TurnRequest::Allocate: return "Allocate";
  case TurnRequest::Refresh: return "Refresh";
  case TurnRequest::CreatePermission: return "CreatePermission";
  case TurnRequest::ChannelBind: return "ChannelBind";
  }
  return "request";
}

} // namespace

TransactionId TurnClient::Impl::new_transaction_id() {
  TransactionId id;
  rng.fill(id);
  return id;
}

Bytes TurnClient::Impl::build_request(TurnTransaction& t) {
  StunMessage msg(StunClass::Request, method_of(t.kind), t.id);
  switch (t.kind) {
  case TurnRequest::Allocate:
    add_requested_transport(msg, kTurnTransportUdp);
    // RFC 8656 §7.1: IPv4 is the default; only ask for IPv6 explicitly.
    if (config.relay_family == IpFamily::V6) add_requested_address_family(msg, IpFamily::V6);
    break;
  case TurnRequest::Refresh:
    // RFC 8656 §8: no LIFETIME asks for the default; 0 deletes the allocation.
    if (t.release) msg.add_u32(stun_attr::kLifetime, 0);
    break;
  case TurnRequest::CreatePermission:
    // RFC 8656 §9: permissions are per IP; the port is ignored by the server.
    msg.add_xor_address(stun_attr::kXorPeerAddress, SocketAddress(t.peer_ip, 0));
    break;
  case TurnRequest::ChannelBind:
    add_channel_number(msg, t.channel);
    msg.add_xor_address(stun_attr::kXorPeerAddress, t.peer);
    break;
  }
  t.authenticated = key.has_value();
  if (!t.authenticated) return msg.encode(std::nullopt, true);
  // RFC 8489 §9.2.3.2: subsequent requests carry the cached username, realm and nonce.
  msg.add_string(stun_attr::kUsername, config.username);
  msg.add_string(stun_attr::kRealm, realm);
  msg.add_string(stun_attr::kNonce, nonce);
  t.key = *key;
  t.nonce = nonce;
  return msg.encode(ByteView(t.key), true);
}

void TurnClient::Impl::send_request(TimePoint now, TurnTransaction t) {
  t.id = new_transaction_id();
  t.request = build_request(t);
  t.transmissions = 1;
  t.first_sent = now;
  t.rto = config.timing.rto;
  if (is_tcp()) {
    t.deadline = now + config.timing.tcp_transaction_timeout;
  } else {
    t.deadline =
        now +
        (config.timing.max_transmissions > 1 ? t.rto : t.rto * config.timing.last_wait_multiplier);
  }
  ++stats.requests_sent;
  transmits.push_back(t.request);
  transactions.push_back(std::move(t));
}

void TurnClient::Impl::retry(TimePoint now, const TurnTransaction& old, bool count_stale_nonce) {
  TurnTransaction t;
  t.kind = old.kind;
  t.peer_ip = old.peer_ip;
  t.peer = old.peer;
  t.channel = old.channel;
  t.release = old.release;
  t.is_refresh_of = old.is_refresh_of;
  t.stale_nonce_retries = old.stale_nonce_retries + (count_stale_nonce ? 1 : 0);
  // Only a challenge on an *authenticated* request uses up the one credential retry.
  t.auth_retried = old.auth_retried || (old.authenticated && !count_stale_nonce);
  send_request(now, std::move(t));
}

void TurnClient::Impl::retransmit_due(TimePoint now) {
  // Collect expired transactions first: on_failed() may start new ones.
  std::vector<TurnTransaction> failed;
  for (auto it = transactions.begin(); it != transactions.end();) {
    if (now < it->deadline) {
      ++it;
      continue;
    }
    const auto& timing = config.timing;
    if (!is_tcp() && it->transmissions < timing.max_transmissions) {
      // RFC 8489 §6.2.1: RTO doubles; after the last one wait Rm times the initial RTO.
      ++it->transmissions;
      ++stats.retransmissions;
      it->rto *= 2;
      it->deadline = now + (it->transmissions < timing.max_transmissions
                                ? it->rto
                                : timing.rto * timing.last_wait_multiplier);
      transmits.push_back(it->request);
      ++it;
      continue;
    }
    failed.push_back(std::move(*it));
    it = transactions.erase(it);
  }
  for (auto& t : failed) {
    if (t.saw_unauthenticated) {
      on_failed(now, t, TurnErrc::IntegrityViolated, 0,
                std::string(name_of(t.kind)) +
                    ": every response failed the integrity check (wrong password, or forged)");
    } else {
      const auto waited = static_cast<long long>(to_ms(now - t.first_sent));
      on_failed(now, t, TurnErrc::TimedOut, 0,
                std::string(name_of(t.kind)) + ": no answer from the TURN server within " +
                    std::to_string(waited) + " ms");
    }
  }
}

void TurnClient::Impl::handle_response(TimePoint now, const StunMessage& msg) {
  auto it = std::find_if(transactions.begin(), transactions.end(),
                         [&](const TurnTransaction& t) { return t.id == msg.transaction_id(); });
  if (it == transactions.end() ||
      msg.method_code() != static_cast<std::uint16_t>(method_of(it->kind))) {
    ++stats.dropped_unknown_transaction;
    return;
  }
  const bool is_error = msg.cls() == StunClass::ErrorResponse;
  const auto error = is_error ? msg.error_code() : std::nullopt;

  // RFC 8489 §9.2.5: 401 and 438 are challenges, answered before (and without) integrity: the
  // server could not compute MESSAGE-INTEGRITY with credentials it rejected.
  if (error && (error->code == 401 || error->code == 438)) {
    TurnTransaction t = std::move(*it);
    transactions.erase(it);
    handle_challenge(now, std::move(t), msg, error->code);
    return;
  }
  if (it->authenticated && !msg.check_integrity(it->key)) {
    ++stats.dropped_unauthenticated;
    POSTHORN_LOG(Debug, "turn", "dropped a ", name_of(it->kind),
                 " response without valid MESSAGE-INTEGRITY");
    // RFC 8489 §9.2.5: over UDP keep retransmitting (the real answer may still come); over TCP
    // end the transaction at once and report the integrity violation.
    it->saw_unauthenticated = true;
    if (is_tcp()) {
      TurnTransaction t = std::move(*it);
      transactions.erase(it);
      on_failed(now, t, TurnErrc::IntegrityViolated, 0,
                std::string(name_of(t.kind)) + ": the response failed the integrity check");
    }
    return;
  }
  if (auto n = msg.string(stun_attr::kNonce)) {
    // RFC 8489 §9.2.5: a nonce cookie announcing password algorithms without the attribute
    // makes the response one to ignore.
    auto features = parse_nonce_cookie(*n);
    if (features && features->password_algorithms && !msg.has(stun_attr::kPasswordAlgorithms)) {
      ++stats.dropped_malformed;
      return;
    }
  }
  TurnTransaction t = std::move(*it);
  transactions.erase(it);
  if (!t.authenticated && !is_error) {
    // We insist on long-term credentials: a success we cannot authenticate proves nothing.
    on_failed(now, t, TurnErrc::IntegrityViolated, 0,
              std::string(name_of(t.kind)) +
                  ": the server answered without authentication; posthorn requires TURN "
                  "long-term credentials");
    return;
  }
  if (is_error) {
    if (!error) {
      on_failed(now, t, TurnErrc::MalformedResponse, 0,
                std::string(name_of(t.kind)) + ": error response without a valid ERROR-CODE");
      return;
    }
    on_error(now, t, *error, msg);
    return;
  }
  if (auto unknown = unknown_turn_attributes(msg); !unknown.empty()) {
    // RFC 8489 §7.3.3: unknown comprehension-required attributes fail the transaction.
    on_failed(now, t, TurnErrc::MalformedResponse, 0,
              std::string(name_of(t.kind)) +
                  ": success response with an unknown comprehension-required attribute");
    return;
  }
  on_success(now, t, msg);
}

void TurnClient::Impl::handle_challenge(TimePoint now, TurnTransaction t, const StunMessage& msg,
                                        std::uint16_t code) {
  const auto new_realm = msg.string(stun_attr::kRealm);
  const auto new_nonce = msg.string(stun_attr::kNonce);
  const std::string what = std::to_string(code) + (code == 401 ? " Unauthorized" : " Stale Nonce");
  if (!new_nonce || new_nonce->empty() || new_nonce->size() > kMaxRealmOrNonce ||
      (code == 401 && (!new_realm || new_realm->empty())) ||
      (new_realm && new_realm->size() > kMaxRealmOrNonce)) {
    on_failed(now, t, TurnErrc::MalformedResponse, code,
              what + " without a usable REALM and NONCE");
    return;
  }
  // RFC 8489 §9.2.5: a nonce cookie announcing password algorithms without the attribute means
  // the client MUST NOT retry.
  if (auto f = parse_nonce_cookie(*new_nonce);
      f && f->password_algorithms && !msg.has(stun_attr::kPasswordAlgorithms)) {
    on_failed(now, t, TurnErrc::MalformedResponse, code,
              what + " announces password algorithms but lists none");
    return;
  }
  if (code == 401 && t.authenticated) {
    // RFC 8489 §9.2.5: retrying with unchanged credentials is forbidden, so a second 401 on the
    // Allocate means the credentials are wrong. On later requests a 401 with a *new* nonce is a
    // server that rotated nonces without 438; one retry with it is allowed.
    const bool rotated = t.kind != TurnRequest::Allocate && !t.auth_retried &&
                         *new_nonce != t.nonce && (!new_realm || *new_realm == realm);
    if (!rotated) {
      on_failed(now, t, TurnErrc::Unauthorized, 401,
                "401 Unauthorized: bad credentials (the TURN server rejected the username or "
                "password for realm \"" +
                    printable_text(realm, 128) + "\")");
      return;
    }
  }
  if (code == 438 && t.stale_nonce_retries >= config.limits.max_stale_nonce_retries) {
    on_failed(now, t, TurnErrc::StaleNonceLoop, 438,
              "438 Stale Nonce: the server rejected " + std::to_string(t.stale_nonce_retries + 1) +
                  " fresh nonces in a row");
    return;
  }
  if (new_realm && (*new_realm != realm || !key)) {
    realm = std::string(*new_realm);
    key = long_term_key(config.username, realm, config.password);
  }
  nonce = std::string(*new_nonce);
  if (!key) {
    // 438 to a request without credentials and without a realm: nothing to authenticate with.
    on_failed(now, t, TurnErrc::MalformedResponse, code, what + " without a REALM");
    return;
  }
  if (code == 438) ++stats.stale_nonce_retries;
  retry(now, t, code == 438);
}

void TurnClient::Impl::on_success(TimePoint now, const TurnTransaction& t, const StunMessage& msg) {
  const auto& timing = config.timing;
  switch (t.kind) {
  case TurnRequest::Allocate: {
    auto relay = msg.xor_address(stun_attr::kXorRelayedAddress);
    if (!relay) {
      on_failed(now, t, TurnErrc::MalformedResponse, 0,
                "Allocate: success response without XOR-RELAYED-ADDRESS");
      return;
    }
    relayed = *relay;
    mapped = msg.xor_address(stun_attr::kXorMappedAddress);
    // RFC 8656 §7.3: LIFETIME is mandatory; tolerate its absence with the default (§7.2).
    const Duration lifetime = seconds(msg.u32(stun_attr::kLifetime).value_or(600));
    if (state == TurnState::Closing) {
      release(now); // close() arrived while allocating: give it back at once
      return;
    }
    state = TurnState::Allocated;
    refresh_at = now + refresh_delay(lifetime);
    events.push_back(turn_event::Allocated{*relayed, mapped, lifetime});
    return;
  }
  case TurnRequest::Refresh:
    if (t.release) {
      finish_close();
      return;
    }
    refresh_in_flight = false;
    ++stats.allocation_refreshes;
    refresh_at = now + refresh_delay(seconds(msg.u32(stun_attr::kLifetime).value_or(600)));
    return;
  case TurnRequest::CreatePermission:
    if (auto* p = find_permission(t.peer_ip)) {
      if (t.is_refresh_of) ++stats.permission_refreshes;
      p->in_flight = false;
      p->state = PermissionState::Active;
      p->refresh_at = now + refresh_delay(timing.permission_lifetime);
      flush_queued(*p);
    }
    return;
  case TurnRequest::ChannelBind:
    if (auto* c = find_channel(t.channel)) {
      if (t.is_refresh_of) ++stats.channel_refreshes;
      c->in_flight = false;
      c->state = ChannelState::Bound;
      c->refresh_at = now + refresh_delay(timing.channel_lifetime);
    }
    // RFC 8656 §12.2: a successful ChannelBind also installs or refreshes the permission.
    if (auto* p = find_permission(t.peer.ip())) {
      p->state = PermissionState::Active;
      p->refresh_at = now + refresh_delay(timing.permission_lifetime);
      flush_queued(*p);
    }
    return;
  }
}

void TurnClient::Impl::on_error(TimePoint now, const TurnTransaction& t, const StunErrorCode& error,
                                const StunMessage& msg) {
  if (t.kind == TurnRequest::Refresh && t.release && error.code == 437) {
    finish_close(); // RFC 8656 §8: the allocation is already gone, which is what we wanted
    return;
  }
  std::string reason = std::string(name_of(t.kind)) + " refused: " + describe_stun_error(error);
  if (error.code == 300) {
    // RFC 8489 §10: a redirect. Following it means a new socket, which is the driver's call.
    if (auto alt = alternate_server(msg)) reason += "; the server redirects to " + alt->to_string();
    reason += " (redirects are not followed)";
  }
  on_failed(now, t, turn_errc_from_stun_code(error.code), error.code, std::move(reason));
}

void TurnClient::Impl::on_failed(TimePoint now, const TurnTransaction& t, TurnErrc errc,
                                 std::uint16_t code, std::string reason) {
  POSTHORN_LOG(Debug, "turn", reason);
  switch (t.kind) {
  case TurnRequest::Allocate:
    if (state == TurnState::Closing) {
      finish_close();
      return;
    }
    fail_allocation(errc, code, std::move(reason));
    return;
  case TurnRequest::Refresh:
    if (t.release) {
      finish_close(); // we tried; the server expires the allocation on its own
      return;
    }
    fail_allocation(errc, code, "allocation lost: " + reason);
    return;
  case TurnRequest::CreatePermission:
    if (auto* p = find_permission(t.peer_ip)) {
      stats.dropped_queued_data += p->queued.size();
      p->queued.clear();
      p->in_flight = false;
      p->state = PermissionState::Refused;
      p->retry_after = now + config.timing.permission_retry_backoff;
      events.push_back(turn_event::PermissionFailed{t.peer_ip, errc, code, std::move(reason)});
    }
    return;
  case TurnRequest::ChannelBind: {
    // The channel number is retired for good (RFC 8656 §12: it must not be rebound to another
    // peer for a while; we never reuse numbers). Data falls back to Send indications.
    if (auto* c = find_channel(t.channel)) {
      c->state = ChannelState::Failed;
      c->in_flight = false;
    }
    auto* p = find_permission(t.peer.ip());
    if (p && p->state == PermissionState::Pending && !is_resolving(*p)) {
      // The ChannelBind was also installing the permission: try a plain CreatePermission.
      request_permission(now, *p, std::nullopt);
    }
    return;
  }
  }
}

void TurnClient::Impl::fail_allocation(TurnErrc errc, std::uint16_t code, std::string reason) {
  if (is_terminal()) return;
  state = TurnState::Failed;
  drop_peer_state();
  transactions.clear();
  events.push_back(turn_event::AllocationFailed{errc, code, std::move(reason)});
}

void TurnClient::Impl::finish_close() {
  if (is_terminal()) return;
  state = TurnState::Closed;
  drop_peer_state();
  transactions.clear();
  events.push_back(turn_event::Closed{});
}

void TurnClient::Impl::release(TimePoint now) {
  state = TurnState::Closing;
  drop_peer_state();
  transactions.clear();
  refresh_in_flight = false;
  TurnTransaction t;
  t.kind = TurnRequest::Refresh;
  t.release = true;
  send_request(now, std::move(t));
}

} // namespace posthorn::ice
