// Nostr event fuzz target (signal/nostr_event): parsing arbitrary JSON as an event. Invariants
// beyond "no crash":
//  - a parsed event prints (to_json) as text that parses back to the same event;
//  - verification never accepts an event whose id is not the hash of its serialization, and
//    once an event verifies, changing its content makes it fail.
#include "signal/nostr_event.hpp"

#include <cstdlib>
#include <string>

using namespace posthorn::signal::nostr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto event = event_from_json(text);
  if (!event) return 0;
  auto again = event_from_json(to_json(*event));
  if (!again) std::abort();
  // Invalid UTF-8 cannot come out of the parser, so printing is lossless.
  if (!(*again == *event)) std::abort();
  const bool valid = verify(*event);
  if (valid && event->id != compute_id(*event)) std::abort();
  if (valid) {
    auto changed = *event;
    changed.content += "!";
    if (verify(changed)) std::abort();
  }
  return 0;
}
