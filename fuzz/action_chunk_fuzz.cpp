// Fuzz target for action chunks (spec/trystero-wire.md §8) and the Reassembler. The first byte
// picks a mode; each checks invariants, not just "no crash":
//
//   0  header codec: a decoded header re-encodes and decodes to an equal header (when its type
//      fits the 32-byte field and does not start with a BOM, which decoding strips); a canonical
//      header re-encodes to exactly the input's first 36 bytes.
//   1  adversarial session: arbitrary chunks (raw, or built from fuzzed header fields) from three
//      peers, some streamed, into a Reassembler with small limits. After every chunk: no peer
//      exceeds its byte or message budget, the total is the sum over peers, every Complete is
//      within max_message_bytes (3x for text: U+FFFD is 3 bytes), text and JSON output is valid
//      UTF-8, JSON output and all metadata parse, progress is in [0, 1]. forget_peer releases
//      everything.
//   2  well-formed interleaving: messages built by MessagePlan (fuzzed kinds, sizes, metadata)
//      interleaved in a fuzzed order under generous limits: each completes exactly once with
//      exactly its payload and metadata (the JS behaviour of §8.5).
#include "room/chunk.hpp"
#include "room/json_text.hpp"
#include "room/reassembler.hpp"
#include "room/utf8.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {

using namespace posthorn;
using namespace posthorn::room;

class Input {
public:
  Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  std::uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  std::uint16_t u16() { return static_cast<std::uint16_t>((byte() << 8) | byte()); }
  ByteView take(std::size_t n) {
    n = std::min(n, size_ - std::min(pos_, size_));
    ByteView v(data_ + pos_, n);
    pos_ += n;
    return v;
  }

private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

void check(bool ok) {
  if (!ok) std::abort();
}

void header_mode(Input& in) {
  const ByteView chunk = in.take(64);
  auto decoded = decode_chunk(chunk);
  if (!decoded) {
    check(chunk.size() < kChunkHeaderSize);
    return;
  }
  const ChunkHeader& h = decoded->header;
  check(h.type.find('\0') == std::string::npos);
  check(is_valid_utf8(as_bytes(h.type)));
  check(decoded->payload.size() == chunk.size() - kChunkHeaderSize);
  if (h.type.size() > kMaxActionNameBytes || h.type.starts_with("\xef\xbb\xbf")) return;
  Bytes encoded;
  encode_chunk_header(encoded, h);
  check(encoded.size() == kChunkHeaderSize);
  auto again = decode_chunk_header(encoded);
  check(again && *again == h);
  // Canonical input: type bytes then NUL padding, only defined tag bits, binary with bit3.
  const std::uint8_t tag = chunk[34];
  Bytes canonical_type(chunk.begin(), chunk.begin() + kMaxActionNameBytes);
  Bytes expected_type(h.type.begin(), h.type.end());
  expected_type.resize(kMaxActionNameBytes, 0);
  const bool canonical = canonical_type == expected_type && (tag & 0xF0) == 0 &&
                         ((tag & kTagBinary) == 0 || (tag & kTagJson) != 0);
  if (canonical) check(std::memcmp(encoded.data(), chunk.data(), kChunkHeaderSize) == 0);
}

void check_event(const ReassemblerEvent& event, const ReassemblerLimits& limits) {
  if (const auto* p = std::get_if<Progress>(&event)) {
    check(p->fraction >= 0.0 && p->fraction <= 1.0);
    if (p->metadata_json) check(detail::is_valid_json(*p->metadata_json));
  } else if (const auto* c = std::get_if<Complete>(&event)) {
    // Binary is held as received; decoding text may turn each invalid byte into a 3-byte U+FFFD.
    check(c->data.size() <= limits.max_message_bytes * (c->kind == PayloadKind::Binary ? 1 : 3));
    if (c->kind != PayloadKind::Binary) check(is_valid_utf8(c->data));
    if (c->kind == PayloadKind::Json) check(detail::is_valid_json(as_string_view(c->data)));
    if (c->metadata_json) check(detail::is_valid_json(*c->metadata_json));
  } else if (const auto* s = std::get_if<Chunk>(&event)) {
    if (s->kind != PayloadKind::Binary) check(is_valid_utf8(s->data));
    if (s->metadata_json) check(detail::is_valid_json(*s->metadata_json));
  }
}

void session_mode(Input& in) {
  const ReassemblerLimits limits{.max_buffered_bytes_per_peer = 40000,
                                 .max_message_bytes = 30000,
                                 .max_partial_messages_per_peer = 3};
  Reassembler r(limits);
  r.set_streaming(
      [](const std::string& peer, std::string_view type) { return peer == "s" || type == "b"; });
  const std::string peers[] = {"p", "q", "s"};
  static const char* const kTypes[] = {"a", "b", "@_x"};
  static const char* const kMeta[] = {"{}", "[1,2]", "\"m\"", "{bad",
                                      "\xef\xbb\xbf"
                                      "1"};
  while (!in.empty()) {
    const std::uint8_t op = in.byte();
    const std::string& peer = peers[op % 3];
    if ((op >> 2) % 16 == 15) {
      r.forget_peer(peer);
      check(r.buffered_bytes(peer) == 0 && r.partial_messages(peer) == 0);
    } else if (op & 0x80) {
      r.handle_chunk(peer, in.take(in.u16() % 2048));
    } else {
      // A chunk with fuzzed header fields and a payload of a fuzzed length.
      ChunkHeader h;
      h.type = kTypes[in.byte() % 3];
      h.nonce = in.byte() % 4;
      const std::uint8_t tag = in.byte();
      h.last = tag & kTagLast;
      h.metadata = tag & kTagMetadata;
      h.kind = kind_from_tag(tag);
      h.progress = in.byte();
      Bytes chunk;
      encode_chunk_header(chunk, h);
      if (h.metadata) {
        const std::string meta = kMeta[in.byte() % 5];
        chunk.insert(chunk.end(), meta.begin(), meta.end());
      } else {
        const std::size_t length = static_cast<std::size_t>(in.byte()) * 97;
        const ByteView fill = in.take(8);
        for (std::size_t i = 0; i < length; ++i)
          chunk.push_back(fill.empty() ? 'x' : fill[i % fill.size()]);
      }
      r.handle_chunk(peer, chunk);
    }
    std::size_t sum = 0;
    for (const auto& p : peers) {
      check(r.buffered_bytes(p) <= limits.max_buffered_bytes_per_peer);
      check(r.partial_messages(p) <= limits.max_partial_messages_per_peer);
      sum += r.buffered_bytes(p);
    }
    check(sum == r.total_buffered_bytes());
    while (auto e = r.poll_event())
      check_event(*e, limits);
  }
  for (const auto& p : peers)
    r.forget_peer(p);
  check(r.total_buffered_bytes() == 0);
  check(!r.poll_event());
}

void interleave_mode(Input& in) {
  struct Message {
    std::vector<Bytes> chunks;
    std::size_t next = 0;
    Bytes expected;
    PayloadKind kind;
    std::optional<std::string> meta;
    int completed = 0;
  };
  std::vector<Message> messages;
  const std::size_t count = 1 + in.byte() % 5;
  for (std::size_t m = 0; m < count; ++m) {
    Message msg;
    msg.kind = static_cast<PayloadKind>(in.byte() % 3);
    const std::size_t size = static_cast<std::size_t>(in.u16()) % 50000;
    if (in.byte() & 1) msg.meta = "{\"m\":" + std::to_string(m) + "}";
    const ByteView seed = in.take(16);
    for (std::size_t i = 0; i < size; ++i) {
      std::uint8_t b = seed.empty() ? static_cast<std::uint8_t>(i) : seed[i % seed.size()];
      // Text and JSON payloads are what a JS sender produces: valid UTF-8, valid JSON.
      if (msg.kind != PayloadKind::Binary) b = static_cast<std::uint8_t>('a' + b % 26);
      msg.expected.push_back(b);
    }
    if (msg.kind == PayloadKind::Json) {
      msg.expected.insert(msg.expected.begin(), '"');
      msg.expected.push_back('"');
    }
    MessagePlan plan("t", static_cast<std::uint16_t>(m), msg.kind, msg.expected.size(), msg.meta);
    for (std::size_t i = 0; i < plan.chunk_count(); ++i) {
      const auto range = plan.chunk_range(i);
      Bytes chunk;
      plan.write_chunk(chunk, i,
                       range.metadata
                           ? as_bytes(*msg.meta)
                           : ByteView(msg.expected)
                                 .subspan(static_cast<std::size_t>(range.offset), range.length));
      msg.chunks.push_back(std::move(chunk));
    }
    messages.push_back(std::move(msg));
  }
  Reassembler r;
  auto drain = [&] {
    while (auto e = r.poll_event()) {
      check(!std::holds_alternative<Dropped>(*e));
      if (const auto* c = std::get_if<Complete>(&*e)) {
        check(c->nonce < messages.size());
        Message& msg = messages[c->nonce];
        check(msg.next == msg.chunks.size());
        check(c->data == msg.expected && c->kind == msg.kind && c->metadata_json == msg.meta);
        ++msg.completed;
      }
    }
  };
  for (;;) {
    std::vector<std::size_t> pending;
    for (std::size_t m = 0; m < messages.size(); ++m)
      if (messages[m].next < messages[m].chunks.size()) pending.push_back(m);
    if (pending.empty()) break;
    Message& msg = messages[pending[in.byte() % pending.size()]];
    r.handle_chunk("p", msg.chunks[msg.next++]);
    drain();
  }
  for (const auto& msg : messages)
    check(msg.completed == 1);
  check(r.total_buffered_bytes() == 0 && r.partial_messages("p") == 0);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  switch (in.byte() % 3) {
  case 0: header_mode(in); break;
  case 1: session_mode(in); break;
  default: interleave_mode(in); break;
  }
  return 0;
}
