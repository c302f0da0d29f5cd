#pragma once
// Randomness is an input (STYLE.md): cores take an Rng& so tests replay a scenario bit for bit.
// Production code uses CryptoRng (OpenSSL's DRBG); tests and the sim use SeededRng.

#include "core/bytes.hpp"

#include <cstdint>
#include <string>

namespace posthorn {

class Rng {
public:
  virtual ~Rng() = default;
  virtual void fill(MutableByteView out) = 0;

  std::uint64_t next_u64();
  std::uint32_t next_u32() { return static_cast<std::uint32_t>(next_u64()); }
  /// Uniform in [0, bound); bound > 0.
  std::uint64_t uniform(std::uint64_t bound);
  /// Uniform in [0, 1).
  double next_double() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  Bytes bytes(std::size_t n);
  /// `n` characters from `alphabet` (ICE ufrag/pwd use the ice-char set of RFC 8839 §5.4).
  std::string string(std::size_t n, std::string_view alphabet);
};

/// Cryptographically secure (RAND_bytes). Thread-safe.
class CryptoRng final : public Rng {
public:
  void fill(MutableByteView out) override;
};

/// Deterministic xoshiro256** seeded by splitmix64. Not for keys; for tests and the sim.
class SeededRng final : public Rng {
public:
  explicit SeededRng(std::uint64_t seed) noexcept;
  void fill(MutableByteView out) override;

private:
  std::uint64_t step() noexcept;
  std::uint64_t s_[4];
};

} // namespace posthorn
