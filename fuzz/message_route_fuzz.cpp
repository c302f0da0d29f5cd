// The relay's routing peek (relay/message_route) against a real JSON parser. Invariants beyond
// "no crash", for every text nlohmann parses as an object:
//  - has_top_level_key(text, "action") implies the object has an "action" member;
//  - without escapes in the text, the converse holds, and first_json_key is the first member's
//    name (ordered_json keeps the text's order);
//  - route_message sends arrays to Nostr and objects with "action" to the tracker unless "type"
//    comes first.
#include "relay/message_route.hpp"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <string_view>

using namespace posthorn::relay;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const Protocol route = route_message(text);
  const auto j = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  // nlohmann skips a leading UTF-8 BOM; the peek does not (such a text goes to ws-relay).
  if (j.is_discarded() || text.starts_with("\xEF\xBB\xBF")) return 0;
  if (j.is_array() && route != Protocol::Nostr) std::abort();
  if (!j.is_object()) return 0;
  const bool has_action = has_top_level_key(text, "action");
  if (has_action && !j.contains("action")) std::abort();
  if (text.find('\\') != std::string_view::npos) return 0;
  if (j.contains("action") != has_action) std::abort();
  const auto first = first_json_key(text);
  if (j.empty() ? first.has_value() : first != j.begin().key()) std::abort();
  if (has_action && first != "type" && route != Protocol::Tracker) std::abort();
  return 0;
}
