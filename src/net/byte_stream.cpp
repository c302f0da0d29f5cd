#include "net/byte_stream.hpp"

#include "net/errc.hpp"
#include "net/tcp_stream.hpp"
#include "net/websocket_client.hpp"

namespace posthorn::net {
namespace {

/// Binary WebSocket messages as a byte stream. MQTT 3.1.1 §6 (MQTT-6.0.0-1): control packets go
/// in binary frames, a packet may span messages and a message may hold several packets, so the
/// message boundaries carry no meaning here and each message is simply the next chunk.
class WebSocketByteStream final : public ByteStream {
public:
  WebSocketByteStream(boost::asio::any_io_executor executor, const ByteStreamOptions& o)
      : ws_(std::make_shared<WebSocketClient>(
            std::move(executor), WebSocketOptions{.subprotocol = o.websocket_subprotocol,
                                                  .max_message_size = o.max_message_size,
                                                  .connect_timeout = o.connect_timeout,
                                                  .headers = o.websocket_headers,
                                                  .max_queued_bytes = o.max_queued_bytes,
                                                  .close_timeout = o.close_timeout,
                                                  .tls = o.tls})) {}
  ~WebSocketByteStream() override { ws_->close(); }
  WebSocketByteStream(const WebSocketByteStream&) = delete;
  WebSocketByteStream& operator=(const WebSocketByteStream&) = delete;

  boost::asio::awaitable<result<void>> connect(Url url) override {
    return connect_impl(ws_, std::move(url));
  }

  boost::asio::awaitable<result<Bytes>> read() override { return read_impl(ws_); }

  bool send(Bytes data) override { return !data.empty() && ws_->send_binary(std::move(data)); }
  void close() override { ws_->close(); }
  [[nodiscard]] bool is_open() const noexcept override { return ws_->is_open(); }

private:
  static boost::asio::awaitable<result<void>> connect_impl(std::shared_ptr<WebSocketClient> ws,
                                                           Url url) {
    co_return co_await ws->connect(std::move(url));
  }

  // Owns a reference to the client, so it may loop over empty messages even if this adapter is
  // destroyed meanwhile (the client is closed then, and the next read fails).
  static boost::asio::awaitable<result<Bytes>> read_impl(std::shared_ptr<WebSocketClient> ws) {
    for (;;) {
      auto message = co_await ws->read();
      if (!message) co_return message.error();
      if (message->kind == MessageKind::Text) co_return Errc::TextOnByteStream;
      if (message->data.empty()) continue; // an empty message is legal and carries nothing
      co_return Bytes(message->data.begin(), message->data.end());
    }
  }

  std::shared_ptr<WebSocketClient> ws_;
};

} // namespace

result<std::unique_ptr<ByteStream>> make_byte_stream(boost::asio::any_io_executor executor,
                                                     const Url& url, ByteStreamOptions options) {
  if (url.is_websocket())
    return std::unique_ptr<ByteStream>(
        std::make_unique<WebSocketByteStream>(std::move(executor), options));
  if (default_port(url.scheme) != 0)
    return std::unique_ptr<ByteStream>(
        std::make_unique<TcpStream>(std::move(executor), std::move(options)));
  return Errc::UnsupportedScheme;
}

} // namespace posthorn::net
