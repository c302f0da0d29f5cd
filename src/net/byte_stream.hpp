#pragma once
// A connection that carries a byte stream, whatever the transport underneath: TCP, TLS, or a
// WebSocket whose binary messages carry the stream (MQTT over WebSocket, MQTT 3.1.1 §6). Protocol
// adapters (the MQTT strategy) are written once against this interface.
//
//   auto stream = net::make_byte_stream(executor, url, {.websocket_subprotocol = "mqtt"});
//   if (!stream) ...                                   // unsupported scheme
//   if (auto r = co_await (*stream)->connect(url); !r) ...
//   (*stream)->send(bytes);                            // queued, in order
//   auto chunk = co_await (*stream)->read();           // result<Bytes>, any split of the stream
//
// Threading and lifetime are those of WebSocketClient: call everything on the executor; the
// object may be destroyed while connect()/read() are suspended (they then complete with an error
// and must not touch it).

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "net/tls.hpp"
#include "net/url.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace posthorn::net {

struct ByteStreamOptions {
  /// WebSocket only: offered subprotocol ("mqtt" for MQTT brokers) and extra upgrade headers.
  std::string websocket_subprotocol;
  std::vector<std::pair<std::string, std::string>> websocket_headers;
  /// WebSocket only: larger messages fail the connection (Errc::MessageTooLarge).
  std::size_t max_message_size = 1u << 20;
  /// TCP/TLS only: at most this many bytes per read().
  std::size_t read_chunk_size = 64u * 1024;
  std::chrono::milliseconds connect_timeout{10'000};
  /// send() refuses (returns false) once this many bytes wait to be written.
  std::size_t max_queued_bytes = 8u << 20;
  /// How long close() may spend flushing and shutting down before the socket is dropped.
  std::chrono::milliseconds close_timeout{2'000};
  TlsOptions tls;
};

class ByteStream {
public:
  virtual ~ByteStream() = default;
  [[nodiscard]] virtual boost::asio::awaitable<result<void>> connect(Url url) = 0;
  /// The next bytes from the peer (never empty on success). One read at a time.
  [[nodiscard]] virtual boost::asio::awaitable<result<Bytes>> read() = 0;
  /// Queues bytes; false (nothing queued) when not open or the queue is full.
  virtual bool send(Bytes data) = 0;
  /// Flushes what is queued, then closes; aborts a connect() in progress. Idempotent.
  virtual void close() = 0;
  [[nodiscard]] virtual bool is_open() const noexcept = 0;
};

/// ws/wss: a WebSocketClient whose binary messages carry the stream (a text message is
/// Errc::TextOnByteStream); mqtt/tcp and mqtts/tls: a TcpStream. Errc::UnsupportedScheme otherwise.
[[nodiscard]] result<std::unique_ptr<ByteStream>>
make_byte_stream(boost::asio::any_io_executor executor, const Url& url, ByteStreamOptions options);

} // namespace posthorn::net
