#pragma once
// Nostr events as Trystero's Nostr strategy uses them (spec/trystero-wire.md §5.1, NIP-01):
// BIP-340 Schnorr keys on secp256k1 (libsecp256k1), the event id over NIP-01's exact
// serialization, signing, verification, and the event's JSON. Sans-IO; randomness comes in.

#include "core/rng.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace posthorn::signal::nostr {

using SecretKey = std::array<std::uint8_t, 32>;
using Digest = std::array<std::uint8_t, 32>;
using Signature = std::array<std::uint8_t, 64>;

/// A secp256k1 key pair; the public key is the 32-byte x-only key of BIP-340.
class KeyPair {
public:
  /// A fresh random key (a process has one, spec §5.1).
  static KeyPair generate(Rng& rng);
  /// nullopt when `secret` is zero or not below the curve order.
  static std::optional<KeyPair> from_secret(const SecretKey& secret);

  /// Lowercase hex of the x-only public key (64 characters), the event's `pubkey`.
  [[nodiscard]] const std::string& pubkey_hex() const noexcept { return pubkey_hex_; }
  /// BIP-340 signature of a 32-byte message with the given auxiliary randomness.
  [[nodiscard]] Signature sign(const Digest& message, const Digest& aux) const;

private:
  explicit KeyPair(const SecretKey& secret, std::string pubkey_hex)
      : secret_(secret), pubkey_hex_(std::move(pubkey_hex)) {}
  SecretKey secret_;
  std::string pubkey_hex_;
};

struct Event {
  std::string id; ///< lowercase hex SHA-256 of serialize_for_id()
  std::string pubkey;
  std::int64_t created_at = 0;
  std::uint32_t kind = 0;
  std::vector<std::vector<std::string>> tags;
  std::string content;
  std::string sig; ///< lowercase hex BIP-340 signature of the id
  friend bool operator==(const Event&, const Event&) = default;
};

/// NIP-01: the compact JSON `[0,pubkey,created_at,kind,tags,content]`, escaped as JSON.stringify
/// does (so ids computed by JS peers and by us agree).
[[nodiscard]] std::string serialize_for_id(const Event& event);
[[nodiscard]] std::string compute_id(const Event& event);

/// An event for `topic` carrying `content` (Trystero: kind = nostr_kind(topic), one `x` tag),
/// id computed and signed with `aux` (pass random bytes; TV14 uses zeros).
[[nodiscard]] Event make_topic_event(const KeyPair& keys, std::string_view topic,
                                     std::string content, std::int64_t created_at,
                                     const Digest& aux);

/// The id matches the content and the signature verifies under the pubkey (what a relay checks;
/// Trystero itself does not, §5.1).
[[nodiscard]] bool verify(const Event& event);

/// The event object as NIP-01 JSON (key order as Trystero writes it).
[[nodiscard]] std::string to_json(const Event& event);
/// Parses an event object; nullopt when a field is missing or has the wrong type (the id and
/// signature are only checked by verify()).
[[nodiscard]] std::optional<Event> event_from_json(std::string_view text);

/// The value of the first tag named `name` (Trystero's topic is the `x` tag), if any.
[[nodiscard]] std::optional<std::string> first_tag(const Event& event, std::string_view name);

} // namespace posthorn::signal::nostr
