#pragma once
// DTLS record headers (RFC 6347 §4.1), parsed only far enough to decide whether a datagram is
// DTLS at all. OpenSSL does the real record processing; this codec lets the endpoint drop and
// count garbage before it reaches OpenSSL, and lets tests and tools look at what is on the wire.
//
//   struct {
//     ContentType type;               // 1 byte: 20..23
//     ProtocolVersion version;        // 2 bytes: {254,253} DTLS 1.2, {254,255} DTLS 1.0
//     uint16 epoch;
//     uint48 sequence_number;
//     uint16 length;                  // <= 2^14 + 2048 (RFC 6347 §4.3.1 via RFC 5246 §6.2.3)
//     opaque fragment[length];
//   } DTLSCiphertext;
//
// A datagram carries one or more whole records (RFC 6347 §4.1.1); the parser demands that they
// tile it exactly.

#include "core/bytes.hpp"
#include <posthorn/error.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace posthorn::dtls {

enum class ContentType : std::uint8_t {
  ChangeCipherSpec = 20,
  Alert = 21,
  Handshake = 22,
  ApplicationData = 23,
};

inline constexpr std::uint16_t kDtls10Version = 0xFEFF;
inline constexpr std::uint16_t kDtls12Version = 0xFEFD;
inline constexpr std::size_t kRecordHeaderSize = 13;
/// RFC 5246 §6.2.3: TLSCiphertext.length MUST NOT exceed 2^14 + 2048.
inline constexpr std::size_t kMaxRecordLength = 16384 + 2048;
inline constexpr std::uint64_t kMaxSequenceNumber = (std::uint64_t{1} << 48) - 1;

struct RecordHeader {
  ContentType content_type = ContentType::Handshake;
  std::uint16_t version = kDtls12Version;
  std::uint16_t epoch = 0;
  std::uint64_t sequence_number = 0; // 48 bits
  std::uint16_t length = 0;

  friend bool operator==(const RecordHeader&, const RecordHeader&) = default;
};

struct Record {
  RecordHeader header;
  ByteView fragment; // views into the parsed datagram
};

/// RFC 7983 §7 (updated by RFC 9443): a first byte in [20, 63] means DTLS when STUN, TURN
/// ChannelData, RTP and DTLS share one UDP port. A quick demultiplexing test, not validation.
[[nodiscard]] bool is_dtls(ByteView datagram) noexcept;

/// Parses the 13-byte header at the front of `data` (MalformedRecord on a short buffer, an
/// unknown content type, a version other than DTLS 1.0/1.2, or a length over kMaxRecordLength).
/// Does not check that the fragment is present.
[[nodiscard]] result<RecordHeader> parse_record_header(ByteView data) noexcept;

/// Reads the record at the front of `rest` and advances `rest` past it.
[[nodiscard]] result<Record> read_record(ByteView& rest) noexcept;

/// The number of records in a datagram, without allocating; MalformedRecord unless the datagram
/// is one or more well-formed records that end exactly at its end.
[[nodiscard]] result<std::size_t> count_records(ByteView datagram) noexcept;

/// All records of a datagram (same rules as count_records).
[[nodiscard]] result<std::vector<Record>> parse_records(ByteView datagram);

/// Appends a header; the caller appends `length` bytes of fragment.
void write_record_header(ByteWriter& w, const RecordHeader& h);

} // namespace posthorn::dtls
