#include "signal/mqtt_codec.hpp"

#include "core/overloaded.hpp"

#include <algorithm>

namespace posthorn::signal::mqtt {
namespace {

constexpr std::uint8_t kProtocolLevel = 4; // §3.1.2.2: 3.1.1 is level 4
constexpr std::string_view kProtocolName = "MQTT";
constexpr std::size_t kMaxStringLength = 0xFFFF;

std::uint8_t first_byte(PacketType type, std::uint8_t flags) {
  return static_cast<std::uint8_t>((static_cast<std::uint8_t>(type) << 4) | (flags & 0x0F));
}

/// §2.2.3: seven bits per byte, least significant group first, bit 7 = "more bytes follow".
void put_remaining_length(ByteWriter& w, std::size_t value) {
  do {
    auto digit = static_cast<std::uint8_t>(value % 128);
    value /= 128;
    if (value > 0) digit |= 0x80;
    w.u8(digit);
  } while (value > 0);
}

/// A packet is built body-first, then framed, so the remaining length is known exactly.
result<Bytes> frame(PacketType type, std::uint8_t flags, const Bytes& body) {
  if (body.size() > kMaxRemainingLength) return Errc::PayloadTooLarge;
  ByteWriter w;
  w.u8(first_byte(type, flags));
  put_remaining_length(w, body.size());
  w.bytes(body);
  return std::move(w).take();
}

/// §1.5.3: a two-byte length, then the bytes.
void put_string(ByteWriter& w, std::string_view s) {
  w.u16(static_cast<std::uint16_t>(s.size()));
  w.bytes(as_bytes(s));
}

result<void> check_string(std::string_view s) {
  if (s.size() > kMaxStringLength) return Errc::StringTooLong;
  return {};
}

result<void> check_topic_filter(std::string_view topic) {
  // §4.7.3: topic filters and names are at least one character long.
  if (topic.empty() || !is_valid_mqtt_string(topic)) return Errc::InvalidTopic;
  return check_string(topic);
}

result<Bytes> encode_topic_list(PacketType type, std::uint16_t packet_id,
                                std::span<const std::string> filters, bool with_qos) {
  if (packet_id == 0) return Errc::PacketIdZero;
  if (filters.empty()) return Errc::EmptyTopicList;
  ByteWriter body;
  body.u16(packet_id);
  for (const auto& filter : filters) {
    if (auto ok = check_topic_filter(filter); !ok) return ok.error();
    put_string(body, filter);
    if (with_qos) body.u8(0); // requested QoS 0: Trystero publishes and subscribes at QoS 0
  }
  // §3.8.1, §3.10.1: SUBSCRIBE and UNSUBSCRIBE carry the reserved flags 0b0010.
  return frame(type, 0x02, body.view());
}

// ---- decoding helpers ----

std::optional<std::string_view> read_string(ByteReader& r) {
  auto len = r.u16();
  if (!len) return std::nullopt;
  auto data = r.bytes(*len);
  if (!data) return std::nullopt;
  return as_string_view(*data);
}

bool has_wildcard(std::string_view topic) {
  return topic.find_first_of("+#") != std::string_view::npos;
}

/// Which types a server may send a QoS-0 client, and the fixed flags they carry (§2.2.2 Table 2.2).
/// PUBLISH flags are variable and checked separately.
bool expected_from_server(std::uint8_t type) {
  switch (static_cast<PacketType>(type)) {
  case PacketType::ConnAck:
  case PacketType::Publish:
  case PacketType::SubAck:
  case PacketType::UnsubAck:
  case PacketType::PingResp: return true;
  default: return false; // includes the reserved types 0 and 15
  }
}

result<Packet> decode_body(std::uint8_t header, ByteView body) {
  const std::uint8_t type = header >> 4;
  const std::uint8_t flags = header & 0x0F;
  ByteReader r(body);
  switch (static_cast<PacketType>(type)) {
  case PacketType::ConnAck: {
    // §3.2: two bytes, the upper seven bits of the acknowledge flags are reserved zeros.
    if (body.size() != 2 || (body[0] & 0xFE) != 0) return Errc::MalformedPacket;
    return ConnAck{.session_present = (body[0] & 0x01) != 0, .return_code = body[1]};
  }
  case PacketType::Publish: {
    Publish p;
    p.dup = (flags & 0x08) != 0;
    p.qos = static_cast<std::uint8_t>((flags >> 1) & 0x03);
    p.retain = (flags & 0x01) != 0;
    auto topic = read_string(r);
    if (!topic) return Errc::MalformedPacket;
    // §3.3.2-1, -2: a UTF-8 topic name without wildcards; §4.7.3: not empty.
    if (!is_valid_mqtt_string(*topic)) return Errc::InvalidUtf8;
    if (topic->empty() || has_wildcard(*topic)) return Errc::MalformedPacket;
    p.topic = std::string(*topic);
    if (p.qos > 0) {
      auto id = r.u16();
      if (!id || *id == 0) return Errc::MalformedPacket; // §2.3.1-1
      p.packet_id = *id;
    }
    auto rest = r.rest();
    p.payload.assign(rest.begin(), rest.end());
    return p;
  }
  case PacketType::SubAck: {
    auto id = r.u16();
    if (!id || r.remaining() == 0) return Errc::MalformedPacket; // §3.9.3: one code per filter
    SubAck s{.packet_id = *id, .return_codes = {}};
    for (auto code : r.rest()) {
      if (code > 2 && code != kSubscribeFailure) return Errc::MalformedPacket; // §3.9.3-2
      s.return_codes.push_back(code);
    }
    return s;
  }
  case PacketType::UnsubAck: {
    if (body.size() != 2) return Errc::MalformedPacket;
    return UnsubAck{.packet_id = *r.u16()};
  }
  case PacketType::PingResp:
    if (!body.empty()) return Errc::MalformedPacket;
    return PingResp{};
  default: return Errc::UnexpectedPacketType;
  }
}

} // namespace

bool is_valid_mqtt_string(std::string_view s) noexcept {
  // RFC 3629 §4 well-formedness: no overlongs, no surrogates, nothing above U+10FFFF.
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    unsigned char lo = 0x80, hi = 0xBF; // range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F; // U+D800..U+DFFF are surrogates (MQTT-1.5.3-1)
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (s.size() - i < len) return false;
    const auto c1 = static_cast<unsigned char>(s[i + 1]);
    if (c1 < lo || c1 > hi) return false;
    for (std::size_t k = 2; k < len; ++k) {
      const auto ck = static_cast<unsigned char>(s[i + k]);
      if (ck < 0x80 || ck > 0xBF) return false;
    }
    i += len;
  }
  return true;
}

result<Bytes> encode_connect(const ConnectOptions& o) {
  if (o.password && !o.username) return Errc::PasswordWithoutUsername;
  if (!is_valid_mqtt_string(o.client_id)) return Errc::InvalidUtf8;
  if (o.username && !is_valid_mqtt_string(*o.username)) return Errc::InvalidUtf8;
  for (auto* s :
       {&o.client_id, o.username ? &*o.username : nullptr, o.password ? &*o.password : nullptr})
    if (s)
      if (auto ok = check_string(*s); !ok) return ok.error();

  // §3.1.2.3 Figure 3.4: bit 7 user name, bit 6 password, bit 1 clean session; no will (bits 5-2).
  std::uint8_t connect_flags = 0;
  if (o.username) connect_flags |= 0x80;
  if (o.password) connect_flags |= 0x40;
  if (o.clean_session) connect_flags |= 0x02;

  ByteWriter body;
  put_string(body, kProtocolName);
  body.u8(kProtocolLevel);
  body.u8(connect_flags);
  body.u16(o.keepalive_seconds);
  // §3.1.3: payload order is client id, (will topic, will message,) user name, password.
  put_string(body, o.client_id);
  if (o.username) put_string(body, *o.username);
  if (o.password) put_string(body, *o.password);
  return frame(PacketType::Connect, 0, body.view());
}

result<Bytes> encode_subscribe(std::uint16_t packet_id, std::span<const std::string> filters) {
  return encode_topic_list(PacketType::Subscribe, packet_id, filters, true);
}

result<Bytes> encode_unsubscribe(std::uint16_t packet_id, std::span<const std::string> filters) {
  return encode_topic_list(PacketType::Unsubscribe, packet_id, filters, false);
}

result<Bytes> encode_publish(std::string_view topic, ByteView payload) {
  return encode(Packet{Publish{.topic = std::string(topic),
                               .payload = Bytes(payload.begin(), payload.end()),
                               .qos = 0,
                               .retain = false,
                               .dup = false,
                               .packet_id = 0}});
}

Bytes encode_puback(std::uint16_t packet_id) {
  return {first_byte(PacketType::PubAck, 0), 0x02, static_cast<std::uint8_t>(packet_id >> 8),
          static_cast<std::uint8_t>(packet_id)};
}

Bytes encode_pingreq() {
  return {first_byte(PacketType::PingReq, 0), 0x00};
}

Bytes encode_disconnect() {
  return {first_byte(PacketType::Disconnect, 0), 0x00};
}

std::string describe_connect_return_code(std::uint8_t code) {
  switch (static_cast<ConnectReturnCode>(code)) {
  case ConnectReturnCode::Accepted: return "accepted";
  case ConnectReturnCode::UnacceptableProtocolVersion: return "unacceptable protocol version";
  case ConnectReturnCode::IdentifierRejected: return "client identifier rejected";
  case ConnectReturnCode::ServerUnavailable: return "server unavailable";
  case ConnectReturnCode::BadUsernameOrPassword: return "bad user name or password";
  case ConnectReturnCode::NotAuthorized: return "not authorized";
  }
  return "reserved return code " + std::to_string(code);
}

result<Bytes> encode(const Packet& packet) {
  return std::visit(
      overloaded{
          [](const ConnAck& p) -> result<Bytes> {
            return Bytes{first_byte(PacketType::ConnAck, 0), 0x02,
                         static_cast<std::uint8_t>(p.session_present ? 1 : 0), p.return_code};
          },
          [](const SubAck& p) -> result<Bytes> {
            ByteWriter body;
            body.u16(p.packet_id);
            body.bytes(p.return_codes);
            return frame(PacketType::SubAck, 0, body.view());
          },
          [](const UnsubAck& p) -> result<Bytes> {
            return Bytes{first_byte(PacketType::UnsubAck, 0), 0x02,
                         static_cast<std::uint8_t>(p.packet_id >> 8),
                         static_cast<std::uint8_t>(p.packet_id)};
          },
          [](const Publish& p) -> result<Bytes> {
            if (p.topic.empty() || has_wildcard(p.topic) || !is_valid_mqtt_string(p.topic))
              return Errc::InvalidTopic;
            if (auto ok = check_string(p.topic); !ok) return ok.error();
            if (p.qos > 2) return Errc::UnsupportedQos;
            if (p.qos > 0 && p.packet_id == 0) return Errc::PacketIdZero;
            ByteWriter body;
            put_string(body, p.topic);
            if (p.qos > 0) body.u16(p.packet_id);
            body.bytes(p.payload);
            const auto flags = static_cast<std::uint8_t>((p.dup ? 0x08 : 0) | (p.qos << 1) |
                                                         (p.retain ? 0x01 : 0));
            return frame(PacketType::Publish, flags, body.view());
          },
          [](const PingResp&) -> result<Bytes> {
            return Bytes{first_byte(PacketType::PingResp, 0), 0x00};
          },
          [](const SkippedPublish&) -> result<Bytes> {
            return Errc::MalformedPacket; // a decoder report, not a packet
          },
      },
      packet);
}

// ---- Decoder ----

void Decoder::feed(ByteView data) {
  if (failed() || data.empty()) return;
  // An oversized PUBLISH being skipped is discarded straight from the input, never buffered.
  if (skipping_ && skip_left_ > 0 && buffered() == 0) {
    const auto n = std::min(skip_left_, data.size());
    skip_left_ -= n;
    data = data.subspan(n);
  }
  compact();
  buf_.insert(buf_.end(), data.begin(), data.end());
}

void Decoder::compact() {
  // Drop consumed bytes once they outweigh what is left, so the cost stays linear in the input.
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > 0 && pos_ >= buf_.size() - pos_) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
  }
}

result<std::optional<Packet>> Decoder::fail(error_code e) {
  error_ = e;
  buf_.clear();
  buf_.shrink_to_fit();
  pos_ = 0;
  return error_;
}

result<std::optional<Packet>> Decoder::poll() {
  if (failed()) return error_;

  if (skipping_) {
    const auto n = std::min(skip_left_, buffered());
    pos_ += n;
    skip_left_ -= n;
    compact();
    if (skip_left_ > 0) return std::optional<Packet>{};
    skipping_ = false;
    return std::optional<Packet>{SkippedPublish{.packet_size = skipped_size_}};
  }

  const ByteView avail = ByteView(buf_).subspan(pos_);
  if (avail.empty()) return std::optional<Packet>{};

  // Fixed header (§2.2): type and flags, then the remaining length in 1–4 bytes.
  const std::uint8_t header = avail[0];
  const std::uint8_t type = header >> 4;
  if (!expected_from_server(type)) return fail(Errc::UnexpectedPacketType);
  const std::uint8_t flags = header & 0x0F;
  if (static_cast<PacketType>(type) == PacketType::Publish) {
    if (((flags >> 1) & 0x03) == 3) return fail(Errc::UnsupportedQos); // §3.3.1-4: QoS 3
  } else if (flags != 0) {
    return fail(Errc::BadFixedHeaderFlags); // §2.2.2-2: must close the connection
  }

  std::size_t remaining = 0;
  std::size_t length_bytes = 0;
  for (;;) {
    if (length_bytes == 4) return fail(Errc::MalformedRemainingLength);
    if (1 + length_bytes >= avail.size()) return std::optional<Packet>{}; // need more
    const std::uint8_t digit = avail[1 + length_bytes];
    remaining |= static_cast<std::size_t>(digit & 0x7F) << (7 * length_bytes);
    ++length_bytes;
    if ((digit & 0x80) == 0) break;
  }

  const std::size_t header_size = 1 + length_bytes;
  const std::size_t packet_size = header_size + remaining;
  if (packet_size > options_.max_packet_size) {
    if (options_.skip_oversized_publish && static_cast<PacketType>(type) == PacketType::Publish) {
      pos_ += header_size;
      skipping_ = true;
      skip_left_ = remaining;
      skipped_size_ = packet_size;
      return poll();
    }
    return fail(Errc::PacketTooLarge);
  }
  if (avail.size() < packet_size) return std::optional<Packet>{};

  auto packet = decode_body(header, avail.subspan(header_size, remaining));
  if (!packet) return fail(packet.error());
  pos_ += packet_size;
  compact();
  return std::optional<Packet>{std::move(*packet)};
}

} // namespace posthorn::signal::mqtt
