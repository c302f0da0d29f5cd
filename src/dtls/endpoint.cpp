#include "dtls/endpoint.hpp"

#include "core/log.hpp"
#include "dtls/context.hpp"
#include "dtls/datagram_bio.hpp"
#include "dtls/errc.hpp"
#include "dtls/record.hpp"

#include <openssl/err.h>
#include <openssl/srtp.h>

#include <algorithm>
#include <deque>
#include <stdexcept>
#include <string>

namespace posthorn::dtls {
namespace {

constexpr const char* kLog = "dtls";

// RFC 5764 §4.1.2 profile names as OpenSSL spells them, our preference first: GCM is both faster
// and what Chrome and Firefox pick when offered.
constexpr const char* kSrtpProfiles = "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80";
// RFC 5764 §4.2.
constexpr std::string_view kSrtpExporterLabel = "EXTRACTOR-dtls_srtp";

/// Where the SSL finds its Endpoint::Impl from inside OpenSSL callbacks.
int ex_data_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

unsigned int to_us(Duration d) noexcept {
  return static_cast<unsigned int>(std::chrono::duration_cast<microseconds>(d).count());
}

/// Alerts (RFC 5246 §7.2.2) with which a peer says it does not accept our certificate, e.g.
/// because our fingerprint did not match what it expected.
bool is_certificate_alert(int description) noexcept {
  switch (description) {
  case SSL_AD_BAD_CERTIFICATE:
  case SSL_AD_UNSUPPORTED_CERTIFICATE:
  case SSL_AD_CERTIFICATE_REVOKED:
  case SSL_AD_CERTIFICATE_EXPIRED:
  case SSL_AD_CERTIFICATE_UNKNOWN:
  case SSL_AD_UNKNOWN_CA:
  case SSL_AD_ACCESS_DENIED: return true;
  default: return false;
  }
}

Bytes der_of(X509* cert) {
  const int len = i2d_X509(cert, nullptr);
  if (len <= 0) return {};
  Bytes der(static_cast<std::size_t>(len));
  unsigned char* out = der.data();
  if (i2d_X509(cert, &out) != len) return {};
  return der;
}

} // namespace

struct Endpoint::Impl {
  explicit Impl(Config c);

  void start(TimePoint now);
  void drive();
  void read_records();
  void deliver(ByteView plaintext);
  void on_handshake_done();
  void on_handshake_error(int ssl_error);
  void on_peer_close();
  void authenticate();
  void fail(error_code ec, bool notify_peer);
  void shutdown_quietly();
  void update_timer(TimePoint now);
  [[nodiscard]] bool active() const noexcept {
    return state == State::Connecting || state == State::Connected;
  }

  static Impl* from(const SSL* ssl) noexcept {
    return static_cast<Impl*>(SSL_get_ex_data(ssl, ex_data_index()));
  }
  static int verify_callback(int preverify_ok, X509_STORE_CTX* store);
  static unsigned int timer_callback(SSL* ssl, unsigned int previous_us);
  static void info_callback(const SSL* ssl, int where, int ret);

  Config config;
  unsigned int initial_rto_us = 0;
  // Declared before `ssl`: the BIO inside the SSL points at it, so it must die after the SSL.
  detail::DatagramIo io;
  detail::SslPtr ssl;

  State state = State::New;
  bool handshake_done = false;
  bool fingerprint_rejected = false; // our verify callback refused the certificate
  std::optional<int> fatal_alert;    // description of a fatal alert the peer sent
  std::optional<error_code> failure;
  Bytes peer_der;

  std::deque<Event> events;
  std::deque<Bytes> held; // application data received before authentication
  std::size_t held_bytes = 0;
  std::optional<TimePoint> handshake_deadline;
  std::optional<TimePoint> retransmit_at;
  std::uint64_t dropped = 0;
};

Endpoint::Impl::Impl(Config c) : config(std::move(c)) {
  if (!config.certificate)
    throw std::invalid_argument("dtls::Endpoint::Config::certificate is null: create one with "
                                "Certificate::generate() at startup and share it");
  if (config.mtu < kMinMtu || config.mtu > kMaxMtu)
    throw std::invalid_argument("dtls::Endpoint::Config::mtu is " + std::to_string(config.mtu) +
                                "; it must be within [" + std::to_string(kMinMtu) + ", " +
                                std::to_string(kMaxMtu) + "] (the default is 1200)");
  initial_rto_us =
      to_us(std::clamp(config.initial_retransmit_timeout, Duration(kMinRetransmitTimeout),
                       Duration(kMaxRetransmitTimeout)));
  io.mtu = config.mtu;

  ssl.reset(SSL_new(detail::CertificateAccess::context(*config.certificate)));
  BIO* bio = ssl ? detail::make_datagram_bio(&io) : nullptr;
  if (!bio)
    throw std::runtime_error("dtls::Endpoint: OpenSSL could not allocate a connection: " +
                             detail::take_openssl_errors());
  SSL_set_bio(ssl.get(), bio, bio); // one BIO for both directions: takes our single reference
  SSL_set_ex_data(ssl.get(), ex_data_index(), this);
  // After the BIO: OpenSSL computes its MTU floor from the BIO's overhead.
  SSL_set_mtu(ssl.get(), static_cast<long>(config.mtu));
  // RFC 8827 §6.5: both sides present certificates (mutual authentication); the callback
  // accepts self-signed ones and pins them to the fingerprint instead of a CA.
  SSL_set_verify(ssl.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_callback);
  DTLS_set_timer_cb(ssl.get(), timer_callback);
  SSL_set_info_callback(ssl.get(), info_callback);
  // WARNING: unlike nearly every other OpenSSL call, this returns 0 on success.
  if (config.enable_srtp && SSL_set_tlsext_use_srtp(ssl.get(), kSrtpProfiles) != 0)
    throw std::runtime_error("dtls::Endpoint: use_srtp setup failed: " +
                             detail::take_openssl_errors());
  if (config.role == Role::Client)
    SSL_set_connect_state(ssl.get());
  else
    SSL_set_accept_state(ssl.get());
}

int Endpoint::Impl::verify_callback(int /*preverify_ok*/, X509_STORE_CTX* store) {
  auto* s =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  Impl* self = s ? from(s) : nullptr;
  if (self == nullptr) return 0;
  // Only the leaf is pinned. Chain errors (self-signed, unknown issuer, dates) are expected and
  // irrelevant: the fingerprint replaces PKI (RFC 8827 §6.5).
  if (X509_STORE_CTX_get_error_depth(store) != 0) return 1;
  X509* cert = X509_STORE_CTX_get_current_cert(store);
  if (cert == nullptr) return 0;
  self->peer_der = der_of(cert);
  if (self->peer_der.empty()) return 0;
  if (self->config.remote_fingerprint &&
      !fingerprint_matches(*self->config.remote_fingerprint, self->peer_der)) {
    // Known already: refuse now, so the peer gets a bad_certificate alert instead of a timeout.
    self->fingerprint_rejected = true;
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
    return 0;
  }
  // Unknown yet: accept for now; authenticate() decides before anything is reported Connected.
  return 1;
}

unsigned int Endpoint::Impl::timer_callback(SSL* s, unsigned int previous_us) {
  const Impl* self = from(s);
  const unsigned int initial =
      self ? self->initial_rto_us : to_us(kDefaultInitialRetransmitTimeout);
  if (previous_us == 0) return initial; // a new flight
  // RFC 6347 §4.2.4.1: double on each retransmission, capped.
  const auto doubled = std::uint64_t{previous_us} * 2;
  return static_cast<unsigned int>(std::min<std::uint64_t>(doubled, to_us(kMaxRetransmitTimeout)));
}

void Endpoint::Impl::info_callback(const SSL* s, int where, int ret) {
  if ((where & SSL_CB_READ_ALERT) != SSL_CB_READ_ALERT) return;
  Impl* self = from(s);
  if (self == nullptr) return;
  const int level = ret >> 8;
  const int description = ret & 0xFF;
  POSTHORN_LOG(Debug, kLog, "peer sent ", level == SSL3_AL_FATAL ? "fatal" : "warning",
               " alert: ", SSL_alert_desc_string_long(ret));
  if (level == SSL3_AL_FATAL) self->fatal_alert = description;
}

void Endpoint::Impl::start(TimePoint now) {
  if (state != State::New) return;
  state = State::Connecting;
  handshake_deadline = now + config.handshake_timeout;
  // The client's first SSL_do_handshake writes the ClientHello; the server's would only ask for
  // data, so it waits for handle_datagram.
  if (config.role == Role::Client) drive();
  update_timer(now);
}

void Endpoint::Impl::drive() {
  if (state == State::Connecting && !handshake_done) {
    ERR_clear_error(); // SSL_get_error reads this thread's queue: start from a clean one
    const int r = SSL_do_handshake(ssl.get());
    if (r == 1) {
      on_handshake_done();
    } else {
      const int err = SSL_get_error(ssl.get(), r);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
      on_handshake_error(err);
      return;
    }
  }
  // Also right after the handshake: the datagram that finished it may carry application data.
  if (handshake_done && active()) read_records();
}

void Endpoint::Impl::read_records() {
  // One record's plaintext is at most 2^14 bytes and DTLS returns at most one record per
  // SSL_read, so this buffer never splits a record. It is per thread rather than per endpoint:
  // the data is copied out before handle_datagram returns, and thousands of idle connections
  // should not each pin 16 KiB.
  thread_local Bytes buffer;
  if (buffer.size() < kMaxRecordPlaintext) buffer.resize(kMaxRecordPlaintext);
  while (active()) {
    ERR_clear_error();
    const int n = SSL_read(ssl.get(), buffer.data(), static_cast<int>(buffer.size()));
    if (n > 0) {
      deliver(ByteView(buffer.data(), static_cast<std::size_t>(n)));
      continue;
    }
    const int err = SSL_get_error(ssl.get(), n);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
    if (err == SSL_ERROR_ZERO_RETURN) {
      on_peer_close();
      return;
    }
    POSTHORN_LOG(Debug, kLog, "fatal DTLS error: ", detail::take_openssl_errors());
    fail(fatal_alert ? Errc::AlertReceived : Errc::ProtocolError, false);
    return;
  }
}

void Endpoint::Impl::deliver(ByteView plaintext) {
  if (state == State::Connected) {
    events.emplace_back(ApplicationData{Bytes(plaintext.begin(), plaintext.end())});
    return;
  }
  // Not authenticated yet: hold, bounded (see kMaxPendingApplicationBytes).
  if (held_bytes + plaintext.size() > kMaxPendingApplicationBytes) {
    ++dropped;
    POSTHORN_LOG(Debug, kLog, "dropped ", plaintext.size(),
                 "-byte record received before the remote fingerprint");
    return;
  }
  held_bytes += plaintext.size();
  held.emplace_back(plaintext.begin(), plaintext.end());
}

void Endpoint::Impl::on_handshake_done() {
  handshake_done = true;
  const SRTP_PROTECTION_PROFILE* srtp = SSL_get_selected_srtp_profile(ssl.get());
  POSTHORN_LOG(Debug, kLog, "handshake done as ", config.role == Role::Client ? "client" : "server",
               ": ", SSL_get_cipher_name(ssl.get()), srtp ? ", " : "", srtp ? srtp->name : "");
  if (!config.remote_fingerprint) {
    POSTHORN_LOG(Debug, kLog, "waiting for the remote fingerprint");
    return;
  }
  authenticate();
}

void Endpoint::Impl::on_handshake_error(int ssl_error) {
  const std::string why = detail::take_openssl_errors();
  if (ssl_error == SSL_ERROR_ZERO_RETURN) {
    POSTHORN_LOG(Debug, kLog, "peer closed during the handshake");
    state = State::Closed;
    events.emplace_back(Closed{});
    return;
  }
  POSTHORN_LOG(Debug, kLog, "handshake failed: ", why.empty() ? "no OpenSSL detail" : why);
  if (fingerprint_rejected)
    fail(Errc::FingerprintMismatch, false);
  else if (fatal_alert)
    fail(is_certificate_alert(*fatal_alert) ? Errc::CertificateRejected : Errc::AlertReceived,
         false);
  else
    fail(Errc::HandshakeFailed, false);
}

void Endpoint::Impl::on_peer_close() {
  // RFC 5246 §7.2.1: answer close_notify with our own.
  shutdown_quietly();
  POSTHORN_LOG(Debug, kLog, "peer sent close_notify");
  state = State::Closed;
  held.clear();
  held_bytes = 0;
  events.emplace_back(Closed{});
}

void Endpoint::Impl::authenticate() {
  if (peer_der.empty()) {
    // The verify callback always sees the leaf; this is belt and braces.
    if (X509* cert = SSL_get0_peer_certificate(ssl.get())) peer_der = der_of(cert);
  }
  if (peer_der.empty()) {
    fail(Errc::HandshakeFailed, true);
    return;
  }
  if (!fingerprint_matches(*config.remote_fingerprint, peer_der)) {
    // Fingerprints identify a peer across sessions: personal data for the log.
    POSTHORN_LOG(Info, kLog, "peer certificate ",
                 redact(compute_fingerprint(peer_der, config.remote_fingerprint->algorithm)),
                 " does not match the signalled fingerprint ",
                 redact(config.remote_fingerprint->value));
    fail(Errc::FingerprintMismatch, true);
    return;
  }
  state = State::Connected;
  handshake_deadline.reset();
  events.emplace_back(Connected{});
  for (auto& data : held)
    events.emplace_back(ApplicationData{std::move(data)});
  held.clear();
  held_bytes = 0;
}

void Endpoint::Impl::fail(error_code ec, bool notify_peer) {
  if (!active()) return;
  // After a completed handshake the peer believes it is connected; close_notify tells it
  // otherwise at once instead of after its SCTP/consent timeouts. During the handshake OpenSSL
  // has already sent whatever alert applies.
  if (notify_peer && handshake_done) shutdown_quietly();
  state = State::Failed;
  failure = ec;
  held.clear();
  held_bytes = 0;
  handshake_deadline.reset();
  retransmit_at.reset();
  events.emplace_back(Failed{ec});
}

void Endpoint::Impl::shutdown_quietly() {
  ERR_clear_error();
  // Sends close_notify; we never wait for the peer's (returns 0), nothing to do either way.
  (void)SSL_shutdown(ssl.get());
  ERR_clear_error();
}

void Endpoint::Impl::update_timer(TimePoint now) {
  retransmit_at.reset();
  if (!active()) return;
  // The compromise described in the header: OpenSSL's real-clock remaining time, anchored at
  // our `now`. It returns 0 while no flight awaits an answer.
  timeval left{};
  if (DTLSv1_get_timeout(ssl.get(), &left) == 1)
    retransmit_at = now + seconds(left.tv_sec) + microseconds(left.tv_usec);
}

// ---- Endpoint ------------------------------------------------------------------------------

Endpoint::Endpoint(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}
Endpoint::~Endpoint() = default;
Endpoint::Endpoint(Endpoint&&) noexcept = default;
Endpoint& Endpoint::operator=(Endpoint&&) noexcept = default;

void Endpoint::start(TimePoint now) {
  impl_->start(now);
}

void Endpoint::handle_datagram(TimePoint now, ByteView datagram) {
  Impl& s = *impl_;
  if (s.state == State::New) {
    if (s.config.role == Role::Server) {
      s.start(now);
    } else {
      ++s.dropped; // a client has nothing to hear before its ClientHello
      return;
    }
  }
  if (!s.active()) {
    ++s.dropped;
    return;
  }
  // RFC 6347 §4.1.2.7: invalid records are silently discarded. Checking the headers first keeps
  // garbage (and non-DTLS traffic the demultiplexer let through) out of OpenSSL and countable.
  if (auto records = count_records(datagram); !records) {
    ++s.dropped;
    POSTHORN_LOG(Debug, kLog, "dropped ", datagram.size(), "-byte datagram: not DTLS records");
    return;
  }
  s.io.inbound = datagram;
  s.io.has_inbound = true;
  s.drive();
  s.io.has_inbound = false;
  s.io.inbound = {};
  s.update_timer(now);
}

void Endpoint::handle_timeout(TimePoint now) {
  Impl& s = *impl_;
  if (!s.active()) return;
  if (s.handshake_deadline && now >= *s.handshake_deadline) {
    POSTHORN_LOG(Debug, kLog,
                 s.handshake_done ? "no remote fingerprint before the handshake timeout"
                                  : "handshake timed out");
    s.fail(Errc::TimedOut, true);
    return;
  }
  if (s.retransmit_at && now >= *s.retransmit_at) {
    ERR_clear_error();
    // Retransmits the last flight if OpenSSL's own timer agrees it expired (see header).
    if (DTLSv1_handle_timeout(s.ssl.get()) < 0) {
      // OpenSSL gave up after its own retransmission limit.
      POSTHORN_LOG(Debug, kLog, "retransmission limit: ", detail::take_openssl_errors());
      s.fail(Errc::TimedOut, false);
      return;
    }
  }
  s.update_timer(now);
}

result<void> Endpoint::send(ByteView app_data) {
  Impl& s = *impl_;
  if (s.state == State::Failed) return *s.failure;
  if (s.state == State::Closed) return Errc::Closed;
  if (s.state != State::Connected) return Errc::NotConnected;
  if (app_data.empty()) return Errc::EmptyMessage;
  if (app_data.size() > kMaxRecordPlaintext) return Errc::MessageTooLarge;
  ERR_clear_error();
  const int n = SSL_write(s.ssl.get(), app_data.data(), static_cast<int>(app_data.size()));
  if (n == static_cast<int>(app_data.size())) return {};
  // Our BIO never blocks, so a short or failed write means the connection is broken.
  POSTHORN_LOG(Debug, kLog, "SSL_write failed: ", detail::take_openssl_errors());
  s.fail(Errc::ProtocolError, false);
  return Errc::ProtocolError;
}

void Endpoint::close(TimePoint /*now*/) {
  Impl& s = *impl_;
  if (s.state == State::Closed || s.state == State::Failed) return;
  // SSL_shutdown refuses to run mid-handshake; the peer then learns from its own timeout.
  if (s.handshake_done) s.shutdown_quietly();
  s.state = State::Closed;
  s.held.clear();
  s.held_bytes = 0;
  s.handshake_deadline.reset();
  s.retransmit_at.reset();
}

void Endpoint::set_remote_fingerprint(Fingerprint fingerprint) {
  Impl& s = *impl_;
  if (s.state != State::New && s.state != State::Connecting) {
    POSTHORN_LOG(Debug, kLog, "remote fingerprint ignored: already decided");
    return;
  }
  s.config.remote_fingerprint = std::move(fingerprint);
  if (s.state == State::Connecting && s.handshake_done) s.authenticate();
}

std::optional<Bytes> Endpoint::poll_transmit() {
  auto& outbox = impl_->io.outbox;
  if (outbox.empty()) return std::nullopt;
  Bytes datagram = std::move(outbox.front());
  outbox.pop_front();
  return datagram;
}

std::optional<Event> Endpoint::poll_event() {
  auto& events = impl_->events;
  if (events.empty()) return std::nullopt;
  Event e = std::move(events.front());
  events.pop_front();
  return e;
}

std::optional<TimePoint> Endpoint::poll_timeout() const {
  const Impl& s = *impl_;
  if (!s.active()) return std::nullopt;
  std::optional<TimePoint> t = s.handshake_deadline;
  if (s.retransmit_at && (!t || *s.retransmit_at < *t)) t = s.retransmit_at;
  return t;
}

result<SrtpKeyingMaterial> Endpoint::export_srtp_keying_material() const {
  const Impl& s = *impl_;
  if (s.state != State::Connected) return Errc::NotConnected;
  const SRTP_PROTECTION_PROFILE* selected = SSL_get_selected_srtp_profile(s.ssl.get());
  if (selected == nullptr) return Errc::SrtpNotNegotiated;
  SrtpKeyingMaterial km;
  switch (selected->id) {
  case SRTP_AES128_CM_SHA1_80: km.profile = SrtpProfile::Aes128CmSha1_80; break;
  case SRTP_AEAD_AES_128_GCM: km.profile = SrtpProfile::AeadAes128Gcm; break;
  default: return Errc::SrtpNotNegotiated; // we offer no other profile
  }
  const std::size_t key = srtp_master_key_size(km.profile);
  const std::size_t salt = srtp_master_salt_size(km.profile);
  Bytes material(2 * (key + salt));
  ERR_clear_error();
  if (SSL_export_keying_material(s.ssl.get(), material.data(), material.size(),
                                 kSrtpExporterLabel.data(), kSrtpExporterLabel.size(), nullptr, 0,
                                 0) != 1) {
    POSTHORN_LOG(Warn, kLog, "SRTP key export failed: ", detail::take_openssl_errors());
    return Errc::CryptoFailure;
  }
  // RFC 5764 §4.2: client key | server key | client salt | server salt.
  auto part = [&](std::size_t offset, std::size_t len) {
    return Bytes(material.begin() + static_cast<std::ptrdiff_t>(offset),
                 material.begin() + static_cast<std::ptrdiff_t>(offset + len));
  };
  km.client_write_key = part(0, key);
  km.server_write_key = part(key, key);
  km.client_write_salt = part(2 * key, salt);
  km.server_write_salt = part(2 * key + salt, salt);
  return km;
}

State Endpoint::state() const noexcept {
  return impl_->state;
}

Role Endpoint::role() const noexcept {
  return impl_->config.role;
}

std::uint64_t Endpoint::dropped_datagrams() const noexcept {
  return impl_->dropped;
}

ByteView Endpoint::remote_certificate_der() const noexcept {
  return impl_->peer_der;
}

std::string_view Endpoint::cipher_suite() const noexcept {
  if (!impl_->handshake_done) return {};
  const SSL_CIPHER* c = SSL_get_current_cipher(impl_->ssl.get());
  return c ? SSL_CIPHER_get_name(c) : std::string_view{};
}

} // namespace posthorn::dtls
