// `posthorn relay`'s WebSocket layer byte by byte, from a raw TCP client: the opening handshake
// (RFC 6455 §4.2), frames in and out (§5), the closing handshake (§5.5.1, §7.1.1), failures with
// the status §7.4.1 gives them, idle checks, slow readers, and a fan-out whose frames leave in
// batches and still arrive whole and in order.
#include "net/ws_frame.hpp"
#include "support/relay_thread.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <sys/socket.h>

#include <cerrno>

#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <thread>

namespace posthorn {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;
using net::ws::Opcode;
using test::RelayThread;

struct Frame {
  Opcode opcode;
  std::string payload;
  std::uint16_t close_code = 0;
};

/// A WebSocket client written against the RFC with net/ws_frame, on a blocking socket whose reads
/// give up after two seconds.
class RawClient {
public:
  explicit RawClient(std::uint16_t port) : socket_(io_) {
    socket_.connect({asio::ip::make_address("127.0.0.1"), port});
    timeval tv{2, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  static std::string request(std::string_view version = "13",
                             std::string_view key = "dGhlIHNhbXBsZSBub25jZQ==") {
    return "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Version: " +
           std::string(version) + "\r\nSec-WebSocket-Key: " + std::string(key) + "\r\n\r\n";
  }
  /// Sends `bytes` and returns the response head (through the blank line).
  std::string handshake(const std::string& bytes = request()) {
    send_raw(bytes);
    std::string buffer;
    boost::system::error_code ec;
    const std::size_t n = asio::read_until(socket_, asio::dynamic_buffer(buffer), "\r\n\r\n", ec);
    if (ec) return "(no response: " + ec.message() + ")";
    std::string head = buffer.substr(0, n);
    if (head.rfind("HTTP/1.1 101 ", 0) == 0) take_frames(buffer.substr(n)); // frames behind it
    return head;
  }
  void send_raw(std::string_view bytes) { asio::write(socket_, asio::buffer(bytes)); }
  void send(Opcode opcode, std::string_view payload, bool fin = true) {
    std::string wire;
    net::ws::append_masked_frame(wire, opcode, payload, 0x1234abcd, fin);
    send_raw(wire);
  }
  /// The next frame; nullopt when the server closed the connection (or two seconds passed).
  std::optional<Frame> next() {
    while (frames_.empty()) {
      std::string chunk(65536, '\0');
      const auto n = receive(chunk.data(), chunk.size());
      if (n <= 0) return std::nullopt;
      chunk.resize(static_cast<std::size_t>(n));
      take_frames(std::move(chunk));
    }
    Frame f = std::move(frames_.front());
    frames_.pop_front();
    return f;
  }
  /// True when the server closes the TCP connection (rather than leaving it open).
  bool closed_by_server() {
    char c;
    const auto n = receive(&c, 1);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

private:
  // recv(2) itself, not Asio's read_some, which waits on poll() without end when SO_RCVTIMEO
  // makes recv give up: a test waits two seconds for what the relay owes it, then fails.
  ssize_t receive(char* data, std::size_t size) {
    return ::recv(socket_.native_handle(), data, size, 0);
  }
  void take_frames(std::string bytes) {
    if (bytes.empty()) return;
    reader_.feed(std::span<char>(bytes.data(), bytes.size()));
    for (;;) {
      auto r = reader_.next();
      if (std::holds_alternative<net::ws::NeedMore>(r)) return;
      if (auto* f = std::get_if<net::ws::ReadFailure>(&r)) {
        ADD_FAILURE() << "the server sent a broken frame: " << f->why;
        return;
      }
      const auto& m = std::get<net::ws::Received>(r);
      frames_.push_back({m.opcode, std::string(m.payload), m.close_code});
    }
  }

private:
  asio::io_context io_;
  tcp::socket socket_;
  net::ws::MessageReader reader_{{.max_message_bytes = 64u << 20, .expect_masked = false}};
  std::deque<Frame> frames_;
};

relay::WsServerOptions generous() {
  relay::WsServerOptions o;
  o.limits.rate_per_second = 1e9;
  o.limits.burst = 1e9;
  return o;
}

TEST(RelayWebSocket, TheHandshakeAnswersWithTheAcceptValueOfTheKey) {
  RelayThread relay;
  RawClient client(relay.port());
  const auto head = client.handshake();
  EXPECT_EQ(head.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0u) << head;
  EXPECT_NE(head.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), std::string::npos)
      << head;
  EXPECT_NE(head.find("Upgrade: websocket\r\n"), std::string::npos) << head;
  EXPECT_EQ(relay.stats().accepted, 1u);
}

TEST(RelayWebSocket, AWrongVersionOrKeyIsRefusedWithTheStatusTheRfcGives) {
  RelayThread relay;
  {
    RawClient client(relay.port());
    const auto head = client.handshake(RawClient::request("8"));
    EXPECT_EQ(head.rfind("HTTP/1.1 426", 0), 0u) << head;
    EXPECT_NE(head.find("Sec-WebSocket-Version: 13\r\n"), std::string::npos) << head; // §4.4
  }
  {
    RawClient client(relay.port());
    const auto head = client.handshake(RawClient::request("13", "c2hvcnQ=")); // 5 bytes
    EXPECT_EQ(head.rfind("HTTP/1.1 400", 0), 0u) << head;
  }
  EXPECT_EQ(relay.stats().rejected, 2u);
  EXPECT_EQ(relay.stats().accepted, 0u);
}

TEST(RelayWebSocket, FramesSentWithTheRequestAreReadAfterTheUpgrade) {
  RelayThread relay;
  RawClient client(relay.port());
  std::string bytes = RawClient::request();
  net::ws::append_masked_frame(bytes, Opcode::Text, R"({"type":"subscribe","topic":"early"})", 7);
  client.handshake(bytes);
  const auto answer = client.next();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->payload, R"({"topic":"early","type":"subscribed"})");
}

TEST(RelayWebSocket, APingIsAnsweredWithAPongOfTheSamePayload) {
  RelayThread relay;
  RawClient client(relay.port());
  client.handshake();
  client.send(Opcode::Ping, "are you there?");
  const auto pong = client.next();
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->opcode, Opcode::Pong);
  EXPECT_EQ(pong->payload, "are you there?");
}

TEST(RelayWebSocket, AFragmentedMessageIsOneMessage) {
  RelayThread relay;
  RawClient client(relay.port());
  client.handshake();
  client.send(Opcode::Text, R"({"type":"subs)", false);
  client.send(Opcode::Ping, "in between");
  client.send(Opcode::Continuation, R"(cribe","topic":"pieces"})");
  const auto pong = client.next();
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->opcode, Opcode::Pong);
  const auto answer = client.next();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->payload, R"({"topic":"pieces","type":"subscribed"})");
}

TEST(RelayWebSocket, TheClosingHandshakeEchoesTheStatusAndTheServerClosesTcp) {
  RelayThread relay;
  RawClient client(relay.port());
  client.handshake();
  client.send(Opcode::Close, net::ws::close_payload(net::ws::close_code::kNormal, "bye"));
  const auto close = client.next();
  ASSERT_TRUE(close);
  EXPECT_EQ(close->opcode, Opcode::Close);
  EXPECT_EQ(close->close_code, net::ws::close_code::kNormal);
  EXPECT_TRUE(client.closed_by_server());
}

struct Violation {
  const char* name;
  std::string wire;
  std::uint16_t code;
};

TEST(RelayWebSocket, ABrokenFrameFailsTheConnectionWithItsStatus) {
  std::string unmasked;
  net::ws::append_frame(unmasked, Opcode::Text, "{}");
  std::string not_utf8;
  net::ws::append_masked_frame(not_utf8, Opcode::Text, "\xff\xfe", 9);
  // A header announcing 100 MiB: refused before any of it is sent.
  const std::string too_big = {'\x82', '\xff', 0, 0, 0, 0, '\x06', 0x40, 0, 0, 1, 2, 3, 4};
  const std::vector<Violation> cases = {
      {"unmasked", unmasked, net::ws::close_code::kProtocolError},
      {"not UTF-8", not_utf8, net::ws::close_code::kInvalidPayload},
      {"too big", too_big, net::ws::close_code::kMessageTooBig},
  };
  RelayThread relay;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    RawClient client(relay.port());
    client.handshake();
    client.send_raw(c.wire);
    const auto close = client.next();
    ASSERT_TRUE(close);
    EXPECT_EQ(close->opcode, Opcode::Close);
    EXPECT_EQ(close->close_code, c.code) << close->payload;
    EXPECT_TRUE(client.closed_by_server());
  }
  EXPECT_EQ(relay.stats().protocol_errors, cases.size());
}

TEST(RelayWebSocket, ASilentClientIsPingedThenDropped) {
  auto options = generous();
  options.idle_timeout = 800ms;
  RelayThread relay(options);
  RawClient client(relay.port());
  client.handshake();
  const auto ping = client.next(); // after ~400 ms of silence
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->opcode, Opcode::Ping);
  const auto close = client.next(); // unanswered: dropped at 800 ms
  ASSERT_TRUE(close);
  EXPECT_EQ(close->opcode, Opcode::Close);
  EXPECT_EQ(close->close_code, net::ws::close_code::kGoingAway);
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_EQ(relay.stats().timed_out, 1u);
}

TEST(RelayWebSocket, AClientThatAnswersPingsStays) {
  auto options = generous();
  options.idle_timeout = 800ms;
  RelayThread relay(options);
  RawClient client(relay.port());
  client.handshake();
  for (int i = 0; i < 3; ++i) {
    const auto ping = client.next();
    ASSERT_TRUE(ping);
    ASSERT_EQ(ping->opcode, Opcode::Ping);
    client.send(Opcode::Pong, ping->payload);
  }
  EXPECT_EQ(relay.stats().timed_out, 0u);
}

TEST(RelayWebSocket, AFanOutArrivesWholeAndInOrderAtEverySubscriber) {
  RelayThread relay(generous());
  std::vector<std::unique_ptr<RawClient>> subscribers;
  for (int i = 0; i < 20; ++i) {
    subscribers.push_back(std::make_unique<RawClient>(relay.port()));
    subscribers.back()->handshake();
    subscribers.back()->send(Opcode::Text, R"({"type":"subscribe","topic":"news"})");
    ASSERT_TRUE(subscribers.back()->next()); // subscribed
  }
  RawClient publisher(relay.port());
  publisher.handshake();
  constexpr int kMessages = 300;
  std::string burst; // every publish in one write: the relay reads them in one go
  for (int i = 0; i < kMessages; ++i)
    net::ws::append_masked_frame(
        burst, Opcode::Text,
        R"({"type":"publish","topic":"news","payload":")" + std::to_string(i) +
            std::string(static_cast<std::size_t>(i % 7) * 100, 'x') + "\"}",
        static_cast<std::uint32_t>(i));
  publisher.send_raw(burst);
  for (auto& s : subscribers)
    for (int i = 0; i < kMessages; ++i) {
      const auto m = s->next();
      ASSERT_TRUE(m) << "message " << i;
      ASSERT_EQ(m->payload, R"({"payload":")" + std::to_string(i) +
                                std::string(static_cast<std::size_t>(i % 7) * 100, 'x') +
                                R"(","topic":"news"})");
    }
  EXPECT_EQ(relay.stats().hub.deliveries, 20u * kMessages);
  EXPECT_EQ(relay.stats().dropped_out, 0u);
}

TEST(RelayWebSocket, AClientThatDoesNotReadLosesMessagesNotTheRelay) {
  auto options = generous();
  options.max_queued_bytes = 64 * 1024;
  RelayThread relay(options);
  RawClient sleeper(relay.port());
  sleeper.handshake();
  sleeper.send(Opcode::Text, R"({"type":"subscribe","topic":"flood"})");
  ASSERT_TRUE(sleeper.next());
  RawClient publisher(relay.port());
  publisher.handshake();
  const std::string payload(30000, 'f');
  std::string burst;
  for (int i = 0; i < 400; ++i) // 12 MB: far more than the sleeper's socket buffers and queue
    net::ws::append_masked_frame(
        burst, Opcode::Text, R"({"type":"publish","topic":"flood","payload":")" + payload + "\"}",
        1);
  publisher.send_raw(burst);
  // The relay read all of it (the publisher's Ping is answered after the burst) and dropped what
  // did not fit the sleeper's queue.
  publisher.send(Opcode::Ping, "after the flood");
  const auto pong = publisher.next();
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->opcode, Opcode::Pong);
  const auto stats = relay.stats();
  EXPECT_EQ(stats.hub.deliveries, 400u);
  // 12 MB offered to a client that reads nothing: what its socket buffers (a few MB on loopback,
  // autotuned) and its 64 KiB queue do not take is dropped and counted, not held.
  EXPECT_GT(stats.dropped_out, 0u);
}

} // namespace
} // namespace posthorn
