#include "ice/mdns_message.hpp"

#include "ice/mdns_errc.hpp"

#include <gtest/gtest.h>

#include <string>

namespace posthorn::ice::mdns {
namespace {

Bytes hex(std::string_view h) {
  std::string clean;
  for (char c : h)
    if (c != ' ') clean.push_back(c);
  auto b = from_hex(clean);
  EXPECT_TRUE(b) << h;
  return b ? *b : Bytes{};
}

Name name(std::string_view text) {
  auto n = Name::parse(text);
  EXPECT_TRUE(n) << text;
  return n ? *n : Name{};
}

void expect_error(std::string_view h, Errc e) {
  auto m = Message::decode(hex(h));
  ASSERT_FALSE(m) << h;
  EXPECT_EQ(m.error(), e);
  EXPECT_EQ(m.error(), Condition::ProtocolViolation);
}

// Captured from headless Chromium 1xx on the development machine: its answer to our QM query for
// the A record of one of its host candidates' names. The NSEC record (RFC 6762 §6.1) says the
// name has no other types; its next-name field is a pointer to its own owner name.
constexpr std::string_view kChromiumAnswer =
    "0000 8400 0000 0001 0000 0001"
    "24 6439646264663739 2d36303333 2d34316238 2d62333761 2d383731653732663039663233"
    "05 6c6f63616c 00 0001 8001 00000078 0004 c0000202"
    "24 6439646264663739 2d36303333 2d34316238 2d62333761 2d383731653732663039663233"
    "05 6c6f63616c 00 002f 8001 00000078 0005 c046 000140";

// Chromium's answer to an AAAA question for an IPv4 name: NSEC as the answer (its next-name a
// pointer to offset 12), the A record as additional.
constexpr std::string_view kChromiumNsecAnswer =
    "0000 8400 0000 0001 0000 0001"
    "24 6363306238656533 2d33663632 2d34336332 2d61643865 2d396432336633613438313834"
    "05 6c6f63616c 00 002f 8001 00000078 0005 c00c 000140"
    "24 6363306238656533 2d33663632 2d34336332 2d61643865 2d396432336633613438313834"
    "05 6c6f63616c 00 0001 8001 00000078 0004 c0000202";

TEST(MdnsMessage, DecodesChromiumAnswer) {
  auto m = Message::decode(hex(kChromiumAnswer));
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_TRUE(m->is_response());
  EXPECT_EQ(m->flags, 0x8400); // QR + AA
  EXPECT_EQ(m->opcode(), 0);
  EXPECT_EQ(m->rcode(), 0);
  EXPECT_TRUE(m->questions.empty());
  ASSERT_EQ(m->answers.size(), 1u);
  const auto& a = m->answers[0];
  EXPECT_EQ(a.name.to_string(), "d9dbdf79-6033-41b8-b37a-871e72f09f23.local");
  EXPECT_EQ(a.type, rr_type::kA);
  EXPECT_EQ(a.cls, kClassIn);
  EXPECT_TRUE(a.cache_flush);
  EXPECT_EQ(a.ttl, 120u);
  EXPECT_EQ(a.address(), IpAddress::parse("192.0.2.2"));
  ASSERT_EQ(m->additionals.size(), 1u);
  EXPECT_EQ(m->additionals[0].type, rr_type::kNsec);
  EXPECT_EQ(m->additionals[0].rdata, hex("c046000140")); // kept raw, pointer not followed
  EXPECT_FALSE(m->additionals[0].address());
}

TEST(MdnsMessage, DecodesChromiumNsecAnswerWithAdditionalAddress) {
  auto m = Message::decode(hex(kChromiumNsecAnswer));
  ASSERT_TRUE(m) << m.error().message();
  ASSERT_EQ(m->answers.size(), 1u);
  EXPECT_EQ(m->answers[0].type, rr_type::kNsec);
  ASSERT_EQ(m->additionals.size(), 1u);
  EXPECT_EQ(m->additionals[0].name, name("cc0b8ee3-3f62-43c2-ad8e-9d23f3a48184.local"));
  EXPECT_EQ(m->additionals[0].address(), IpAddress::parse("192.0.2.2"));
}

TEST(MdnsMessage, QueryIsOneQmQuestionWithIdZero) {
  EXPECT_EQ(make_query(name("abc.local"), rr_type::kA),
            hex("0000 0000 0001 0000 0000 0000 03616263 056c6f63616c 00 0001 0001"));
  EXPECT_EQ(make_query(name("abc.local."), rr_type::kAaaa),
            hex("0000 0000 0001 0000 0000 0000 03616263 056c6f63616c 00 001c 0001"));
}

TEST(MdnsMessage, UnicastResponseBitIsSplitFromQuestionClass) {
  const auto q = make_query(name("abc.local"), rr_type::kA, true);
  EXPECT_EQ(q, hex("0000 0000 0001 0000 0000 0000 03616263 056c6f63616c 00 0001 8001"));
  auto m = Message::decode(q);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->questions.size(), 1u);
  EXPECT_TRUE(m->questions[0].unicast_response);
  EXPECT_EQ(m->questions[0].cls, kClassIn);
  EXPECT_FALSE(m->is_response());
}

TEST(MdnsMessage, FollowsCompressionPointers) {
  // Question "abc.local" at 12; the answer's name is a pointer to it (c00c); the additional's
  // name is the label "x" followed by a pointer to "local" inside the question (offset 16).
  auto m =
      Message::decode(hex("0000 8400 0001 0001 0000 0001"
                          "03616263 056c6f63616c 00 0001 0001"
                          "c00c 0001 0001 00000078 0004 0a000001"
                          "0178 c010 001c 8001 0000000a 0010 fd000000000000000000000000000001"));
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->answers[0].name, name("abc.local"));
  EXPECT_EQ(m->answers[0].address(), IpAddress::parse("10.0.0.1"));
  EXPECT_EQ(m->additionals[0].name, name("x.local"));
  EXPECT_EQ(m->additionals[0].address(), IpAddress::parse("fd00::1"));
  EXPECT_EQ(m->additionals[0].ttl, 10u);
}

TEST(MdnsMessage, RejectsPointerToItself) {
  expect_error("0000 8400 0001 0000 0000 0000 c00c 0001 0001", Errc::BadPointer);
}

TEST(MdnsMessage, RejectsPointerBackIntoTheSameName) {
  // "a" then a pointer to the name's own start: would loop forever if followed.
  expect_error("0000 8400 0001 0000 0000 0000 0161 c00c 0001 0001", Errc::BadPointer);
}

TEST(MdnsMessage, RejectsForwardPointer) {
  expect_error("0000 8400 0001 0000 0000 0000 c012 0001 0001 00", Errc::BadPointer);
}

TEST(MdnsMessage, RejectsTwoPointersThatPointAtEachOther) {
  // Answer 1's name at 12 is "a" + pointer to 19 (the second name, later: forward); answer 2's
  // name at 19 is a pointer back to 12, which is legal on its own but leads to the first.
  expect_error("0000 8400 0000 0002 0000 0000"
               "0161 c013 0001 0001 00000000 0000"
               "c00c 0001 0001 00000000 0000",
               Errc::BadPointer);
}

Bytes pointer_chain(std::size_t hops) {
  // One record whose data holds a chain of pointers, each to the previous one, ending at a root
  // label; a second record's name is a pointer to the chain's last link.
  ByteWriter w;
  w.u16(0);
  w.u16(0x8400);
  w.u16(0);
  w.u16(2);
  w.u16(0);
  w.u16(0);
  w.u8(0); // record 1: root name
  w.u16(0xff00);
  w.u16(1);
  w.u32(0);
  w.u16(static_cast<std::uint16_t>(1 + 2 * (hops - 1)));
  const std::size_t root = w.size();
  w.u8(0);
  // Link i (1-based) sits at root + 1 + 2(i-1) and points at link i-1 (link 0 is the root).
  for (std::size_t i = 1; i < hops; ++i)
    w.u16(static_cast<std::uint16_t>(0xc000 | (i == 1 ? root : root + 1 + 2 * (i - 2))));
  const std::size_t last = hops == 1 ? root : root + 1 + 2 * (hops - 2);
  w.u16(static_cast<std::uint16_t>(0xc000 | last)); // record 2's name
  w.u16(rr_type::kA);
  w.u16(1);
  w.u32(0);
  w.u16(0);
  return std::move(w).take();
}

TEST(MdnsMessage, FollowsAPointerChainOfLegitimateLength) {
  auto m = Message::decode(pointer_chain(100));
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->answers[1].name, Name());
}

TEST(MdnsMessage, CapsPointerHopsSoChainsCannotCostQuadraticTime) {
  auto m = Message::decode(pointer_chain(200));
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error(), Errc::BadPointer);
}

TEST(MdnsMessage, EveryTruncationIsAnError) {
  const auto full = hex(kChromiumAnswer);
  for (std::size_t n = 0; n < full.size(); ++n) {
    auto m = Message::decode(ByteView(full.data(), n));
    ASSERT_FALSE(m) << "prefix of " << n;
    EXPECT_EQ(m.error(), Errc::Truncated) << "prefix of " << n;
  }
}

TEST(MdnsMessage, CountsLargerThanTheMessageAreTruncatedNotAllocated) {
  expect_error("0000 8400 ffff ffff ffff ffff", Errc::Truncated);
}

TEST(MdnsMessage, RejectsExtendedAndReservedLabelTypes) {
  expect_error("0000 8400 0001 0000 0000 0000 4100 0001 0001", Errc::BadLabel);
  expect_error("0000 8400 0001 0000 0000 0000 8100 0001 0001", Errc::BadLabel);
}

std::string label_hex(std::size_t len) {
  std::string h = to_hex(Bytes{static_cast<std::uint8_t>(len)});
  for (std::size_t i = 0; i < len; ++i)
    h += "61";
  return h;
}

TEST(MdnsMessage, NamesUpTo255OctetsOnly) {
  // 3 x (1+63) + (1+61) + root = 255 octets: the longest legal name.
  const std::string longest = label_hex(63) + label_hex(63) + label_hex(63) + label_hex(61) + "00";
  auto ok = Message::decode(hex("0000 8400 0001 0000 0000 0000" + longest + "0001 0001"));
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->questions[0].name.wire().size(), 255u);
  const std::string too_long = label_hex(63) + label_hex(63) + label_hex(63) + label_hex(62) + "00";
  expect_error("0000 8400 0001 0000 0000 0000" + too_long + "0001 0001", Errc::NameTooLong);
}

TEST(MdnsMessage, IgnoresBytesAfterTheLastRecord) {
  auto m = Message::decode(hex(std::string(kChromiumAnswer) + "deadbeef"));
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, *Message::decode(hex(kChromiumAnswer)));
}

TEST(MdnsMessage, AddressOnlyForClassInAndExactLength) {
  auto rec = Record::address_record(name("a.local"), *IpAddress::parse("10.1.2.3"), 120);
  EXPECT_EQ(rec.address(), IpAddress::parse("10.1.2.3"));
  rec.cls = 3; // CHAOS
  EXPECT_FALSE(rec.address());
  rec.cls = kClassIn;
  rec.rdata.push_back(0);
  EXPECT_FALSE(rec.address());
  rec.type = rr_type::kAaaa; // 5 octets is not an AAAA either
  EXPECT_FALSE(rec.address());
}

TEST(MdnsMessage, EncodeDecodeRoundTrip) {
  Message m;
  m.flags = Message::kFlagResponse | Message::kFlagAuthoritative;
  m.questions.push_back({name("q.local"), rr_type::kAaaa, kClassIn, true});
  m.answers.push_back(Record::address_record(name("A.local"), *IpAddress::parse("10.0.0.7"), 120));
  m.authorities.push_back(Record{name("b.local"), 99, 3, false, 7, {1, 2, 3}});
  m.additionals.push_back(
      Record::address_record(name("c.local"), *IpAddress::parse("fe80::1"), 0, false));
  auto again = Message::decode(m.encode());
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(*again, m);
  EXPECT_EQ(again->answers[0].name.wire(), name("A.local").wire()); // case kept on the wire
}

TEST(MdnsName, ParsesAndPrints) {
  auto n = name("6a1f7e0c-2b1d-4c8e-9a3b-5e6f7a8b9c0d.local");
  EXPECT_EQ(n.to_string(), "6a1f7e0c-2b1d-4c8e-9a3b-5e6f7a8b9c0d.local");
  EXPECT_TRUE(n.is_local());
  EXPECT_EQ(n, name("6A1F7E0C-2B1D-4C8E-9A3B-5E6F7A8B9C0D.LOCAL."));
  EXPECT_EQ(n.key(), name("6A1F7E0C-2B1D-4C8E-9A3B-5E6F7A8B9C0D.Local").key());
  EXPECT_FALSE(name("example.com").is_local());
  EXPECT_FALSE(name("local.example").is_local());
  EXPECT_FALSE(name("notlocal").is_local());
  EXPECT_TRUE(name("local").is_local());
  EXPECT_EQ(Name().to_string(), ".");
  EXPECT_EQ(name("."), Name());
}

TEST(MdnsName, EscapesRoundTrip) {
  Name odd = *Name::from_wire(std::string("\x04"
                                          "a.b\\"
                                          "\x03"
                                          "\x00\x7f "
                                          "\x05local\x00",
                                          16));
  EXPECT_EQ(odd.to_string(), "a\\.b\\\\.\\000\\127\\032.local");
  EXPECT_EQ(name(odd.to_string()).wire(), odd.wire());
}

TEST(MdnsName, RejectsInvalidText) {
  for (std::string_view bad :
       {"", "a..local", ".a.local", "a.local..", "a\\", "a\\25", "a\\256", "a\\1x3"}) {
    auto n = Name::parse(bad);
    ASSERT_FALSE(n) << bad;
    EXPECT_EQ(n.error(), Errc::InvalidName);
    EXPECT_EQ(n.error(), Condition::InvalidArgument);
  }
  EXPECT_TRUE(Name::parse(std::string(63, 'a') + ".local"));
  EXPECT_FALSE(Name::parse(std::string(64, 'a') + ".local"));
  std::string longest = std::string(63, 'a') + "." + std::string(63, 'a') + "." +
                        std::string(63, 'a') + "." + std::string(61, 'a'); // 255 octets on the wire
  EXPECT_TRUE(Name::parse(longest));
  EXPECT_FALSE(Name::parse(longest + "a"));
}

TEST(MdnsName, FromWireValidates) {
  EXPECT_TRUE(Name::from_wire(std::string("\x01"
                                          "a\x00",
                                          3)));
  EXPECT_FALSE(Name::from_wire(""));
  EXPECT_FALSE(Name::from_wire(std::string("\x01"
                                           "a",
                                           2))); // no root
  EXPECT_FALSE(Name::from_wire(std::string("\x05"
                                           "a\x00",
                                           3)));             // label past the end
  EXPECT_FALSE(Name::from_wire(std::string("\x00\x00", 2))); // bytes after the root
  EXPECT_FALSE(Name::from_wire(std::string("\x40") + std::string(64, 'a') + '\0')); // > 63
}

} // namespace
} // namespace posthorn::ice::mdns
