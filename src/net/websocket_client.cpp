// The only translation unit that instantiates Beast's WebSocket stream (plain and over TLS).
#include "net/websocket_client.hpp"

#include "core/log.hpp"
#include "net/errc.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <deque>
#include <optional>
#include <type_traits>

namespace posthorn::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
} // namespace

/// The connection, shared with its in-flight operations so that destroying the WebSocketClient
/// never pulls the stream out from under a pending Beast operation.
class WebSocketClient::Impl : public std::enable_shared_from_this<Impl> {
public:
  virtual ~Impl() = default;
  virtual asio::awaitable<result<void>> connect(Url url) = 0;
  virtual asio::awaitable<result<Message>> read() = 0;
  virtual bool send(MessageKind kind, std::string data) = 0;
  virtual void close() = 0;
  [[nodiscard]] virtual bool is_open() const noexcept = 0;

  std::string subprotocol_;
  std::size_t queued_bytes_ = 0;
  std::pair<std::uint16_t, std::string> close_reason_;
};

namespace {

template <bool Tls> class WsImpl final : public WebSocketClient::Impl {
  using Next = std::conditional_t<Tls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;
  using Stream = websocket::stream<Next>;

public:
  WsImpl(const asio::any_io_executor& executor, const WebSocketOptions& options)
      : executor_(executor), options_(options), resolver_(executor), close_timer_(executor) {
    if constexpr (Tls) {
      tls_context_.emplace(asio::ssl::context::tls_client);
      if (auto r = detail::configure_client_context(*tls_context_, options_.tls); !r)
        setup_error_ = r.error();
      ws_.emplace(executor, *tls_context_);
    } else {
      ws_.emplace(executor);
    }
  }

  asio::awaitable<result<void>> connect(Url url) override {
    auto self = shared_from_this();
    if (setup_error_) co_return setup_error_;
    if (abort_error_) co_return abort_error_;

    // One deadline over every step: resolving, TCP, TLS and the upgrade. Expiry closes the
    // socket, which fails whichever step is running.
    asio::steady_timer watchdog(executor_, options_.connect_timeout);
    watchdog.async_wait([weak = weak_from_this()](error_code ec) {
      if (ec) return;
      if (auto impl = weak.lock())
        static_cast<WsImpl*>(impl.get())->abort_connect(Errc::ConnectTimeout);
    });
    auto r = co_await handshake(std::move(url));
    watchdog.cancel();
    // A timeout or close() shows as "operation aborted" in the step it interrupted; report why.
    if (abort_error_) co_return abort_error_;
    if (!r) {
      beast::get_lowest_layer(*ws_).close();
      co_return r.error();
    }
    open_ = true;
    co_return result<void>{};
  }

  asio::awaitable<result<Message>> read() override {
    auto self = shared_from_this();
    if (!open_) {
      if (local_close_) co_return Errc::Closed;
      co_return failure_ ? failure_ : error_code(Errc::NotConnected);
    }
    if (reading_) co_return Errc::ReadInProgress;
    reading_ = true;
    beast::flat_buffer buffer;
    auto [ec, n] = co_await ws_->async_read(buffer, kNoThrow);
    reading_ = false;
    if (ec) {
      auto mapped = map_error(ec);
      failure_ = mapped;
      fail_connection();
      co_return mapped;
    }
    (void)n;
    co_return Message{.kind = ws_->got_text() ? MessageKind::Text : MessageKind::Binary,
                      .data = beast::buffers_to_string(buffer.data())};
  }

  bool send(MessageKind kind, std::string data) override {
    if (!is_open()) return false;
    if (queued_bytes_ + data.size() > options_.max_queued_bytes) return false;
    queued_bytes_ += data.size();
    queue_.push_back({kind, std::move(data)});
    if (!writing_) write_next();
    return true;
  }

  void close() override {
    if (local_close_) return;
    local_close_ = true;
    if (!open_) {
      abort_connect(Errc::Closed);
      return;
    }
    // A deadline over flushing the queue and the closing handshake together.
    close_timer_.expires_after(options_.close_timeout);
    close_timer_.async_wait([self = shared_from_this(), this](error_code ec) {
      if (!ec) fail_connection();
    });
    if (!writing_) start_close_handshake();
  }

  [[nodiscard]] bool is_open() const noexcept override { return open_ && !local_close_; }

private:
  struct Outgoing {
    MessageKind kind;
    std::string data;
  };

  asio::awaitable<result<void>> handshake(Url url) {
    auto [rec, endpoints] =
        co_await resolver_.async_resolve(url.host, std::to_string(url.port), kNoThrow);
    if (rec) co_return rec;
    if (abort_error_) co_return abort_error_;

    auto [cec, endpoint] =
        co_await beast::get_lowest_layer(*ws_).async_connect(endpoints, kNoThrow);
    if (cec) co_return cec;
    (void)endpoint;
    // Signaling is small messages that must leave at once. Without TCP_NODELAY, Nagle holds each
    // small write (the MQTT CONNECT after the HTTP upgrade, a SUBSCRIBE, an announce) until the
    // previous one is acknowledged, and Linux delays ACKs by up to 40 ms: measured, a loopback
    // MQTT connect took 120-190 ms instead of ~2 ms.
    error_code nodelay_ignored;
    beast::get_lowest_layer(*ws_).socket().set_option(tcp::no_delay(true), nodelay_ignored);

    if constexpr (Tls) {
      if (auto r = detail::prepare_client_session(ws_->next_layer().native_handle(), url.host,
                                                  options_.tls);
          !r)
        co_return r.error();
      auto [hec] =
          co_await ws_->next_layer().async_handshake(asio::ssl::stream_base::client, kNoThrow);
      if (hec) co_return hec;
    }

    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = options_.connect_timeout;
    if (options_.idle_timeout.count() > 0) {
      timeouts.idle_timeout = options_.idle_timeout;
      timeouts.keep_alive_pings = true;
    } else {
      timeouts.idle_timeout = websocket::stream_base::none();
      timeouts.keep_alive_pings = false;
    }
    ws_->set_option(timeouts);
    ws_->set_option(websocket::stream_base::decorator(
        [agent = options_.user_agent, protocol = options_.subprotocol,
         headers = options_.headers](websocket::request_type& request) {
          request.set(http::field::user_agent, agent);
          if (!protocol.empty()) request.set(http::field::sec_websocket_protocol, protocol);
          for (const auto& [name, value] : headers)
            request.set(name, value);
        }));
    ws_->read_message_max(options_.max_message_size);

    websocket::response_type response;
    auto [wec] = co_await ws_->async_handshake(response, url.host_header(), url.target, kNoThrow);
    if (wec == websocket::error::upgrade_declined) {
      POSTHORN_LOG(Debug, "net", "WebSocket upgrade declined with HTTP ", response.result_int());
      co_return Errc::UpgradeRejected;
    }
    if (wec) co_return wec;

    // RFC 6455 §4.1: the server may pick none of the offered subprotocols, but never another one.
    const auto chosen = response[http::field::sec_websocket_protocol];
    if (!chosen.empty() && chosen != options_.subprotocol) co_return Errc::SubprotocolMismatch;
    subprotocol_ = std::string(chosen);

    // From here Beast's handshake timeout bounds the closing handshake.
    timeouts.handshake_timeout = options_.close_timeout;
    ws_->set_option(timeouts);
    co_return result<void>{};
  }

  void abort_connect(error_code why) {
    if (open_ || abort_error_) return;
    abort_error_ = why;
    resolver_.cancel();
    beast::get_lowest_layer(*ws_).close();
  }

  error_code map_error(error_code ec) {
    if (local_close_) return Errc::Closed;
    if (ec == websocket::error::closed) {
      const auto& reason = ws_->reason();
      close_reason_ = {static_cast<std::uint16_t>(reason.code), std::string(reason.reason.c_str())};
      return Errc::ClosedByPeer;
    }
    if (ec == websocket::error::message_too_big) return Errc::MessageTooLarge;
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)
      return Errc::ClosedByPeer;
    return ec;
  }

  /// The connection is unusable: drop the socket so any pending operation completes.
  void fail_connection() {
    open_ = false;
    queue_.clear();
    queued_bytes_ = 0;
    close_timer_.cancel();
    beast::get_lowest_layer(*ws_).close();
  }

  void write_next() {
    if (queue_.empty() || !open_) {
      writing_ = false;
      if (local_close_ && open_) start_close_handshake();
      return;
    }
    writing_ = true;
    ws_->text(queue_.front().kind == MessageKind::Text);
    ws_->async_write(asio::buffer(queue_.front().data),
                     [self = shared_from_this(), this](error_code ec, std::size_t) {
                       if (!queue_.empty()) {
                         queued_bytes_ -= queue_.front().data.size();
                         queue_.pop_front();
                       }
                       if (ec) {
                         POSTHORN_LOG(Debug, "net", "WebSocket write failed: ", ec.message());
                         writing_ = false;
                         fail_connection();
                         return;
                       }
                       write_next();
                     });
  }

  void start_close_handshake() {
    if (close_started_) return;
    close_started_ = true;
    ws_->async_close(websocket::close_code::normal,
                     [self = shared_from_this(), this](error_code) { fail_connection(); });
  }

  asio::any_io_executor executor_;
  WebSocketOptions options_;
  std::optional<asio::ssl::context> tls_context_;
  tcp::resolver resolver_;
  std::optional<Stream> ws_;
  asio::steady_timer close_timer_;
  std::deque<Outgoing> queue_;
  error_code setup_error_;
  error_code abort_error_;
  error_code failure_; // why an open connection ended, for reads after the first failing one
  bool open_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool local_close_ = false;
  bool close_started_ = false;
};

} // namespace

WebSocketClient::WebSocketClient(asio::any_io_executor executor, WebSocketOptions options)
    : executor_(std::move(executor)), options_(std::move(options)) {}

WebSocketClient::~WebSocketClient() {
  close();
}

asio::awaitable<result<void>> WebSocketClient::connect(Url url) {
  if (closed_) co_return Errc::Closed;
  if (impl_) co_return Errc::AlreadyConnected;
  if (!url.is_websocket()) co_return Errc::UnsupportedScheme;
  std::shared_ptr<Impl> impl;
  if (url.is_secure())
    impl = std::make_shared<WsImpl<true>>(executor_, options_);
  else
    impl = std::make_shared<WsImpl<false>>(executor_, options_);
  impl_ = impl;
  // Only `impl` is used after this suspension: the client may be gone when it resumes.
  co_return co_await impl->connect(std::move(url));
}

asio::awaitable<result<Message>> WebSocketClient::read() {
  auto impl = impl_;
  if (!impl) co_return closed_ ? Errc::Closed : Errc::NotConnected;
  co_return co_await impl->read();
}

bool WebSocketClient::send_text(std::string text) {
  return impl_ && impl_->send(MessageKind::Text, std::move(text));
}

bool WebSocketClient::send_binary(Bytes data) {
  return impl_ && impl_->send(MessageKind::Binary, std::string(data.begin(), data.end()));
}

void WebSocketClient::close() {
  closed_ = true;
  if (impl_) impl_->close();
}

bool WebSocketClient::is_open() const noexcept {
  return impl_ && impl_->is_open();
}

std::string WebSocketClient::subprotocol() const {
  return impl_ ? impl_->subprotocol_ : std::string{};
}

std::size_t WebSocketClient::queued_bytes() const noexcept {
  return impl_ ? impl_->queued_bytes_ : 0;
}

std::pair<std::uint16_t, std::string> WebSocketClient::close_reason() const {
  return impl_ ? impl_->close_reason_ : std::pair<std::uint16_t, std::string>{};
}

} // namespace posthorn::net
