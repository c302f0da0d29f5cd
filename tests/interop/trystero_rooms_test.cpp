// Room scenarios between two peer implementations — Trystero 0.25.4 in Node, Trystero in headless
// Chromium, and `posthorn peer` — over each signaling medium both speak:
//  - MQTT through a real mosquitto (MQTT over WebSocket), every scenario and every pair;
//  - Nostr (@trystero-p2p/nostr) through `posthorn relay`: the scenarios where the medium matters
//    (joining, passwords, passive peers, three parties, leaving, targeting), posthorn against each
//    Trystero runtime in both join orders. The data path after the join does not depend on the
//    medium and is covered by the MQTT cells.
//  - Torrent (@trystero-p2p/torrent) through the npm bittorrent-tracker's WebSocket tracker, and
//    TorrentOverPosthornRelay through the tracker in `posthorn relay`: the same scenarios as Nostr
//    (kTorrentPairs, kTorrentOverPosthornRelayPairs, and on demand kTorrentHarnessPairs).
// Every peer is a process speaking the JSON-lines contract (tests/support/peer_process.hpp,
// docs/interop.md). Each test gets its own broker, relay or tracker, app id and room. Run one cell
// with e.g.  interop_tests --gtest_filter='*/NostrTrysteroNodeWithPosthorn'
#include "bittorrent_tracker_fixture.hpp"
#include "core/crypto.hpp"
#include "coturn_server.hpp"
#include "mosquitto_fixture.hpp"
#include "posthorn_relay_fixture.hpp"
#include "support/peer_process.hpp"
#include "support/test_payloads.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <array>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string_view>

namespace posthorn::test {
namespace {

using namespace std::chrono;
using nlohmann::json;

// ---- the matrix -----------------------------------------------------------------------------

enum class Medium {
  Mqtt,    // @trystero-p2p/mqtt through a real mosquitto (MQTT over WebSocket)
  Nostr,   // @trystero-p2p/nostr through `posthorn relay`
  Torrent, // @trystero-p2p/torrent through the npm bittorrent-tracker (WebSocket tracker)
  TorrentOverPosthornRelay, // @trystero-p2p/torrent through `posthorn relay`'s tracker
};

constexpr bool is_torrent(Medium m) {
  return m == Medium::Torrent || m == Medium::TorrentOverPosthornRelay;
}

// The cell-name prefix of a medium ("" for MQTT, whose cells came first).
constexpr std::string_view medium_name(Medium m) {
  switch (m) {
  case Medium::Mqtt: return "";
  case Medium::Nostr: return "Nostr";
  case Medium::Torrent: return "Torrent";
  case Medium::TorrentOverPosthornRelay: return "TorrentOverPosthornRelay";
  }
  return "?";
}

struct ImplPair {
  PeerImpl first;  // joins first (and plays "A" in the scenarios)
  PeerImpl second; // joins second ("B")
  Medium medium = Medium::Mqtt;
};

using PairOfImpls = std::pair<PeerImpl, PeerImpl>;

// ---- torrent pairs ----
// Over the npm bittorrent-tracker: posthorn against Trystero in Node and in Chromium, both join
// orders. Trystero against itself (Node with Node, Node with Chromium) vouches for the harness,
// the tracker fixture and the scenarios; those 16 cells run when POSTHORN_INTEROP_HARNESS_CELLS=1
// (they passed twice on 2026-12-06, docs/interop.md) and not in every CI run, which checks
// Trystero against itself over MQTT and through posthorn relay's tracker already. The reverse
// {TrysteroChromium, TrysteroNode} adds no role the id hints and the passive pair of scenarios do
// not already give each runtime, and costs ~2 minutes (a torrent join can wait 10 s for the next
// announce, docs/interop.md).
constexpr std::array<PairOfImpls, 4> kTorrentPairs = {{
    {PeerImpl::Posthorn, PeerImpl::TrysteroNode},
    {PeerImpl::TrysteroNode, PeerImpl::Posthorn},
    {PeerImpl::Posthorn, PeerImpl::TrysteroChromium},
    {PeerImpl::TrysteroChromium, PeerImpl::Posthorn},
}};
constexpr std::array<PairOfImpls, 2> kTorrentHarnessPairs = {{
    {PeerImpl::TrysteroNode, PeerImpl::TrysteroNode},
    {PeerImpl::TrysteroNode, PeerImpl::TrysteroChromium},
}};
bool harness_cells_wanted() {
  const char* wanted = std::getenv("POSTHORN_INTEROP_HARNESS_CELLS");
  return wanted && std::string_view(wanted) == "1";
}
// Over `posthorn relay`'s tracker: posthorn with Trystero in Node (both orders), and Trystero
// against itself, which checks our tracker against the client it must serve.
constexpr std::array<PairOfImpls, 3> kTorrentOverPosthornRelayPairs = {{
    {PeerImpl::Posthorn, PeerImpl::TrysteroNode},
    {PeerImpl::TrysteroNode, PeerImpl::Posthorn},
    {PeerImpl::TrysteroNode, PeerImpl::TrysteroNode},
}};

std::vector<ImplPair> interop_pairs() {
  using enum PeerImpl;
  // Over MQTT: posthorn against each Trystero runtime (Node, and Chromium with its default mDNS
  // host candidates) in both join orders, plus Trystero in Node with Trystero in Chromium, which
  // vouches for the harness. Trystero in Node against itself is on demand (harness cells): in the
  // CI runs of 2026-12-06 its offering PeerConnection closed ~1 s after it started in 2 of 3
  // attempts of a cell (a node-datachannel/Trystero race; posthorn is not in those cells at all).
  std::vector<ImplPair> pairs = {{TrysteroNode, TrysteroChromium},
                                 {Posthorn, TrysteroNode},
                                 {TrysteroNode, Posthorn},
                                 {Posthorn, TrysteroChromium},
                                 {TrysteroChromium, Posthorn}};
  if (harness_cells_wanted()) pairs.insert(pairs.begin(), {TrysteroNode, TrysteroNode});
  // Over Nostr through `posthorn relay`: posthorn against each Trystero runtime, both orders.
  // Trystero Node against itself is left out: in the CI run of 2026-12-06 its cells failed 2 of 3
  // attempts twice (the lower id's offering PeerConnection closes ~0.1 s after it starts, before
  // any answer; a node-datachannel/Trystero race that posthorn pairs never show). Our relay is
  // still checked against Trystero by every cell here, from both join orders.
  for (auto [first, second] :
       std::vector<std::pair<PeerImpl, PeerImpl>>{{Posthorn, TrysteroNode},
                                                  {TrysteroNode, Posthorn},
                                                  {Posthorn, TrysteroChromium},
                                                  {TrysteroChromium, Posthorn}})
    pairs.push_back({first, second, Medium::Nostr});
  for (auto [first, second] : kTorrentPairs)
    pairs.push_back({first, second, Medium::Torrent});
  if (harness_cells_wanted())
    for (auto [first, second] : kTorrentHarnessPairs)
      pairs.push_back({first, second, Medium::Torrent});
  for (auto [first, second] : kTorrentOverPosthornRelayPairs)
    pairs.push_back({first, second, Medium::TorrentOverPosthornRelay});
  return pairs;
}

// The scenarios of the data path (payload kinds, progress, request/response, ping, handshake,
// TURN) do not depend on how the peers found each other: they run over MQTT only.
std::vector<ImplPair> mqtt_pairs() {
  auto pairs = interop_pairs();
  std::erase_if(pairs, [](const ImplPair& p) { return p.medium != Medium::Mqtt; });
  return pairs;
}

void PrintTo(const ImplPair& p, std::ostream* os) {
  if (p.medium != Medium::Mqtt) *os << medium_name(p.medium) << ": ";
  *os << to_string(p.first) << " + " << to_string(p.second);
}

// e.g. TrysteroNodeWithPosthorn (MQTT), NostrTrysteroNodeWithPosthorn,
// TorrentTrysteroNodeWithTrysteroNode, TorrentOverPosthornRelayTrysteroNodeWithTrysteroNode.
std::string pair_name(const ::testing::TestParamInfo<ImplPair>& info) {
  return std::string(medium_name(info.param.medium)) + std::string(to_string(info.param.first)) +
         "With" + std::string(to_string(info.param.second));
}

// Whether an implementation reports a join error when it is the offering side (the lower id)
// and its offer can never be answered because the passwords differ. Trystero does not: only
// the answering side, which fails to decrypt the offer, raises onJoinError (see docs/interop.md).
constexpr bool reports_join_error_as_offerer(PeerImpl impl) {
  return impl == PeerImpl::Posthorn && false; // decide when posthorn peer exists
}

constexpr auto kTimeout = seconds(30);
constexpr std::size_t kMaxPrintedBinary = 64 * 1024;

// ---- payload helpers ------------------------------------------------------------------------

std::string sha256_hex(ByteView bytes) {
  return to_hex(crypto::sha256(bytes));
}

// The bytes a payload command puts on the wire, as the contract's bytes/sha256 count them.
Bytes payload_bytes(const json& cmd) {
  const std::string kind = cmd.at("kind");
  if (kind == "binary") return crypto::base64_decode(cmd.at("data").get<std::string>()).value();
  const std::string text =
      kind == "text" ? cmd.at("data").get<std::string>() : cmd.at("data").dump();
  return Bytes(text.begin(), text.end());
}

// Writes `size` pseudo-random bytes and returns their sha256.
std::string write_random_file(const std::filesystem::path& path, std::size_t size,
                              std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint8_t> block(1 << 20);
  crypto::Sha256 sha;
  std::ofstream out(path, std::ios::binary);
  for (std::size_t done = 0; done < size;) {
    const std::size_t n = std::min(block.size(), size - done);
    for (std::size_t i = 0; i < n; i += 8) {
      const std::uint64_t r = rng();
      for (std::size_t k = 0; k < 8 && i + k < n; ++k)
        block[i + k] = static_cast<std::uint8_t>(r >> (8 * k));
    }
    out.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(n));
    sha.update(ByteView(block.data(), n));
    done += n;
  }
  return to_hex(sha.finish());
}

// ---- the fixture ----------------------------------------------------------------------------

class TrysteroRoom : public ::testing::TestWithParam<ImplPair> {
protected:
  void SetUp() override {
    const bool needs_node = GetParam().medium == Medium::Torrent; // the tracker runs in Node
    for (PeerImpl impl : {GetParam().first, GetParam().second}) {
      if ((needs_node || impl != PeerImpl::Posthorn) &&
          !std::filesystem::exists(std::string(POSTHORN_INTEROP_JS_DIR) + "/node_modules"))
        GTEST_SKIP() << "tests/interop/js/node_modules is missing: run scripts/setup-node.sh";
      if (impl == PeerImpl::TrysteroChromium && !std::filesystem::exists("/usr/bin/chromium"))
        GTEST_SKIP() << "/usr/bin/chromium is not installed";
    }
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string test = std::string(info->test_suite_name()) + "." + info->name();
    for (char& c : test)
      if (c == '/') c = '_';
    static std::atomic<int> counter{0};
    const std::string unique = std::to_string(::getpid()) + "-" + std::to_string(++counter);
    dir_ = std::filesystem::path(::testing::TempDir()) / "posthorn-interop" / (test + "-" + unique);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    switch (GetParam().medium) {
    case Medium::Mqtt: broker_ = std::make_unique<LocalMosquitto>(dir_ / "mosquitto"); break;
    case Medium::Nostr: relay_ = std::make_unique<LocalPosthornRelay>(POSTHORN_BINARY); break;
    case Medium::Torrent:
      tracker_ = std::make_unique<LocalBittorrentTracker>(
          find_in_path("node"), POSTHORN_INTEROP_JS_DIR, dir_ / "tracker.stderr.log");
      break;
    case Medium::TorrentOverPosthornRelay:
      // Trystero re-announces after the tracker's interval, clamped to [10 s, 120 s]; the relay's
      // default 120 s would let a join wait two minutes (docs/interop.md). 10 s is Trystero's
      // floor and what the npm tracker fixture asks for too.
      relay_ = std::make_unique<LocalPosthornRelay>(
          POSTHORN_BINARY, std::vector<std::string>{"--tracker-interval", "10"});
      break;
    }
    // Distinct ids per test (the broker is private anyway; this keeps topics apart if the lead
    // points the suite at one shared broker).
    app_ = "posthorn-interop-" + unique;
    room_ = std::string(info->name()).substr(0, std::string(info->name()).find('/'));
    paths_ = {POSTHORN_BINARY, POSTHORN_INTEROP_JS_DIR, ""};
    started_ = steady_clock::now();
  }

  void TearDown() override {
    // Stdin EOF means "leave": let every peer shut down at once, then reap them.
    for (auto& p : peers_)
      p->close_input();
    peers_.clear();
    broker_.reset();
    relay_.reset();
    tracker_.reset();
    RecordProperty(
        "wall_ms",
        static_cast<int>(duration_cast<milliseconds>(steady_clock::now() - started_).count()));
    if (!HasFailure() && !dir_.empty()) std::filesystem::remove_all(dir_);
  }

  struct PeerOptions {
    std::vector<std::string> extra; // e.g. --passive, --serve echo=echo, --progress
    std::optional<std::string> password;
    std::optional<std::string> room; // default: the test's room
    // "low" or "high": a Trystero peer then gets an id starting with '0' or 'z', which decides
    // who offers and who initiates the handshake (docs/interop.md). Ignored by posthorn.
    std::optional<std::string> id_hint;
    // The medium, when not the test's own (the mixed-protocol cell: one relay, three media).
    std::optional<std::string> strategy;
    std::optional<std::string> relay;
  };

  // The relay URL an implementation is pointed at. All speak their medium over WebSocket (the
  // only transport a browser has); over MQTT posthorn could equally be given broker_->tcp_url().
  std::string relay_for(PeerImpl) const {
    switch (GetParam().medium) {
    case Medium::Mqtt: return broker_->ws_url();
    case Medium::Nostr:
    case Medium::TorrentOverPosthornRelay: return relay_->ws_url();
    case Medium::Torrent: return tracker_->ws_url();
    }
    return {};
  }
  // The --strategy flag, the same for every implementation.
  std::string strategy() const {
    switch (GetParam().medium) {
    case Medium::Mqtt: return "mqtt";
    case Medium::Nostr: return "nostr";
    case Medium::Torrent:
    case Medium::TorrentOverPosthornRelay: return "torrent";
    }
    return {};
  }
  PeerProcess& start(PeerImpl impl, const std::string& name, const PeerOptions& o = {}) {
    const std::string medium = o.strategy.value_or(strategy());
    std::vector<std::string> flags = {
        "--app",      app_,   "--room",  o.room.value_or(room_),
        "--strategy", medium, "--relay", o.relay.value_or(relay_for(impl))};
    if (o.password) {
      flags.push_back("--password");
      flags.push_back(*o.password);
    }
    flags.insert(flags.end(), o.extra.begin(), o.extra.end());
    std::vector<std::string> env;
    if (o.id_hint) env.push_back("POSTHORN_INTEROP_ID_HINT=" + *o.id_hint);
    // Torrent does not trickle: every offer and answer waits for ICE gathering, and so for
    // Trystero's default public STUN servers, whose name lookups fail offline and, made in a
    // burst for a whole offer pool, can stall for seconds (docs/interop.md). Loopback needs no
    // STUN; posthorn has no default servers and ignores the variable.
    if (medium == "torrent") env.push_back("POSTHORN_INTEROP_NO_DEFAULT_STUN=1");
    peers_.push_back(std::make_unique<PeerProcess>(impl, name, flags, dir_, paths_, env));
    return *peers_.back();
  }

  // With id hints on Trystero peers, A's id is below B's iff A was hinted "low".
  static void expect_id_order(PeerProcess& a, PeerProcess& b, const std::string& hint_a) {
    if (a.impl() != PeerImpl::Posthorn && b.impl() != PeerImpl::Posthorn) {
      EXPECT_EQ(a.self_id() < b.self_id(), hint_a == "low") << a.self_id() << " " << b.self_id();
    }
    RecordProperty(a.name() + "_offers", a.self_id() < b.self_id() ? "yes" : "no");
  }

  static void await_join(PeerProcess& a, PeerProcess& b) {
    const std::string idb = b.self_id();
    const std::string ida = a.self_id();
    a.wait_for(is_event_from("join", idb), kTimeout, "join of " + b.name());
    b.wait_for(is_event_from("join", ida), kTimeout, "join of " + a.name());
  }

  // Sends `cmd` (which must carry action/kind/data and may carry metadata/target) from tx and
  // checks what rx prints for it, and that tx reports the send as complete.
  json send_and_check(PeerProcess& tx, PeerProcess& rx, json cmd) {
    cmd["cmd"] = "send";
    cmd["id"] = "c" + std::to_string(++command_id_);
    tx.send(cmd);
    const std::string action = cmd.at("action");
    const json msg = rx.wait_for(is_message(action, tx.self_id()), kTimeout,
                                 "message '" + action + "' from " + tx.name());
    check_payload(msg, cmd);
    EXPECT_EQ(msg.contains("metadata"), cmd.contains("metadata")) << msg.dump();
    if (cmd.contains("metadata") && msg.contains("metadata")) {
      EXPECT_EQ(msg["metadata"], cmd["metadata"]);
    }
    const json sent = tx.wait_for(is_event_with_id("sent", cmd["id"]), kTimeout, "sent");
    EXPECT_EQ(sent.value("ok", false), true) << sent.dump();
    return msg;
  }

  // Checks kind/data/bytes/sha256 of a message or response event against the sent command.
  static void check_payload(const json& ev, const json& cmd) {
    const Bytes bytes = payload_bytes(cmd);
    EXPECT_EQ(ev.value("kind", ""), cmd.at("kind").get<std::string>()) << ev.dump();
    EXPECT_EQ(ev.value("bytes", -1), static_cast<long>(bytes.size())) << ev.dump();
    EXPECT_EQ(ev.value("sha256", ""), sha256_hex(bytes));
    if (cmd.at("kind") == "binary" && bytes.size() > kMaxPrintedBinary) {
      EXPECT_TRUE(ev.contains("data") && ev["data"].is_null()) << "big binary data must be null";
    } else {
      EXPECT_EQ(ev.value("data", json()), cmd.at("data")) << ev.dump();
    }
  }

  // Progress events of one transfer: present, within [0, 1], never going back, ending at 1.
  static void check_progress(const PeerProcess& p, const std::string& action,
                             const std::string& peer, const std::string& direction,
                             const json& metadata) {
    std::vector<double> fractions;
    json last;
    for (const auto& e : p.history()) {
      if (field(e, "event") == "progress" && field(e, "action") == action &&
          field(e, "peer") == peer && field(e, "direction") == direction) {
        fractions.push_back(e.value("fraction", -1.0));
        last = e;
      }
    }
    ASSERT_FALSE(fractions.empty()) << p.name() << ": no '" << direction << "' progress";
    for (std::size_t i = 0; i < fractions.size(); ++i) {
      EXPECT_GE(fractions[i], 0.0);
      EXPECT_LE(fractions[i], 1.0);
      if (i) {
        EXPECT_GE(fractions[i], fractions[i - 1]) << "progress went back at " << i;
      }
    }
    EXPECT_DOUBLE_EQ(fractions.back(), 1.0) << p.name() << " " << direction;
    if (!metadata.is_null()) {
      EXPECT_EQ(last.value("metadata", json()), metadata) << last.dump();
    }
  }

  // One transfer of a large binary payload with progress on both sides.
  void large_transfer(PeerProcess& tx, PeerProcess& rx) {
    const json meta100k = {{"name", "hundred-k"}, {"size", 100000}};
    send_and_check(tx, rx,
                   {{"action", "blob"},
                    {"kind", "binary"},
                    {"data", random_base64(100000, 7)},
                    {"metadata", meta100k}});
    check_progress(tx, "blob", rx.self_id(), "out", meta100k);
    check_progress(rx, "blob", tx.self_id(), "in", meta100k);

    constexpr std::size_t kBig = 32u << 20;
    const auto file = dir_ / "big.bin";
    const std::string sha = write_random_file(file, kBig, 42);
    const json meta = {{"name", "big.bin"}, {"size", kBig}};
    const std::string id = "c" + std::to_string(++command_id_);
    const auto t0 = steady_clock::now();
    tx.send({{"cmd", "send-file"},
             {"id", id},
             {"action", "file"},
             {"path", file.string()},
             {"metadata", meta}});
    const json msg = rx.wait_for(is_message("file", tx.self_id()), seconds(120), "32 MiB file");
    const auto ms = duration_cast<milliseconds>(steady_clock::now() - t0).count();
    RecordProperty("file_32MiB_ms", static_cast<int>(ms));
    EXPECT_EQ(msg.value("kind", ""), "binary");
    EXPECT_EQ(msg.value("bytes", 0L), static_cast<long>(kBig));
    EXPECT_EQ(msg.value("sha256", ""), sha);
    EXPECT_TRUE(msg.contains("data") && msg["data"].is_null());
    EXPECT_EQ(msg.value("metadata", json()), meta);
    const json sent = tx.wait_for(is_event_with_id("sent", id), kTimeout, "sent of the file");
    EXPECT_EQ(sent.value("ok", false), true) << sent.dump();
    check_progress(tx, "file", rx.self_id(), "out", meta);
    check_progress(rx, "file", tx.self_id(), "in", meta);
  }

  void passive_scenario(PeerImpl passive_impl, PeerImpl active_impl) {
    // The passive peer must be there first: an active peer announces at 0, 0.2, 0.8 and 2.1 s,
    // then only every 60 s, and a passive peer never announces before it is activated. (Over
    // torrent the passive peer does announce, with no offers, which puts it in the tracker's
    // swarm; the active peer's offers reach it on the active peer's announces.)
    //
    // Over torrent, Trystero against Trystero only works reliably when the passive peer has the
    // higher id, so the id hints fix that order there. A passive room holds no offers, so its
    // "have outgoing offer" hint is false and it answers the active peer's offer whatever the
    // ids (@trystero-p2p/torrent topicHandler, core handleOffer). Being activated, it announces
    // offers of its own at once, and an active peer with the higher id answers one of them
    // (it comes from a lower id). Two connections open within milliseconds, and each side keeps
    // the one whose data channel opened first on its side (core strategy connectPeer), leaving
    // the other open but unbound. When the two sides pick different ones, each sends its
    // handshake where the other does not listen: "handshake timed out" on both, no join (6 of
    // 79 runs with the passive peer lower, 0 of 50 with it higher). posthorn ignores the hints.
    std::optional<std::string> passive_hint, active_hint;
    if (is_torrent(GetParam().medium)) {
      passive_hint = "high";
      active_hint = "low";
    }
    PeerProcess& p =
        start(passive_impl, "passive", {.extra = {"--passive"}, .id_hint = passive_hint});
    p.self_id();
    PeerProcess& a = start(active_impl, "active", {.id_hint = active_hint});
    if (is_torrent(GetParam().medium)) expect_id_order(p, a, "high");
    await_join(p, a);
    send_and_check(p, a, {{"action", "hello"}, {"kind", "text"}, {"data", "from passive"}});
    send_and_check(a, p, {{"action", "hello"}, {"kind", "text"}, {"data", "from active"}});
  }

  std::filesystem::path dir_;
  std::unique_ptr<LocalMosquitto> broker_;
  std::unique_ptr<LocalPosthornRelay> relay_;
  std::unique_ptr<LocalBittorrentTracker> tracker_;
  std::string app_;
  std::string room_;
  PeerPaths paths_;
  std::vector<std::unique_ptr<PeerProcess>> peers_;
  int command_id_ = 0;
  steady_clock::time_point started_;
};

// ---- scenarios ------------------------------------------------------------------------------

// Both roles for each side: with the id hints the first implementation has the lower id
// (offers, initiates the handshake) in one round and the higher id in the other.
// The same fixture, instantiated over MQTT only (mqtt_pairs).
class TrysteroRoomDataPath : public TrysteroRoom {};

TEST_P(TrysteroRoom, JoinBothWays) {
  for (auto [hint_a, hint_b] : {std::pair{"low", "high"}, std::pair{"high", "low"}}) {
    SCOPED_TRACE(std::string("A's id hint ") + hint_a);
    const std::string room = room_ + "-" + hint_a;
    PeerProcess& a =
        start(GetParam().first, std::string("A-") + hint_a, {.room = room, .id_hint = hint_a});
    PeerProcess& b =
        start(GetParam().second, std::string("B-") + hint_b, {.room = room, .id_hint = hint_b});
    EXPECT_FALSE(a.self_id().empty());
    EXPECT_NE(a.self_id(), b.self_id());
    expect_id_order(a, b, hint_a);
    await_join(a, b);
  }
}

TEST_P(TrysteroRoom, JsonTextAndSmallBinaryBothWays) {
  PeerProcess& a = start(GetParam().first, "A");
  PeerProcess& b = start(GetParam().second, "B");
  await_join(a, b);
  for (auto [tx, rx] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
    send_and_check(*tx, *rx,
                   {{"action", "drink"},
                    {"kind", "json"},
                    {"data", {{"drink", "negroni"}, {"n", {1, 2.5, true, nullptr}}, {"ü", "😀"}}},
                    {"metadata", {{"glass", "rocks"}}}});
    send_and_check(*tx, *rx, {{"action", "drink"}, {"kind", "json"}, {"data", 42}});
    send_and_check(*tx, *rx,
                   {{"action", "drink"}, {"kind", "json"}, {"data", nullptr}, {"metadata", "m"}});
    send_and_check(*tx, *rx,
                   {{"action", "chat"},
                    {"kind", "text"},
                    {"data", "héllo wörld ✓"},
                    {"metadata", {{"k", {1}}}}});
    send_and_check(*tx, *rx, {{"action", "chat"}, {"kind", "text"}, {"data", ""}});
    send_and_check(
        *tx, *rx,
        {{"action", "bytes"}, {"kind", "binary"}, {"data", "/w=="}, {"metadata", {{"one", 1}}}});
    send_and_check(*tx, *rx, {{"action", "bytes"}, {"kind", "binary"}, {"data", ""}});
  }
}

TEST_P(TrysteroRoomDataPath, LargeBinaryFirstToSecond) {
  const PeerOptions o = {.extra = {"--progress", "--action", "blob", "--action", "file"}};
  PeerProcess& a = start(GetParam().first, "A", o);
  PeerProcess& b = start(GetParam().second, "B", o);
  await_join(a, b);
  large_transfer(a, b);
}

TEST_P(TrysteroRoomDataPath, LargeBinarySecondToFirst) {
  const PeerOptions o = {.extra = {"--progress", "--action", "blob", "--action", "file"}};
  PeerProcess& a = start(GetParam().first, "A", o);
  PeerProcess& b = start(GetParam().second, "B", o);
  await_join(a, b);
  large_transfer(b, a);
}

TEST_P(TrysteroRoom, TargetedSendReachesOnlyItsTarget) {
  PeerProcess& a = start(GetParam().first, "A");
  PeerProcess& b = start(GetParam().second, "B");
  PeerProcess& c = start(GetParam().second, "C");
  await_join(a, b);
  await_join(a, c);
  send_and_check(
      a, b, {{"action", "whisper"}, {"kind", "text"}, {"data", "for B"}, {"target", b.self_id()}});
  send_and_check(a, c,
                 {{"action", "whisper"},
                  {"kind", "text"},
                  {"data", "for C"},
                  {"target", json::array({c.self_id()})}});
  // A broadcast after the whispers: each channel is ordered, so once it has arrived any stray
  // whisper would have arrived before it.
  const json marker = {{"cmd", "send"},  {"id", "marker"}, {"action", "marker"},
                       {"kind", "text"}, {"data", "all"},  {"target", nullptr}};
  a.send(marker);
  for (PeerProcess* p : {&b, &c})
    p->wait_for(is_message("marker", a.self_id()), kTimeout, "marker");
  EXPECT_EQ(a.wait_for(is_event_with_id("sent", "marker"), kTimeout, "sent").value("ok", false),
            true);
  for (auto [p, expected] : {std::pair{&b, "for B"}, std::pair{&c, "for C"}}) {
    int whispers = 0;
    for (const auto& e : p->history())
      if (is_message("whisper", a.self_id())(e)) {
        ++whispers;
        EXPECT_EQ(e.value("data", ""), expected) << p->name();
      }
    EXPECT_EQ(whispers, 1) << p->name();
  }
}

TEST_P(TrysteroRoomDataPath, RequestResponseAndHandlerError) {
  const PeerOptions serving = {.extra = {"--serve", "echo=echo", "--serve", "fail=error"}};
  PeerProcess& a = start(GetParam().first, "A", serving);
  PeerProcess& b = start(GetParam().second, "B", serving);
  await_join(a, b);
  for (auto [requester, responder] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
    const std::vector<json> payloads = {
        {{"kind", "json"}, {"data", {{"q", 1}, {"list", {"x", nullptr}}}}},
        {{"kind", "text"}, {"data", "ping?"}},
        {{"kind", "binary"}, {"data", "AAEC/w=="}},
    };
    for (const json& payload : payloads) {
      json cmd = payload;
      cmd["cmd"] = "request";
      cmd["id"] = "r" + std::to_string(++command_id_);
      cmd["action"] = "echo";
      cmd["target"] = responder->self_id();
      cmd["timeout_ms"] = 20000;
      requester->send(cmd);
      const json r = requester->wait_for(is_event_with_id("response", cmd["id"]), kTimeout,
                                         "response to " + cmd["id"].get<std::string>());
      EXPECT_EQ(field(r, "peer"), responder->self_id());
      ASSERT_EQ(r.value("ok", false), true) << r.dump();
      check_payload(r, cmd);
    }
    const std::string id = "r" + std::to_string(++command_id_);
    requester->send({{"cmd", "request"},
                     {"id", id},
                     {"action", "fail"},
                     {"kind", "text"},
                     {"data", "please fail"},
                     {"target", json::array({responder->self_id()})},
                     {"timeout_ms", 20000}});
    const json r =
        requester->wait_for(is_event_with_id("response", id), kTimeout, "error response");
    EXPECT_EQ(r.value("ok", true), false) << r.dump();
    EXPECT_EQ(field(r, "error"), "handler error") << r.dump();
    EXPECT_EQ(field(r, "peer"), responder->self_id());
  }
}

TEST_P(TrysteroRoomDataPath, PingBothWays) {
  PeerProcess& a = start(GetParam().first, "A");
  PeerProcess& b = start(GetParam().second, "B");
  await_join(a, b);
  for (auto [from, to] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
    const std::string id = "p" + std::to_string(++command_id_);
    from->send({{"cmd", "ping"}, {"id", id}, {"peer", to->self_id()}});
    const json pong = from->wait_for(is_event_with_id("pong", id), kTimeout, "pong");
    EXPECT_EQ(field(pong, "peer"), to->self_id());
    ASSERT_TRUE(pong.contains("ms") && pong["ms"].is_number()) << pong.dump();
    EXPECT_GE(pong["ms"].get<double>(), 0.0);
    EXPECT_LT(pong["ms"].get<double>(), 10000.0);
  }
}

// The password challenge is sent by the lower id (spec §10): run it with either side as the
// initiator.
TEST_P(TrysteroRoom, PasswordRoomJoinsAndTalks) {
  for (auto [hint_a, hint_b] : {std::pair{"low", "high"}, std::pair{"high", "low"}}) {
    SCOPED_TRACE(std::string("A's id hint ") + hint_a);
    const std::string room = room_ + "-" + hint_a;
    PeerProcess& a = start(GetParam().first, std::string("A-") + hint_a,
                           {.password = "MuchoMaa$", .room = room, .id_hint = hint_a});
    PeerProcess& b = start(GetParam().second, std::string("B-") + hint_b,
                           {.password = "MuchoMaa$", .room = room, .id_hint = hint_b});
    expect_id_order(a, b, hint_a);
    await_join(a, b);
    send_and_check(a, b, {{"action", "secret"}, {"kind", "text"}, {"data", "psst"}});
    send_and_check(b, a, {{"action", "secret"}, {"kind", "json"}, {"data", {{"psst", true}}}});
  }
}

// Signaling is encrypted with a key derived from the password, so the offer of the lower id
// cannot be decrypted by the higher id, which reports it (spec §3, §4.2). Run with either
// implementation as the answerer.
TEST_P(TrysteroRoom, WrongPasswordIsAJoinErrorAndNoJoin) {
  for (auto [hint_a, hint_b] : {std::pair{"low", "high"}, std::pair{"high", "low"}}) {
    SCOPED_TRACE(std::string("A's id hint ") + hint_a);
    const std::string room = room_ + "-" + hint_a;
    PeerProcess& a = start(GetParam().first, std::string("A-") + hint_a,
                           {.password = "one", .room = room, .id_hint = hint_a});
    PeerProcess& b = start(GetParam().second, std::string("B-") + hint_b,
                           {.password = "two", .room = room, .id_hint = hint_b});
    expect_id_order(a, b, hint_a);
    PeerProcess& offerer = a.self_id() < b.self_id() ? a : b;
    PeerProcess& answerer = &offerer == &a ? b : a;
    const json err = answerer.wait_for(is_event_from("join-error", offerer.self_id()), kTimeout,
                                       "join-error naming the offerer");
    EXPECT_FALSE(field(err, "error").empty()) << err.dump();
    RecordProperty(answerer.name() + "_join_error", field(err, "error"));
    if (reports_join_error_as_offerer(offerer.impl())) {
      const json e2 = offerer.wait_for(is_event_from("join-error", answerer.self_id()), kTimeout,
                                       "join-error naming the answerer");
      EXPECT_FALSE(field(e2, "error").empty()) << e2.dump();
    }
    for (PeerProcess* p : {&a, &b})
      for (const auto& e : p->history())
        EXPECT_NE(field(e, "event"), "join") << p->name() << " joined despite the wrong password";
  }
}

// The application step of the handshake (Trystero's onPeerHandshake, spec §10), after the
// password step: `--handshake SECRET` on both sides runs the README's challenge/response over
// `@_hsdata` (docs/cli-peer.md). The lower id is the initiator; both orders run.
TEST_P(TrysteroRoomDataPath, ApplicationHandshakeAdmitsAfterThePasswordStep) {
  for (auto [hint_a, hint_b] : {std::pair{"low", "high"}, std::pair{"high", "low"}}) {
    SCOPED_TRACE(std::string("A's id hint ") + hint_a);
    const std::string room = room_ + "-" + hint_a;
    const std::vector<std::string> step = {"--handshake", "open sesame"};
    PeerProcess& a = start(GetParam().first, std::string("A-") + hint_a,
                           {.extra = step, .password = "pw", .room = room, .id_hint = hint_a});
    PeerProcess& b = start(GetParam().second, std::string("B-") + hint_b,
                           {.extra = step, .password = "pw", .room = room, .id_hint = hint_b});
    expect_id_order(a, b, hint_a);
    await_join(a, b);
    send_and_check(a, b, {{"action", "after"}, {"kind", "text"}, {"data", "admitted"}});
    send_and_check(b, a, {{"action", "after"}, {"kind", "text"}, {"data", "admitted too"}});
  }
}

// Different secrets: the initiator rejects the answer ("handshake rejected"); the other side
// admitted, sent its @_hsready and waits for one that never comes, so its handshake times out.
// Nobody joins.
TEST_P(TrysteroRoomDataPath, ApplicationHandshakeWithTheWrongSecretIsAJoinError) {
  for (auto [hint_a, hint_b] : {std::pair{"low", "high"}, std::pair{"high", "low"}}) {
    SCOPED_TRACE(std::string("A's id hint ") + hint_a);
    const std::string room = room_ + "-" + hint_a;
    PeerProcess& a = start(GetParam().first, std::string("A-") + hint_a,
                           {.extra = {"--handshake", "one"}, .room = room, .id_hint = hint_a});
    PeerProcess& b = start(GetParam().second, std::string("B-") + hint_b,
                           {.extra = {"--handshake", "two"}, .room = room, .id_hint = hint_b});
    expect_id_order(a, b, hint_a);
    PeerProcess& initiator = a.self_id() < b.self_id() ? a : b;
    PeerProcess& other = &initiator == &a ? b : a;
    // A loaded machine can add an earlier "could not connect" join-error (Trystero's own
    // connection timer) before the handshake's: look for the handshake's.
    const auto join_error_with = [](const std::string& from, const std::string& text) {
      return [from, text](const json& e) {
        return is_event_from("join-error", from)(e) &&
               field(e, "error").find(text) != std::string::npos;
      };
    };
    initiator.wait_for(join_error_with(other.self_id(), "handshake rejected"), kTimeout,
                       "join-error 'handshake rejected' of the initiator");
    other.wait_for(join_error_with(initiator.self_id(), "timed out"), kTimeout,
                   "join-error 'timed out' of the other side");
    for (PeerProcess* p : {&a, &b})
      for (const auto& e : p->history())
        EXPECT_NE(field(e, "event"), "join") << p->name() << " joined despite the wrong secret";
  }
}

// Both peers relay-only through a real coturn on loopback (`--turn … --relay-only`; Trystero's
// rtcConfig iceTransportPolicy "relay"): the room works with no direct path at all.
TEST_P(TrysteroRoomDataPath, RelayOnlyThroughCoturn) {
  if (!CoturnServer::available()) GTEST_SKIP() << CoturnServer::skip_reason();
  CoturnServer turn;
  const std::vector<std::string> relay = {"--turn",      "turn:" + turn.address().to_string(),
                                          "--turn-user", turn.user(),
                                          "--turn-pass", turn.password(),
                                          "--relay-only"};
  PeerProcess& a = start(GetParam().first, "A", {.extra = relay});
  PeerProcess& b = start(GetParam().second, "B", {.extra = relay});
  await_join(a, b);
  send_and_check(a, b, {{"action", "relayed"}, {"kind", "text"}, {"data", "via coturn"}});
  send_and_check(b, a,
                 {{"action", "relayed"}, {"kind", "binary"}, {"data", random_base64(100000, 3)}});
}

TEST_P(TrysteroRoom, PassiveFirstImplMeetsActivePeer) {
  passive_scenario(GetParam().first, GetParam().second);
}

TEST_P(TrysteroRoom, PassiveSecondImplMeetsActivePeer) {
  passive_scenario(GetParam().second, GetParam().first);
}

TEST_P(TrysteroRoom, ThreePartyRoomAndLeave) {
  PeerProcess& a = start(GetParam().first, "A");
  PeerProcess& b = start(GetParam().second, "B");
  PeerProcess& c = start(GetParam().second, "C");
  await_join(a, b);
  await_join(a, c);
  await_join(b, c);
  const json cmd = {{"cmd", "send"},           {"id", "all"},
                    {"action", "news"},        {"kind", "json"},
                    {"data", {{"from", "C"}}}, {"target", nullptr}};
  c.send(cmd);
  for (PeerProcess* p : {&a, &b})
    check_payload(p->wait_for(is_message("news", c.self_id()), kTimeout, "broadcast from C"), cmd);
  EXPECT_EQ(c.wait_for(is_event_with_id("sent", "all"), kTimeout, "sent").value("ok", false), true);

  EXPECT_EQ(c.leave_and_wait(kTimeout), std::optional<int>(0)) << "C must exit 0 after leaving";
  for (PeerProcess* p : {&a, &b})
    p->wait_for(is_event_from("leave", c.self_id()), kTimeout, "leave of C");
  EXPECT_EQ(b.leave_and_wait(kTimeout), std::optional<int>(0));
  a.wait_for(is_event_from("leave", b.self_id()), kTimeout, "leave of B");
  EXPECT_EQ(a.leave_and_wait(kTimeout), std::optional<int>(0));
}

// The contract's error handling, checked on each implementation of the pair.
TEST_P(TrysteroRoomDataPath, MalformedCommandsAreErrorEvents) {
  PeerProcess& a = start(GetParam().first, "A");
  PeerProcess& b = start(GetParam().second, "B");
  await_join(a, b);
  for (auto [p, other] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
    for (const std::string& line :
         {std::string("this is not json"), std::string(R"({"cmd":"no-such-command"})"),
          std::string(R"({"cmd":"send","id":"bad64","action":"x","kind":"binary","data":"!!"})"),
          std::string(R"([1,2,3])")}) {
      p->send_line(line);
      p->wait_for(is_event("error"), kTimeout, "error for " + line);
    }
    // A send to a peer that is not in the room completes with ok:false.
    p->send({{"cmd", "send"},
             {"id", "ghost"},
             {"action", "x"},
             {"kind", "text"},
             {"data", "?"},
             {"target", "nobody-has-this-id"}});
    EXPECT_EQ(
        p->wait_for(is_event_with_id("sent", "ghost"), kTimeout, "sent to ghost").value("ok", true),
        false);
    // ...and the peer still works.
    send_and_check(*p, *other, {{"action", "still"}, {"kind", "text"}, {"data", "alive"}});
  }
}

// One `posthorn relay`, all three of its protocols at once: a Nostr room (Trystero in Chromium
// with posthorn), a torrent room (Trystero in Node with posthorn) and a ws-relay room (two
// posthorn peers; Trystero publishes no ws-relay package, spec §0). All six peers use the same app
// id and room name, so the Nostr topics and the torrent info_hash derive from the same words: the
// relay must route every message by its shape to its own protocol, and each peer meets only its
// partner. The relay's statistics (SIGUSR1) show traffic on all three sides and no refusals.
class MixedRelay : public TrysteroRoom {};

TEST_P(MixedRelay, NostrTorrentAndWsRelayRoomsShareOneRelayAndStayApart) {
  using enum PeerImpl;
  auto on = [&](const char* medium) {
    return PeerOptions{.strategy = medium, .relay = relay_->ws_url()};
  };
  PeerProcess& nostr_browser = start(TrysteroChromium, "nostr-browser", on("nostr"));
  PeerProcess& nostr_native = start(Posthorn, "nostr-native", on("nostr"));
  PeerProcess& torrent_node = start(TrysteroNode, "torrent-node", on("torrent"));
  PeerProcess& torrent_native = start(Posthorn, "torrent-native", on("torrent"));
  PeerProcess& wsrelay_one = start(Posthorn, "wsrelay-one", on("wsrelay"));
  PeerProcess& wsrelay_two = start(Posthorn, "wsrelay-two", on("wsrelay"));
  const std::vector<std::pair<PeerProcess*, PeerProcess*>> pairs = {
      {&nostr_browser, &nostr_native},
      {&torrent_node, &torrent_native},
      {&wsrelay_one, &wsrelay_two}};
  for (auto [a, b] : pairs)
    await_join(*a, *b);
  for (auto [a, b] : pairs) {
    send_and_check(*a, *b, {{"action", "hello"}, {"kind", "text"}, {"data", "to " + b->name()}});
    send_and_check(*b, *a, {{"action", "hello"}, {"kind", "text"}, {"data", "to " + a->name()}});
  }
  for (const auto& peer : peers_) {
    std::vector<std::string> joined;
    for (const auto& e : peer->history())
      if (field(e, "event") == "join") joined.push_back(field(e, "peer"));
    EXPECT_EQ(joined.size(), 1u) << peer->name() << " met peers of another medium";
  }
  const json stats = relay_->stats();
  RecordProperty("relay_stats", stats.dump());
  EXPECT_GT(stats.value("nostr_events_in", 0), 0) << stats.dump();
  EXPECT_GE(stats.value("tracker_answers_routed", 0), 1) << stats.dump();
  EXPECT_GT(stats.value("messages_in", 0), 0) << stats.dump(); // ws-relay publishes
  EXPECT_EQ(stats.value("nostr_refused", -1), 0) << stats.dump();
  EXPECT_EQ(stats.value("tracker_refused", -1), 0) << stats.dump();
  EXPECT_EQ(stats.value("refused", -1), 0) << stats.dump();
}

INSTANTIATE_TEST_SUITE_P(Interop, TrysteroRoom, ::testing::ValuesIn(interop_pairs()), pair_name);
// The relay is started as for TorrentOverPosthornRelay (a 10 s tracker interval); the pair itself
// is not used, the test names its six peers.
INSTANTIATE_TEST_SUITE_P(Interop, MixedRelay,
                         ::testing::Values(ImplPair{PeerImpl::TrysteroChromium, PeerImpl::Posthorn,
                                                    Medium::TorrentOverPosthornRelay}),
                         [](const auto&) { return std::string("OnePosthornRelay"); });
INSTANTIATE_TEST_SUITE_P(Interop, TrysteroRoomDataPath, ::testing::ValuesIn(mqtt_pairs()),
                         pair_name);

} // namespace
} // namespace posthorn::test
