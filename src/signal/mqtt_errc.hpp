#pragma once
// Errors of the MQTT 3.1.1 codec (pattern: src/core/error.hpp). Broker input that breaks the
// packet format is a ProtocolViolation (MQTT 3.1.1 §4.8: "the receiver MUST close the Network
// Connection"); bad arguments from our own code (a topic with a NUL, a string over 65 535 bytes)
// are InvalidArgument.
//
//   auto packet = decoder.poll();
//   if (!packet && packet.error() == posthorn::Condition::ProtocolViolation) reconnect();

#include "core/error.hpp"

namespace posthorn::signal::mqtt {

enum class Errc {
  // Decoder, remote input.
  MalformedRemainingLength = 1, // a 5th remaining-length byte (§2.2.3: at most four)
  PacketTooLarge,               // fixed header + remaining length over the configured maximum
  UnexpectedPacketType,         // a packet a server never sends to a client, or reserved type
  BadFixedHeaderFlags,          // §2.2.2: reserved flag bits not as specified
  MalformedPacket,              // the variable header or payload does not fit its length
  InvalidUtf8,                  // §1.5.3: a topic that is not well-formed UTF-8 or has U+0000
  UnsupportedQos,               // QoS 3 (§3.3.1-4), or a QoS the caller does not handle
  DecoderFailed,                // an earlier error; the stream cannot resynchronise
  // Encoder, caller misuse.
  StringTooLong,           // a UTF-8 field over 65 535 bytes (§1.5.3)
  PacketIdZero,            // §2.3.1: SUBSCRIBE/UNSUBSCRIBE need a non-zero packet identifier
  EmptyTopicList,          // §3.8.3-3, §3.10.3-2: at least one topic filter
  InvalidTopic,            // empty, wildcard in a PUBLISH topic name (§4.7.1), or bad UTF-8
  PayloadTooLarge,         // remaining length over 268 435 455 (§2.2.3)
  PasswordWithoutUsername, // §3.1.2-22: the password flag needs the user name flag
};

const char* describe(Errc e) noexcept;
Condition classify(Errc e) noexcept;
inline error_code make_error_code(Errc e) noexcept {
  return posthorn::detail::make_layer_error(e, "posthorn.mqtt");
}

} // namespace posthorn::signal::mqtt

template <>
struct boost::system::is_error_code_enum<posthorn::signal::mqtt::Errc> : std::true_type {};
