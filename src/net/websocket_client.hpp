#pragma once
// A WebSocket client (RFC 6455) for ws:// and wss:// on Boost.Beast, with C++20 coroutines and
// errors as values. One client is one connection: connect() once, read() in a loop, send from
// anywhere on the executor, close(); for a reconnect make a new client.
//
//   net::WebSocketClient ws(executor, {.subprotocol = "mqtt"});
//   if (auto r = co_await ws.connect(url); !r) co_return r.error();
//   ws.send_binary(packet);                        // queued; never overlaps another write
//   for (;;) {
//     auto message = co_await ws.read();           // result<Message>
//     if (!message) break;                         // closed, lost, oversized, ...
//   }
//
// Threading: every member must be called on the executor given to the constructor (a strand or a
// single-threaded io_context). Coroutines resume there. Nothing throws: failures are error values
// (net::Errc, or the system's/OpenSSL's own code, e.g. "Connection refused").
//
// Lifetime: the client may be destroyed at any time, even with connect() or read() suspended.
// Those complete with an error (Errc::Closed); the caller must then not touch the destroyed
// client, and the connection finishes closing in the background. Like every asio::awaitable,
// connect() and read() only start when awaited: the client must still exist at that moment.
//
// Beast and OpenSSL stay inside websocket_client.cpp (a Beast TU costs about a minute and 1.5 GB
// to compile).

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "net/tls.hpp"
#include "net/url.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace posthorn::net {

struct WebSocketOptions {
  /// Offered in Sec-WebSocket-Protocol; MQTT brokers require "mqtt". Empty: none offered.
  std::string subprotocol;
  /// Larger incoming messages fail the connection with Errc::MessageTooLarge (Beast answers
  /// with close code 1009).
  std::size_t max_message_size = 1u << 20;
  /// Resolve + TCP connect + TLS handshake + HTTP upgrade, all together.
  std::chrono::milliseconds connect_timeout{10'000};
  /// Extra request headers for the upgrade (e.g. Origin, Authorization).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string user_agent = "posthorn";
  /// When non-zero, a ping is sent after half this long without traffic, and the connection
  /// fails if the other half passes in silence too. Off by default: protocols with their own
  /// keepalive (MQTT) do not need it.
  std::chrono::milliseconds idle_timeout{0};
  /// send_*() refuses (returns false) once this many bytes wait to be written.
  std::size_t max_queued_bytes = 8u << 20;
  /// How long close() waits for the closing handshake before dropping the TCP connection.
  std::chrono::milliseconds close_timeout{2'000};
  TlsOptions tls;
};

enum class MessageKind : std::uint8_t { Text, Binary };

struct Message {
  MessageKind kind = MessageKind::Binary;
  std::string data; ///< the payload; for Text it is UTF-8 (Beast validates it)
  [[nodiscard]] ByteView bytes() const noexcept { return as_bytes(data); }
};

class WebSocketClient {
public:
  explicit WebSocketClient(boost::asio::any_io_executor executor, WebSocketOptions options = {});
  ~WebSocketClient(); ///< close() without waiting
  WebSocketClient(const WebSocketClient&) = delete;
  WebSocketClient& operator=(const WebSocketClient&) = delete;

  /// Connects to a ws:// or wss:// URL: resolve, TCP, TLS (SNI, certificate check), upgrade.
  [[nodiscard]] boost::asio::awaitable<result<void>> connect(Url url);
  /// The next whole message. One read at a time.
  [[nodiscard]] boost::asio::awaitable<result<Message>> read();
  /// Queue a message; false (and nothing queued) when not open or the queue is full.
  bool send_text(std::string text);
  bool send_binary(Bytes data);
  /// Graceful close: queued messages are written first, then the closing handshake; a pending
  /// read() completes with an error. Also aborts a connect() in progress. Idempotent.
  void close();

  [[nodiscard]] bool is_open() const noexcept;
  /// The subprotocol the server accepted ("" if none).
  [[nodiscard]] std::string subprotocol() const;
  [[nodiscard]] std::size_t queued_bytes() const noexcept;
  /// Code and reason of the server's close frame, once read() returned Errc::ClosedByPeer.
  [[nodiscard]] std::pair<std::uint16_t, std::string> close_reason() const;

  class Impl;

private:
  boost::asio::any_io_executor executor_;
  WebSocketOptions options_;
  std::shared_ptr<Impl> impl_;
  bool closed_ = false;
};

} // namespace posthorn::net
