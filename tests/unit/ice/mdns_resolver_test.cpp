#include "ice/mdns_resolver.hpp"

#include "ice/mdns_errc.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace posthorn::ice::mdns {
namespace {

constexpr std::string_view kName = "d9dbdf79-6033-41b8-b37a-871e72f09f23.local";
const SocketAddress kResponder = *SocketAddress::parse("192.0.2.2:5353");
const TimePoint t0 = TimePoint{} + seconds(1000);

Bytes response(std::vector<Record> answers, std::vector<Record> additionals = {},
               std::uint16_t flags = Message::kFlagResponse | Message::kFlagAuthoritative) {
  Message m;
  m.flags = flags;
  m.answers = std::move(answers);
  m.additionals = std::move(additionals);
  return m.encode();
}

Record a_record(std::string_view name, std::string_view ip, std::uint32_t ttl = 120) {
  return Record::address_record(*Name::parse(name), *IpAddress::parse(ip), ttl);
}

std::vector<Transmit> drain_transmits(Resolver& r) {
  std::vector<Transmit> out;
  while (auto t = r.poll_transmit())
    out.push_back(std::move(*t));
  return out;
}

std::vector<Event> drain_events(Resolver& r) {
  std::vector<Event> out;
  while (auto e = r.poll_event())
    out.push_back(std::move(*e));
  return out;
}

/// The only event is Resolved(id, name, ip).
void expect_resolved(Resolver& r, QueryId id, std::string_view name, std::string_view ip) {
  auto events = drain_events(r);
  ASSERT_EQ(events.size(), 1u);
  const auto* resolved = std::get_if<Resolved>(&events[0]);
  ASSERT_TRUE(resolved);
  EXPECT_EQ(resolved->id, id);
  EXPECT_EQ(resolved->name, name);
  EXPECT_EQ(resolved->address, *IpAddress::parse(ip));
}

QueryId resolve_ok(Resolver& r, TimePoint now, std::string_view name) {
  auto id = r.resolve(now, name);
  EXPECT_TRUE(id) << name;
  return id ? *id : 0;
}

TEST(MdnsResolver, FirstQueriesGoOutAtOnceOneQuestionPerType) {
  Resolver r;
  resolve_ok(r, t0, kName);
  auto tx = drain_transmits(r);
  ASSERT_EQ(tx.size(), 2u);
  const auto name = *Name::parse(kName);
  EXPECT_EQ(tx[0].destination, *SocketAddress::parse("224.0.0.251:5353"));
  EXPECT_EQ(tx[0].payload, make_query(name, rr_type::kA));
  EXPECT_EQ(tx[1].destination, *SocketAddress::parse("224.0.0.251:5353"));
  EXPECT_EQ(tx[1].payload, make_query(name, rr_type::kAaaa));
  EXPECT_EQ(r.poll_timeout(), t0 + seconds(1));
  EXPECT_TRUE(drain_events(r).empty());
}

TEST(MdnsResolver, ResolvesFromChromiumAnswer) {
  Resolver r;
  const auto id = resolve_ok(r, t0, kName);
  drain_transmits(r);
  // The bytes Chromium sent (see mdns_message_test.cpp).
  auto bytes = from_hex("000084000000000100000001246439646264663739"
                        "2d363033332d343162382d623337612d383731653732663039663233056c6f63616c0000"
                        "018001000000780004c00002022464396462646637392d363033332d343162382d623337"
                        "612d383731653732663039663233056c6f63616c00002f8001000000780005c046000140");
  ASSERT_TRUE(bytes);
  r.handle_datagram(t0 + milliseconds(1), kResponder, *bytes);
  expect_resolved(r, id, kName, "192.0.2.2");
  EXPECT_FALSE(r.poll_timeout()); // nothing outstanding: no timer
  EXPECT_EQ(r.outstanding(), 0u);
  EXPECT_EQ(r.stats().resolved, 1u);
}

TEST(MdnsResolver, ResolvesFromAdditionalSection) {
  Resolver r;
  const auto id = resolve_ok(r, t0, "cc0b8ee3-3f62-43c2-ad8e-9d23f3a48184.local");
  Record nsec{*Name::parse("cc0b8ee3-3f62-43c2-ad8e-9d23f3a48184.local"),
              rr_type::kNsec,
              1,
              true,
              120,
              *from_hex("c00c000140")};
  r.handle_datagram(
      t0, kResponder,
      response({nsec}, {a_record("cc0b8ee3-3f62-43c2-ad8e-9d23f3a48184.local", "192.0.2.2")}));
  expect_resolved(r, id, "cc0b8ee3-3f62-43c2-ad8e-9d23f3a48184.local", "192.0.2.2");
}

TEST(MdnsResolver, ResolvesIpv6Names) {
  Resolver r;
  const auto id = resolve_ok(r, t0, "v6.local");
  r.handle_datagram(t0, kResponder, response({a_record("v6.local", "fd00::2")}));
  expect_resolved(r, id, "v6.local", "fd00::2");
}

TEST(MdnsResolver, RetransmitsAfterOneSecondThenDoublingAndFailsAtTheDeadline) {
  Resolver r;
  const auto id = resolve_ok(r, t0, kName);
  EXPECT_EQ(drain_transmits(r).size(), 2u);
  std::vector<TimePoint> sends;
  TimePoint now = t0;
  while (auto next = r.poll_timeout()) {
    ASSERT_GE(*next, now);
    now = *next;
    r.handle_timeout(now);
    if (!drain_transmits(r).empty()) sends.push_back(now);
    if (!r.poll_timeout()) break;
  }
  // RFC 6762 §5.2: 1 s, then at least doubling: queries at 0, 1 and 3 s; the deadline is 5 s.
  EXPECT_EQ(sends, (std::vector<TimePoint>{t0 + seconds(1), t0 + seconds(3)}));
  EXPECT_EQ(now, t0 + seconds(5));
  auto events = drain_events(r);
  ASSERT_EQ(events.size(), 1u);
  const auto* failed = std::get_if<Failed>(&events[0]);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->id, id);
  EXPECT_EQ(failed->name, kName);
  EXPECT_EQ(failed->reason, Errc::TimedOut);
  EXPECT_EQ(failed->reason, Condition::TimedOut);
  EXPECT_EQ(r.stats().queries_sent, 6u);
  EXPECT_EQ(r.stats().timed_out, 1u);
}

TEST(MdnsResolver, EarlyTimerDoesNothing) {
  Resolver r;
  resolve_ok(r, t0, kName);
  drain_transmits(r);
  r.handle_timeout(t0 + milliseconds(999));
  EXPECT_TRUE(drain_transmits(r).empty());
  EXPECT_TRUE(drain_events(r).empty());
  EXPECT_EQ(r.poll_timeout(), t0 + seconds(1));
}

TEST(MdnsResolver, IgnoresResponsesFromPortsOtherThan5353) {
  Resolver r;
  resolve_ok(r, t0, kName);
  r.handle_datagram(t0, *SocketAddress::parse("192.0.2.2:5354"),
                    response({a_record(kName, "10.0.0.1")}));
  EXPECT_TRUE(drain_events(r).empty());
  EXPECT_EQ(r.stats().dropped_bad_source_port, 1u);
  EXPECT_EQ(r.outstanding(), 1u);
}

TEST(MdnsResolver, IgnoresQueriesIncludingItsOwnLoopedBack) {
  Resolver r;
  resolve_ok(r, t0, kName);
  for (auto& t : drain_transmits(r))
    r.handle_datagram(t0, kResponder, t.payload);
  // A "query" that carries an answer record is still a query.
  r.handle_datagram(t0, kResponder, response({a_record(kName, "10.0.0.1")}, {}, 0));
  EXPECT_TRUE(drain_events(r).empty());
  EXPECT_EQ(r.stats().dropped_not_response, 3u);
}

TEST(MdnsResolver, IgnoresNonZeroOpcodeAndRcode) {
  Resolver r;
  resolve_ok(r, t0, kName);
  r.handle_datagram(t0, kResponder,
                    response({a_record(kName, "10.0.0.1")}, {}, Message::kFlagResponse | 0x0003));
  r.handle_datagram(t0, kResponder,
                    response({a_record(kName, "10.0.0.1")}, {}, Message::kFlagResponse | 0x2000));
  EXPECT_TRUE(drain_events(r).empty());
  EXPECT_EQ(r.stats().dropped_bad_header, 2u);
}

TEST(MdnsResolver, CountsMalformedDatagrams) {
  Resolver r;
  resolve_ok(r, t0, kName);
  r.handle_datagram(t0, kResponder, *from_hex("00008400000100000000c00c00010001")); // loop
  r.handle_datagram(t0, kResponder, *from_hex("0000"));
  EXPECT_TRUE(drain_events(r).empty());
  EXPECT_EQ(r.stats().dropped_malformed, 2u);
  EXPECT_EQ(r.outstanding(), 1u);
}

TEST(MdnsResolver, AnswersForOtherNamesDoNotResolveButAreCached) {
  Resolver r;
  resolve_ok(r, t0, kName);
  r.handle_datagram(t0, kResponder, response({a_record("other.local", "10.0.0.9")}));
  EXPECT_TRUE(drain_events(r).empty());
  EXPECT_EQ(r.outstanding(), 1u);
  EXPECT_EQ(r.cached(t0, "OTHER.local"), IpAddress::parse("10.0.0.9"));
}

TEST(MdnsResolver, IgnoresRecordsOfOtherClassesAndUnusableAddresses) {
  Resolver r;
  resolve_ok(r, t0, kName);
  auto chaos = a_record(kName, "10.0.0.1");
  chaos.cls = 3;
  auto short_a = a_record(kName, "10.0.0.1");
  short_a.rdata.pop_back();
  r.handle_datagram(t0, kResponder,
                    response({chaos, short_a, a_record(kName, "0.0.0.0"), a_record(kName, "::"),
                              a_record(kName, "224.0.0.251"), a_record(kName, "ff02::fb"),
                              a_record("host.example", "10.0.0.1")}));
  EXPECT_TRUE(drain_events(r).empty());
  EXPECT_EQ(r.stats().records_ignored, 7u);
  EXPECT_EQ(r.cache_size(), 0u);
}

TEST(MdnsResolver, GoodbyeDoesNotResolveAndWithdrawsTheCachedAddress) {
  Resolver r;
  r.handle_datagram(t0, kResponder, response({a_record(kName, "10.0.0.1")}));
  EXPECT_EQ(r.cached(t0, kName), IpAddress::parse("10.0.0.1"));
  // RFC 6762 §10.1: TTL 0 announces the record's removal.
  r.handle_datagram(t0, kResponder, response({a_record(kName, "10.0.0.1", 0)}));
  EXPECT_EQ(r.stats().goodbyes, 1u);
  EXPECT_FALSE(r.cached(t0, kName));
  // So a resolve() queries again, and a second goodbye does not answer it.
  resolve_ok(r, t0, kName);
  EXPECT_EQ(drain_transmits(r).size(), 2u);
  r.handle_datagram(t0, kResponder, response({a_record(kName, "10.0.0.1", 0)}));
  EXPECT_TRUE(drain_events(r).empty());
  EXPECT_EQ(r.outstanding(), 1u);
}

TEST(MdnsResolver, TtlWithTopBitSetIsAGoodbye) {
  Resolver r;
  r.handle_datagram(t0, kResponder, response({a_record(kName, "10.0.0.1")}));
  r.handle_datagram(t0, kResponder, response({a_record(kName, "10.0.0.1", 0x80000000u)}));
  EXPECT_FALSE(r.cached(t0, kName)); // RFC 2181 §8
}

TEST(MdnsResolver, GoodbyeForAnotherAddressKeepsTheCachedOne) {
  Resolver r;
  r.handle_datagram(t0, kResponder, response({a_record(kName, "10.0.0.1")}));
  r.handle_datagram(t0, kResponder, response({a_record(kName, "10.0.0.2", 0)}));
  EXPECT_EQ(r.cached(t0, kName), IpAddress::parse("10.0.0.1"));
}

TEST(MdnsResolver, UnsolicitedAnnouncementAnswersALaterResolveWithoutQuerying) {
  Resolver r;
  r.handle_datagram(t0, kResponder, response({a_record(kName, "192.0.2.2")}));
  const auto id = resolve_ok(r, t0 + seconds(10), kName);
  EXPECT_TRUE(drain_transmits(r).empty());
  expect_resolved(r, id, kName, "192.0.2.2");
  EXPECT_FALSE(r.poll_timeout());
}

TEST(MdnsResolver, CacheEntriesExpireWithTheirTtl) {
  Resolver r;
  r.handle_datagram(t0, kResponder, response({a_record(kName, "192.0.2.2", 120)}));
  EXPECT_TRUE(r.cached(t0 + seconds(119), kName));
  EXPECT_FALSE(r.cached(t0 + seconds(120), kName));
  resolve_ok(r, t0 + seconds(120), kName);
  EXPECT_EQ(drain_transmits(r).size(), 2u);
}

TEST(MdnsResolver, CapsTheCachedTtl) {
  ResolverConfig config;
  config.timing.max_cache_ttl = seconds(60);
  Resolver r(config);
  r.handle_datagram(t0, kResponder, response({a_record(kName, "192.0.2.2", 0x7fffffff)}));
  EXPECT_TRUE(r.cached(t0 + seconds(59), kName));
  EXPECT_FALSE(r.cached(t0 + seconds(60), kName));
}

TEST(MdnsResolver, SharesOneQuerySeriesPerNameIgnoringCase) {
  Resolver r;
  const auto a = resolve_ok(r, t0, "abc.local");
  const auto b = resolve_ok(r, t0 + milliseconds(5), "ABC.local.");
  EXPECT_NE(a, b);
  EXPECT_EQ(drain_transmits(r).size(), 2u); // the second call sent nothing
  EXPECT_EQ(r.outstanding(), 2u);
  r.handle_datagram(t0, kResponder, response({a_record("Abc.Local", "10.0.0.3")}));
  auto events = drain_events(r);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(std::get<Resolved>(events[0]).id, a);
  EXPECT_EQ(std::get<Resolved>(events[0]).name, "abc.local");
  EXPECT_EQ(std::get<Resolved>(events[1]).id, b);
  EXPECT_EQ(std::get<Resolved>(events[1]).name, "ABC.local.");
  EXPECT_EQ(r.outstanding(), 0u);
}

TEST(MdnsResolver, FirstAddressInTheMessageWins) {
  Resolver r;
  const auto id = resolve_ok(r, t0, "dual.local");
  r.handle_datagram(
      t0, kResponder,
      response({a_record("dual.local", "fd00::5")}, {a_record("dual.local", "10.0.0.5")}));
  expect_resolved(r, id, "dual.local", "fd00::5");
  // Both are cached; cached() prefers IPv4.
  EXPECT_EQ(r.cached(t0, "dual.local"), IpAddress::parse("10.0.0.5"));
}

TEST(MdnsResolver, CancelSuppressesTheEventAndStopsQuerying) {
  Resolver r;
  const auto id = resolve_ok(r, t0, kName);
  drain_transmits(r);
  r.cancel(id);
  r.cancel(id);   // twice is harmless
  r.cancel(4242); // unknown too
  EXPECT_FALSE(r.poll_timeout());
  EXPECT_EQ(r.outstanding(), 0u);
  r.handle_datagram(t0, kResponder, response({a_record(kName, "10.0.0.1")}));
  EXPECT_TRUE(drain_events(r).empty());
}

TEST(MdnsResolver, CancelOneOfTwoWaitersKeepsTheOther) {
  Resolver r;
  const auto a = resolve_ok(r, t0, kName);
  const auto b = resolve_ok(r, t0, kName);
  r.cancel(a);
  EXPECT_TRUE(r.poll_timeout());
  r.handle_datagram(t0, kResponder, response({a_record(kName, "10.0.0.1")}));
  expect_resolved(r, b, kName, "10.0.0.1");
}

TEST(MdnsResolver, CancelRemovesACachedAnswerNotYetPolled) {
  Resolver r;
  r.handle_datagram(t0, kResponder, response({a_record(kName, "10.0.0.1")}));
  const auto id = resolve_ok(r, t0, kName);
  r.cancel(id);
  EXPECT_TRUE(drain_events(r).empty());
}

TEST(MdnsResolver, BoundsOutstandingQueries) {
  ResolverConfig config;
  config.max_queries = 2;
  Resolver r(config);
  resolve_ok(r, t0, "a.local");
  resolve_ok(r, t0, "b.local");
  auto third = r.resolve(t0, "c.local");
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error(), Errc::TooManyQueries);
  EXPECT_EQ(third.error(), Condition::Blocked);
  // A cached name is served even at the bound.
  r.handle_datagram(t0, kResponder, response({a_record("cached.local", "10.0.0.8")}));
  EXPECT_TRUE(r.resolve(t0, "cached.local"));
  r.handle_datagram(t0, kResponder, response({a_record("a.local", "10.0.0.1")}));
  drain_events(r);
  EXPECT_TRUE(r.resolve(t0, "c.local"));
}

TEST(MdnsResolver, BoundsTheCacheByEvictingTheSoonestToExpire) {
  ResolverConfig config;
  config.max_cache_entries = 2;
  Resolver r(config);
  r.handle_datagram(
      t0, kResponder,
      response({a_record("a.local", "10.0.0.1", 100), a_record("b.local", "10.0.0.2", 50),
                a_record("c.local", "10.0.0.3", 200)}));
  EXPECT_EQ(r.cache_size(), 2u);
  EXPECT_EQ(r.stats().cache_evictions, 1u);
  EXPECT_FALSE(r.cached(t0, "b.local"));
  EXPECT_TRUE(r.cached(t0, "a.local"));
  EXPECT_TRUE(r.cached(t0, "c.local"));
  // Expired entries make room without counting as evictions.
  r.handle_datagram(t0 + seconds(150), kResponder, response({a_record("d.local", "10.0.0.4")}));
  EXPECT_EQ(r.cache_size(), 2u);
  EXPECT_EQ(r.stats().cache_evictions, 1u);
}

TEST(MdnsResolver, RejectsNamesThatAreNotMdns) {
  Resolver r;
  for (std::string_view bad : {"example.com", "192.168.1.2", "local.example"}) {
    auto id = r.resolve(t0, bad);
    ASSERT_FALSE(id) << bad;
    EXPECT_EQ(id.error(), Errc::NotLocal);
    EXPECT_EQ(id.error(), Condition::InvalidArgument);
  }
  auto bad = r.resolve(t0, "a..local");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), Errc::InvalidName);
  EXPECT_TRUE(drain_transmits(r).empty());
  EXPECT_FALSE(r.poll_timeout());
}

TEST(MdnsResolver, QueriesEveryDestinationAndOnlyTheConfiguredTypes) {
  ResolverConfig config;
  config.destinations = {SocketAddress(multicast_group_v4(), kPort),
                         SocketAddress(multicast_group_v6(), kPort)};
  config.query_aaaa = false;
  Resolver r(config);
  resolve_ok(r, t0, kName);
  auto tx = drain_transmits(r);
  ASSERT_EQ(tx.size(), 2u);
  EXPECT_EQ(tx[0].destination, *SocketAddress::parse("224.0.0.251:5353"));
  EXPECT_EQ(tx[1].destination, *SocketAddress::parse("[ff02::fb]:5353"));
  EXPECT_EQ(tx[0].payload, tx[1].payload);
  EXPECT_EQ(tx[0].payload, make_query(*Name::parse(kName), rr_type::kA));
}

} // namespace
} // namespace posthorn::ice::mdns
