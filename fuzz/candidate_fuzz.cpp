// Fuzz target for the ICE candidate text codec. Invariants, beyond "no crash":
//   1. Whatever Candidate::parse() accepts, to_string() writes text that parses to the same
//      candidate, and writing is idempotent.
//   2. Accepted candidates respect the grammar bounds (foundation <= 32 chars, component 1..256).
#include "ice/candidate.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "candidate_fuzz invariant violated: %s\n", what);
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using posthorn::ice::Candidate;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = Candidate::parse(text);
  if (!parsed) return 0;
  if (parsed->foundation.empty() || parsed->foundation.size() > 32) fail("foundation bounds");
  if (parsed->component < 1 || parsed->component > 256) fail("component bounds");
  if (parsed->related_address.has_value() != parsed->related_port.has_value()) {
    fail("half raddr/rport pair accepted");
  }

  const std::string written = parsed->to_string();
  if (written.size() > text.size()) fail("canonical form longer than input");
  const auto again = Candidate::parse(written);
  if (!again) fail("written candidate does not parse");
  if (!(*again == *parsed)) fail("parse(to_string(c)) != c");
  if (again->to_string() != written) fail("to_string is not idempotent");
  // The SDP attribute form must parse the same.
  const auto attribute = Candidate::parse("a=" + written);
  if (!attribute || !(*attribute == *parsed)) fail("a= form differs");
  return 0;
}
