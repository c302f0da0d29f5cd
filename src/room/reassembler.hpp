#pragma once
// Reassembly of incoming action chunks into messages (spec/trystero-wire.md §8.5), with bounded
// memory and an optional streaming mode.
//
// Drive rules (sans-IO, as every posthorn core): feed each action chunk (the bytes after the
// room frame) with handle_chunk(peer, chunk), then drain poll_event() until it is empty. There
// is no clock and no I/O. Events are a closed variant:
//   Progress  one per accepted chunk, carrying the sender's progress byte / 255 (JS onProgress);
//   Complete  a whole message, decoded: text is UTF-8 (BOM stripped, invalid bytes → U+FFFD,
//             exactly as TextDecoder), JSON is that text and known to parse, binary is raw;
//   Chunk     streaming mode: one piece of a message as it arrives, nothing is held back
//             (text/JSON pieces are decoded incrementally, so they are always valid UTF-8);
//   Dropped   a message given up on (limits, bad metadata or JSON) or a malformed chunk; the
//             peer keeps working, later messages are unaffected.
//
// Messages are keyed by (peer, type, nonce), so messages of one type interleave when their nonces
// differ (§8.5.6). Bytes are concatenated first and decoded last, so a multi-byte character may
// straddle chunks (§13.6).
//
// Unlike JS, memory is bounded (ReassemblerLimits): a message over max_message_bytes is
// dropped; when a peer's partial messages would exceed max_buffered_bytes_per_peer or
// max_partial_messages_per_peer, its least recently active partial message is dropped to make
// room (usually one the sender abandoned: JS gives up a send after 10 s of back-pressure and never
// sends the rest), or the arriving message if nothing else can go.
//
// Not thread-safe: one owner (the room's strand). The streaming predicate runs inside
// handle_chunk and must not call back into the Reassembler.

#include "core/bytes.hpp"
#include "room/payload_kind.hpp"
#include "room/tuning.hpp"
#include "room/utf8.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace posthorn::room {

struct ReassemblerLimits {
  /// Partial-message bytes (payload + metadata) held for one peer (see tuning.hpp).
  std::size_t max_buffered_bytes_per_peer = tuning::kDefaultMaxBufferedBytesPerPeer;
  /// Largest message reassembled in memory; streamed messages are exempt.
  std::size_t max_message_bytes = tuning::kDefaultMaxMessageBytes;
  /// Messages of one peer in reassembly at once (values below 1 count as 1).
  std::size_t max_partial_messages_per_peer = tuning::kDefaultMaxPartialMessagesPerPeer;
};

struct Progress {
  std::string peer;
  std::string type;
  std::uint16_t nonce = 0;
  double fraction = 0; ///< the sender's progress byte / 255
  std::optional<std::string> metadata_json;
};

struct Complete {
  std::string peer;
  std::string type;
  PayloadKind kind = PayloadKind::Text; ///< from the last chunk's tag, as JS
  Bytes data;
  std::optional<std::string> metadata_json;
  std::uint16_t nonce = 0;
};

/// Streaming mode: one piece of a message. The first piece of a message creates the sink; the
/// piece with `last` ends it. A message whose only data is empty still yields one Chunk (last).
struct Chunk {
  std::string peer;
  std::string type;
  std::uint16_t nonce = 0;
  PayloadKind kind = PayloadKind::Text; ///< from the message's first chunk
  Bytes data;
  bool last = false;
  std::optional<std::string> metadata_json;
};

struct Dropped {
  std::string peer;
  std::string type; ///< empty for a chunk too short to have a header
  std::string reason;
  std::optional<std::uint16_t> nonce;
};

using ReassemblerEvent = std::variant<Progress, Complete, Chunk, Dropped>;

struct ReassemblerStats {
  std::uint64_t chunks = 0;             ///< every handle_chunk call
  std::uint64_t malformed_chunks = 0;   ///< shorter than the 36-byte header
  std::uint64_t completed_messages = 0; ///< Complete, or the last Chunk of a stream
  std::uint64_t dropped_messages = 0;   ///< Dropped events for messages
  std::uint64_t discarded_chunks = 0;   ///< later chunks of dropped messages, swallowed
};

class Reassembler {
public:
  /// Called at the first chunk of each message: true = deliver it as Chunk events.
  using StreamingPredicate = std::function<bool(const std::string& peer, std::string_view type)>;

  Reassembler() : Reassembler(ReassemblerLimits{}) {}
  explicit Reassembler(ReassemblerLimits limits) : limits_(limits) {}

  void set_streaming(StreamingPredicate predicate) { streaming_ = std::move(predicate); }

  /// One action chunk (header + payload) from `peer`.
  void handle_chunk(const std::string& peer, ByteView chunk);
  std::optional<ReassemblerEvent> poll_event();

  /// The peer left: its partial messages and its undelivered events go, without Dropped events.
  void forget_peer(const std::string& peer);

  [[nodiscard]] std::size_t buffered_bytes(const std::string& peer) const;
  [[nodiscard]] std::size_t partial_messages(const std::string& peer) const;
  [[nodiscard]] std::size_t total_buffered_bytes() const noexcept { return total_buffered_; }
  [[nodiscard]] const ReassemblerStats& stats() const noexcept { return stats_; }
  [[nodiscard]] const ReassemblerLimits& limits() const noexcept { return limits_; }

private:
  enum class Mode : std::uint8_t { Buffer, Stream, Discard };
  struct Message {
    Mode mode = Mode::Buffer;
    PayloadKind kind = PayloadKind::Text;
    bool has_content = false;
    std::size_t accounted = 0; // bytes counted against the peer's budget
    std::uint64_t touched = 0; // for least-recently-active eviction
    std::uint64_t chunks = 0;  // chunks accepted so far, the metadata chunk included
    Bytes data;
    std::optional<std::string> metadata;
    Utf8Decoder decoder;
  };
  using Key = std::pair<std::string, std::uint16_t>;
  using Messages = std::map<Key, Message>;
  struct PeerState {
    Messages messages;
    std::size_t buffered = 0;
    std::size_t open = 0;       // messages in Buffer or Stream mode
    std::size_t discarding = 0; // discard records
  };
  struct Context; // the chunk being handled

  void accept(Context& cx, ByteView payload);
  bool reserve(Context& cx, std::size_t bytes);
  /// Makes room in m.data for `bytes` more (growth policy, see the .cpp).
  void grow_for(Message& m, std::size_t bytes, std::uint8_t progress) const;
  void finish(Context& cx);
  void drop(const std::string& peer, PeerState& ps, Messages::iterator it, std::string reason,
            bool erase);
  bool evict_oldest(const std::string& peer, PeerState& ps, const Key* keep, bool need_bytes,
                    const std::string& reason);
  void erase(PeerState& ps, Messages::iterator it);
  void limit_discard_records(PeerState& ps);

  ReassemblerLimits limits_;
  StreamingPredicate streaming_;
  std::map<std::string, PeerState> peers_;
  std::deque<ReassemblerEvent> events_;
  std::size_t total_buffered_ = 0;
  std::uint64_t clock_ = 0;
  ReassemblerStats stats_;
};

} // namespace posthorn::room
