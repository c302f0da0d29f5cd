// Fuzz target for the signal message codec (spec/trystero-wire.md §4.1) and the signal cipher's
// text parser (§3). Invariants, beyond "no crash":
//   1. Whatever parse_signal_message() accepts, to_json() writes text that parses to the same
//      message, and writing is idempotent (parse → to_json → parse is stable).
//   2. Accepted messages respect the receive rules: a non-empty peerId; a non-empty payload
//      exactly when the type is not an announce; no offerId on an announce.
//   3. decrypt() of any payload returns a value or an error and never throws; a payload that
//      decrypts under the fixed key re-encrypts to text that decrypts to the same plaintext.
#include "core/rng.hpp"
#include "signal/signal_cipher.hpp"
#include "signal/signal_message.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "signal_message_fuzz invariant violated: %s\n", what);
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace posthorn::signal;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = parse_signal_message(text);
  if (!parsed) return 0;
  const SignalMessage& m = *parsed;
  if (m.peer_id.empty()) fail("empty peerId accepted");
  const bool announce = m.type == SignalMessage::Type::Announce;
  if (announce != m.payload.empty()) fail("payload presence does not match the type");
  if (announce && m.offer_id) fail("announce kept an offerId");
  if (m.offer_id && m.offer_id->empty()) fail("empty offerId kept");

  const std::string written = to_json(m);
  const auto again = parse_signal_message(written);
  if (!again) fail("written message does not parse");
  if (!(*again == m)) fail("parse(to_json(m)) != m");
  if (to_json(*again) != written) fail("to_json is not idempotent");

  if (!announce) {
    static const SignalKey key = SignalKey::derive("", "fuzz", "room");
    const auto plain = decrypt(key, m.payload);
    if (plain) {
      posthorn::SeededRng rng(size);
      if (decrypt(key, encrypt(key, *plain, rng)).value() != *plain) fail("cipher round trip");
    }
  }
  return 0;
}
