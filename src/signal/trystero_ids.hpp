#pragma once
// Trystero's derived names and small helper algorithms (spec/trystero-wire.md §1–§2, §5.1, §5.2,
// §10). Everything here must match the JS package bit for bit: two peers meet only if they derive
// the same topics, and the §14 test vectors pin each function. Pure functions, thread-safe.

#include "core/rng.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace posthorn::signal {

/// JS Number.MAX_SAFE_INTEGER, strToNum's default modulus (§2.4).
inline constexpr std::uint64_t kMaxSafeInteger = (std::uint64_t{1} << 53) - 1;
/// Length of a peer id (selfId, §1).
inline constexpr std::size_t kPeerIdLength = 20;
/// Length of a signaling offerId (§1).
inline constexpr std::size_t kOfferIdLength = 12;
/// Length of a password challenge (§10).
inline constexpr std::size_t kChallengeLength = 36;

/// `n` characters drawn uniformly from [0-9A-Za-z] (genId, §1).
std::string gen_id(Rng& rng, std::size_t n);

/// SHA-1, then each byte in base 36 without padding, concatenated (§2.1). 20–40 characters.
std::string sha1b36(std::string_view text);

/// "Trystero@" + app + "@" + room (§2.2), the plaintext both topics derive from.
std::string root_topic_plain(std::string_view app_id, std::string_view room_id);
/// sha1b36 of root_topic_plain (§2.2, TV1).
std::string root_topic(std::string_view app_id, std::string_view room_id);
/// sha1b36(root_topic_plain + "@" + peer_id): the topic a peer listens on for directed messages
/// (§2.2, TV2).
std::string self_topic(std::string_view app_id, std::string_view room_id, std::string_view peer_id);

/// Lowercase hex SHA-256 of "Trystero:" + app + ":" + room, the data-channel room token (§2.3,
/// TV3). Note the ':' separator, unlike the topics.
std::string room_token(std::string_view app_id, std::string_view room_id);

/// Sum of the UTF-16 code units of `text` (a UTF-8 string; invalid bytes count as U+FFFD, as
/// TextDecoder would make them) modulo `limit` (§2.4, TV7). `limit` must be positive.
std::uint64_t str_to_num(std::string_view text, std::uint64_t limit = kMaxSafeInteger);

/// Nostr event kind of a topic: strToNum(topic, 10000) + 20000, NIP-01's ephemeral range (§5.1).
std::uint32_t nostr_kind(std::string_view topic);

/// First 20 characters of sha1b36(rootTopic): rootTopic is hashed a second time (§5.2, TV8).
std::string torrent_info_hash(std::string_view root_topic);

/// Hex SHA-256 of challenge + ":" + password + ":" + app + ":" + room, the responder's answer in
/// the password handshake (§10, TV13).
std::string password_response_hash(std::string_view challenge, std::string_view password,
                                   std::string_view app_id, std::string_view room_id);

/// Trystero's sin-seeded shuffle (§2.5, TV9), used to pick Nostr relays from strToNum(appId).
/// glibc's sin matches V8's Math.sin on every seed this is used with (checked against TV9).
template <class T> std::vector<T> seeded_shuffle(std::vector<T> items, double seed) {
  for (std::size_t i = items.size(); i > 0;) {
    const double x = std::sin(seed) * 10000;
    seed += 1;
    const double r = x - std::floor(x);
    const auto j = static_cast<std::size_t>(std::floor(r * static_cast<double>(i)));
    --i;
    std::swap(items[i], items[j]);
  }
  return items;
}

} // namespace posthorn::signal
