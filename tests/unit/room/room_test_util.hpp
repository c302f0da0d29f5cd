#pragma once
// Helpers shared by the room layer's unit tests: build every chunk of a message the way a JS
// sender would, and hex conversions.

#include "core/bytes.hpp"
#include "room/chunk.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace posthorn::room::test {

/// Every chunk (header + body) of one message, as MessagePlan describes it.
inline std::vector<Bytes> chunks_of(const std::string& type, std::uint16_t nonce, PayloadKind kind,
                                    ByteView payload,
                                    std::optional<std::string> metadata = std::nullopt) {
  MessagePlan plan(type, nonce, kind, payload.size(), metadata);
  std::vector<Bytes> out;
  for (std::size_t i = 0; i < plan.chunk_count(); ++i) {
    const auto range = plan.chunk_range(i);
    Bytes chunk;
    if (range.metadata)
      plan.write_chunk(chunk, i, as_bytes(*plan.metadata_json()));
    else
      plan.write_chunk(chunk, i,
                       payload.subspan(static_cast<std::size_t>(range.offset), range.length));
    out.push_back(std::move(chunk));
  }
  return out;
}

inline std::vector<Bytes> chunks_of(const std::string& type, std::uint16_t nonce, PayloadKind kind,
                                    std::string_view payload,
                                    std::optional<std::string> metadata = std::nullopt) {
  return chunks_of(type, nonce, kind, as_bytes(payload), std::move(metadata));
}

inline Bytes hex(std::string_view h) {
  return from_hex(h).value();
}

/// Bytes 32..35 of a chunk (nonce, tag, progress) as hex.
inline std::string trailer_hex(const Bytes& chunk) {
  return to_hex(ByteView(chunk).subspan(32, 4));
}

inline std::string text_of(const Bytes& b) {
  return std::string(b.begin(), b.end());
}

} // namespace posthorn::room::test
