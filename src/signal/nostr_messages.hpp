#pragma once
// NIP-01 messages between a client and a relay, the subset Trystero's Nostr strategy uses
// (spec/trystero-wire.md §5.1): JSON arrays over a WebSocket. Sans-IO, used by the Nostr
// strategy (client side) and by `posthorn relay` (relay side).
//
//   client → relay  ["EVENT",event]  ["REQ",subid,filter…]  ["CLOSE",subid]
//   relay → client  ["EVENT",subid,event]  ["OK",id,accepted,message]  ["EOSE",subid]
//                   ["NOTICE",message]  ["CLOSED",subid,message]

#include "signal/nostr_event.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace posthorn::signal::nostr {

/// The filter fields Trystero sends (kinds, since, #x); others are ignored when decoding.
struct Filter {
  std::vector<std::uint32_t> kinds;  ///< empty: any kind
  std::optional<std::int64_t> since; ///< events with created_at >= since
  std::vector<std::string> x_tags;   ///< "#x": empty = any
  /// NIP-01 matching for these fields.
  [[nodiscard]] bool matches(const Event& event) const;
  friend bool operator==(const Filter&, const Filter&) = default;
};

struct ClientEvent {
  Event event;
  friend bool operator==(const ClientEvent&, const ClientEvent&) = default;
};
struct Req {
  std::string subscription_id;
  std::vector<Filter> filters;
  friend bool operator==(const Req&, const Req&) = default;
};
struct Close {
  std::string subscription_id;
  friend bool operator==(const Close&, const Close&) = default;
};
using ClientMessage = std::variant<ClientEvent, Req, Close>;

struct RelayEvent {
  std::string subscription_id;
  Event event;
  friend bool operator==(const RelayEvent&, const RelayEvent&) = default;
};
struct Ok {
  std::string event_id;
  bool accepted = false;
  std::string message;
  friend bool operator==(const Ok&, const Ok&) = default;
};
struct Eose {
  std::string subscription_id;
  friend bool operator==(const Eose&, const Eose&) = default;
};
struct Notice {
  std::string message;
  friend bool operator==(const Notice&, const Notice&) = default;
};
struct Closed {
  std::string subscription_id;
  std::string message;
  friend bool operator==(const Closed&, const Closed&) = default;
};
using RelayMessage = std::variant<RelayEvent, Ok, Eose, Notice, Closed>;

/// NIP-01 limits subscription ids to 64 characters.
inline constexpr std::size_t kMaxSubscriptionIdBytes = 64;

/// Why a text is not a message.
struct DecodeError {
  std::string reason;
};
/// A decoded message, or why the text is not one.
template <class T> using decoded = std::variant<T, DecodeError>;

[[nodiscard]] decoded<ClientMessage> decode_client_message(std::string_view text);
[[nodiscard]] decoded<RelayMessage> decode_relay_message(std::string_view text);
[[nodiscard]] std::string encode(const ClientMessage& message);
[[nodiscard]] std::string encode(const RelayMessage& message);

} // namespace posthorn::signal::nostr
