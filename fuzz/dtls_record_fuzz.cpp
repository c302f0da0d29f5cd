// Fuzzes the DTLS record-header parser and the endpoint's handling of arbitrary datagrams.
//
// Invariants checked (abort on violation):
//   - count_records and parse_records agree; accepted input re-serializes to the same bytes;
//   - a datagram the parser rejects is dropped and counted by an Endpoint, never handed to
//     OpenSSL (no reply, no state change);
//   - whatever an Endpoint sends in reply is itself well-formed DTLS records within the MTU.
#include "dtls/endpoint.hpp"
#include "dtls/record.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace {

using namespace posthorn;
using namespace posthorn::dtls;

#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      std::fprintf(stderr, "invariant failed: %s (line %d)\n", #cond, __LINE__);                   \
      std::abort();                                                                                \
    }                                                                                              \
  } while (0)

const std::shared_ptr<const Certificate>& certificate() {
  static const auto cert = Certificate::generate().value();
  return cert;
}

void check_replies(Endpoint& ep) {
  while (auto d = ep.poll_transmit()) {
    FUZZ_CHECK(count_records(*d).has_value());
    FUZZ_CHECK(d->size() <= kDefaultMtu);
  }
  while (ep.poll_event()) {
  }
}

void check_parser(ByteView data) {
  auto count = count_records(data);
  auto records = parse_records(data);
  FUZZ_CHECK(count.has_value() == records.has_value());
  if (!records) return;
  FUZZ_CHECK(*count == records->size());
  ByteWriter w;
  for (const Record& r : *records) {
    FUZZ_CHECK(r.header.length == r.fragment.size());
    write_record_header(w, r.header);
    w.bytes(r.fragment);
  }
  FUZZ_CHECK(w.size() == data.size());
  FUZZ_CHECK(std::equal(data.begin(), data.end(), w.view().begin()));
  auto first = parse_record_header(data);
  FUZZ_CHECK(first && *first == records->front().header);
}

void check_endpoint(ByteView data, Role role) {
  const TimePoint t0{};
  Endpoint::Config config;
  config.role = role;
  config.certificate = certificate();
  Endpoint ep(config);
  ep.start(t0);
  check_replies(ep); // a client's ClientHello
  const bool well_formed = count_records(data).has_value();
  ep.handle_datagram(t0, data);
  FUZZ_CHECK(ep.dropped_datagrams() == (well_formed ? 0u : 1u));
  if (!well_formed) {
    FUZZ_CHECK(!ep.poll_transmit());
    FUZZ_CHECK(!ep.poll_event());
    FUZZ_CHECK(ep.state() == State::Connecting);
  }
  check_replies(ep);
  ep.handle_timeout(t0 + seconds(31)); // the handshake timeout ends every endpoint
  FUZZ_CHECK(ep.state() == State::Failed || ep.state() == State::Closed);
  FUZZ_CHECK(!ep.poll_timeout());
  check_replies(ep);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteView input(data, size);
  check_parser(input);
  check_endpoint(input, Role::Server);
  check_endpoint(input, Role::Client);
  return 0;
}
