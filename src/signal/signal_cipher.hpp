#pragma once
// Trystero's signaling encryption (spec/trystero-wire.md §3): AES-256-GCM under a key that is the
// raw SHA-256 of "password:appId:roomId" (no KDF, no salt; applied even with an empty password).
// Only the SDP of offers and answers and the candidate JSON are encrypted.
//
// Text form: the IV bytes in decimal joined by ',', then '$', then standard padded base64 of
// ciphertext‖tag, e.g. "0,1,…,15$TXodKltu…ZM=". We always send a 16-byte IV and accept any length
// from 1 to 128 bytes (Web Crypto accepts any; OpenSSL stops at 128).

#include "core/aes_gcm.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"

#include <string>
#include <string_view>

namespace posthorn::signal {

/// The IV length we send (§3: 16 bytes, not GCM's usual 12).
inline constexpr std::size_t kSignalIvSize = 16;

/// A room's signaling key. Cheap to copy; holds 32 bytes.
class SignalKey {
public:
  /// SHA-256(UTF-8(password + ":" + app_id + ":" + room_id)) (§3, TV4).
  static SignalKey derive(std::string_view password, std::string_view app_id,
                          std::string_view room_id);
  explicit SignalKey(const crypto::Aes256Key& raw) noexcept : key_(raw) {}

  [[nodiscard]] const crypto::Aes256Key& bytes() const noexcept { return key_; }
  friend bool operator==(const SignalKey&, const SignalKey&) = default;

private:
  crypto::Aes256Key key_;
};

/// Encrypts `plaintext` under a fresh 16-byte IV drawn from `rng`.
std::string encrypt(const SignalKey& key, std::string_view plaintext, Rng& rng);
/// Same with a caller-chosen IV (1..128 bytes), for test vectors (TV5, TV6).
std::string encrypt(const SignalKey& key, std::string_view plaintext, ByteView iv);

/// Decrypts the text form. Errc::MalformedCiphertext for anything that is not "d,…,d$base64" with
/// IV bytes 0..255 and at least a tag's worth of data; Errc::DecryptFailed when the tag does not
/// verify (a wrong password, §3). Never throws.
[[nodiscard]] result<std::string> decrypt(const SignalKey& key, std::string_view text);

} // namespace posthorn::signal
