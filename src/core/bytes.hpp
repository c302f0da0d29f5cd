#pragma once
// Byte buffers and big-endian cursors used by every wire codec.
//
// We use std::uint8_t rather than std::byte: OpenSSL, usrsctp and the socket APIs all speak
// unsigned char, and a codec full of std::to_integer / reinterpret_cast reads worse than it
// protects (see docs/decisions.md).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace posthorn {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;
using MutableByteView = std::span<std::uint8_t>;

inline ByteView as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_string_view(ByteView b) noexcept {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline Bytes to_bytes(std::string_view s) {
  auto v = as_bytes(s);
  return {v.begin(), v.end()};
}

/// Lowercase hex ("0a1b..."), and its inverse (nullopt on odd length or a non-hex digit).
std::string to_hex(ByteView data);
std::optional<Bytes> from_hex(std::string_view hex);

/// Appends big-endian integers and raw bytes to a growing buffer.
class ByteWriter {
public:
  ByteWriter() = default;
  explicit ByteWriter(Bytes initial) : buf_(std::move(initial)) {}

  void u8(std::uint8_t v) { buf_.push_back(v); }
  void u16(std::uint16_t v) {
    buf_.push_back(static_cast<std::uint8_t>(v >> 8));
    buf_.push_back(static_cast<std::uint8_t>(v));
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
  }
  void u64(std::uint64_t v) {
    u32(static_cast<std::uint32_t>(v >> 32));
    u32(static_cast<std::uint32_t>(v));
  }
  void bytes(ByteView v) { buf_.insert(buf_.end(), v.begin(), v.end()); }
  void zeros(std::size_t n) { buf_.insert(buf_.end(), n, 0); }

  /// Overwrites a big-endian u16 at an earlier offset (length fields patched after the body).
  void patch_u16(std::size_t offset, std::uint16_t v) {
    buf_.at(offset) = static_cast<std::uint8_t>(v >> 8);
    buf_.at(offset + 1) = static_cast<std::uint8_t>(v);
  }

  [[nodiscard]] std::size_t size() const noexcept { return buf_.size(); }
  [[nodiscard]] const Bytes& view() const noexcept { return buf_; }
  [[nodiscard]] Bytes take() && noexcept { return std::move(buf_); }

private:
  Bytes buf_;
};

/// Reads big-endian integers from a view. Every read is bounds-checked: a short read returns
/// nullopt and leaves the reader in a failed state, so codecs can read a whole header and check
/// once (`if (!r.ok()) return error`).
class ByteReader {
public:
  explicit ByteReader(ByteView data) noexcept : data_(data) {}

  std::optional<std::uint8_t> u8() noexcept {
    if (!need(1)) return std::nullopt;
    return data_[pos_++];
  }
  std::optional<std::uint16_t> u16() noexcept {
    if (!need(2)) return std::nullopt;
    std::uint16_t v = static_cast<std::uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  std::optional<std::uint32_t> u32() noexcept {
    if (!need(4)) return std::nullopt;
    std::uint32_t v = (std::uint32_t{data_[pos_]} << 24) | (std::uint32_t{data_[pos_ + 1]} << 16) |
                      (std::uint32_t{data_[pos_ + 2]} << 8) | std::uint32_t{data_[pos_ + 3]};
    pos_ += 4;
    return v;
  }
  std::optional<std::uint64_t> u64() noexcept {
    auto hi = u32();
    auto lo = u32();
    if (!hi || !lo) return std::nullopt;
    return (std::uint64_t{*hi} << 32) | *lo;
  }
  std::optional<ByteView> bytes(std::size_t n) noexcept {
    if (!need(n)) return std::nullopt;
    ByteView v = data_.subspan(pos_, n);
    pos_ += n;
    return v;
  }
  bool skip(std::size_t n) noexcept { return bytes(n).has_value(); }

  [[nodiscard]] bool ok() const noexcept { return !failed_; }
  [[nodiscard]] std::size_t position() const noexcept { return pos_; }
  [[nodiscard]] std::size_t remaining() const noexcept { return failed_ ? 0 : data_.size() - pos_; }
  [[nodiscard]] ByteView rest() const noexcept {
    return data_.subspan(failed_ ? data_.size() : pos_);
  }

private:
  bool need(std::size_t n) noexcept {
    if (failed_ || data_.size() - pos_ < n) {
      failed_ = true;
      return false;
    }
    return true;
  }
  ByteView data_;
  std::size_t pos_ = 0;
  bool failed_ = false;
};

} // namespace posthorn
