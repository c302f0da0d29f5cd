#pragma once
// Which hub of `posthorn relay` a client's text message is for, decided without parsing it: the
// three protocols share one port and one connection may speak all of them.
//
//  - a JSON array is NIP-01 (NostrHub);
//  - an object whose first key is "action" is the WebTorrent tracker protocol (TrackerHub), which
//    every tracker client sends first (bittorrent-tracker's clients, Trystero, our codec);
//  - an object whose first key is "type" is ws-relay (PubSubHub), as Trystero sends it;
//  - any other object is the tracker's if one of its top-level keys is "action" (ws-relay
//    messages encoded with sorted keys start with "payload" or "topic"), else ws-relay's;
//  - anything else goes to ws-relay, whose hub answers it with an error, as before.
// Keys are compared as raw text: a key spelled with escapes ("\u0061ction") is not "action".

#include <optional>
#include <string_view>

namespace posthorn::relay {

enum class Protocol { WsRelay, Nostr, Tracker };

[[nodiscard]] Protocol route_message(std::string_view text) noexcept;

/// The raw text of the first key of the JSON object `text` (whitespace, '{', whitespace, then a
/// string), or nullopt when `text` does not start that way.
[[nodiscard]] std::optional<std::string_view> first_json_key(std::string_view text) noexcept;

/// Whether the JSON object `text` has `key` (raw text) among its top-level keys. Scans the text
/// once, stepping over nested values; false as soon as the text stops being an object.
[[nodiscard]] bool has_top_level_key(std::string_view text, std::string_view key) noexcept;

} // namespace posthorn::relay
