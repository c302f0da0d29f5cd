#pragma once
// Action chunks (spec/trystero-wire.md §8.1–§8.4): the unit Trystero sends inside a room frame.
//
//   offset 0  32 bytes  action type, UTF-8, NUL-padded
//   offset 32  2 bytes  nonce, big-endian
//   offset 34  1 byte   tag: bit0 last, bit1 metadata chunk, bit2 binary, bit3 JSON
//   offset 35  1 byte   progress = round((i+1)/total × 255)
//   offset 36           payload (at most 16 348 bytes, except a metadata chunk)
//
// A message of `len` payload bytes is ceil(len/16348) chunks (at least 1), plus a leading
// metadata chunk when it has metadata. MessagePlan describes those chunks without holding the
// payload, so a caller can stream a file from disk one chunk at a time. Pure code, no state
// beyond NonceCounter's counter.

#include "core/bytes.hpp"
#include "room/payload_kind.hpp"

#include <posthorn/error.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace posthorn::room {

inline constexpr std::size_t kChunkHeaderSize = 36;
/// 16 KiB per chunk on the wire (JS: `16 * 2 ** 10 - payloadIndex`).
inline constexpr std::size_t kChunkPayloadSize = 16348;
/// JS refuses longer type strings ("exceeds byte limit (32)").
inline constexpr std::size_t kMaxActionNameBytes = 32;

struct ChunkHeader {
  std::string type; ///< decoded: UTF-8 (lossy, as JS) with every NUL removed (§8.5.2)
  std::uint16_t nonce = 0;
  bool last = false;
  bool metadata = false;
  PayloadKind kind = PayloadKind::Text;
  std::uint8_t progress = 0;

  friend bool operator==(const ChunkHeader&, const ChunkHeader&) = default;
};

/// A decoded chunk: its header and a view of its payload (into the decoded bytes).
struct ChunkView {
  ChunkHeader header;
  ByteView payload;
};

/// The tag byte of a header (§8.1).
std::uint8_t tag_byte(const ChunkHeader& header) noexcept;

/// Appends the 36-byte header. `header.type` must be at most 32 bytes (checked by
/// validate_action_name when the action is created; an assertion here).
void encode_chunk_header(Bytes& out, const ChunkHeader& header);

/// Reads the 36-byte header of `chunk` (TruncatedChunk if shorter). The type is the 32 bytes
/// decoded as UTF-8 the way TextDecoder does, then stripped of all NULs, exactly as JS.
result<ChunkHeader> decode_chunk_header(ByteView chunk);
result<ChunkView> decode_chunk(ByteView chunk);

/// The progress byte of chunk `index` of `total`: Math.round((index+1)/total*255), computed with
/// the same IEEE-754 double operations as JS so every byte matches (TV11: 55 aa ff, 40 80 bf ff).
std::uint8_t progress_byte(std::size_t index, std::size_t total) noexcept;

/// Which bytes chunk i carries: the metadata JSON, or payload bytes [offset, offset+length).
struct ChunkRange {
  std::uint64_t offset = 0;
  std::size_t length = 0;
  bool metadata = false; ///< the body is the metadata JSON text (length = its size)
};

/// The chunks of one outgoing message (§8.3), computed from sizes only.
///
///   MessagePlan plan("file", nonces.next(), PayloadKind::Binary, file_size, R"({"name":"a"})");
///   for (std::size_t i = 0; i < plan.chunk_count(); ++i) {
///     Bytes out;
///     append_room_frame_header(out, token);
///     auto r = plan.chunk_range(i);
///     plan.write_chunk(out, i, r.metadata ? as_bytes(*plan.metadata_json())
///                                          : read(r.offset, r.length));
///     channel.send(out);
///   }
class MessagePlan {
public:
  /// `type` must pass validate_action_name (asserted: at most 32 bytes). `metadata_json` is the
  /// JSON text of the metadata (JSON.stringify(meta) in JS); nullopt = no metadata chunk.
  MessagePlan(std::string type, std::uint16_t nonce, PayloadKind kind, std::uint64_t payload_size,
              std::optional<std::string> metadata_json);

  [[nodiscard]] std::size_t chunk_count() const noexcept { return total_; }
  /// Header of chunk `index` (< chunk_count()).
  [[nodiscard]] ChunkHeader header(std::size_t index) const;
  /// What chunk `index` carries.
  [[nodiscard]] ChunkRange chunk_range(std::size_t index) const;
  /// Bytes chunk `index` occupies on the wire without the room frame: 36 + body.
  [[nodiscard]] std::size_t wire_size(std::size_t index) const;
  /// Appends header + `body` of chunk `index` to `out`. `body` must be exactly the bytes
  /// chunk_range(index) names (asserted by size).
  void write_chunk(Bytes& out, std::size_t index, ByteView body) const;

  [[nodiscard]] const std::string& type() const noexcept { return type_; }
  [[nodiscard]] std::uint16_t nonce() const noexcept { return nonce_; }
  [[nodiscard]] PayloadKind kind() const noexcept { return kind_; }
  [[nodiscard]] std::uint64_t payload_size() const noexcept { return payload_size_; }
  [[nodiscard]] bool has_metadata() const noexcept { return metadata_.has_value(); }
  [[nodiscard]] const std::optional<std::string>& metadata_json() const noexcept {
    return metadata_;
  }

private:
  std::string type_;
  std::uint16_t nonce_;
  PayloadKind kind_;
  std::uint64_t payload_size_;
  std::optional<std::string> metadata_;
  std::size_t total_;
};

/// §8.4: one counter per action type per room, shared by every target; starts at 0, advances on
/// every send (even one with no recipients) and wraps from 65535 to 0.
class NonceCounter {
public:
  /// The nonce for this send; the counter advances.
  std::uint16_t next() noexcept { return value_++; }
  [[nodiscard]] std::uint16_t peek() const noexcept { return value_; }

private:
  std::uint16_t value_ = 0;
};

/// Checks an action name before any chunk is built: not empty, at most 32 UTF-8 bytes, valid
/// UTF-8, no NUL (the receiver strips NULs), and, unless `allow_reserved`, no "@_" prefix
/// (Trystero's internal actions, §9).
[[nodiscard]] result<void> validate_action_name(std::string_view name, bool allow_reserved);

/// An actionable sentence for a validate_action_name error, naming the action, e.g.
/// `action name "a very long name…" is 40 bytes; the limit is 32 UTF-8 bytes: choose a shorter
/// name`.
std::string action_name_error_message(std::string_view name, error_code ec);

} // namespace posthorn::room
