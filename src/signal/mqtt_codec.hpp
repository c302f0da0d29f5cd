#pragma once
// MQTT 3.1.1 (OASIS standard, protocol level 4) packet codec for a QoS-0 client: the subset
// Trystero's MQTT strategy uses (spec/trystero-wire.md §5.3). Sans-IO: no sockets, no clock.
//
// Encoding: one free function per client→server packet, each returning the whole packet (fixed
// header included), ready to write to a TCP stream or as one binary WebSocket message.
//
// Decoding: a Decoder consumes the broker's byte stream, however it was split or coalesced by the
// transport, and yields whole packets:
//
//   decoder.feed(bytes);                       // any number of bytes, any split
//   while (auto p = decoder.poll()) {          // result<optional<Packet>>
//     if (!*p) break;                          // need more bytes
//     std::visit(handler, **p);
//   }
//   // !p: a protocol violation; close the connection (MQTT 3.1.1 §4.8). The decoder stays failed.
//
// Memory: the decoder holds at most the bytes passed to feed() that poll() has not consumed yet.
// A caller that drains poll() after each feed() therefore holds at most one partial packet,
// itself bounded by DecoderOptions::max_packet_size: the size is checked as soon as the
// remaining-length field is complete, before the body arrives.

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "signal/mqtt_errc.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace posthorn::signal::mqtt {

/// §2.2.3: four remaining-length bytes carry at most 268 435 455.
inline constexpr std::size_t kMaxRemainingLength = 268'435'455;
/// Signaling messages are a few kB (an encrypted SDP offer is the largest); 1 MiB leaves room for
/// other applications on the same broker without letting one packet take unbounded memory.
inline constexpr std::size_t kDefaultMaxPacketSize = 1u << 20;
/// §3.9.3: the SUBACK return code for a refused subscription.
inline constexpr std::uint8_t kSubscribeFailure = 0x80;

/// §2.2.1 Table 2.1.
enum class PacketType : std::uint8_t {
  Connect = 1,
  ConnAck,
  Publish,
  PubAck,
  PubRec,
  PubRel,
  PubComp,
  Subscribe,
  SubAck,
  Unsubscribe,
  UnsubAck,
  PingReq,
  PingResp,
  Disconnect,
};

// ---- client → server ---------------------------------------------------------------------------

struct ConnectOptions {
  std::string client_id;
  std::uint16_t keepalive_seconds = 60; ///< §3.1.2.10; 0 turns keepalive off
  bool clean_session = true;            ///< Trystero (mqtt.js default) always uses a clean session
  std::optional<std::string> username;
  std::optional<std::string> password; ///< binary data; §3.1.2-22 needs a username with it
};

/// CONNECT (§3.1) with protocol name "MQTT", level 4, no will.
[[nodiscard]] result<Bytes> encode_connect(const ConnectOptions& options);
/// SUBSCRIBE (§3.8), every topic filter at QoS 0. `packet_id` must not be 0.
[[nodiscard]] result<Bytes> encode_subscribe(std::uint16_t packet_id,
                                             std::span<const std::string> topic_filters);
/// UNSUBSCRIBE (§3.10). `packet_id` must not be 0.
[[nodiscard]] result<Bytes> encode_unsubscribe(std::uint16_t packet_id,
                                               std::span<const std::string> topic_filters);
/// PUBLISH (§3.3) at QoS 0 with retain and dup off. The topic name must not hold '+' or '#'.
[[nodiscard]] result<Bytes> encode_publish(std::string_view topic, ByteView payload);
/// PUBACK (§3.4), the answer to a QoS 1 PUBLISH.
[[nodiscard]] Bytes encode_puback(std::uint16_t packet_id);
[[nodiscard]] Bytes encode_pingreq();
[[nodiscard]] Bytes encode_disconnect();

// ---- server → client ---------------------------------------------------------------------------

/// §3.2.2.3 Table 3.1. Codes 6–255 are reserved; the decoder passes them through.
enum class ConnectReturnCode : std::uint8_t {
  Accepted = 0,
  UnacceptableProtocolVersion = 1,
  IdentifierRejected = 2,
  ServerUnavailable = 3,
  BadUsernameOrPassword = 4,
  NotAuthorized = 5,
};
/// Human text for a CONNACK return code ("not authorized", "reserved return code 9").
std::string describe_connect_return_code(std::uint8_t code);

struct ConnAck {
  bool session_present = false;
  std::uint8_t return_code = 0; ///< ConnectReturnCode; 0 means accepted
  friend bool operator==(const ConnAck&, const ConnAck&) = default;
};
struct SubAck {
  std::uint16_t packet_id = 0;
  std::vector<std::uint8_t> return_codes; ///< granted QoS 0–2, or kSubscribeFailure
  friend bool operator==(const SubAck&, const SubAck&) = default;
};
struct UnsubAck {
  std::uint16_t packet_id = 0;
  friend bool operator==(const UnsubAck&, const UnsubAck&) = default;
};
struct Publish {
  std::string topic;
  Bytes payload;
  std::uint8_t qos = 0; ///< 0, 1 or 2
  bool retain = false;
  bool dup = false;
  std::uint16_t packet_id = 0; ///< present only when qos > 0
  friend bool operator==(const Publish&, const Publish&) = default;
};
struct PingResp {
  friend bool operator==(const PingResp&, const PingResp&) = default;
};
/// An oversized PUBLISH discarded without buffering (DecoderOptions::skip_oversized_publish).
struct SkippedPublish {
  std::size_t packet_size = 0; ///< fixed header + remaining length
  friend bool operator==(const SkippedPublish&, const SkippedPublish&) = default;
};

using Packet = std::variant<ConnAck, SubAck, UnsubAck, Publish, PingResp, SkippedPublish>;

/// Encodes a server→client packet: used by tests, the fuzz round trip and test brokers.
/// SkippedPublish has no wire form (MalformedPacket).
[[nodiscard]] result<Bytes> encode(const Packet& packet);

struct DecoderOptions {
  /// Largest accepted packet, fixed header included. A larger one is PacketTooLarge (the
  /// connection must be dropped), unless skip_oversized_publish applies.
  std::size_t max_packet_size = kDefaultMaxPacketSize;
  /// Discard an oversized PUBLISH as it streams by and report SkippedPublish instead of failing.
  /// A broker relays whatever any client publishes on our topics, so one oversized message from a
  /// stranger need not cost us the connection; every other oversized packet still fails.
  bool skip_oversized_publish = false;
};

class Decoder {
public:
  explicit Decoder(DecoderOptions options = {}) noexcept : options_(options) {}

  /// Appends bytes from the broker. Ignored once the decoder has failed.
  void feed(ByteView data);
  /// The next whole packet; nullopt when more bytes are needed; an error on a protocol violation,
  /// after which every poll() returns that same error.
  [[nodiscard]] result<std::optional<Packet>> poll();

  [[nodiscard]] bool failed() const noexcept { return static_cast<bool>(error_); }
  /// Bytes fed but not yet consumed by poll().
  [[nodiscard]] std::size_t buffered() const noexcept { return buf_.size() - pos_; }
  [[nodiscard]] const DecoderOptions& options() const noexcept { return options_; }

private:
  result<std::optional<Packet>> fail(error_code e);
  void compact();

  DecoderOptions options_;
  Bytes buf_;
  std::size_t pos_ = 0;          // first unconsumed byte of buf_
  std::size_t skip_left_ = 0;    // body bytes of an oversized PUBLISH still to discard
  std::size_t skipped_size_ = 0; // its full size, reported when the skip completes
  bool skipping_ = false;
  error_code error_;
};

/// §1.5.3: well-formed UTF-8 without U+0000 (MQTT-1.5.3-1, -2).
[[nodiscard]] bool is_valid_mqtt_string(std::string_view s) noexcept;

} // namespace posthorn::signal::mqtt
