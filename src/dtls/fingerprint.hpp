#pragma once
// Certificate fingerprints as SDP carries them (RFC 8122 §5, RFC 8842 §5):
//
//   a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:...
//
// The fingerprint is a hash of the certificate's DER encoding, printed as uppercase hex byte
// pairs separated by colons. It is the trust anchor of a WebRTC connection (RFC 8827 §6.5): the
// self-signed certificate is accepted if and only if its fingerprint matches the one the peer
// signalled. Browsers send sha-256; sha-1, sha-384 and sha-512 are accepted as RFC 8122 allows.

#include "core/bytes.hpp"
#include <posthorn/error.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace posthorn::dtls {

enum class FingerprintAlgorithm : std::uint8_t { Sha1, Sha256, Sha384, Sha512 };

/// "sha-1", "sha-256", "sha-384", "sha-512" (the SDP hash-func tokens).
std::string_view to_string(FingerprintAlgorithm a) noexcept;
/// Case-insensitive (SDP tokens are; some stacks print "SHA-256"); nullopt for md5, md2 (which
/// RFC 8122 §5 forbids) and unknown tokens.
std::optional<FingerprintAlgorithm> parse_fingerprint_algorithm(std::string_view name) noexcept;
/// Digest length in bytes: 20, 32, 48, 64.
std::size_t digest_size(FingerprintAlgorithm a) noexcept;

struct Fingerprint {
  FingerprintAlgorithm algorithm = FingerprintAlgorithm::Sha256;
  std::string value; // "AB:CD:..." (case is not significant when comparing)

  /// Parses the a=fingerprint attribute value "<hash-func> <hex pairs>". Errors:
  /// UnsupportedHashFunction for md5/unknown hashes, MalformedFingerprint for anything else
  /// (bad hex, missing colons, wrong digest length). The value is normalised to uppercase.
  static result<Fingerprint> parse(std::string_view sdp_value);

  /// "sha-256 AB:CD:...", the a=fingerprint attribute value.
  [[nodiscard]] std::string to_string() const;

  /// The digest bytes; nullopt if `value` is not well-formed for `algorithm`.
  [[nodiscard]] std::optional<Bytes> digest() const;
};

/// Same algorithm and same digest; hex case is ignored (RFC 8122 prints uppercase, and some
/// stacks send lowercase). A malformed value equals nothing.
bool fingerprints_equal(const Fingerprint& a, const Fingerprint& b) noexcept;

/// Hashes a DER-encoded certificate: `"AB:CD:..."`.
std::string compute_fingerprint(ByteView certificate_der, FingerprintAlgorithm algorithm);

/// Whether `certificate_der` hashes to `expected` (with expected's algorithm).
bool fingerprint_matches(const Fingerprint& expected, ByteView certificate_der) noexcept;

/// Uppercase hex pairs joined by colons: {0xAB, 0x01} -> "AB:01".
std::string format_fingerprint(ByteView digest);

} // namespace posthorn::dtls
