#include "core/rng.hpp"

#include "core/assert.hpp"

#include <openssl/rand.h>

#include <cstring>

namespace posthorn {

std::uint64_t Rng::next_u64() {
  std::uint8_t b[8];
  fill(b);
  std::uint64_t v;
  std::memcpy(&v, b, sizeof v);
  return v;
}

std::uint64_t Rng::uniform(std::uint64_t bound) {
  POSTHORN_ASSERT(bound > 0, "uniform() needs a positive bound");
  // Rejection sampling removes modulo bias.
  const std::uint64_t limit = UINT64_MAX - (UINT64_MAX % bound);
  for (;;) {
    std::uint64_t v = next_u64();
    if (v < limit) return v % bound;
  }
}

Bytes Rng::bytes(std::size_t n) {
  Bytes out(n);
  fill(out);
  return out;
}

std::string Rng::string(std::size_t n, std::string_view alphabet) {
  std::string out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(alphabet[uniform(alphabet.size())]);
  return out;
}

void CryptoRng::fill(MutableByteView out) {
  if (out.empty()) return;
  int ok = RAND_bytes(out.data(), static_cast<int>(out.size()));
  POSTHORN_ASSERT(ok == 1, "OpenSSL RAND_bytes failed; the process has no entropy source");
}

namespace {
std::uint64_t splitmix64(std::uint64_t& x) noexcept {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
std::uint64_t rotl(std::uint64_t x, int k) noexcept {
  return (x << k) | (x >> (64 - k));
}
} // namespace

SeededRng::SeededRng(std::uint64_t seed) noexcept {
  for (auto& s : s_)
    s = splitmix64(seed);
}

std::uint64_t SeededRng::step() noexcept {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

void SeededRng::fill(MutableByteView out) {
  std::size_t i = 0;
  while (i < out.size()) {
    std::uint64_t v = step();
    for (int k = 0; k < 8 && i < out.size(); ++k, ++i) {
      out[i] = static_cast<std::uint8_t>(v >> (8 * k));
    }
  }
}

} // namespace posthorn
