#pragma once
// What an action carries: text, JSON or bytes. Trystero round-trips the kind (a JS string arrives
// as a string, a JS object as JSON, an ArrayBuffer as bytes; spec/trystero-wire.md §8.2), so the
// kind travels with the bytes.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace posthorn {

/// A peer's Trystero selfId: 20 characters of [0-9A-Za-z].
using PeerId = std::string;

enum class PayloadKind : std::uint8_t { Text, Json, Binary };

std::string_view to_string(PayloadKind kind) noexcept; // "text", "json", "binary"

class Payload {
public:
  Payload() = default;
  /// A string (UTF-8); a JS peer receives a string.
  static Payload text(std::string utf8);
  /// JSON text (any JSON value, including top-level strings, numbers and null); a JS peer
  /// receives the parsed value. The text is sent as given: pass compact JSON.
  static Payload json(std::string json_text);
  /// Bytes; a JS peer receives an ArrayBuffer (Uint8Array).
  static Payload binary(std::vector<std::uint8_t> bytes);
  static Payload binary(std::span<const std::uint8_t> bytes);

  [[nodiscard]] PayloadKind kind() const noexcept { return kind_; }
  [[nodiscard]] std::span<const std::uint8_t> bytes() const noexcept { return data_; }
  /// The UTF-8 text of a Text or Json payload (the raw bytes for Binary).
  [[nodiscard]] std::string_view text() const noexcept {
    return {reinterpret_cast<const char*>(data_.data()), data_.size()};
  }
  [[nodiscard]] std::size_t size() const noexcept { return data_.size(); }
  /// Moves the bytes out.
  [[nodiscard]] std::vector<std::uint8_t> release() && noexcept { return std::move(data_); }

private:
  Payload(PayloadKind kind, std::vector<std::uint8_t> data) : kind_(kind), data_(std::move(data)) {}
  PayloadKind kind_ = PayloadKind::Text;
  std::vector<std::uint8_t> data_;
};

} // namespace posthorn
