#include "signal/mqtt_errc.hpp"

namespace posthorn::signal::mqtt {

const char* describe(Errc e) noexcept {
  switch (e) {
  case Errc::MalformedRemainingLength: return "MQTT remaining length uses more than four bytes";
  case Errc::PacketTooLarge: return "MQTT packet exceeds the configured maximum packet size";
  case Errc::UnexpectedPacketType: return "MQTT packet type a server must not send to a client";
  case Errc::BadFixedHeaderFlags: return "MQTT fixed header has reserved flag bits set wrongly";
  case Errc::MalformedPacket: return "MQTT packet body does not match its remaining length";
  case Errc::InvalidUtf8: return "MQTT string is not well-formed UTF-8 or contains U+0000";
  case Errc::UnsupportedQos: return "MQTT publish with an unsupported QoS (3 is invalid)";
  case Errc::DecoderFailed: return "MQTT stream already failed; the connection must be closed";
  case Errc::StringTooLong: return "MQTT string field is longer than 65535 bytes";
  case Errc::PacketIdZero: return "MQTT packet identifier must not be zero";
  case Errc::EmptyTopicList: return "MQTT SUBSCRIBE/UNSUBSCRIBE needs at least one topic";
  case Errc::InvalidTopic: return "MQTT topic is empty, has a wildcard, or is not valid UTF-8";
  case Errc::PayloadTooLarge: return "MQTT packet would exceed the 268435455-byte maximum";
  case Errc::PasswordWithoutUsername: return "MQTT CONNECT with a password needs a user name";
  }
  return "unknown MQTT error";
}

Condition classify(Errc e) noexcept {
  switch (e) {
  case Errc::MalformedRemainingLength:
  case Errc::PacketTooLarge:
  case Errc::UnexpectedPacketType:
  case Errc::BadFixedHeaderFlags:
  case Errc::MalformedPacket:
  case Errc::InvalidUtf8:
  case Errc::UnsupportedQos:
  case Errc::DecoderFailed: return Condition::ProtocolViolation;
  case Errc::StringTooLong:
  case Errc::PacketIdZero:
  case Errc::EmptyTopicList:
  case Errc::InvalidTopic:
  case Errc::PayloadTooLarge:
  case Errc::PasswordWithoutUsername: return Condition::InvalidArgument;
  }
  return Condition::ProtocolViolation;
}

} // namespace posthorn::signal::mqtt
