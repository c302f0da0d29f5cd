#pragma once
// Internal: a memory datagram BIO, the seam between OpenSSL and the sans-IO endpoint.
//
// OpenSSL 3.0 has no datagram pair BIO, and a memory BIO (BIO_s_mem) is a byte stream: it would
// glue datagrams together and lose their boundaries, which DTLS depends on. This BIO keeps them:
//   - write: each BIO_write is exactly one datagram. During the handshake OpenSSL puts a
//     buffering BIO on top and flushes one MTU-sized packet per write; afterwards each SSL_write
//     is one record, one write. The bytes are copied into the endpoint's outbox.
//   - read: returns the datagram the endpoint is handling (without copying it first), once; then
//     "retry", which OpenSSL turns into SSL_ERROR_WANT_READ. A buffer shorter than the datagram
//     truncates it, as recv() on a UDP socket does.
// The endpoint owns the DatagramIo and outlives the BIO (SSL_free frees the BIO first).

#include "core/bytes.hpp"

#include <openssl/bio.h>

#include <cstddef>
#include <deque>

namespace posthorn::dtls::detail {

struct DatagramIo {
  ByteView inbound;         // the datagram being handled
  bool has_inbound = false; // false once OpenSSL has read it
  std::deque<Bytes> outbox; // datagrams to send, oldest first
  std::size_t mtu = 0;      // what BIO_CTRL_DGRAM_QUERY_MTU answers
};

/// A new BIO over `io` (refcount 1), or nullptr if OpenSSL is out of memory.
BIO* make_datagram_bio(DatagramIo* io);

} // namespace posthorn::dtls::detail
