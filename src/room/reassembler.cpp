#include "room/reassembler.hpp"

#include "core/overloaded.hpp"
#include "room/chunk.hpp"
#include "room/json_text.hpp"

#include <algorithm>
#include <limits>

namespace posthorn::room {
namespace {

constexpr std::uint8_t kBom[] = {0xEF, 0xBB, 0xBF};

std::string mib(std::size_t bytes) {
  if (bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes) + " bytes";
}

/// §8.5.5: text and JSON are decoded like TextDecoder. Most payloads are already valid UTF-8
/// without a BOM and are kept as they are.
Bytes decode_text(Bytes data) {
  const bool has_bom =
      data.size() >= 3 && std::equal(std::begin(kBom), std::end(kBom), data.begin());
  if (!has_bom && is_valid_utf8(data)) return data;
  Bytes out;
  Utf8Decoder decoder;
  decoder.feed(data, out);
  decoder.finish(out);
  return out;
}

const std::string& peer_of(const ReassemblerEvent& event) {
  return std::visit([](const auto& e) -> const std::string& { return e.peer; }, event);
}

} // namespace

struct Reassembler::Context {
  const std::string& peer;
  PeerState& ps;
  Messages::iterator it;
  const ChunkHeader& header;
};

void Reassembler::handle_chunk(const std::string& peer, ByteView bytes) {
  ++stats_.chunks;
  auto chunk = decode_chunk(bytes);
  if (!chunk) {
    ++stats_.malformed_chunks;
    events_.push_back(Dropped{peer, {}, "malformed chunk: " + chunk.error().message(), {}});
    return;
  }
  const ChunkHeader& h = chunk->header;
  PeerState& ps = peers_[peer];
  Key key{h.type, h.nonce};
  auto it = ps.messages.find(key);

  // §8.3: a metadata chunk is always the first chunk of its message. Seeing one for a key in use
  // means a new message reused the nonce: the old one was abandoned by its sender (JS stops a
  // send after 10 s of back-pressure) or was being discarded.
  if (it != ps.messages.end() && h.metadata) {
    if (it->second.mode == Mode::Discard) {
      erase(ps, it);
    } else if (it->second.has_content) {
      drop(peer, ps, it, "abandoned by the sender (a new message reused its nonce)", true);
    }
    it = ps.messages.find(key);
  }

  if (it != ps.messages.end() && it->second.mode == Mode::Discard) {
    ++stats_.discarded_chunks;
    it->second.touched = ++clock_;
    if (h.last) erase(ps, it);
  } else {
    if (it == ps.messages.end()) {
      const std::size_t max_open = std::max<std::size_t>(limits_.max_partial_messages_per_peer, 1);
      if (ps.open >= max_open)
        evict_oldest(peer, ps, nullptr, false,
                     "too many messages in flight from this peer (limit " +
                         std::to_string(max_open) + ")");
      Message message;
      message.mode = (streaming_ && streaming_(peer, h.type)) ? Mode::Stream : Mode::Buffer;
      message.kind = h.kind;
      it = ps.messages.emplace(key, std::move(message)).first;
      ++ps.open;
    }
    it->second.touched = ++clock_;
    Context cx{peer, ps, it, h};
    accept(cx, chunk->payload);
  }

  if (ps.messages.empty()) peers_.erase(peer);
}

void Reassembler::accept(Context& cx, ByteView payload) {
  Message& m = cx.it->second;
  const ChunkHeader& h = cx.header;
  ++m.chunks;
  if (h.metadata) {
    // §8.5.4: the metadata chunk's payload is the metadata JSON (any JSON value).
    Bytes text = decode_text(Bytes(payload.begin(), payload.end()));
    if (!detail::is_valid_json(as_string_view(text))) {
      drop(cx.peer, cx.ps, cx.it, "metadata is not valid JSON", h.last);
      return;
    }
    if (!reserve(cx, text.size())) return;
    m.metadata = std::string(text.begin(), text.end());
  } else if (m.mode == Mode::Buffer) {
    if (!reserve(cx, payload.size())) return;
    grow_for(m, payload.size(), h.progress);
    m.data.insert(m.data.end(), payload.begin(), payload.end());
  }
  m.has_content = true;

  events_.push_back(Progress{cx.peer, h.type, h.nonce, h.progress / 255.0, m.metadata});

  if (m.mode == Mode::Stream && (!h.metadata || h.last)) {
    Chunk piece{cx.peer, h.type, h.nonce, m.kind, {}, h.last, m.metadata};
    if (m.kind == PayloadKind::Binary) {
      if (!h.metadata) piece.data.assign(payload.begin(), payload.end());
    } else {
      if (!h.metadata) m.decoder.feed(payload, piece.data);
      if (h.last) m.decoder.finish(piece.data);
    }
    events_.push_back(std::move(piece));
  }
  if (h.last) finish(cx);
}

// Large messages arrive as thousands of 16 KiB chunks with no total size in their headers (§8.1),
// and growing the buffer by copying it dominated the receiving side (copies plus page faults of
// the new buffer). The progress byte, round((i+1)/total × 255), bounds the total from above once it
// is large enough: x ≥ p − ½ gives total ≤ (i+1)·255/(p − ½). From p = 8 on the bound is at most
// 13% above the truth, so one reservation there (after about 3% of the message) replaces every
// later copy. Until then the buffer grows 4×, and never by less than 2× (a sender whose progress
// byte lies low must not make every chunk copy the buffer). Either way the capacity never exceeds
// what the limits let the message reach, and reserved pages that are never written are not
// resident: an over-estimate costs address space only.
void Reassembler::grow_for(Message& m, std::size_t bytes, std::uint8_t progress) const {
  const std::size_t needed = m.data.size() + bytes;
  if (needed <= m.data.capacity()) return;
  constexpr std::size_t kSmall = 64 * 1024; // below this the allocator's own growth is fine
  if (needed < kSmall) return;
  const std::size_t cap = std::min(limits_.max_message_bytes, limits_.max_buffered_bytes_per_peer);
  std::size_t target = m.data.capacity() * 4;
  constexpr std::uint8_t kProgressTrusted = 8;
  if (progress >= kProgressTrusted) {
    const std::uint64_t seen = m.chunks; // i + 1, this chunk included
    const std::uint64_t total_max = seen * 255 * 2 / (2 * progress - 1u);
    const std::size_t estimate = needed + (total_max - std::min(total_max, seen)) * bytes;
    target = std::max(estimate, m.data.capacity() * 2);
  }
  m.data.reserve(std::max(needed, std::min(cap, target)));
}

bool Reassembler::reserve(Context& cx, std::size_t bytes) {
  Message& m = cx.it->second;
  if (bytes == 0) return true;
  if (bytes > limits_.max_message_bytes || m.accounted > limits_.max_message_bytes - bytes) {
    drop(cx.peer, cx.ps, cx.it,
         "message is larger than the " + mib(limits_.max_message_bytes) + " limit", cx.header.last);
    return false;
  }
  const std::size_t budget = limits_.max_buffered_bytes_per_peer;
  while (cx.ps.buffered + bytes > budget) {
    const std::string reason = "this peer's partial messages exceed " + mib(budget);
    if (!evict_oldest(cx.peer, cx.ps, &cx.it->first, true, reason)) {
      drop(cx.peer, cx.ps, cx.it, reason, cx.header.last);
      return false;
    }
  }
  m.accounted += bytes;
  cx.ps.buffered += bytes;
  total_buffered_ += bytes;
  return true;
}

void Reassembler::finish(Context& cx) {
  Message& m = cx.it->second;
  const ChunkHeader& h = cx.header;
  if (m.mode == Mode::Buffer) {
    // §8.5.5: concatenate, then decode by the kind of the last chunk (as JS does).
    Bytes data = std::move(m.data);
    if (h.kind != PayloadKind::Binary) data = decode_text(std::move(data));
    if (h.kind == PayloadKind::Json && !detail::is_valid_json(as_string_view(data))) {
      drop(cx.peer, cx.ps, cx.it, "payload is not valid JSON", true);
      return;
    }
    events_.push_back(
        Complete{cx.peer, h.type, h.kind, std::move(data), std::move(m.metadata), h.nonce});
  }
  ++stats_.completed_messages;
  erase(cx.ps, cx.it);
}

void Reassembler::drop(const std::string& peer, PeerState& ps, Messages::iterator it,
                       std::string reason, bool erase_now) {
  ++stats_.dropped_messages;
  events_.push_back(Dropped{peer, it->first.first, std::move(reason), it->first.second});
  if (erase_now) {
    erase(ps, it);
    return;
  }
  // Keep a record that swallows the rest of this message up to its last chunk.
  Message& m = it->second;
  ps.buffered -= m.accounted;
  total_buffered_ -= m.accounted;
  m.accounted = 0;
  m.mode = Mode::Discard;
  Bytes().swap(m.data);
  m.metadata.reset();
  --ps.open;
  ++ps.discarding;
  limit_discard_records(ps);
}

bool Reassembler::evict_oldest(const std::string& peer, PeerState& ps, const Key* keep,
                               bool need_bytes, const std::string& reason) {
  auto victim = ps.messages.end();
  for (auto it = ps.messages.begin(); it != ps.messages.end(); ++it) {
    const Message& m = it->second;
    if (m.mode == Mode::Discard || (keep && it->first == *keep)) continue;
    if (need_bytes && m.accounted == 0) continue;
    if (victim == ps.messages.end() || m.touched < victim->second.touched) victim = it;
  }
  if (victim == ps.messages.end()) return false;
  drop(peer, ps, victim, reason, false);
  return true;
}

void Reassembler::erase(PeerState& ps, Messages::iterator it) {
  Message& m = it->second;
  ps.buffered -= m.accounted;
  total_buffered_ -= m.accounted;
  if (m.mode == Mode::Discard) {
    --ps.discarding;
  } else {
    --ps.open;
  }
  ps.messages.erase(it);
}

void Reassembler::limit_discard_records(PeerState& ps) {
  while (ps.discarding > tuning::kMaxDiscardRecordsPerPeer) {
    auto oldest = ps.messages.end();
    for (auto it = ps.messages.begin(); it != ps.messages.end(); ++it)
      if (it->second.mode == Mode::Discard &&
          (oldest == ps.messages.end() || it->second.touched < oldest->second.touched))
        oldest = it;
    erase(ps, oldest);
  }
}

std::optional<ReassemblerEvent> Reassembler::poll_event() {
  if (events_.empty()) return std::nullopt;
  ReassemblerEvent event = std::move(events_.front());
  events_.pop_front();
  return event;
}

void Reassembler::forget_peer(const std::string& peer) {
  auto it = peers_.find(peer);
  if (it != peers_.end()) {
    total_buffered_ -= it->second.buffered;
    peers_.erase(it);
  }
  std::erase_if(events_, [&](const ReassemblerEvent& e) { return peer_of(e) == peer; });
}

std::size_t Reassembler::buffered_bytes(const std::string& peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? 0 : it->second.buffered;
}

std::size_t Reassembler::partial_messages(const std::string& peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? 0 : it->second.open;
}

} // namespace posthorn::room
