#pragma once
// Payloads for tests that move data between processes: deterministic random bytes, as the
// base64 the JSON-lines contracts carry (docs/cli-peer.md, docs/cli-dc.md).

#include "core/bytes.hpp"
#include "core/crypto.hpp"

#include <cstdint>
#include <random>
#include <string>

namespace posthorn::test {

/// `size` pseudo-random bytes from `seed` (the same on every run), base64-encoded.
inline std::string random_base64(std::size_t size, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes b(size);
  for (auto& x : b)
    x = static_cast<std::uint8_t>(rng());
  return crypto::base64_encode(b);
}

} // namespace posthorn::test
