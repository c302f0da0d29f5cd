#include "sctp/dcep.hpp"

#include "core/assert.hpp"

#include <limits>

namespace posthorn::sctp {
namespace {

bool is_known_channel_type(std::uint8_t t) noexcept {
  switch (t) {
  case 0x00:
  case 0x80:
  case 0x01:
  case 0x81:
  case 0x02:
  case 0x82: return true;
  default: return false;
  }
}

result<DcepMessage> parse_open(ByteReader& r) {
  auto type = r.u8();
  auto priority = r.u16();
  auto reliability = r.u32();
  auto label_length = r.u16();
  auto protocol_length = r.u16();
  if (!r.ok()) return Errc::Truncated;
  // Check the channel type before the variable part so an unknown type is reported as such even
  // in a short message.
  if (!is_known_channel_type(*type)) return Errc::UnknownChannelType;
  auto label = r.bytes(*label_length);
  auto protocol = r.bytes(*protocol_length);
  if (!r.ok()) return Errc::BadLength;
  DataChannelOpen open;
  open.channel_type = static_cast<ChannelType>(*type);
  open.priority = *priority;
  open.reliability_parameter = *reliability;
  open.label.assign(as_string_view(*label));
  open.protocol.assign(as_string_view(*protocol));
  return DcepMessage{std::move(open)};
}

} // namespace

result<DcepMessage> parse_dcep(ByteView data) {
  ByteReader r(data);
  auto message_type = r.u8();
  if (!message_type) return Errc::Truncated;
  switch (*message_type) {
  case kDcepOpen: return parse_open(r);
  case kDcepAck: return DcepMessage{DataChannelAck{}}; // RFC 8832 §5.2: nothing follows the type
  default: return Errc::UnknownMessageType;
  }
}

Bytes encode(const DataChannelOpen& open) {
  constexpr std::size_t kMax = std::numeric_limits<std::uint16_t>::max();
  POSTHORN_ASSERT(open.label.size() <= kMax && open.protocol.size() <= kMax,
                  "DCEP label/protocol over 65535 bytes must be rejected before encoding");
  Bytes out;
  out.reserve(kDcepOpenHeaderSize + open.label.size() + open.protocol.size());
  ByteWriter w(std::move(out));
  w.u8(kDcepOpen);
  w.u8(static_cast<std::uint8_t>(open.channel_type));
  w.u16(open.priority);
  w.u32(open.reliability_parameter);
  w.u16(static_cast<std::uint16_t>(open.label.size()));
  w.u16(static_cast<std::uint16_t>(open.protocol.size()));
  w.bytes(as_bytes(open.label));
  w.bytes(as_bytes(open.protocol));
  return std::move(w).take();
}

Bytes encode(const DataChannelAck&) {
  return Bytes{kDcepAck};
}

Bytes encode(const DcepMessage& message) {
  return std::visit([](const auto& m) { return encode(m); }, message);
}

} // namespace posthorn::sctp
