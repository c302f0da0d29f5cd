// Fuzz target for the ICE candidate JSON codec (spec/trystero-wire.md §6.3). Invariants, beyond
// "no crash":
//   1. Whatever parse_candidate_json() accepts, to_json() writes the browser form, which parses to
//      the same candidate, and writing is idempotent.
//   2. Accepted candidates have no "a=" prefix and an sdpMLineIndex within 0..65535.
#include "signal/candidate_json.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "candidate_json_fuzz invariant violated: %s\n", what);
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace posthorn::signal;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = parse_candidate_json(text);
  if (!parsed) return 0;
  if (parsed->candidate.starts_with("a=")) fail("a= prefix kept");
  if (parsed->sdp_mline_index && (*parsed->sdp_mline_index < 0 || *parsed->sdp_mline_index > 65535))
    fail("sdpMLineIndex out of range");

  const std::string written = to_json(*parsed);
  if (!written.starts_with(R"({"candidate":)")) fail("not the browser key order");
  const auto again = parse_candidate_json(written);
  if (!again) fail("written candidate does not parse");
  if (!(*again == *parsed)) fail("parse(to_json(c)) != c");
  if (to_json(*again) != written) fail("to_json is not idempotent");
  return 0;
}
