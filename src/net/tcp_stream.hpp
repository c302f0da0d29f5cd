#pragma once
// A plain TCP (mqtt://, tcp://) or TLS (mqtts://, tls://) byte stream with a write queue, on
// Asio; the ByteStream for brokers reached without WebSocket. TLS uses SNI and verifies the
// certificate against the system CA store unless ByteStreamOptions::tls says otherwise. Asio's
// SSL headers stay inside tcp_stream.cpp.
//
// Threading and lifetime: see byte_stream.hpp.

#include "net/byte_stream.hpp"

#include <memory>

namespace posthorn::net {

class TcpStream final : public ByteStream {
public:
  explicit TcpStream(boost::asio::any_io_executor executor, ByteStreamOptions options = {});
  ~TcpStream() override; ///< close() without waiting
  TcpStream(const TcpStream&) = delete;
  TcpStream& operator=(const TcpStream&) = delete;

  /// Resolves and connects (TLS handshake for mqtts/tls), within options.connect_timeout.
  [[nodiscard]] boost::asio::awaitable<result<void>> connect(Url url) override;
  [[nodiscard]] boost::asio::awaitable<result<Bytes>> read() override;
  bool send(Bytes data) override;
  void close() override;
  [[nodiscard]] bool is_open() const noexcept override;
  [[nodiscard]] std::size_t queued_bytes() const noexcept;

  class Impl;

private:
  boost::asio::any_io_executor executor_;
  ByteStreamOptions options_;
  std::shared_ptr<Impl> impl_;
  bool closed_ = false;
};

} // namespace posthorn::net
