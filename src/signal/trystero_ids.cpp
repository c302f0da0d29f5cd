#include "signal/trystero_ids.hpp"

#include "core/assert.hpp"
#include "core/crypto.hpp"

namespace posthorn::signal {
namespace {

constexpr std::string_view kIdAlphabet =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr std::string_view kBase36Digits = "0123456789abcdefghijklmnopqrstuvwxyz";
constexpr std::string_view kLibName = "Trystero";

void append_base36(std::string& out, std::uint8_t byte) {
  // JS Number.prototype.toString(36): no padding, so a byte gives one or two digits.
  if (byte >= 36) out.push_back(kBase36Digits[byte / 36]);
  out.push_back(kBase36Digits[byte % 36]);
}

std::string sha256_hex(std::string_view text) {
  return to_hex(crypto::sha256(as_bytes(text)));
}

// Decodes one UTF-8 sequence at `i` (advancing it) into a code point; U+FFFD for anything that is
// not a well-formed, shortest-form, non-surrogate sequence (one byte consumed in that case).
std::uint32_t next_code_point(std::string_view s, std::size_t& i) {
  const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(s[k]); };
  const std::uint8_t b0 = byte(i);
  std::size_t len = 0;
  std::uint32_t cp = 0;
  std::uint32_t min = 0;
  if (b0 < 0x80) {
    ++i;
    return b0;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1Fu, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0Fu, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07u, min = 0x10000;
  } else {
    ++i;
    return 0xFFFD;
  }
  if (i + len > s.size()) {
    ++i;
    return 0xFFFD;
  }
  for (std::size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (byte(i + k) & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++i;
    return 0xFFFD;
  }
  i += len;
  return cp;
}

} // namespace

std::string gen_id(Rng& rng, std::size_t n) {
  return rng.string(n, kIdAlphabet);
}

std::string sha1b36(std::string_view text) {
  std::string out;
  out.reserve(40);
  for (std::uint8_t b : crypto::sha1(as_bytes(text)))
    append_base36(out, b);
  return out;
}

std::string root_topic_plain(std::string_view app_id, std::string_view room_id) {
  std::string out(kLibName);
  out += '@';
  out += app_id;
  out += '@';
  out += room_id;
  return out;
}

std::string root_topic(std::string_view app_id, std::string_view room_id) {
  return sha1b36(root_topic_plain(app_id, room_id));
}

std::string self_topic(std::string_view app_id, std::string_view room_id,
                       std::string_view peer_id) {
  std::string plain = root_topic_plain(app_id, room_id);
  plain += '@';
  plain += peer_id;
  return sha1b36(plain);
}

std::string room_token(std::string_view app_id, std::string_view room_id) {
  std::string plain(kLibName);
  plain += ':';
  plain += app_id;
  plain += ':';
  plain += room_id;
  return sha256_hex(plain);
}

std::uint64_t str_to_num(std::string_view text, std::uint64_t limit) {
  POSTHORN_ASSERT(limit > 0, "str_to_num needs a positive modulus");
  // JS sums UTF-16 code units: a code point above U+FFFF counts as its two surrogates.
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < text.size();) {
    const std::uint32_t cp = next_code_point(text, i);
    if (cp >= 0x10000) {
      const std::uint32_t v = cp - 0x10000;
      sum += 0xD800 + (v >> 10);
      sum += 0xDC00 + (v & 0x3FF);
    } else {
      sum += cp;
    }
  }
  return sum % limit;
}

std::uint32_t nostr_kind(std::string_view topic) {
  return static_cast<std::uint32_t>(str_to_num(topic, 10000) + 20000);
}

std::string torrent_info_hash(std::string_view root_topic) {
  return sha1b36(root_topic).substr(0, 20);
}

std::string password_response_hash(std::string_view challenge, std::string_view password,
                                   std::string_view app_id, std::string_view room_id) {
  std::string plain(challenge);
  plain += ':';
  plain += password;
  plain += ':';
  plain += app_id;
  plain += ':';
  plain += room_id;
  return sha256_hex(plain);
}

} // namespace posthorn::signal
