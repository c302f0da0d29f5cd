#pragma once
// The ws-relay protocol (docs/strategies.md "ws-relay"): topic pub/sub as JSON text messages over
// one WebSocket, the self-hosted signaling medium `posthorn relay` serves. Sans-IO: text in,
// values out, and back.
//
//   client → relay  {"type":"subscribe","topic":T}
//                   {"type":"unsubscribe","topic":T}
//                   {"type":"publish","topic":T,"payload":P}
//   relay → client  {"type":"subscribed","topic":T}          the subscription is in place
//                   {"topic":T,"payload":P}                  a message another client published
//                   {"type":"error","error":TEXT}            a refusal (the relay may then close)
//
// T is a non-empty string of at most kMaxTopicBytes; P is a string (Trystero's signal JSON,
// carried opaquely). Unknown fields are ignored, so either side may add some later.

#include "core/error.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

namespace posthorn::signal::wsrelay {

/// Trystero's topics are 40–60 bytes; the bound keeps a relay's per-topic state small.
inline constexpr std::size_t kMaxTopicBytes = 256;

struct Subscribe {
  std::string topic;
  friend bool operator==(const Subscribe&, const Subscribe&) = default;
};
struct Unsubscribe {
  std::string topic;
  friend bool operator==(const Unsubscribe&, const Unsubscribe&) = default;
};
struct Publish {
  std::string topic;
  std::string payload;
  friend bool operator==(const Publish&, const Publish&) = default;
};
using ClientMessage = std::variant<Subscribe, Unsubscribe, Publish>;

struct Subscribed {
  std::string topic;
  friend bool operator==(const Subscribed&, const Subscribed&) = default;
};
struct Delivery {
  std::string topic;
  std::string payload;
  friend bool operator==(const Delivery&, const Delivery&) = default;
};
struct Refusal {
  std::string error;
  friend bool operator==(const Refusal&, const Refusal&) = default;
};
using RelayMessage = std::variant<Subscribed, Delivery, Refusal>;

/// A decode failure: what was wrong, for logs and for the relay's error answer.
struct DecodeError {
  std::string reason;
};
template <class T> using decoded = std::variant<T, DecodeError>;

[[nodiscard]] decoded<ClientMessage> decode_client_message(std::string_view text);
[[nodiscard]] decoded<RelayMessage> decode_relay_message(std::string_view text);

[[nodiscard]] std::string encode(const ClientMessage& message);
[[nodiscard]] std::string encode(const RelayMessage& message);

} // namespace posthorn::signal::wsrelay
