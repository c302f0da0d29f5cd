#include "dtls/record.hpp"

#include "dtls/errc.hpp"

namespace posthorn::dtls {

bool is_dtls(ByteView datagram) noexcept {
  return !datagram.empty() && datagram[0] >= 20 && datagram[0] <= 63;
}

result<RecordHeader> parse_record_header(ByteView data) noexcept {
  ByteReader r(data);
  auto type = r.u8();
  auto version = r.u16();
  auto epoch = r.u16();
  auto seq_hi = r.u16();
  auto seq_lo = r.u32();
  auto length = r.u16();
  if (!r.ok()) return Errc::MalformedRecord;
  // Heartbeat (24) and tls12_cid (25) are never negotiated here; DTLS 1.3's unified header
  // (0b001xxxxx) only follows a DTLS 1.3 handshake, which OpenSSL 3.0 does not speak.
  if (*type < 20 || *type > 23) return Errc::MalformedRecord;
  // RFC 6347 §4.1: records carry the negotiated version; a ClientHello may use DTLS 1.0 for
  // compatibility (RFC 9147 §4 keeps {254,255} legal for the first ClientHello as well).
  if (*version != kDtls12Version && *version != kDtls10Version) return Errc::MalformedRecord;
  if (*length > kMaxRecordLength) return Errc::MalformedRecord;
  RecordHeader h;
  h.content_type = static_cast<ContentType>(*type);
  h.version = *version;
  h.epoch = *epoch;
  h.sequence_number = (std::uint64_t{*seq_hi} << 32) | *seq_lo;
  h.length = *length;
  return h;
}

result<Record> read_record(ByteView& rest) noexcept {
  auto header = parse_record_header(rest);
  if (!header) return header.error();
  if (rest.size() - kRecordHeaderSize < header->length) return Errc::MalformedRecord;
  Record rec{*header, rest.subspan(kRecordHeaderSize, header->length)};
  rest = rest.subspan(kRecordHeaderSize + header->length);
  return rec;
}

result<std::size_t> count_records(ByteView datagram) noexcept {
  if (datagram.empty()) return Errc::MalformedRecord;
  std::size_t n = 0;
  while (!datagram.empty()) {
    auto rec = read_record(datagram);
    if (!rec) return rec.error();
    ++n;
  }
  return n;
}

result<std::vector<Record>> parse_records(ByteView datagram) {
  if (datagram.empty()) return Errc::MalformedRecord;
  std::vector<Record> out;
  while (!datagram.empty()) {
    auto rec = read_record(datagram);
    if (!rec) return rec.error();
    out.push_back(*rec);
  }
  return out;
}

void write_record_header(ByteWriter& w, const RecordHeader& h) {
  w.u8(static_cast<std::uint8_t>(h.content_type));
  w.u16(h.version);
  w.u16(h.epoch);
  w.u16(static_cast<std::uint16_t>(h.sequence_number >> 32));
  w.u32(static_cast<std::uint32_t>(h.sequence_number));
  w.u16(h.length);
}

} // namespace posthorn::dtls
