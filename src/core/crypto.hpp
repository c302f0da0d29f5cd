#pragma once
// Small crypto and encoding helpers over OpenSSL 3. Pure functions; no global state.

#include "core/bytes.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace posthorn::crypto {

using Sha1Digest = std::array<std::uint8_t, 20>;
using Sha256Digest = std::array<std::uint8_t, 32>;

Sha1Digest sha1(ByteView data);
Sha256Digest sha256(ByteView data);
Sha1Digest hmac_sha1(ByteView key, ByteView data);
Sha256Digest hmac_sha256(ByteView key, ByteView data);

/// Incremental SHA-256, for hashing transfers without holding them in memory.
class Sha256 {
public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(ByteView data);
  Sha256Digest finish();

private:
  void* ctx_; // EVP_MD_CTX*, kept opaque so this header stays free of OpenSSL.
};

/// CRC-32 (ISO-HDLC, the zlib/PNG polynomial) as used by STUN FINGERPRINT (RFC 8489 §14.7).
std::uint32_t crc32(ByteView data) noexcept;
/// CRC-32c (Castagnoli), as used by SCTP (RFC 9260 Appendix A).
std::uint32_t crc32c(ByteView data) noexcept;

/// Constant-time comparison for MACs.
bool equal_constant_time(ByteView a, ByteView b) noexcept;

/// Standard base64 with padding (RFC 4648 §4).
std::string base64_encode(ByteView data);
/// Accepts padded or unpadded standard base64; nullopt on any other character.
std::optional<Bytes> base64_decode(std::string_view text);

} // namespace posthorn::crypto
