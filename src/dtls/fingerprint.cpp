#include "dtls/fingerprint.hpp"

#include "core/assert.hpp"
#include "dtls/errc.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>

namespace posthorn::dtls {
namespace {

struct AlgorithmInfo {
  FingerprintAlgorithm algorithm;
  std::string_view name;
  std::size_t size;
};

constexpr std::array<AlgorithmInfo, 4> kAlgorithms{{
    {FingerprintAlgorithm::Sha1, "sha-1", 20},
    {FingerprintAlgorithm::Sha256, "sha-256", 32},
    {FingerprintAlgorithm::Sha384, "sha-384", 48},
    {FingerprintAlgorithm::Sha512, "sha-512", 64},
}};

const AlgorithmInfo& info(FingerprintAlgorithm a) noexcept {
  return kAlgorithms[static_cast<std::size_t>(a)];
}

const EVP_MD* evp_md(FingerprintAlgorithm a) noexcept {
  switch (a) {
  case FingerprintAlgorithm::Sha1: return EVP_sha1();
  case FingerprintAlgorithm::Sha256: return EVP_sha256();
  case FingerprintAlgorithm::Sha384: return EVP_sha384();
  case FingerprintAlgorithm::Sha512: return EVP_sha512();
  }
  return EVP_sha256();
}

char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  c = ascii_lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/// A digest in fixed storage, so comparisons never allocate.
struct Digest {
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> bytes{};
  std::size_t size = 0;
  [[nodiscard]] ByteView view() const noexcept { return {bytes.data(), size}; }
};

/// "AB:cd:01" -> {0xAB, 0xCD, 0x01}; nullopt unless exactly `size` colon-separated hex pairs.
std::optional<Digest> decode(std::string_view text, std::size_t size) noexcept {
  if (size == 0 || size > EVP_MAX_MD_SIZE || text.size() != size * 3 - 1) return std::nullopt;
  Digest out;
  for (std::size_t i = 0; i < size; ++i) {
    const std::size_t at = i * 3;
    if (i > 0 && text[at - 1] != ':') return std::nullopt;
    const int hi = hex_value(text[at]);
    const int lo = hex_value(text[at + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.bytes[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  out.size = size;
  return out;
}

Digest hash(ByteView data, FingerprintAlgorithm algorithm) noexcept {
  Digest out;
  unsigned int len = 0;
  const int ok =
      EVP_Digest(data.data(), data.size(), out.bytes.data(), &len, evp_md(algorithm), nullptr);
  POSTHORN_ASSERT(ok == 1 && len == digest_size(algorithm), "EVP_Digest of a built-in SHA");
  out.size = len;
  return out;
}

} // namespace

std::string_view to_string(FingerprintAlgorithm a) noexcept {
  return info(a).name;
}

std::optional<FingerprintAlgorithm> parse_fingerprint_algorithm(std::string_view name) noexcept {
  for (const auto& a : kAlgorithms) {
    if (a.name.size() != name.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < name.size() && same; ++i)
      same = ascii_lower(name[i]) == a.name[i];
    if (same) return a.algorithm;
  }
  return std::nullopt;
}

std::size_t digest_size(FingerprintAlgorithm a) noexcept {
  return info(a).size;
}

result<Fingerprint> Fingerprint::parse(std::string_view sdp_value) {
  // RFC 8122 §5: fingerprint-attribute = hash-func SP fingerprint. Tolerate extra blanks around
  // the parts; SDP writers are not always tidy.
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
      s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
      s.remove_suffix(1);
    return s;
  };
  sdp_value = trim(sdp_value);
  const auto space = sdp_value.find_first_of(" \t");
  if (space == std::string_view::npos) return Errc::MalformedFingerprint;
  auto algorithm = parse_fingerprint_algorithm(sdp_value.substr(0, space));
  if (!algorithm) return Errc::UnsupportedHashFunction;
  auto digest = decode(trim(sdp_value.substr(space)), digest_size(*algorithm));
  if (!digest) return Errc::MalformedFingerprint;
  return Fingerprint{*algorithm, format_fingerprint(digest->view())};
}

std::string Fingerprint::to_string() const {
  std::string out(dtls::to_string(algorithm));
  out += ' ';
  out += value;
  return out;
}

std::optional<Bytes> Fingerprint::digest() const {
  auto d = decode(value, digest_size(algorithm));
  if (!d) return std::nullopt;
  return Bytes(d->view().begin(), d->view().end());
}

bool fingerprints_equal(const Fingerprint& a, const Fingerprint& b) noexcept {
  if (a.algorithm != b.algorithm || a.value.size() != b.value.size()) return false;
  if (!decode(a.value, digest_size(a.algorithm))) return false;
  for (std::size_t i = 0; i < a.value.size(); ++i)
    if (ascii_lower(a.value[i]) != ascii_lower(b.value[i])) return false;
  return true;
}

std::string compute_fingerprint(ByteView certificate_der, FingerprintAlgorithm algorithm) {
  return format_fingerprint(hash(certificate_der, algorithm).view());
}

bool fingerprint_matches(const Fingerprint& expected, ByteView certificate_der) noexcept {
  auto want = decode(expected.value, digest_size(expected.algorithm));
  if (!want) return false;
  const Digest got = hash(certificate_der, expected.algorithm);
  // Fingerprints are public (they travel in SDP), so a plain comparison leaks nothing.
  return std::ranges::equal(want->view(), got.view());
}

std::string format_fingerprint(ByteView digest) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(digest.empty() ? 0 : digest.size() * 3 - 1);
  for (std::size_t i = 0; i < digest.size(); ++i) {
    if (i > 0) out += ':';
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0x0F];
  }
  return out;
}

} // namespace posthorn::dtls
