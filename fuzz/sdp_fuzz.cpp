// Fuzz target for the SDP codec. Invariants, beyond "no crash":
//   1. Whatever parse_sdp() accepts, to_string() writes text that parse_sdp() accepts again and
//      that parses to the same model (unless the canonical text outgrew kMaxSdpSize).
//   2. Writing is idempotent: to_string(parse(to_string(d))) == to_string(d).
//   3. The size limits hold: no section has more than kMaxCandidatesPerSection candidates.
#include "rtc/sdp.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "sdp_fuzz invariant violated: %s\n", what);
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace posthorn::rtc;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  SdpParseStats stats;
  const auto parsed = parse_sdp(text, &stats);
  if (!parsed) return 0;
  if (parsed->media.size() > kMaxMediaSections) fail("too many media sections accepted");
  for (const auto& m : parsed->media) {
    if (m.candidates.size() > kMaxCandidatesPerSection) fail("too many candidates accepted");
  }

  const std::string written = to_string(*parsed);
  const auto again = parse_sdp(written);
  if (!again) {
    // Canonical text can be longer than the input (CRLF for LF, a c= line per section).
    if (written.size() > kMaxSdpSize && again.error() == Errc::SdpTooLarge) return 0;
    fail("written SDP does not parse");
  }
  if (!(*again == *parsed)) fail("parse(to_string(d)) != d");
  if (to_string(*again) != written) fail("to_string is not idempotent");
  return 0;
}
