// Nostr events for Trystero's Nostr strategy (spec §5.1) against TV14 of spec §14.
#include "signal/nostr_event.hpp"

#include "core/rng.hpp"

#include <gtest/gtest.h>

namespace posthorn::signal::nostr {
namespace {

constexpr const char* kRootTopic = "6g275d2v425x1i5n5v324g3z3v1b166y4d4m6gz"; // TV1

KeyPair tv14_keys() {
  SecretKey secret{};
  secret[31] = 3;
  return *KeyPair::from_secret(secret);
}

TEST(NostrEvent, Tv14SerializationIdAndSignature) {
  const auto keys = tv14_keys();
  EXPECT_EQ(keys.pubkey_hex(), "f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9");
  const Digest zero_aux{};
  const auto e = make_topic_event(keys, kRootTopic, R"({"peerId":"AbCdEfGhIjKlMnOpQrSt"})",
                                  1700000000, zero_aux);
  EXPECT_EQ(e.kind, 22961u); // TV7
  EXPECT_EQ(serialize_for_id(e),
            R"([0,"f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9",1700000000,)"
            R"(22961,[["x","6g275d2v425x1i5n5v324g3z3v1b166y4d4m6gz"]],)"
            R"("{\"peerId\":\"AbCdEfGhIjKlMnOpQrSt\"}"])");
  EXPECT_EQ(e.id, "85961d7a2bf042a2e33ebe6bb8d1d4a1d643f78ea21a49173e19b42de94e7f12");
  EXPECT_EQ(e.sig, "a04948ccaf53e39807df35818e60b66210765eb61726cefdfdbbaa47d90d25e2"
                   "e5ec1d912dba297655275868787c000681efe5477710b99d756203cd510eb009");
  EXPECT_TRUE(verify(e));
}

TEST(NostrEvent, RandomAuxGivesDifferentSignaturesThatAllVerify) {
  CryptoRng rng;
  const auto keys = KeyPair::generate(rng);
  Digest a{}, b{};
  rng.fill(a);
  rng.fill(b);
  const auto e1 = make_topic_event(keys, "t", "hello", 1, a);
  const auto e2 = make_topic_event(keys, "t", "hello", 1, b);
  EXPECT_EQ(e1.id, e2.id);
  EXPECT_NE(e1.sig, e2.sig);
  EXPECT_TRUE(verify(e1));
  EXPECT_TRUE(verify(e2));
}

TEST(NostrEvent, AnyChangeBreaksVerification) {
  const auto e = make_topic_event(tv14_keys(), kRootTopic, "{}", 1700000000, Digest{});
  auto content = e;
  content.content = "{ }";
  EXPECT_FALSE(verify(content)); // the id no longer matches
  auto kind = e;
  kind.kind += 1;
  EXPECT_FALSE(verify(kind));
  auto sig = e;
  sig.sig[0] = sig.sig[0] == '0' ? '1' : '0';
  EXPECT_FALSE(verify(sig));
  auto not_hex = e;
  not_hex.pubkey[5] = 'z';
  EXPECT_FALSE(verify(not_hex));
  auto short_id = e;
  short_id.id.pop_back();
  EXPECT_FALSE(verify(short_id));
}

TEST(NostrEvent, JsonRoundTripsInTrysteroKeyOrder) {
  const auto e =
      make_topic_event(tv14_keys(), kRootTopic, "line\nbreak \"q\" ☃", 1700000000, Digest{});
  const auto text = to_json(e);
  EXPECT_TRUE(text.starts_with(R"({"kind":22961,"tags":[["x",")")) << text;
  auto back = event_from_json(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, e);
  EXPECT_TRUE(verify(*back));
  EXPECT_EQ(first_tag(*back, "x"), kRootTopic);
  EXPECT_EQ(first_tag(*back, "e"), std::nullopt);
}

TEST(NostrEvent, MalformedEventsAreRefused) {
  for (const char* text :
       {"", "[]", R"({"id":"x"})",
        R"({"id":"a","pubkey":"b","created_at":1,"kind":-1,"tags":[],"content":"","sig":"s"})",
        R"({"id":"a","pubkey":"b","created_at":1,"kind":1,"tags":[[1]],"content":"","sig":"s"})",
        R"({"id":"a","pubkey":"b","created_at":"1","kind":1,"tags":[],"content":"","sig":"s"})"})
    EXPECT_FALSE(event_from_json(text)) << text;
}

TEST(NostrEvent, SecretKeysOutsideTheCurveOrderAreRefused) {
  EXPECT_FALSE(KeyPair::from_secret(SecretKey{}));
  SecretKey all_ones;
  all_ones.fill(0xFF);
  EXPECT_FALSE(KeyPair::from_secret(all_ones));
}

} // namespace
} // namespace posthorn::signal::nostr
