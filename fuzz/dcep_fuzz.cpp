// Fuzz target for the DCEP codec (RFC 8832 §5). Invariants, not just "no crash":
//   * parse never throws or reads out of bounds (ASan/UBSan in the libFuzzer build);
//   * whatever parses re-encodes to exactly the bytes it was parsed from (the codec keeps every
//     field, and trailing bytes are the only thing it skips), and that encoding parses back to
//     an equal message;
//   * an input that fails to parse fails with one of the codec's own errors.
#include "sctp/dcep.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace posthorn;
  using namespace posthorn::sctp;
  const ByteView input(data, size);
  auto parsed = parse_dcep(input);
  if (!parsed) {
    const auto& ec = parsed.error();
    if (ec != Errc::Truncated && ec != Errc::BadLength && ec != Errc::UnknownMessageType &&
        ec != Errc::UnknownChannelType)
      std::abort();
    if (ec != Condition::ProtocolViolation) std::abort();
    return 0;
  }
  const Bytes encoded = encode(*parsed);
  if (encoded.size() > size || std::memcmp(encoded.data(), data, encoded.size()) != 0)
    std::abort(); // not the canonical prefix of the input
  auto reparsed = parse_dcep(encoded);
  if (!reparsed || *reparsed != *parsed) std::abort();
  if (encode(*reparsed) != encoded) std::abort();
  if (auto* open = std::get_if<DataChannelOpen>(&*parsed)) {
    if (encoded.size() != kDcepOpenHeaderSize + open->label.size() + open->protocol.size())
      std::abort();
  }
  return 0;
}
