#include "net/tcp_stream.hpp"

#include "core/log.hpp"
#include "net/errc.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <deque>
#include <optional>
#include <type_traits>

namespace posthorn::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
} // namespace

/// The connection, shared with its in-flight operations (see websocket_client.cpp).
class TcpStream::Impl : public std::enable_shared_from_this<Impl> {
public:
  virtual ~Impl() = default;
  virtual asio::awaitable<result<void>> connect(Url url) = 0;
  virtual asio::awaitable<result<Bytes>> read() = 0;
  virtual bool send(Bytes data) = 0;
  virtual void close() = 0;
  [[nodiscard]] virtual bool is_open() const noexcept = 0;
  std::size_t queued_bytes_ = 0;
};

namespace {

template <bool Tls> class TcpImpl final : public TcpStream::Impl {
  using Stream = std::conditional_t<Tls, asio::ssl::stream<tcp::socket>, tcp::socket>;

public:
  TcpImpl(const asio::any_io_executor& executor, const ByteStreamOptions& options)
      : executor_(executor), options_(options), resolver_(executor), close_timer_(executor) {
    if constexpr (Tls) {
      tls_context_.emplace(asio::ssl::context::tls_client);
      if (auto r = detail::configure_client_context(*tls_context_, options_.tls); !r)
        setup_error_ = r.error();
      stream_.emplace(executor, *tls_context_);
    } else {
      stream_.emplace(executor);
    }
  }

  asio::awaitable<result<void>> connect(Url url) override {
    auto self = shared_from_this();
    if (setup_error_) co_return setup_error_;
    if (abort_error_) co_return abort_error_;
    asio::steady_timer watchdog(executor_, options_.connect_timeout);
    watchdog.async_wait([weak = weak_from_this()](error_code ec) {
      if (ec) return;
      if (auto impl = weak.lock())
        static_cast<TcpImpl*>(impl.get())->abort_connect(Errc::ConnectTimeout);
    });
    auto r = co_await handshake(std::move(url));
    watchdog.cancel();
    if (abort_error_) co_return abort_error_;
    if (!r) {
      drop_socket();
      co_return r.error();
    }
    open_ = true;
    co_return result<void>{};
  }

  asio::awaitable<result<Bytes>> read() override {
    auto self = shared_from_this();
    if (!open_) {
      if (local_close_) co_return Errc::Closed;
      co_return failure_ ? failure_ : error_code(Errc::NotConnected);
    }
    if (reading_) co_return Errc::ReadInProgress;
    reading_ = true;
    Bytes buffer(options_.read_chunk_size);
    auto [ec, n] = co_await stream_->async_read_some(asio::buffer(buffer), kNoThrow);
    reading_ = false;
    if (ec) {
      error_code mapped = ec;
      if (local_close_)
        mapped = Errc::Closed;
      else if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)
        mapped = Errc::ClosedByPeer;
      failure_ = mapped;
      fail_connection();
      co_return mapped;
    }
    buffer.resize(n);
    co_return buffer;
  }

  bool send(Bytes data) override {
    if (!is_open() || data.empty()) return false;
    if (queued_bytes_ + data.size() > options_.max_queued_bytes) return false;
    queued_bytes_ += data.size();
    queue_.push_back(std::move(data));
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
    close_timer_.expires_after(options_.close_timeout);
    close_timer_.async_wait([self = shared_from_this(), this](error_code ec) {
      if (!ec) fail_connection();
    });
    if (!writing_) shutdown();
  }

  [[nodiscard]] bool is_open() const noexcept override { return open_ && !local_close_; }

private:
  tcp::socket& socket() {
    if constexpr (Tls)
      return stream_->next_layer();
    else
      return *stream_;
  }

  asio::awaitable<result<void>> handshake(Url url) {
    auto [rec, endpoints] =
        co_await resolver_.async_resolve(url.host, std::to_string(url.port), kNoThrow);
    if (rec) co_return rec;
    if (abort_error_) co_return abort_error_;
    auto [cec, endpoint] = co_await asio::async_connect(socket(), endpoints, kNoThrow);
    if (cec) co_return cec;
    (void)endpoint;
    error_code ignored;
    socket().set_option(tcp::no_delay(true), ignored); // small control packets, sent at once
    if constexpr (Tls) {
      if (auto r = detail::prepare_client_session(stream_->native_handle(), url.host, options_.tls);
          !r)
        co_return r.error();
      auto [hec] = co_await stream_->async_handshake(asio::ssl::stream_base::client, kNoThrow);
      if (hec) co_return hec;
    }
    co_return result<void>{};
  }

  void abort_connect(error_code why) {
    if (open_ || abort_error_) return;
    abort_error_ = why;
    resolver_.cancel();
    drop_socket();
  }

  void drop_socket() {
    error_code ignored;
    socket().close(ignored);
  }

  void fail_connection() {
    open_ = false;
    queue_.clear();
    queued_bytes_ = 0;
    close_timer_.cancel();
    drop_socket();
  }

  void write_next() {
    if (queue_.empty() || !open_) {
      writing_ = false;
      if (local_close_ && open_) shutdown();
      return;
    }
    writing_ = true;
    asio::async_write(*stream_, asio::buffer(queue_.front()),
                      [self = shared_from_this(), this](error_code ec, std::size_t) {
                        if (!queue_.empty()) {
                          queued_bytes_ -= queue_.front().size();
                          queue_.pop_front();
                        }
                        if (ec) {
                          POSTHORN_LOG(Debug, "net", "TCP write failed: ", ec.message());
                          writing_ = false;
                          fail_connection();
                          return;
                        }
                        write_next();
                      });
  }

  /// After the queue is flushed: TLS close_notify (RFC 8446 §6.1), then the socket goes.
  void shutdown() {
    if (shutdown_started_) return;
    shutdown_started_ = true;
    if constexpr (Tls) {
      stream_->async_shutdown([self = shared_from_this(), this](error_code) { fail_connection(); });
    } else {
      error_code ignored;
      socket().shutdown(tcp::socket::shutdown_both, ignored);
      fail_connection();
    }
  }

  asio::any_io_executor executor_;
  ByteStreamOptions options_;
  std::optional<asio::ssl::context> tls_context_;
  tcp::resolver resolver_;
  std::optional<Stream> stream_;
  asio::steady_timer close_timer_;
  std::deque<Bytes> queue_;
  error_code setup_error_;
  error_code abort_error_;
  error_code failure_; // why an open connection ended, for reads after the first failing one
  bool open_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool local_close_ = false;
  bool shutdown_started_ = false;
};

} // namespace

TcpStream::TcpStream(asio::any_io_executor executor, ByteStreamOptions options)
    : executor_(std::move(executor)), options_(std::move(options)) {}

TcpStream::~TcpStream() {
  close();
}

asio::awaitable<result<void>> TcpStream::connect(Url url) {
  if (closed_) co_return Errc::Closed;
  if (impl_) co_return Errc::AlreadyConnected;
  if (url.is_websocket() || default_port(url.scheme) == 0) co_return Errc::UnsupportedScheme;
  std::shared_ptr<Impl> impl;
  if (url.is_secure())
    impl = std::make_shared<TcpImpl<true>>(executor_, options_);
  else
    impl = std::make_shared<TcpImpl<false>>(executor_, options_);
  impl_ = impl;
  co_return co_await impl->connect(std::move(url)); // only `impl` after this point
}

asio::awaitable<result<Bytes>> TcpStream::read() {
  auto impl = impl_;
  if (!impl) co_return closed_ ? Errc::Closed : Errc::NotConnected;
  co_return co_await impl->read();
}

bool TcpStream::send(Bytes data) {
  return impl_ && impl_->send(std::move(data));
}

void TcpStream::close() {
  closed_ = true;
  if (impl_) impl_->close();
}

bool TcpStream::is_open() const noexcept {
  return impl_ && impl_->is_open();
}

std::size_t TcpStream::queued_bytes() const noexcept {
  return impl_ ? impl_->queued_bytes_ : 0;
}

} // namespace posthorn::net
