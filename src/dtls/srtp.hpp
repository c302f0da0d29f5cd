#pragma once
// DTLS-SRTP keying material (RFC 5764 §4.2), exported once the handshake is authenticated, for
// the media layer's SRTP contexts. Data channels do not use it.

#include "core/bytes.hpp"
#include "dtls/role.hpp"

#include <cstddef>
#include <cstdint>

namespace posthorn::dtls {

/// SRTPProtectionProfile values (RFC 5764 §4.1.2, RFC 7714 §14.2).
enum class SrtpProfile : std::uint16_t {
  Aes128CmSha1_80 = 0x0001, // SRTP_AES128_CM_HMAC_SHA1_80: every WebRTC stack has it
  AeadAes128Gcm = 0x0007,   // SRTP_AEAD_AES_128_GCM: preferred by Chrome and Firefox
};

/// Master key and salt lengths in bytes (RFC 5764 §4.1.2: 128-bit key, 112-bit salt for
/// AES128_CM; RFC 7714 §12: 128-bit key, 96-bit salt for AEAD_AES_128_GCM).
constexpr std::size_t srtp_master_key_size(SrtpProfile) noexcept {
  return 16;
}
constexpr std::size_t srtp_master_salt_size(SrtpProfile p) noexcept {
  return p == SrtpProfile::AeadAes128Gcm ? 12 : 14;
}

struct SrtpKeyingMaterial {
  SrtpProfile profile = SrtpProfile::Aes128CmSha1_80;
  // RFC 5764 §4.2: the exporter output is client key | server key | client salt | server salt.
  Bytes client_write_key;
  Bytes server_write_key;
  Bytes client_write_salt;
  Bytes server_write_salt;

  /// RFC 5764 §4.2: the DTLS client protects what it sends with the client_write_* material
  /// and the server with server_write_*; each side decrypts with the other's.
  [[nodiscard]] const Bytes& local_key(Role r) const noexcept {
    return r == Role::Client ? client_write_key : server_write_key;
  }
  [[nodiscard]] const Bytes& local_salt(Role r) const noexcept {
    return r == Role::Client ? client_write_salt : server_write_salt;
  }
  [[nodiscard]] const Bytes& remote_key(Role r) const noexcept {
    return r == Role::Client ? server_write_key : client_write_key;
  }
  [[nodiscard]] const Bytes& remote_salt(Role r) const noexcept {
    return r == Role::Client ? server_write_salt : client_write_salt;
  }
};

} // namespace posthorn::dtls
