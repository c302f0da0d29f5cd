#include "signal/trystero_ids.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <numeric>

namespace posthorn::signal {
namespace {

TEST(TrysteroIds, GenIdDrawsFromTheSixtyTwoCharacterAlphabet) {
  SeededRng rng(7);
  const std::string id = gen_id(rng, kPeerIdLength);
  ASSERT_EQ(id.size(), 20u);
  for (char c : id)
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << c;
  EXPECT_EQ(gen_id(rng, kOfferIdLength).size(), 12u);
  EXPECT_NE(gen_id(rng, 20), gen_id(rng, 20));
}

TEST(TrysteroIds, Sha1b36WritesEachByteWithoutPadding) {
  // TV1: SHA-1 e84fc167…e823; 0xe8 → "6g", 0x23 → "z" (one digit, no zero padding).
  const std::string t = sha1b36("Trystero@posthorn-test@lobby");
  EXPECT_EQ(t, "6g275d2v425x1i5n5v324g3z3v1b166y4d4m6gz");
  EXPECT_EQ(t.size(), 39u);
}

TEST(TrysteroIds, Tv1RootTopic) {
  EXPECT_EQ(root_topic_plain("posthorn-test", "lobby"), "Trystero@posthorn-test@lobby");
  EXPECT_EQ(root_topic("posthorn-test", "lobby"), "6g275d2v425x1i5n5v324g3z3v1b166y4d4m6gz");
}

TEST(TrysteroIds, Tv2SelfTopic) {
  const std::string t = self_topic("posthorn-test", "lobby", "AbCdEfGhIjKlMnOpQrSt");
  EXPECT_EQ(t, "5u3z4520511q1m405lw82j475n1h19101s3r1e");
  EXPECT_EQ(t.size(), 38u);
}

TEST(TrysteroIds, Tv3RoomTokenUsesColonsNotAtSigns) {
  EXPECT_EQ(room_token("posthorn-test", "lobby"),
            "2f5fe6124447e09328757b2c839238121e21ae92e6f10904710984604d4de6f8");
}

TEST(TrysteroIds, Tv7StrToNumAndNostrKinds) {
  EXPECT_EQ(str_to_num("posthorn-test"), 1386u);
  EXPECT_EQ(str_to_num("posthorn-test", 1000), 386u);
  EXPECT_EQ(nostr_kind(root_topic("posthorn-test", "lobby")), 22961u);
  EXPECT_EQ(nostr_kind(self_topic("posthorn-test", "lobby", "AbCdEfGhIjKlMnOpQrSt")), 22665u);
}

TEST(TrysteroIds, StrToNumSumsUtf16CodeUnits) {
  EXPECT_EQ(str_to_num(""), 0u);
  EXPECT_EQ(str_to_num("\xC3\xA9"), 0xE9u);                     // é: one unit
  EXPECT_EQ(str_to_num("\xE2\x98\x83"), 0x2603u);               // ☃: one unit
  EXPECT_EQ(str_to_num("\xF0\x9F\x98\x80"), 0xD83Du + 0xDE00u); // 😀: a surrogate pair
  EXPECT_EQ(str_to_num("\xFF"), 0xFFFDu);                       // invalid byte → U+FFFD
  EXPECT_EQ(str_to_num("\xC3"), 0xFFFDu);                       // truncated sequence
  EXPECT_EQ(str_to_num("\xED\xA0\x80"), 3u * 0xFFFDu);          // encoded surrogate: 3 bad bytes
}

TEST(TrysteroIds, Tv8TorrentInfoHashHashesTheRootTopicAgain) {
  const std::string root = root_topic("posthorn-test", "lobby");
  EXPECT_EQ(sha1b36(root), "3a693z5y3d5m16f582u6z3f2w5h82r52713h3o");
  EXPECT_EQ(torrent_info_hash(root), "3a693z5y3d5m16f582u6");
}

TEST(TrysteroIds, Tv9ShuffleOfFiveLetters) {
  const auto out = seeded_shuffle(std::vector<std::string>{"a", "b", "c", "d", "e"}, 7);
  EXPECT_EQ(out, (std::vector<std::string>{"d", "b", "a", "c", "e"}));
}

TEST(TrysteroIds, Tv9ShuffleOfTwentyEight) {
  std::vector<int> items(28);
  std::iota(items.begin(), items.end(), 0);
  EXPECT_EQ(seeded_shuffle(items, 1386),
            (std::vector<int>{16, 25, 6, 22, 26, 15, 2,  20, 1,  14, 7,  8,  21, 0,
                              24, 27, 9, 5,  13, 3,  18, 17, 10, 12, 11, 19, 23, 4}));
}

TEST(TrysteroIds, Tv9NostrRelayChoiceForTheTestApp) {
  // §5.1's 28 default relays, shuffled by strToNum(appId), first 5.
  std::vector<std::string> relays;
  for (const char* host : {"basspistol.org",
                           "bucket.coracle.social",
                           "chorus.pjv.me",
                           "koru.bitcointxoko.org",
                           "nos.lol",
                           "nostr-01.uid.ovh",
                           "nostr-01.yakihonne.com",
                           "nostr-relay.corb.net",
                           "nostr.data.haus",
                           "nostr.islandarea.net",
                           "nostr.sathoarder.com",
                           "nostr.tegila.com.br",
                           "nostr.vulpem.com",
                           "purplerelay.com",
                           "relay-can.zombi.cloudrodion.com",
                           "relay-rpi.edufeed.org",
                           "relay.agorist.space",
                           "relay.artio.inf.unibe.ch",
                           "relay.mostr.pub",
                           "relay.mostro.network",
                           "relay.sigit.io",
                           "relay02.lnfi.network",
                           "schnorr.me",
                           "social.amanah.eblessing.co",
                           "staging.yabu.me",
                           "strfry.shock.network",
                           "top.testrelay.top",
                           "yabu.me/v2"})
    relays.push_back(std::string("wss://") + host);
  auto chosen = seeded_shuffle(relays, static_cast<double>(str_to_num("posthorn-test")));
  chosen.resize(5);
  EXPECT_EQ(chosen,
            (std::vector<std::string>{"wss://relay.agorist.space", "wss://strfry.shock.network",
                                      "wss://nostr-01.yakihonne.com", "wss://schnorr.me",
                                      "wss://top.testrelay.top"}));
}

TEST(TrysteroIds, ShuffleOfNothingIsNothing) {
  EXPECT_TRUE(seeded_shuffle(std::vector<int>{}, 3).empty());
  EXPECT_EQ(seeded_shuffle(std::vector<int>{9}, 3), std::vector<int>{9});
}

TEST(TrysteroIds, Tv13PasswordResponseHash) {
  EXPECT_EQ(password_response_hash("abcdefghijklmnopqrstuvwxyz0123456789", "secret",
                                   "posthorn-test", "lobby"),
            "070e6b6b15aa5853bf17ea9fb162744b767f791f2ccaa8fef041c0bc52959914");
}

} // namespace
} // namespace posthorn::signal
