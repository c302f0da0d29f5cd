#include "dtls/datagram_bio.hpp"

#include <algorithm>
#include <cstring>

namespace posthorn::dtls::detail {
namespace {

DatagramIo* io_of(BIO* b) noexcept {
  return static_cast<DatagramIo*>(BIO_get_data(b));
}

int bio_write(BIO* b, const char* data, int len) {
  BIO_clear_retry_flags(b);
  DatagramIo* io = io_of(b);
  if (io == nullptr || len <= 0) return 0;
  const auto* p = reinterpret_cast<const std::uint8_t*>(data);
  // Never "would block": the outbox is drained by the driver after every input (the sans-IO
  // drive rule), so OpenSSL never has to hold a record back.
  io->outbox.emplace_back(p, p + len);
  return len;
}

int bio_read(BIO* b, char* out, int len) {
  BIO_clear_retry_flags(b);
  DatagramIo* io = io_of(b);
  if (io == nullptr || len < 0) return 0;
  if (!io->has_inbound) {
    BIO_set_retry_read(b);
    return -1;
  }
  const std::size_t n = std::min(static_cast<std::size_t>(len), io->inbound.size());
  if (n > 0) std::memcpy(out, io->inbound.data(), n);
  io->has_inbound = false;
  io->inbound = {};
  return static_cast<int>(n);
}

int bio_puts(BIO* b, const char* s) {
  return bio_write(b, s, static_cast<int>(std::strlen(s)));
}

long bio_ctrl(BIO* b, int cmd, long num, void* /*ptr*/) {
  DatagramIo* io = io_of(b);
  switch (cmd) {
  // No socket to ask, and no IP/UDP header to subtract: `mtu` is already the largest UDP
  // payload we want (SSL_OP_NO_QUERY_MTU keeps OpenSSL from probing below it).
  case BIO_CTRL_DGRAM_QUERY_MTU:
  case BIO_CTRL_DGRAM_GET_FALLBACK_MTU: return io ? static_cast<long>(io->mtu) : 0;
  case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD: return 0;
  case BIO_CTRL_DGRAM_SET_MTU: return num;
  case BIO_CTRL_DGRAM_MTU_EXCEEDED: return 0;
  // OpenSSL announces its retransmission deadline here for socket BIOs that use it as a receive
  // timeout. We ask DTLSv1_get_timeout() instead, after every input.
  case BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT: return 1;
  // ICE owns addressing; the BIO is "connected" to whatever pair ICE selected.
  case BIO_CTRL_DGRAM_GET_PEER: return 0;
  case BIO_CTRL_DGRAM_SET_PEER:
  case BIO_CTRL_DGRAM_CONNECT:
  case BIO_CTRL_DGRAM_SET_CONNECTED: return 1;
  case BIO_CTRL_PENDING: return io && io->has_inbound ? static_cast<long>(io->inbound.size()) : 0;
  // Every write is handed to the outbox at once: nothing is ever pending below OpenSSL.
  case BIO_CTRL_WPENDING: return 0;
  case BIO_CTRL_FLUSH: return 1;
  case BIO_CTRL_EOF: return 0;
  default: return 0;
  }
}

int bio_create(BIO* b) {
  BIO_set_init(b, 0);
  BIO_set_data(b, nullptr);
  return 1;
}

int bio_destroy(BIO* b) {
  if (b == nullptr) return 0;
  BIO_set_data(b, nullptr);
  BIO_set_init(b, 0);
  return 1;
}

BIO_METHOD* make_method() {
  BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "posthorn datagram");
  if (m == nullptr) return nullptr;
  BIO_meth_set_write(m, bio_write);
  BIO_meth_set_read(m, bio_read);
  BIO_meth_set_puts(m, bio_puts);
  BIO_meth_set_ctrl(m, bio_ctrl);
  BIO_meth_set_create(m, bio_create);
  BIO_meth_set_destroy(m, bio_destroy);
  return m;
}

} // namespace

BIO* make_datagram_bio(DatagramIo* io) {
  // One method table for the process, built on first use (thread-safe static initialization)
  // and intentionally never freed: BIOs of other threads may still point at it at exit.
  static BIO_METHOD* const method = make_method();
  if (method == nullptr) return nullptr;
  BIO* b = BIO_new(method);
  if (b == nullptr) return nullptr;
  BIO_set_data(b, io);
  BIO_set_init(b, 1);
  return b;
}

} // namespace posthorn::dtls::detail
