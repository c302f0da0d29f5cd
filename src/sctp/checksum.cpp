#include "sctp/checksum.hpp"

#include "core/assert.hpp"

#include <usrsctp.h>

#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#define POSTHORN_SCTP_HW_CRC 1
#endif

namespace posthorn::sctp {
namespace {

#ifdef POSTHORN_SCTP_HW_CRC
// CRC32c (Castagnoli) with the SSE4.2 instruction; standard init/final XOR, like crypto::crc32c.
__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(const std::uint8_t* p,
                                                             std::size_t n) noexcept {
  std::uint64_t crc = 0xFFFFFFFFu;
  while (n >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    crc = _mm_crc32_u64(crc, word);
    p += 8;
    n -= 8;
  }
  auto c = static_cast<std::uint32_t>(crc);
  while (n-- > 0)
    c = _mm_crc32_u8(c, *p++);
  return ~c;
}

bool has_sse42() noexcept {
  static const bool has = __builtin_cpu_supports("sse4.2");
  return has;
}
#endif

} // namespace

void fill_checksum(MutableByteView packet) noexcept {
  POSTHORN_ASSERT(packet.size() >= 12, "an SCTP packet starts with a 12-byte common header");
  std::memset(packet.data() + 8, 0, 4);
#ifdef POSTHORN_SCTP_HW_CRC
  if (has_sse42()) {
    // RFC 9260 Appendix A: the checksum goes on the wire least significant byte first.
    const std::uint32_t crc = crc32c_sse42(packet.data(), packet.size());
    packet[8] = static_cast<std::uint8_t>(crc);
    packet[9] = static_cast<std::uint8_t>(crc >> 8);
    packet[10] = static_cast<std::uint8_t>(crc >> 16);
    packet[11] = static_cast<std::uint8_t>(crc >> 24);
    return;
  }
#endif
  // usrsctp_crc32c returns the value already in wire order for a memcpy.
  const std::uint32_t crc = usrsctp_crc32c(packet.data(), packet.size());
  std::memcpy(packet.data() + 8, &crc, sizeof crc);
}

} // namespace posthorn::sctp
