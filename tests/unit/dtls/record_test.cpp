#include "dtls/record.hpp"

#include "dtls/errc.hpp"

#include <gtest/gtest.h>

namespace posthorn::dtls {
namespace {

// A DTLS 1.2 handshake record header: epoch 0, sequence number 0x0102030405, 3-byte body.
const Bytes kRecord = {22,   0xFE, 0xFD, 0x00, 0x00, 0x00, 0x01, 0x02,
                       0x03, 0x04, 0x05, 0x00, 0x03, 0xAA, 0xBB, 0xCC};

TEST(DtlsRecord, ParsesAHeader) {
  auto h = parse_record_header(kRecord);
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(h->content_type, ContentType::Handshake);
  EXPECT_EQ(h->version, kDtls12Version);
  EXPECT_EQ(h->epoch, 0);
  EXPECT_EQ(h->sequence_number, 0x0102030405u);
  EXPECT_EQ(h->length, 3);
}

TEST(DtlsRecord, WritesTheHeaderItParses) {
  RecordHeader h{ContentType::ApplicationData, kDtls12Version, 1, kMaxSequenceNumber, 513};
  ByteWriter w;
  write_record_header(w, h);
  ASSERT_EQ(w.size(), kRecordHeaderSize);
  EXPECT_EQ(w.view(),
            (Bytes{23, 0xFE, 0xFD, 0x00, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0x01}));
  auto back = parse_record_header(w.view());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, h);
}

TEST(DtlsRecord, SplitsADatagramIntoRecords) {
  Bytes two = kRecord;
  two.insert(two.end(), {20, 0xFE, 0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1});
  auto records = parse_records(two);
  ASSERT_TRUE(records);
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[0].fragment.size(), 3u);
  EXPECT_EQ((*records)[0].fragment[0], 0xAA);
  EXPECT_EQ((*records)[1].header.content_type, ContentType::ChangeCipherSpec);
  EXPECT_EQ((*records)[1].header.version, kDtls10Version);
  EXPECT_EQ(count_records(two).value(), 2u);
}

TEST(DtlsRecord, AcceptsAnEmptyFragment) {
  const Bytes empty_body = {21, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 9, 0, 0};
  EXPECT_EQ(count_records(empty_body).value(), 1u);
}

TEST(DtlsRecord, RejectsWhatIsNotWholeDtlsRecords) {
  auto expect_malformed = [](Bytes b, const char* why) {
    auto n = count_records(b);
    ASSERT_FALSE(n) << why;
    EXPECT_EQ(n.error(), Errc::MalformedRecord) << why;
    EXPECT_EQ(n.error(), Condition::ProtocolViolation) << why;
    EXPECT_FALSE(parse_records(b)) << why;
  };
  expect_malformed({}, "empty");
  expect_malformed(Bytes(kRecord.begin(), kRecord.begin() + 12), "short header");
  expect_malformed(Bytes(kRecord.begin(), kRecord.end() - 1), "short body");
  Bytes trailing = kRecord;
  trailing.push_back(22);
  expect_malformed(trailing, "trailing byte");
  for (std::uint8_t type : {0, 19, 24, 25, 32, 63, 255}) {
    Bytes b = kRecord;
    b[0] = type;
    expect_malformed(b, "content type");
  }
  Bytes tls = kRecord;
  tls[1] = 0x03;
  tls[2] = 0x03;
  expect_malformed(tls, "TLS version");
  Bytes dtls13_unified = kRecord;
  dtls13_unified[2] = 0xFC;
  expect_malformed(dtls13_unified, "version FEFC");
  Bytes huge = kRecord;
  huge[11] = 0x48; // 0x4801 > 2^14 + 2048
  huge[12] = 0x01;
  expect_malformed(huge, "length over the ciphertext limit");
}

TEST(DtlsRecord, DemultiplexesByFirstByte) {
  EXPECT_TRUE(is_dtls(kRecord));
  EXPECT_TRUE(is_dtls(Bytes{20}));
  EXPECT_TRUE(is_dtls(Bytes{63}));
  EXPECT_FALSE(is_dtls(Bytes{19}));  // reserved (ZRTP is 16-19)
  EXPECT_FALSE(is_dtls(Bytes{0}));   // STUN
  EXPECT_FALSE(is_dtls(Bytes{64}));  // TURN ChannelData
  EXPECT_FALSE(is_dtls(Bytes{128})); // RTP/RTCP
  EXPECT_FALSE(is_dtls(Bytes{}));
}

} // namespace
} // namespace posthorn::dtls
