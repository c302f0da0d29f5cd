#include "room/chunk.hpp"

#include "core/assert.hpp"
#include "room/errc.hpp"
#include "room/utf8.hpp"

#include <algorithm>
#include <cmath>

namespace posthorn::room {

std::uint8_t tag_byte(const ChunkHeader& header) noexcept {
  std::uint8_t tag = kind_tag_bits(header.kind);
  if (header.last) tag |= kTagLast;
  if (header.metadata) tag |= kTagMetadata;
  return tag;
}

void encode_chunk_header(Bytes& out, const ChunkHeader& header) {
  POSTHORN_ASSERT(header.type.size() <= kMaxActionNameBytes,
                  "action names are validated (validate_action_name) before chunks are built");
  const auto type = as_bytes(header.type);
  out.insert(out.end(), type.begin(), type.end());
  out.insert(out.end(), kMaxActionNameBytes - type.size(), 0);
  out.push_back(static_cast<std::uint8_t>(header.nonce >> 8));
  out.push_back(static_cast<std::uint8_t>(header.nonce));
  out.push_back(tag_byte(header));
  out.push_back(header.progress);
}

result<ChunkHeader> decode_chunk_header(ByteView chunk) {
  if (chunk.size() < kChunkHeaderSize) return make_error_code(Errc::TruncatedChunk);
  ChunkHeader header;
  // §8.5.2: decode all 32 bytes first, then remove every NUL (JS: decodeBytes(...).replaceAll).
  // Decoding first matters: a NUL inside a broken multi-byte sequence ends it with U+FFFD.
  // ASCII (every real action name seen so far) decodes to itself: that path runs per chunk.
  const ByteView name = chunk.first(kMaxActionNameBytes);
  if (std::all_of(name.begin(), name.end(), [](std::uint8_t b) { return b < 0x80; })) {
    for (const std::uint8_t b : name)
      if (b != 0) header.type.push_back(static_cast<char>(b));
  } else {
    header.type = decode_utf8_lossy(name);
    std::erase(header.type, '\0');
  }
  header.nonce = static_cast<std::uint16_t>((chunk[32] << 8) | chunk[33]);
  const std::uint8_t tag = chunk[34];
  header.last = (tag & kTagLast) != 0;
  header.metadata = (tag & kTagMetadata) != 0;
  header.kind = kind_from_tag(tag);
  header.progress = chunk[35];
  return header;
}

result<ChunkView> decode_chunk(ByteView chunk) {
  auto header = decode_chunk_header(chunk);
  if (!header) return header.error();
  return ChunkView{std::move(*header), chunk.subspan(kChunkHeaderSize)};
}

std::uint8_t progress_byte(std::size_t index, std::size_t total) noexcept {
  POSTHORN_ASSERT(total > 0 && index < total, "progress of an existing chunk");
  // JS: Math.round((i + 1) / chunkTotal * 255). Same operand order, same doubles. Math.round
  // rounds halves up (towards +infinity), unlike std::round which rounds them away from zero;
  // for these positive values the two agree, but spell out the JS rule.
  const double x = static_cast<double>(index + 1) / static_cast<double>(total) * 255.0;
  const double floor = std::floor(x);
  const double rounded = (x - floor >= 0.5) ? floor + 1.0 : floor;
  return static_cast<std::uint8_t>(rounded);
}

MessagePlan::MessagePlan(std::string type, std::uint16_t nonce, PayloadKind kind,
                         std::uint64_t payload_size, std::optional<std::string> metadata_json)
    : type_(std::move(type)), nonce_(nonce), kind_(kind), payload_size_(payload_size),
      metadata_(std::move(metadata_json)) {
  POSTHORN_ASSERT(type_.size() <= kMaxActionNameBytes && !type_.empty(),
                  "action names are validated (validate_action_name) before a send is planned");
  // §8.3: ceil(len / 16348) data chunks, plus one metadata chunk; at least one chunk in all.
  const std::uint64_t data_chunks = (payload_size_ + kChunkPayloadSize - 1) / kChunkPayloadSize;
  const std::uint64_t total = data_chunks + (metadata_ ? 1 : 0);
  total_ = static_cast<std::size_t>(std::max<std::uint64_t>(total, 1));
}

ChunkRange MessagePlan::chunk_range(std::size_t index) const {
  POSTHORN_ASSERT(index < total_, "chunk index within the plan");
  if (metadata_ && index == 0) return {0, metadata_->size(), true};
  const std::uint64_t data_index = metadata_ ? index - 1 : index;
  const std::uint64_t offset = data_index * kChunkPayloadSize;
  // Only the metadata+last single chunk of an empty message has no data chunk; offset is then 0.
  const std::uint64_t left = payload_size_ > offset ? payload_size_ - offset : 0;
  return {offset, static_cast<std::size_t>(std::min<std::uint64_t>(left, kChunkPayloadSize)),
          false};
}

ChunkHeader MessagePlan::header(std::size_t index) const {
  POSTHORN_ASSERT(index < total_, "chunk index within the plan");
  ChunkHeader h;
  h.type = type_;
  h.nonce = nonce_;
  h.last = index + 1 == total_;
  h.metadata = metadata_.has_value() && index == 0;
  h.kind = kind_; // §8.2: the kind is repeated on every chunk, the metadata chunk included
  h.progress = progress_byte(index, total_);
  return h;
}

std::size_t MessagePlan::wire_size(std::size_t index) const {
  return kChunkHeaderSize + chunk_range(index).length;
}

void MessagePlan::write_chunk(Bytes& out, std::size_t index, ByteView body) const {
  POSTHORN_ASSERT(body.size() == chunk_range(index).length,
                  "the body is exactly the bytes chunk_range() names");
  out.reserve(out.size() + kChunkHeaderSize + body.size());
  encode_chunk_header(out, header(index));
  out.insert(out.end(), body.begin(), body.end());
}

result<void> validate_action_name(std::string_view name, bool allow_reserved) {
  if (name.empty()) return make_error_code(Errc::ActionNameEmpty);
  if (name.size() > kMaxActionNameBytes) return make_error_code(Errc::ActionNameTooLong);
  if (!is_valid_utf8(as_bytes(name))) return make_error_code(Errc::ActionNameInvalidUtf8);
  if (name.find('\0') != std::string_view::npos) return make_error_code(Errc::ActionNameHasNul);
  if (!allow_reserved && name.starts_with("@_")) return make_error_code(Errc::ActionNameReserved);
  return {};
}

std::string action_name_error_message(std::string_view name, error_code ec) {
  // Quote a readable prefix of the name; it may be long or not text at all.
  std::string shown = decode_utf8_lossy(as_bytes(name.substr(0, 40)));
  std::erase(shown, '\0');
  if (name.size() > 40) shown += "…";
  const std::string quoted = "action name \"" + shown + "\"";
  if (ec == Errc::ActionNameEmpty) return "an action name is required (1 to 32 UTF-8 bytes)";
  if (ec == Errc::ActionNameTooLong)
    return quoted + " is " + std::to_string(name.size()) +
           " bytes; the limit is 32 UTF-8 bytes (Trystero's type field): choose a shorter name";
  if (ec == Errc::ActionNameInvalidUtf8)
    return quoted + " is not valid UTF-8; a JS peer would decode it to different text";
  if (ec == Errc::ActionNameHasNul)
    return quoted + " contains a NUL character, which the receiver strips from the type field";
  if (ec == Errc::ActionNameReserved)
    return quoted + " starts with \"@_\", the prefix of Trystero's internal actions; rename it";
  return quoted + ": " + ec.message();
}

} // namespace posthorn::room
