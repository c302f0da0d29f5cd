#include "dtls/endpoint.hpp"

#include "dtls/errc.hpp"
#include "dtls/record.hpp"
#include "endpoint_pair.hpp"

#include <gtest/gtest.h>

#include <numeric>

namespace posthorn::dtls {
namespace {

using testing::count_events;
using testing::EndpointPair;
using testing::failure_of;
using testing::has_event;
using testing::make_certificate;
using testing::received_data;
using Side = EndpointPair::Side;

Bytes pattern(std::size_t n, std::uint8_t seed) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i)
    b[i] = static_cast<std::uint8_t>(seed + i * 31);
  return b;
}

/// The handshake type of the first record, if it is an unencrypted handshake record.
std::optional<std::uint8_t> handshake_type(const Bytes& datagram) {
  auto records = parse_records(datagram);
  if (!records || records->empty()) return std::nullopt;
  const Record& r = records->front();
  if (r.header.content_type != ContentType::Handshake || r.header.epoch != 0 || r.fragment.empty())
    return std::nullopt;
  return r.fragment[0];
}
constexpr std::uint8_t kClientHello = 1;

TEST(DtlsEndpoint, HandshakeCompletesForBothRoles) {
  auto pair = EndpointPair::connected_configs();
  ASSERT_TRUE(pair.handshake());
  EXPECT_EQ(pair.client.state(), State::Connected);
  EXPECT_EQ(pair.server.state(), State::Connected);
  EXPECT_EQ(pair.client.role(), Role::Client);
  EXPECT_EQ(pair.server.role(), Role::Server);
  EXPECT_EQ(count_events<Connected>(pair.client_events), 1u);
  EXPECT_EQ(count_events<Connected>(pair.server_events), 1u);
  // ECDHE-ECDSA with an AEAD: what browsers negotiate.
  EXPECT_TRUE(pair.client.cipher_suite().starts_with("ECDHE-ECDSA-")) << pair.client.cipher_suite();
  EXPECT_EQ(pair.client.cipher_suite(), pair.server.cipher_suite());
  EXPECT_EQ(pair.client.dropped_datagrams(), 0u);
  EXPECT_EQ(pair.server.dropped_datagrams(), 0u);
}

TEST(DtlsEndpoint, EachSideSeesTheOthersCertificate) {
  auto c = make_certificate();
  auto s = make_certificate();
  EndpointPair pair(EndpointPair::config(Role::Client, c, s),
                    EndpointPair::config(Role::Server, s, c));
  EXPECT_TRUE(pair.client.remote_certificate_der().empty());
  ASSERT_TRUE(pair.handshake());
  EXPECT_TRUE(std::ranges::equal(pair.client.remote_certificate_der(), s->der()));
  EXPECT_TRUE(std::ranges::equal(pair.server.remote_certificate_der(), c->der()));
}

TEST(DtlsEndpoint, ConnectedEndpointsHaveNoPendingTimers) {
  auto pair = EndpointPair::connected_configs();
  ASSERT_TRUE(pair.handshake());
  pair.step();
  EXPECT_FALSE(pair.client.poll_timeout());
  EXPECT_FALSE(pair.server.poll_timeout());
}

TEST(DtlsEndpoint, ServerStartsByItselfOnTheFirstClientHello) {
  auto pair = EndpointPair::connected_configs();
  pair.client.start(pair.now); // the server's driver has not called start() yet
  EXPECT_EQ(pair.server.state(), State::New);
  ASSERT_TRUE(pair.drive_until([&] { return pair.both_connected(); }, "implicit start"));
}

TEST(DtlsEndpoint, ClientDropsDatagramsBeforeStart) {
  auto pair = EndpointPair::connected_configs();
  Bytes record = {22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  pair.client.handle_datagram(pair.now, record);
  EXPECT_EQ(pair.client.dropped_datagrams(), 1u);
  EXPECT_EQ(pair.client.state(), State::New);
}

TEST(DtlsEndpoint, HandshakeDatagramsRespectTheMtu) {
  auto c = make_certificate();
  auto s = make_certificate();
  auto cc = EndpointPair::config(Role::Client, c, s);
  auto sc = EndpointPair::config(Role::Server, s, c);
  cc.mtu = sc.mtu = 300; // forces the certificate flights into several fragments
  EndpointPair pair(cc, sc);
  ASSERT_TRUE(pair.handshake());
  for (const auto* sent : {&pair.client_sent, &pair.server_sent}) {
    for (const auto& d : *sent)
      EXPECT_LE(d.size(), 300u);
  }
  EXPECT_GT(pair.server_sent.size(), 3u);
  for (const auto& d : pair.client_sent)
    EXPECT_TRUE(count_records(d)) << "every datagram is whole records";
}

TEST(DtlsEndpoint, DefaultMtuKeepsHandshakeDatagramsUnder1200Bytes) {
  auto pair = EndpointPair::connected_configs();
  ASSERT_TRUE(pair.handshake());
  for (const auto& d : pair.server_sent)
    EXPECT_LE(d.size(), 1200u);
  for (const auto& d : pair.client_sent)
    EXPECT_LE(d.size(), 1200u);
}

TEST(DtlsEndpoint, SurvivesDuplicatedAndReorderedHandshakeDatagrams) {
  auto c = make_certificate();
  auto s = make_certificate();
  auto cc = EndpointPair::config(Role::Client, c, s);
  auto sc = EndpointPair::config(Role::Server, s, c);
  cc.mtu = sc.mtu = 300; // several datagrams per flight, so there is something to reorder
  // A Finished that overtakes its ChangeCipherSpec may need a retransmission to recover, and
  // retransmissions need real time (see endpoint_pair.hpp).
  cc.initial_retransmit_timeout = sc.initial_retransmit_timeout = milliseconds(60);
  EndpointPair pair(cc, sc);
  pair.real_time = true;
  pair.reverse_and_duplicate = true;
  ASSERT_TRUE(pair.handshake());
  EXPECT_FALSE(failure_of(pair.client_events));
  EXPECT_FALSE(failure_of(pair.server_events));
}

TEST(DtlsEndpoint, ApplicationDataFlowsBothWaysRecordByRecord) {
  auto pair = EndpointPair::connected_configs();
  ASSERT_TRUE(pair.handshake());
  std::vector<Bytes> to_server;
  std::vector<Bytes> to_client;
  for (std::uint8_t i = 1; i <= 5; ++i) {
    to_server.push_back(pattern(i * 100, i));
    to_client.push_back(pattern(i * 7, static_cast<std::uint8_t>(i + 100)));
    ASSERT_TRUE(pair.client.send(to_server.back()));
    ASSERT_TRUE(pair.server.send(to_client.back()));
  }
  pair.step();
  EXPECT_EQ(received_data(pair.server_events), to_server);
  EXPECT_EQ(received_data(pair.client_events), to_client);
}

TEST(DtlsEndpoint, OneSendIsOneDatagram) {
  auto pair = EndpointPair::connected_configs();
  ASSERT_TRUE(pair.handshake());
  ASSERT_TRUE(pair.client.send(pattern(1000, 1)));
  auto d = pair.client.poll_transmit();
  ASSERT_TRUE(d);
  EXPECT_FALSE(pair.client.poll_transmit());
  auto records = parse_records(*d);
  ASSERT_TRUE(records);
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ(records->front().header.content_type, ContentType::ApplicationData);
  EXPECT_EQ(records->front().header.epoch, 1);
}

TEST(DtlsEndpoint, CarriesRecordsUpToTheTlsLimitBothWays) {
  auto pair = EndpointPair::connected_configs();
  ASSERT_TRUE(pair.handshake());
  const Bytes big = pattern(16000, 3);
  const Bytes max = pattern(16384, 4);
  ASSERT_TRUE(pair.client.send(big));
  ASSERT_TRUE(pair.client.send(max));
  ASSERT_TRUE(pair.server.send(big));
  ASSERT_TRUE(pair.server.send(max));
  pair.step();
  EXPECT_EQ(received_data(pair.server_events), (std::vector<Bytes>{big, max}));
  EXPECT_EQ(received_data(pair.client_events), (std::vector<Bytes>{big, max}));
}

TEST(DtlsEndpoint, RejectsOversizedAndEmptySends) {
  auto pair = EndpointPair::connected_configs();
  ASSERT_TRUE(pair.handshake());
  auto too_big = pair.client.send(pattern(16385, 0));
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error(), Errc::MessageTooLarge);
  EXPECT_EQ(too_big.error(), Condition::InvalidArgument);
  auto empty = pair.client.send({});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error(), Errc::EmptyMessage);
  EXPECT_FALSE(pair.client.poll_transmit());
  // The connection is unharmed.
  ASSERT_TRUE(pair.client.send(pattern(10, 1)));
  pair.step();
  EXPECT_EQ(received_data(pair.server_events).size(), 1u);
}

TEST(DtlsEndpoint, SendBeforeConnectedFails) {
  auto pair = EndpointPair::connected_configs();
  auto before_start = pair.client.send(pattern(10, 0));
  ASSERT_FALSE(before_start);
  EXPECT_EQ(before_start.error(), Errc::NotConnected);
  pair.start();
  auto during = pair.server.send(pattern(10, 0));
  ASSERT_FALSE(during);
  EXPECT_EQ(during.error(), Errc::NotConnected);
}

TEST(DtlsEndpoint, FingerprintMismatchKnownBeforeHandshakeFailsBothSides) {
  auto c = make_certificate();
  auto s = make_certificate();
  auto impostor = make_certificate();
  // The client expects someone else's certificate.
  EndpointPair pair(EndpointPair::config(Role::Client, c, impostor),
                    EndpointPair::config(Role::Server, s, c));
  pair.start();
  ASSERT_TRUE(pair.drive_until(
      [&] { return failure_of(pair.client_events) && failure_of(pair.server_events); },
      "both fail"));
  EXPECT_EQ(*failure_of(pair.client_events), Errc::FingerprintMismatch);
  EXPECT_EQ(*failure_of(pair.client_events), Condition::AuthFailed);
  // The client's bad_certificate alert tells the server at once.
  EXPECT_EQ(*failure_of(pair.server_events), Errc::CertificateRejected);
  EXPECT_EQ(*failure_of(pair.server_events), Condition::AuthFailed);
  EXPECT_FALSE(has_event<Connected>(pair.client_events));
  EXPECT_FALSE(has_event<Connected>(pair.server_events));
  EXPECT_EQ(pair.client.state(), State::Failed);
  EXPECT_FALSE(pair.client.poll_timeout());
  EXPECT_FALSE(pair.server.poll_timeout());
}

TEST(DtlsEndpoint, ServerRejectsAClientCertificateThatDoesNotMatch) {
  auto c = make_certificate();
  auto s = make_certificate();
  auto impostor = make_certificate();
  EndpointPair pair(EndpointPair::config(Role::Client, c, s),
                    EndpointPair::config(Role::Server, s, impostor));
  pair.start();
  ASSERT_TRUE(pair.drive_until(
      [&] { return failure_of(pair.client_events) && failure_of(pair.server_events); },
      "both fail"));
  EXPECT_EQ(*failure_of(pair.server_events), Errc::FingerprintMismatch);
  EXPECT_EQ(*failure_of(pair.client_events), Condition::AuthFailed);
  EXPECT_FALSE(has_event<Connected>(pair.client_events));
}

TEST(DtlsEndpoint, FingerprintArrivingAfterHandshakeEmitsConnectedThen) {
  auto c = make_certificate();
  auto s = make_certificate();
  // The server has not seen the client's answer yet.
  EndpointPair pair(EndpointPair::config(Role::Client, c, s),
                    EndpointPair::config(Role::Server, s, nullptr));
  pair.start();
  ASSERT_TRUE(pair.drive_until([&] { return has_event<Connected>(pair.client_events); },
                               "client connected"));
  pair.step();
  EXPECT_EQ(pair.server.state(), State::Connecting);
  EXPECT_FALSE(has_event<Connected>(pair.server_events));
  EXPECT_TRUE(pair.server.poll_timeout()) << "the handshake timeout still runs";

  // The client starts talking (an SCTP INIT, say) before the server can authenticate it.
  const Bytes early = pattern(300, 9);
  ASSERT_TRUE(pair.client.send(early));
  pair.step();
  EXPECT_TRUE(received_data(pair.server_events).empty()) << "held until authenticated";
  EXPECT_FALSE(pair.server.send(pattern(5, 0))) << "cannot send before Connected";

  pair.server.set_remote_fingerprint(c->fingerprint(FingerprintAlgorithm::Sha256));
  pair.drain_events();
  ASSERT_EQ(pair.server_events.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<Connected>(pair.server_events[0]));
  EXPECT_EQ(received_data(pair.server_events), std::vector<Bytes>{early});
  EXPECT_EQ(pair.server.state(), State::Connected);
  EXPECT_FALSE(pair.server.poll_timeout());
}

TEST(DtlsEndpoint, FingerprintArrivingMidHandshakeIsChecked) {
  auto c = make_certificate();
  auto s = make_certificate();
  EndpointPair pair(EndpointPair::config(Role::Client, c, nullptr),
                    EndpointPair::config(Role::Server, s, c));
  pair.start();
  pair.step(); // ClientHello -> server, server flight -> client (client saw the certificate)
  pair.client.set_remote_fingerprint(s->fingerprint(FingerprintAlgorithm::Sha256));
  ASSERT_TRUE(pair.drive_until([&] { return pair.both_connected(); }, "handshake"));
}

TEST(DtlsEndpoint, FingerprintMismatchAfterHandshakeFailsAndClosesThePeer) {
  auto c = make_certificate();
  auto s = make_certificate();
  auto impostor = make_certificate();
  EndpointPair pair(EndpointPair::config(Role::Client, c, s),
                    EndpointPair::config(Role::Server, s, nullptr));
  pair.start();
  ASSERT_TRUE(pair.drive_until([&] { return has_event<Connected>(pair.client_events); },
                               "client connected"));
  pair.step();
  pair.server.set_remote_fingerprint(impostor->fingerprint(FingerprintAlgorithm::Sha256));
  pair.drain_events();
  ASSERT_TRUE(failure_of(pair.server_events));
  EXPECT_EQ(*failure_of(pair.server_events), Errc::FingerprintMismatch);
  EXPECT_EQ(*failure_of(pair.server_events), Condition::AuthFailed);
  EXPECT_FALSE(has_event<Connected>(pair.server_events));
  // The server's close_notify reaches the client, which had believed it was connected.
  pair.step();
  EXPECT_TRUE(has_event<Closed>(pair.client_events));
  EXPECT_EQ(pair.client.state(), State::Closed);
}

TEST(DtlsEndpoint, FingerprintWithAnotherHashAlgorithmMatches) {
  auto c = make_certificate();
  auto s = make_certificate();
  auto cc = EndpointPair::config(Role::Client, c, nullptr);
  auto sc = EndpointPair::config(Role::Server, s, nullptr);
  cc.remote_fingerprint = s->fingerprint(FingerprintAlgorithm::Sha512);
  sc.remote_fingerprint = c->fingerprint(FingerprintAlgorithm::Sha1);
  // Lowercase, as some stacks print it.
  for (auto& ch : sc.remote_fingerprint->value)
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  EndpointPair pair(cc, sc);
  ASSERT_TRUE(pair.handshake());
}

TEST(DtlsEndpoint, DataHeldBeforeAuthenticationIsBounded) {
  auto c = make_certificate();
  auto s = make_certificate();
  EndpointPair pair(EndpointPair::config(Role::Client, c, s),
                    EndpointPair::config(Role::Server, s, nullptr));
  pair.start();
  ASSERT_TRUE(pair.drive_until([&] { return has_event<Connected>(pair.client_events); },
                               "client connected"));
  pair.step();
  constexpr int kRecords = 8; // 8 × 16000 > the 64 KiB hold
  for (int i = 0; i < kRecords; ++i)
    ASSERT_TRUE(pair.client.send(pattern(16000, static_cast<std::uint8_t>(i))));
  pair.step();
  const std::size_t held = kMaxPendingApplicationBytes / 16000;
  EXPECT_EQ(pair.server.dropped_datagrams(), kRecords - held);
  pair.server.set_remote_fingerprint(c->fingerprint(FingerprintAlgorithm::Sha256));
  pair.drain_events();
  auto got = received_data(pair.server_events);
  ASSERT_EQ(got.size(), held);
  EXPECT_EQ(got.front(), pattern(16000, 0)) << "the oldest records are the ones kept";
}

TEST(DtlsEndpoint, FingerprintThatNeverArrivesTimesOut) {
  auto c = make_certificate();
  auto s = make_certificate();
  EndpointPair pair(EndpointPair::config(Role::Client, c, s),
                    EndpointPair::config(Role::Server, s, nullptr));
  const TimePoint t0 = pair.now;
  pair.start();
  ASSERT_TRUE(pair.drive_until([&] { return failure_of(pair.server_events).has_value(); },
                               "server times out"));
  EXPECT_EQ(*failure_of(pair.server_events), Errc::TimedOut);
  EXPECT_GE(pair.now - t0, kDefaultHandshakeTimeout);
  // Having completed the handshake, the server closes the client's session too.
  pair.step();
  EXPECT_TRUE(has_event<Closed>(pair.client_events));
}

TEST(DtlsEndpoint, LostClientHelloIsRetransmitted) {
  auto c = make_certificate();
  auto s = make_certificate();
  auto cc = EndpointPair::config(Role::Client, c, s);
  auto sc = EndpointPair::config(Role::Server, s, c);
  // OpenSSL's retransmission timer runs on the real clock (see endpoint.hpp): keep it short and
  // let the harness sleep it off. This is the only real time this suite spends.
  cc.initial_retransmit_timeout = sc.initial_retransmit_timeout = milliseconds(60);
  EndpointPair pair(cc, sc);
  pair.real_time = true;
  int client_hellos = 0;
  pair.filter = [&](Side from, Bytes& d) {
    if (from == Side::Client && handshake_type(d) == kClientHello) return ++client_hellos > 1;
    return true;
  };
  const TimePoint t0 = pair.now;
  pair.start();
  ASSERT_TRUE(pair.client.poll_timeout());
  EXPECT_LE(*pair.client.poll_timeout() - t0, milliseconds(60));
  ASSERT_TRUE(pair.drive_until([&] { return pair.both_connected(); }, "handshake after loss"));
  EXPECT_GE(client_hellos, 2); // a third is possible if this machine stalls for 60+ ms
  EXPECT_GE(pair.now - t0, milliseconds(45)); // OpenSSL treats < 15 ms left as expired
  // The retransmission is a new record: same message, next sequence number (RFC 6347 §4.2.4).
  auto first = parse_records(pair.client_sent[0]);
  auto second = parse_records(pair.client_sent[1]);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(second->front().header.sequence_number, first->front().header.sequence_number + 1);
}

TEST(DtlsEndpoint, LostServerFlightIsRecovered) {
  auto c = make_certificate();
  auto s = make_certificate();
  auto cc = EndpointPair::config(Role::Client, c, s);
  auto sc = EndpointPair::config(Role::Server, s, c);
  cc.initial_retransmit_timeout = sc.initial_retransmit_timeout = milliseconds(60);
  EndpointPair pair(cc, sc);
  pair.real_time = true;
  bool dropped = false;
  pair.filter = [&](Side from, Bytes&) {
    if (from == Side::Server && !dropped) {
      dropped = true; // lose the first datagram of the server's first flight
      return false;
    }
    return true;
  };
  ASSERT_TRUE(pair.handshake());
}

TEST(DtlsEndpoint, VirtualTimeAloneNeverRetransmits) {
  // The documented compromise, pinned down: with the virtual clock racing ahead of OpenSSL's
  // real clock, handle_timeout() re-arms instead of retransmitting, and nothing breaks.
  auto c = make_certificate();
  auto cc = EndpointPair::config(Role::Client, c, c);
  cc.initial_retransmit_timeout = seconds(10); // far beyond any real stall of this test
  Endpoint client(cc);
  TimePoint now{};
  client.start(now);
  ASSERT_TRUE(client.poll_transmit());
  for (int i = 0; i < 3; ++i) {
    auto t = client.poll_timeout();
    ASSERT_TRUE(t);
    EXPECT_GE(*t - now, seconds(9));
    now = *t;
    client.handle_timeout(now);
    EXPECT_FALSE(client.poll_transmit());
    EXPECT_GT(*client.poll_timeout(), now);
  }
}

TEST(DtlsEndpoint, HandshakeTimesOutWithASilentPeer) {
  auto pair = EndpointPair::connected_configs();
  pair.filter = [](Side, Bytes&) { return false; }; // nothing gets through
  const TimePoint t0 = pair.now;
  pair.start();
  ASSERT_TRUE(pair.drive_until(
      [&] { return failure_of(pair.client_events) && failure_of(pair.server_events); },
      "both time out"));
  EXPECT_EQ(*failure_of(pair.client_events), Errc::TimedOut);
  EXPECT_EQ(*failure_of(pair.client_events), Condition::TimedOut);
  EXPECT_EQ(*failure_of(pair.server_events), Errc::TimedOut);
  EXPECT_EQ(pair.now - t0, kDefaultHandshakeTimeout);
  EXPECT_FALSE(pair.client.poll_timeout());
  EXPECT_FALSE(pair.server.poll_timeout());
  auto send = pair.client.send(pattern(1, 0));
  ASSERT_FALSE(send);
  EXPECT_EQ(send.error(), Errc::TimedOut) << "send after failure reports the failure";
}

TEST(DtlsEndpoint, HandshakeTimeoutIsConfigurable) {
  auto c = make_certificate();
  auto cc = EndpointPair::config(Role::Client, c, c);
  cc.handshake_timeout = seconds(2);
  Endpoint client(cc);
  const TimePoint t0{};
  client.start(t0);
  client.handle_timeout(t0 + milliseconds(1999));
  EXPECT_EQ(client.state(), State::Connecting);
  client.handle_timeout(t0 + seconds(2));
  EXPECT_EQ(client.state(), State::Failed);
}

TEST(DtlsEndpoint, CloseNotifyIsReportedAsClosedOnTheOtherSide) {
  auto pair = EndpointPair::connected_configs();
  ASSERT_TRUE(pair.handshake());
  pair.client.close(pair.now);
  EXPECT_EQ(pair.client.state(), State::Closed);
  pair.step();
  EXPECT_TRUE(has_event<Closed>(pair.server_events));
  EXPECT_FALSE(has_event<Closed>(pair.client_events)) << "no event for a local close";
  EXPECT_EQ(pair.server.state(), State::Closed);
  EXPECT_FALSE(pair.client.poll_timeout());
  EXPECT_FALSE(pair.server.poll_timeout());

  auto a = pair.client.send(pattern(3, 0));
  auto b = pair.server.send(pattern(3, 0));
  ASSERT_FALSE(a);
  ASSERT_FALSE(b);
  EXPECT_EQ(a.error(), Errc::Closed);
  EXPECT_EQ(b.error(), Condition::Closed);
}

TEST(DtlsEndpoint, CloseDuringHandshakeStopsQuietly) {
  auto pair = EndpointPair::connected_configs();
  pair.client.start(pair.now);
  (void)pair.client.poll_transmit();
  pair.client.close(pair.now);
  EXPECT_EQ(pair.client.state(), State::Closed);
  EXPECT_FALSE(pair.client.poll_transmit());
  EXPECT_FALSE(pair.client.poll_event());
  EXPECT_FALSE(pair.client.poll_timeout());
}

TEST(DtlsEndpoint, GarbageDatagramsAreDroppedAndCounted) {
  auto pair = EndpointPair::connected_configs();
  const std::vector<Bytes> garbage = {
      {},                                                 // empty
      {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42},   // a STUN header
      {0x80, 0x60, 0x00, 0x01},                           // RTP
      {22, 0xFE, 0xFD, 0, 0},                             // truncated header
      {22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 1},  // length overruns the datagram
      {22, 0x03, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},     // TLS, not DTLS, version
      {24, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},     // heartbeat
      {23, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 42}, // trailing byte after a record
  };
  std::size_t injected = 0;
  auto inject = [&] {
    for (const auto& g : garbage) {
      pair.client.handle_datagram(pair.now, g);
      pair.server.handle_datagram(pair.now, g);
      ++injected;
    }
  };
  inject(); // the server starts by itself; the client has not started
  pair.start();
  pair.step();
  inject(); // mid-handshake
  ASSERT_TRUE(pair.drive_until([&] { return pair.both_connected(); }, "handshake"));
  inject(); // connected
  EXPECT_EQ(pair.server.dropped_datagrams(), injected);
  EXPECT_EQ(pair.client.dropped_datagrams(), injected);
  ASSERT_TRUE(pair.client.send(pattern(10, 1)));
  pair.step();
  EXPECT_EQ(received_data(pair.server_events).size(), 1u);
  EXPECT_FALSE(failure_of(pair.server_events));
}

TEST(DtlsEndpoint, TamperedRecordIsDiscardedAndTheConnectionSurvives) {
  auto pair = EndpointPair::connected_configs();
  ASSERT_TRUE(pair.handshake());
  ASSERT_TRUE(pair.client.send(pattern(200, 1)));
  auto d = pair.client.poll_transmit();
  ASSERT_TRUE(d);
  Bytes tampered = *d;
  tampered[kRecordHeaderSize + 20] ^= 0x01; // AEAD tag check fails
  pair.server.handle_datagram(pair.now, tampered);
  pair.drain_events();
  EXPECT_TRUE(pair.server_events.size() == 1u) << "only Connected";
  pair.server.handle_datagram(pair.now, *d); // the genuine one still decrypts
  pair.drain_events();
  EXPECT_EQ(received_data(pair.server_events), std::vector<Bytes>{pattern(200, 1)});
  EXPECT_EQ(pair.server.state(), State::Connected);
}

TEST(DtlsEndpoint, ReplayedRecordIsNotDeliveredTwice) {
  auto pair = EndpointPair::connected_configs();
  ASSERT_TRUE(pair.handshake());
  ASSERT_TRUE(pair.client.send(pattern(50, 1)));
  auto d = pair.client.poll_transmit();
  ASSERT_TRUE(d);
  pair.server.handle_datagram(pair.now, *d);
  pair.server.handle_datagram(pair.now, *d); // RFC 6347 §4.1.2.6 replay detection
  pair.drain_events();
  EXPECT_EQ(received_data(pair.server_events).size(), 1u);
}

TEST(DtlsEndpoint, DatagramsAfterFailureAreCounted) {
  auto pair = EndpointPair::connected_configs();
  pair.filter = [](Side, Bytes&) { return false; };
  pair.start();
  ASSERT_TRUE(
      pair.drive_until([&] { return failure_of(pair.client_events).has_value(); }, "time out"));
  const Bytes record = {22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  pair.client.handle_datagram(pair.now, record);
  EXPECT_EQ(pair.client.dropped_datagrams(), 1u);
  EXPECT_FALSE(pair.client.poll_transmit());
}

TEST(DtlsEndpoint, SrtpKeyingMaterialAgreesOnBothSides) {
  auto c = make_certificate();
  auto s = make_certificate();
  auto cc = EndpointPair::config(Role::Client, c, s);
  auto sc = EndpointPair::config(Role::Server, s, c);
  cc.enable_srtp = sc.enable_srtp = true;
  EndpointPair pair(cc, sc);
  auto early = pair.client.export_srtp_keying_material();
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error(), Errc::NotConnected);
  ASSERT_TRUE(pair.handshake());

  auto ck = pair.client.export_srtp_keying_material();
  auto sk = pair.server.export_srtp_keying_material();
  ASSERT_TRUE(ck) << ck.error().message();
  ASSERT_TRUE(sk) << sk.error().message();
  EXPECT_EQ(ck->profile, SrtpProfile::AeadAes128Gcm);
  EXPECT_EQ(ck->profile, sk->profile);
  EXPECT_EQ(ck->client_write_key.size(), 16u);
  EXPECT_EQ(ck->client_write_salt.size(), 12u);
  EXPECT_EQ(ck->client_write_key, sk->client_write_key);
  EXPECT_EQ(ck->server_write_key, sk->server_write_key);
  EXPECT_EQ(ck->client_write_salt, sk->client_write_salt);
  EXPECT_EQ(ck->server_write_salt, sk->server_write_salt);
  EXPECT_NE(ck->client_write_key, ck->server_write_key);
  // What one side sends with, the other receives with.
  EXPECT_EQ(ck->local_key(Role::Client), sk->remote_key(Role::Server));
  EXPECT_EQ(ck->local_salt(Role::Client), sk->remote_salt(Role::Server));
  EXPECT_EQ(ck->remote_key(Role::Client), sk->local_key(Role::Server));
  EXPECT_NE(ck->client_write_key, Bytes(16, 0));
}

TEST(DtlsEndpoint, SrtpIsNotNegotiatedUnlessBothSidesEnableIt) {
  auto c = make_certificate();
  auto s = make_certificate();
  auto cc = EndpointPair::config(Role::Client, c, s);
  cc.enable_srtp = true;
  EndpointPair pair(cc, EndpointPair::config(Role::Server, s, c));
  ASSERT_TRUE(pair.handshake());
  auto k = pair.client.export_srtp_keying_material();
  ASSERT_FALSE(k);
  EXPECT_EQ(k.error(), Errc::SrtpNotNegotiated);
  EXPECT_EQ(k.error(), Condition::Unsupported);
}

TEST(DtlsEndpoint, OneCertificateServesManyConnections) {
  auto shared = make_certificate();
  auto a = make_certificate();
  auto b = make_certificate();
  EndpointPair one(EndpointPair::config(Role::Client, a, shared),
                   EndpointPair::config(Role::Server, shared, a));
  EndpointPair two(EndpointPair::config(Role::Client, b, shared),
                   EndpointPair::config(Role::Server, shared, b));
  one.start();
  two.start();
  ASSERT_TRUE(one.drive_until([&] { return one.both_connected(); }, "one"));
  ASSERT_TRUE(two.drive_until([&] { return two.both_connected(); }, "two"));
  EXPECT_TRUE(std::ranges::equal(one.client.remote_certificate_der(), shared->der()));
  EXPECT_TRUE(std::ranges::equal(two.client.remote_certificate_der(), shared->der()));
  // Independent sessions: a record of one does not decrypt in the other.
  ASSERT_TRUE(one.client.send(pattern(20, 1)));
  auto d = one.client.poll_transmit();
  ASSERT_TRUE(d);
  two.server.handle_datagram(two.now, *d);
  two.drain_events();
  EXPECT_TRUE(received_data(two.server_events).empty());
  EXPECT_EQ(two.server.state(), State::Connected);
}

TEST(DtlsEndpoint, EndpointsAreMovable) {
  auto pair = EndpointPair::connected_configs();
  ASSERT_TRUE(pair.handshake());
  Endpoint moved = std::move(pair.client);
  ASSERT_TRUE(moved.send(pattern(10, 7)));
  auto d = moved.poll_transmit();
  ASSERT_TRUE(d);
  pair.server.handle_datagram(pair.now, *d);
  std::vector<Event> events;
  while (auto e = pair.server.poll_event())
    events.push_back(std::move(*e));
  EXPECT_EQ(received_data(events).size(), 1u);
  pair.client = std::move(moved); // the harness touches both endpoints when it ends
}

TEST(DtlsEndpoint, InvalidConfigThrowsWithAnActionableMessage) {
  Endpoint::Config no_cert;
  EXPECT_THROW(Endpoint{no_cert}, std::invalid_argument);
  Endpoint::Config tiny_mtu;
  tiny_mtu.certificate = make_certificate();
  tiny_mtu.mtu = 100;
  try {
    Endpoint e(tiny_mtu);
    ADD_FAILURE() << "expected a throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("mtu is 100"), std::string::npos) << e.what();
  }
}

TEST(DtlsErrc, MapsToPublicConditions) {
  EXPECT_EQ(error_code(Errc::FingerprintMismatch), Condition::AuthFailed);
  EXPECT_EQ(error_code(Errc::TimedOut), Condition::TimedOut);
  EXPECT_EQ(error_code(Errc::HandshakeFailed), Condition::ProtocolViolation);
  EXPECT_EQ(error_code(Errc::Closed), Condition::Closed);
  EXPECT_EQ(error_code(Errc::NotConnected), Condition::InvalidArgument);
  EXPECT_STREQ(error_code(Errc::MalformedRecord).category().name(), "posthorn.dtls");
  EXPECT_EQ(error_code(Errc::MessageTooLarge).message(),
            "message exceeds the DTLS record size limit of 16384 bytes");
}

} // namespace
} // namespace posthorn::dtls
