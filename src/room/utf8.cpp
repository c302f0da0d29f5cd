#include "room/utf8.hpp"

namespace posthorn::room {
namespace {

constexpr std::uint32_t kReplacement = 0xFFFD;
constexpr std::uint32_t kByteOrderMark = 0xFEFF;

void append_utf8(std::uint32_t cp, Bytes& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<std::uint8_t>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<std::uint8_t>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<std::uint8_t>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<std::uint8_t>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<std::uint8_t>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<std::uint8_t>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<std::uint8_t>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<std::uint8_t>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<std::uint8_t>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<std::uint8_t>(0x80 | (cp & 0x3F)));
  }
}

} // namespace

void Utf8Decoder::reset_sequence() noexcept {
  code_point_ = 0;
  needed_ = 0;
  seen_ = 0;
  lower_ = 0x80;
  upper_ = 0xBF;
}

void Utf8Decoder::emit(std::uint32_t code_point, Bytes& out) {
  if (bom_pending_) {
    // TextDecoder's "BOM seen" flag: only the first character can be a stripped BOM.
    bom_pending_ = false;
    if (code_point == kByteOrderMark) return;
  }
  append_utf8(code_point, out);
}

// WHATWG Encoding §8.1.1 "UTF-8 decoder", one byte at a time. The lower/upper bounds of the
// second byte reject overlongs (E0, F0), surrogates (ED) and code points above U+10FFFF (F4).
void Utf8Decoder::feed(ByteView bytes, Bytes& out) {
  out.reserve(out.size() + bytes.size());
  for (std::size_t i = 0; i < bytes.size();) {
    const std::uint8_t b = bytes[i];
    if (needed_ == 0) {
      ++i;
      if (b <= 0x7F) {
        emit(b, out);
      } else if (b >= 0xC2 && b <= 0xDF) {
        needed_ = 1;
        code_point_ = b & 0x1F;
      } else if (b >= 0xE0 && b <= 0xEF) {
        if (b == 0xE0) lower_ = 0xA0;
        if (b == 0xED) upper_ = 0x9F;
        needed_ = 2;
        code_point_ = b & 0x0F;
      } else if (b >= 0xF0 && b <= 0xF4) {
        if (b == 0xF0) lower_ = 0x90;
        if (b == 0xF4) upper_ = 0x8F;
        needed_ = 3;
        code_point_ = b & 0x07;
      } else {
        emit(kReplacement, out);
      }
      continue;
    }
    if (b < lower_ || b > upper_) {
      // The sequence so far is one error; `b` is processed again as the start of a new one.
      reset_sequence();
      emit(kReplacement, out);
      continue;
    }
    ++i;
    lower_ = 0x80;
    upper_ = 0xBF;
    code_point_ = (code_point_ << 6) | (b & 0x3F);
    if (++seen_ == needed_) {
      const std::uint32_t cp = code_point_;
      reset_sequence();
      emit(cp, out);
    }
  }
}

void Utf8Decoder::finish(Bytes& out) {
  if (needed_ != 0) {
    reset_sequence();
    emit(kReplacement, out);
  }
}

std::string decode_utf8_lossy(ByteView bytes) {
  Bytes out;
  Utf8Decoder decoder;
  decoder.feed(bytes, out);
  decoder.finish(out);
  return std::string(out.begin(), out.end());
}

} // namespace posthorn::room
