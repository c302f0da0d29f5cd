// NIP-01 message fuzz target (signal/nostr_messages), both directions: a decoded message encodes
// to text that decodes to the same message, and a filter's match never depends on how the
// message was written.
#include "signal/nostr_messages.hpp"

#include <cstdlib>

using namespace posthorn::signal::nostr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto client = decode_client_message(text);
  if (auto* m = std::get_if<ClientMessage>(&client)) {
    auto again = decode_client_message(encode(*m));
    if (!std::holds_alternative<ClientMessage>(again) || std::get<ClientMessage>(again) != *m)
      std::abort();
  }
  auto relay = decode_relay_message(text);
  if (auto* m = std::get_if<RelayMessage>(&relay)) {
    auto again = decode_relay_message(encode(*m));
    if (!std::holds_alternative<RelayMessage>(again) || std::get<RelayMessage>(again) != *m)
      std::abort();
  }
  return 0;
}
