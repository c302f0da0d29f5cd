#include "signal/signal_cipher.hpp"

#include "core/crypto.hpp"
#include "signal/errc.hpp"

#include <charconv>

namespace posthorn::signal {
namespace {

std::string format_iv(ByteView iv) {
  std::string out;
  out.reserve(iv.size() * 4);
  for (std::size_t i = 0; i < iv.size(); ++i) {
    if (i != 0) out += ',';
    out += std::to_string(iv[i]);
  }
  return out;
}

// "d,d,…": each part 1–3 decimal digits with a value of at most 255. JS feeds each part to
// Number() and a Uint8Array, which would also take " 7", "1e1" or "300" (as 44); no sender
// writes those, so we refuse them rather than reproduce the coercions.
std::optional<Bytes> parse_iv(std::string_view text) {
  Bytes iv;
  while (true) {
    const std::size_t comma = text.find(',');
    const std::string_view part = text.substr(0, comma);
    if (part.empty() || part.size() > 3) return std::nullopt;
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (ec != std::errc{} || end != part.data() + part.size() || value > 255) return std::nullopt;
    iv.push_back(static_cast<std::uint8_t>(value));
    if (iv.size() > crypto::kGcmMaxIvSize) return std::nullopt;
    if (comma == std::string_view::npos) return iv;
    text.remove_prefix(comma + 1);
  }
}

} // namespace

SignalKey SignalKey::derive(std::string_view password, std::string_view app_id,
                            std::string_view room_id) {
  std::string plain(password);
  plain += ':';
  plain += app_id;
  plain += ':';
  plain += room_id;
  return SignalKey(crypto::sha256(as_bytes(plain)));
}

std::string encrypt(const SignalKey& key, std::string_view plaintext, Rng& rng) {
  std::array<std::uint8_t, kSignalIvSize> iv{};
  rng.fill(iv);
  return encrypt(key, plaintext, ByteView(iv));
}

std::string encrypt(const SignalKey& key, std::string_view plaintext, ByteView iv) {
  const Bytes sealed = crypto::aes256_gcm_encrypt(key.bytes(), iv, as_bytes(plaintext));
  std::string out = format_iv(iv);
  out += '$';
  out += crypto::base64_encode(sealed);
  return out;
}

result<std::string> decrypt(const SignalKey& key, std::string_view text) {
  const std::size_t dollar = text.find('$');
  // Base64 has no '$', so a second one can only be garbage (JS would ignore what follows it).
  if (dollar == std::string_view::npos || text.find('$', dollar + 1) != std::string_view::npos)
    return Errc::MalformedCiphertext;
  const auto iv = parse_iv(text.substr(0, dollar));
  if (!iv) return Errc::MalformedCiphertext;
  const auto sealed = crypto::base64_decode(text.substr(dollar + 1));
  if (!sealed || sealed->size() < crypto::kGcmTagSize) return Errc::MalformedCiphertext;
  auto plain = crypto::aes256_gcm_decrypt(key.bytes(), *iv, *sealed);
  if (!plain) return Errc::DecryptFailed;
  return std::string(plain->begin(), plain->end());
}

} // namespace posthorn::signal
