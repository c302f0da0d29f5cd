#pragma once
// AES-256-GCM over OpenSSL EVP with an IV of any length OpenSSL accepts (NIST SP 800-38D §7.1: an
// IV that is not 96 bits long goes through GHASH to form J0). Trystero encrypts signaling with a
// 16-byte IV (spec/trystero-wire.md §3), so the 12-byte fast path alone is not enough.
//
// Layout is Web Crypto's: ciphertext followed by the 16-byte tag. Pure functions; no state.

#include "core/bytes.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace posthorn::crypto {

inline constexpr std::size_t kAes256KeySize = 32;
inline constexpr std::size_t kGcmTagSize = 16;
/// OpenSSL 3 keeps the IV in a 128-byte buffer and refuses longer ones (EVP_CTRL_GCM_SET_IVLEN).
inline constexpr std::size_t kGcmMaxIvSize = 128;

using Aes256Key = std::array<std::uint8_t, kAes256KeySize>;

/// Returns ciphertext‖tag (plaintext.size() + 16 bytes). The IV must be 1..kGcmMaxIvSize bytes
/// (caller's invariant; the IV is never remote input on this path).
Bytes aes256_gcm_encrypt(const Aes256Key& key, ByteView iv, ByteView plaintext, ByteView aad = {});

/// Inverse of aes256_gcm_encrypt. nullopt when the tag does not verify, the input is shorter than
/// the tag, or the IV length is outside 1..kGcmMaxIvSize: every failure looks the same to the
/// caller, as Web Crypto's OperationError does.
std::optional<Bytes> aes256_gcm_decrypt(const Aes256Key& key, ByteView iv,
                                        ByteView ciphertext_and_tag, ByteView aad = {});

} // namespace posthorn::crypto
