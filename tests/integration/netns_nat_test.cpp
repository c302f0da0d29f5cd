// Two `posthorn dc` processes in separate network namespaces, each behind a real Linux NAT
// (nftables masquerade in a router namespace), with coturn as STUN and TURN server on the
// "public" side. The kernel does the translating and filtering, so these cells check ICE against
// the NAT behaviour hosts really have, not a model of it (tests/sim has the model).
//
//        a (10.0.1.2)                                           b (10.0.2.2)
//            |                                                       |
//        ra: NAT A  wan 198.51.100.2 ---- pub ---- 192.0.2.2 wan  rb: NAT B
//                                          |
//                         coturn 203.0.113.10:<port> (STUN + TURN, relays on 203.0.113.10)
//                         default route -> "void" (a namespace that drops what it gets)
//
// Every address outside the private LANs is from the TEST-NET ranges (RFC 5737), and no
// namespace is connected to the caller's, so nothing can leak. pub routes between the routers
// and counts, with named nftables counters, the bytes that go router to router (a direct path)
// and the bytes coturn relays: that is how a cell knows which path ICE chose without asking the
// peers.
//
// NAT kinds (RFC 4787 terms), the way Linux makes them:
// - EndpointIndependent: `masquerade`. conntrack keeps the source port when it can, so one
//   local port maps to one public port whatever the destination (endpoint-independent mapping);
//   inbound packets pass only when they match a flow the inside opened (address-and-port-
//   dependent filtering: a "port-restricted cone"). Hole punching works.
// - Symmetric: `masquerade fully-random`: a fresh random public port for every new flow, so the
//   port a STUN server sees is useless to anyone else. Only a relay gets through.
// Both routers drop unsolicited inbound packets in their input chain, as home routers do; that
// also keeps a peer's early check from leaving a conntrack entry that would steal the port the
// other peer's NAT wants (Linux would then pick another port and break the punch).
//
// Latency comes from the runtime's test hook (POSTHORN_TEST_IMPAIR, src/runtime/udp_mux.hpp):
// these kernels have no netem qdisc. Loss comes from nftables (`numgen random mod 100 < N`),
// the rate limit from tbf.
//
// Needs root, iproute2, nftables, tc and coturn; skips with the reason otherwise.
#include "coturn_server.hpp"
#include "netns.hpp"
#include "runtime/udp_mux.hpp"
#include "tools/dc_pair.hpp"

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace posthorn::tools {
namespace {

using namespace std::chrono;
using test::CoturnServer;
using test::NetnsSet;

constexpr const char* kServerIp = "203.0.113.10";
constexpr const char* kWanA = "198.51.100.2";
constexpr const char* kWanB = "192.0.2.2";
constexpr const char* kLanA = "10.0.1.2";
constexpr const char* kLanB = "10.0.2.2";

enum class Nat { EndpointIndependent, Symmetric };

struct LabOptions {
  Nat nat_a = Nat::EndpointIndependent;
  Nat nat_b = Nat::EndpointIndependent;
  int loss_percent = 0;   // dropped by router A's forward chain, each direction
  std::string rate_limit; // tbf rate on both of router A's links, e.g. "40mbit"; "" = none
};

/// The topology above, built in the constructor and gone with the object (NetnsSet deletes the
/// namespaces, which takes their veths, nftables tables and routes with them).
class NatLab {
public:
  explicit NatLab(const LabOptions& o) {
    pub = ns_.add("pub");
    ra = ns_.add("ra");
    rb = ns_.add("rb");
    a = ns_.add("a");
    b = ns_.add("b");
    for (const auto& router : {pub, ra, rb})
      ns_.sysctl(router, "net.ipv4.ip_forward=1");
    ns_.ip(pub, std::string("addr add ") + kServerIp + "/32 dev lo");
    // The rest of the "internet": a namespace that does not forward, where unrouted packets
    // vanish as private destinations do on the real one. Without a default route coturn's
    // sends to a peer's private host candidate fail with ENETUNREACH, and coturn then tears down
    // the whole allocation ("closed ... reason: general"), which no server with a default route
    // does.
    const auto elsewhere = ns_.add("void");
    ns_.veth(pub, "to-void", elsewhere, "eth0", "169.254.0.1/30", "169.254.0.2/30");
    ns_.ip(pub, "route add default via 169.254.0.2");
    ns_.veth(pub, "to-ra", ra, "wan", "198.51.100.1/24", std::string(kWanA) + "/24");
    ns_.veth(pub, "to-rb", rb, "wan", "192.0.2.1/24", std::string(kWanB) + "/24");
    ns_.veth(ra, "lan", a, "eth0", "10.0.1.1/24", std::string(kLanA) + "/24");
    ns_.veth(rb, "lan", b, "eth0", "10.0.2.1/24", std::string(kLanB) + "/24");
    ns_.ip(ra, "route add default via 198.51.100.1");
    ns_.ip(rb, "route add default via 192.0.2.1");
    ns_.ip(a, "route add default via 10.0.1.1");
    ns_.ip(b, "route add default via 10.0.2.1");
    ns_.nft(ra, router_rules(o.nat_a, o.loss_percent));
    ns_.nft(rb, router_rules(o.nat_b, 0));
    if (!o.rate_limit.empty()) {
      for (const auto& dev : {"wan", "lan"}) {
        if (!test::sh("ip netns exec " + ra + " tc qdisc add dev " + dev + " root tbf rate " +
                      o.rate_limit + " burst 64kb latency 100ms"))
          throw std::runtime_error("tc refused a tbf qdisc in " + ra);
      }
    }
  }

  /// Starts counting, in pub, what goes to and from the server at `ip`:`port` and its relay
  /// ports (call once coturn runs: its ports are picked at start).
  void count_server(const std::string& ip, std::uint16_t port, std::uint16_t relay_min,
                    std::uint16_t relay_max) {
    ns_.nft(pub, counter_rules(ip, port, relay_min, relay_max));
  }

  /// Bytes counted by one of pub's (or router A's) named counters.
  std::uint64_t bytes(const std::string& counter, const std::string& ns = {}) const {
    return read_counter(ns.empty() ? pub : ns, counter, "bytes");
  }
  std::uint64_t packets(const std::string& counter, const std::string& ns = {}) const {
    return read_counter(ns.empty() ? pub : ns, counter, "packets");
  }
  /// Router to router through pub, both directions.
  std::uint64_t direct_bytes() const { return bytes("direct_ab") + bytes("direct_ba"); }
  /// Into or out of coturn's relayed addresses (every relayed datagram crosses one of them).
  std::uint64_t relayed_bytes() const { return bytes("relay_in") + bytes("relay_out"); }
  std::string describe_counters() const {
    std::ostringstream s;
    for (const auto* c : {"direct_ab", "direct_ba", "server_port", "relay_in", "relay_out"})
      s << c << "=" << bytes(c) << "B/" << packets(c) << "p ";
    return s.str();
  }

  std::string pub, ra, rb, a, b;

private:
  static std::string router_rules(Nat nat, int loss_percent) {
    std::ostringstream r;
    r << "table ip lab {\n"
      << "  counter lost {}\n"
      << "  chain nat_post { type nat hook postrouting priority srcnat; policy accept;\n"
      << "    oifname \"wan\" masquerade" << (nat == Nat::Symmetric ? " fully-random" : "")
      << "\n  }\n"
      // Unsolicited inbound traffic dies here without a conntrack entry (never confirmed).
      << "  chain filter_in { type filter hook input priority filter; policy accept;\n"
      << "    iifname \"wan\" ct state established,related accept\n"
      << "    iifname \"wan\" drop\n  }\n"
      << "  chain filter_fwd { type filter hook forward priority filter; policy accept;\n";
    if (loss_percent > 0)
      r << "    numgen random mod 100 < " << loss_percent << " counter name \"lost\" drop\n";
    r << "    iifname \"wan\" ct state established,related accept\n"
      << "    iifname \"wan\" drop\n  }\n}\n";
    return r.str();
  }

  static std::string counter_rules(const std::string& ip, std::uint16_t port,
                                   std::uint16_t relay_min, std::uint16_t relay_max) {
    const auto relay = std::to_string(relay_min) + "-" + std::to_string(relay_max);
    std::ostringstream r;
    r << "table ip lab {\n"
      << "  counter direct_ab {}\n  counter direct_ba {}\n"
      << "  counter server_port {}\n  counter relay_in {}\n  counter relay_out {}\n"
      << "  chain filter_fwd { type filter hook forward priority filter; policy accept;\n"
      << "    ip saddr " << kWanA << " ip daddr " << kWanB << " counter name \"direct_ab\"\n"
      << "    ip saddr " << kWanB << " ip daddr " << kWanA << " counter name \"direct_ba\"\n  }\n"
      << "  chain filter_in { type filter hook input priority filter; policy accept;\n"
      << "    ip daddr " << ip << " udp dport " << relay << " counter name \"relay_in\"\n"
      << "    ip daddr " << ip << " udp dport " << port << " counter name \"server_port\"\n  }\n"
      << "  chain filter_out { type filter hook output priority filter; policy accept;\n"
      << "    ip saddr " << ip << " udp sport " << relay << " counter name \"relay_out\"\n  }\n"
      << "}\n";
    return r.str();
  }

  static std::uint64_t read_counter(const std::string& ns, const std::string& name,
                                    const char* field) {
    const auto text =
        test::sh_output("ip netns exec " + ns + " nft -j list counter ip lab " + name);
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) return 0;
    for (const auto& item : j.value("nftables", nlohmann::json::array()))
      if (item.contains("counter")) return item["counter"].value(field, std::uint64_t{0});
    return 0;
  }

  NetnsSet ns_{"phnat"};
};

struct PeerSpec {
  std::string ns;
  std::string lan_ip;
  DcPeerArgs args;
  std::string impair; // POSTHORN_TEST_IMPAIR value; "" = none
};

class NetnsNat : public ::testing::Test {
protected:
  void SetUp() override {
    if (auto why = test::netns_unavailable_reason(true); !why.empty()) GTEST_SKIP() << why;
    if (!CoturnServer::available()) GTEST_SKIP() << CoturnServer::skip_reason();
    char tmpl[] = "/tmp/posthorn-netns-nat-XXXXXX";
    ASSERT_TRUE(::mkdtemp(tmpl));
    log_dir_ = tmpl;
  }

  void TearDown() override {
    // Peers first (they hold allocations), then coturn, then the namespaces.
    pair_.reset();
    if (HasFailure() && !log_dir_.empty()) {
      for (const auto& name : {"offer.log", "answer.log"}) {
        std::ifstream in(log_dir_ / name);
        std::string text((std::istreambuf_iterator<char>(in)), {});
        if (text.size() > 6000) text = "…" + text.substr(text.size() - 6000);
        std::cerr << "---- " << name << " (tail) ----\n" << text << "\n";
      }
      if (turn_) std::cerr << "---- coturn log (tail) ----\n" << turn_->log_tail(40) << "\n";
      std::cerr << "logs kept in " << log_dir_ << "\n";
    }
    if (lab_) std::cout << "[ info ] counters: " << lab_->describe_counters() << "\n";
    turn_.reset();
    lab_.reset();
    if (!HasFailure() && !log_dir_.empty()) std::filesystem::remove_all(log_dir_);
  }

  NatLab& make_lab(const LabOptions& o, std::vector<std::string> coturn_config = {}) {
    lab_.emplace(o);
    CoturnServer::Options options;
    options.extra_config = std::move(coturn_config);
    options.netns = lab_->pub;
    options.listening_ip = kServerIp;
    turn_.emplace(options);
    lab_->count_server(kServerIp, turn_->address().port(), turn_->min_relay_port(),
                       turn_->max_relay_port());
    return *lab_;
  }

  std::string stun_url() const { return "stun:" + turn_->address().to_string(); }
  std::string turn_url() const { return "turn:" + turn_->address().to_string() + "?transport=udp"; }

  /// A peer that gathers host + srflx candidates (and a relayed one with `with_turn`).
  DcPeerArgs peer_args(std::string role, std::string mode, std::uint64_t bytes, bool with_turn,
                       std::string log_level = "debug") const {
    DcPeerArgs a{std::move(role), std::move(mode), bytes};
    a.extra = {"--stun", stun_url(), "--log-level", std::move(log_level)};
    if (with_turn) {
      a.turn = {turn_url()};
      a.turn_user = turn_->user();
      a.turn_pass = turn_->password();
    }
    return a;
  }

  std::vector<std::string> command(const PeerSpec& p) const {
    auto dc = dc_command(POSTHORN_BINARY, p.args);
    // dc_command binds to 127.0.0.1; in its namespace a peer gathers on its LAN address.
    auto bind = std::find(dc.begin(), dc.end(), "--bind");
    if (bind != dc.end() && bind + 1 != dc.end()) *(bind + 1) = p.lan_ip;
    std::vector<std::string> argv = {"/usr/bin/env"};
    if (!p.impair.empty()) argv.push_back("POSTHORN_TEST_IMPAIR=" + p.impair);
    // stderr (the debug log) to a file per peer; `exec` keeps the pid the peer's own.
    const auto log = (log_dir_ / (p.args.role + ".log")).string();
    argv.insert(argv.end(), {"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>>'" + log + "'"});
    argv.insert(argv.end(), dc.begin(), dc.end());
    return test::in_netns(p.ns, std::move(argv));
  }

  struct Transfer {
    bool opened = false;
    steady_clock::time_point open_at{};
    steady_clock::time_point done_at{};
    std::string sent_sha, received_sha;
    std::uint64_t received_bytes = 0;
    std::vector<std::string> errors;
    bool failed = false; // a peer reported "connection failed"
  };

  /// Starts the offerer (source) and the answerer (sink) and runs until the sink has `bytes`,
  /// a peer's connection fails, or `timeout` passes.
  Transfer transfer(const PeerSpec& source, const PeerSpec& sink, milliseconds timeout) {
    pair_.emplace(command(source), command(sink));
    Transfer t;
    pair_->run_until(
        [&](const DcEvent& e) {
          if (e.type == "error") {
            t.errors.push_back(e.line);
            if (e.error == "connection failed") t.failed = true;
          }
          if (e.type == "open" && !t.opened) {
            t.opened = true;
            t.open_at = e.at;
          }
          if (e.type == "done" && e.side == Side::Offerer) t.sent_sha = e.sha256;
          if (e.type == "done" && e.side == Side::Answerer) {
            t.received_sha = e.sha256;
            t.received_bytes = e.bytes;
            t.done_at = e.at;
          }
          return t.failed || (!t.sent_sha.empty() && !t.received_sha.empty());
        },
        timeout);
    return t;
  }

  /// Ends both peers gracefully (each releases its TURN allocation) and checks they exit 0.
  void end_peers() {
    if (!pair_) return;
    pair_->process(Side::Offerer).close_stdin();
    pair_->process(Side::Answerer).close_stdin();
    EXPECT_EQ(pair_->process(Side::Offerer).wait(seconds(10)), 0);
    EXPECT_EQ(pair_->process(Side::Answerer).wait(seconds(10)), 0);
  }

  std::filesystem::path log_dir_;
  std::optional<NatLab> lab_;
  std::optional<CoturnServer> turn_;
  std::optional<DcPair> pair_;
};

std::string errors_of(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines)
    out += l + "\n";
  return out;
}

constexpr std::uint64_t kPayload = 4ull << 20;

TEST_F(NetnsNat, EndpointIndependentNatsOnBothSidesConnectDirectlyAlthoughTurnIsOffered) {
  auto& lab = make_lab({.nat_a = Nat::EndpointIndependent, .nat_b = Nat::EndpointIndependent});
  const auto t = transfer({lab.a, kLanA, peer_args("offer", "source", kPayload, true)},
                          {lab.b, kLanB, peer_args("answer", "sink", kPayload, true)}, seconds(60));
  ASSERT_TRUE(t.opened) << errors_of(t.errors) << lab.describe_counters();
  ASSERT_EQ(t.received_bytes, kPayload) << errors_of(t.errors);
  EXPECT_EQ(t.sent_sha, t.received_sha);
  EXPECT_TRUE(t.errors.empty()) << errors_of(t.errors);
  end_peers();
  // The payload went router to router (a server-reflexive or peer-reflexive pair), not through
  // coturn: its relayed addresses saw no more than ICE checks.
  EXPECT_GE(lab.direct_bytes(), kPayload) << lab.describe_counters();
  EXPECT_LT(lab.relayed_bytes(), kPayload / 20) << lab.describe_counters();
}

TEST_F(NetnsNat, SymmetricNatsOnBothSidesCannotConnectWithoutTurn) {
  auto& lab = make_lab({.nat_a = Nat::Symmetric, .nat_b = Nat::Symmetric});
  const auto t =
      transfer({lab.a, kLanA, peer_args("offer", "source", kPayload, false)},
               {lab.b, kLanB, peer_args("answer", "sink", kPayload, false)}, seconds(60));
  EXPECT_FALSE(t.opened) << lab.describe_counters();
  // ICE gives up (every check times out, ~12 s; ice::IceTiming) and says so.
  EXPECT_TRUE(t.failed) << "no 'connection failed' within 60 s\n" << errors_of(t.errors);
  // The peers did try: their checks reached the other router, which dropped them.
  EXPECT_GT(lab.packets("direct_ab") + lab.packets("direct_ba"), 0u) << lab.describe_counters();
  EXPECT_EQ(lab.relayed_bytes(), 0u) << lab.describe_counters();
}

TEST_F(NetnsNat, SymmetricNatsOnBothSidesFallBackToTurn) {
  auto& lab = make_lab({.nat_a = Nat::Symmetric, .nat_b = Nat::Symmetric});
  const auto t = transfer({lab.a, kLanA, peer_args("offer", "source", kPayload, true)},
                          {lab.b, kLanB, peer_args("answer", "sink", kPayload, true)}, seconds(60));
  ASSERT_TRUE(t.opened) << errors_of(t.errors) << lab.describe_counters();
  ASSERT_EQ(t.received_bytes, kPayload) << errors_of(t.errors);
  EXPECT_EQ(t.sent_sha, t.received_sha);
  EXPECT_TRUE(t.errors.empty()) << errors_of(t.errors);
  end_peers();
  EXPECT_GE(lab.relayed_bytes(), kPayload) << lab.describe_counters();
  EXPECT_LT(lab.direct_bytes(), kPayload / 20) << lab.describe_counters();
}

TEST_F(NetnsNat, SymmetricNatsFallBackToTurnWhenTheServerRefusesPrivatePeers) {
  // Production coturn configs deny relaying to private ranges (coturn's own advice against
  // SSRF): the peers' CreatePermission for each other's 10.x host candidates gets 403, which
  // must cost those pairs only.
  auto& lab = make_lab({.nat_a = Nat::Symmetric, .nat_b = Nat::Symmetric},
                       {"denied-peer-ip=10.0.0.0-10.255.255.255"});
  const auto t = transfer({lab.a, kLanA, peer_args("offer", "source", kPayload, true)},
                          {lab.b, kLanB, peer_args("answer", "sink", kPayload, true)}, seconds(60));
  ASSERT_TRUE(t.opened) << errors_of(t.errors) << lab.describe_counters();
  ASSERT_EQ(t.received_bytes, kPayload) << errors_of(t.errors);
  EXPECT_EQ(t.sent_sha, t.received_sha);
  end_peers();
  EXPECT_GE(lab.relayed_bytes(), kPayload) << lab.describe_counters();
  EXPECT_NE(turn_->log_tail(100000).find("403"), std::string::npos)
      << "coturn never refused a private peer: the cell tested nothing new";
}

TEST_F(NetnsNat, EndpointIndependentAgainstSymmetricFallsBackToTurn) {
  // A port-restricted cone cannot be punched from a symmetric NAT: the symmetric side's port
  // towards the peer is not the one the peer learned, and the cone only admits what it sent to.
  auto& lab = make_lab({.nat_a = Nat::EndpointIndependent, .nat_b = Nat::Symmetric});
  const auto t = transfer({lab.a, kLanA, peer_args("offer", "source", kPayload, true)},
                          {lab.b, kLanB, peer_args("answer", "sink", kPayload, true)}, seconds(60));
  ASSERT_TRUE(t.opened) << errors_of(t.errors) << lab.describe_counters();
  ASSERT_EQ(t.received_bytes, kPayload) << errors_of(t.errors);
  EXPECT_EQ(t.sent_sha, t.received_sha);
  end_peers();
  EXPECT_GE(lab.relayed_bytes(), kPayload) << lab.describe_counters();
  EXPECT_LT(lab.direct_bytes(), kPayload / 20) << lab.describe_counters();
}

/// The lossy bulk cell's size: POSTHORN_NETNS_LOSSY_MIB, default 8. 5 % loss caps a loss-based
/// congestion control (usrsctp's RFC 4960 §7.2 NewReno-style window) near MSS/RTT x 1.22/sqrt(p)
/// = 1191 B / 100 ms x 5.5 ~ 64 KB/s, so 8 MiB takes ~2.3 min and the 64 MiB ~18 min
/// (docs/testing.md, "Real NATs in network namespaces").
std::uint64_t lossy_payload() {
  const char* env = std::getenv("POSTHORN_NETNS_LOSSY_MIB");
  const std::uint64_t mib = env && *env ? std::strtoull(env, nullptr, 10) : 8;
  return std::max<std::uint64_t>(mib, 1) << 20;
}

TEST_F(NetnsNat, BulkTransferSurvivesFivePercentLossAndHundredMsRtt) {
  // 5 % of the datagrams crossing NAT A are dropped, each direction (nftables numgen); each
  // peer's runtime holds every datagram it sends for 50 ms (the impairment test hook), so the
  // round trip is 100 ms; NAT A's links are rate-limited to 40 Mbit/s by tbf.
  if (!test::sh("command -v tc")) GTEST_SKIP() << "`tc` (iproute2) is not installed";
  auto& lab = make_lab({.nat_a = Nat::EndpointIndependent,
                        .nat_b = Nat::EndpointIndependent,
                        .loss_percent = 5,
                        .rate_limit = "40mbit"});
  const std::uint64_t payload = lossy_payload();
  // At --log-level info: a debug log of the whole transfer would be huge.
  const auto source = peer_args("offer", "source", payload, false, "info");
  const auto sink = peer_args("answer", "sink", payload, false, "info");
  const auto start = steady_clock::now();
  // A generous bound: a third of the expected rate, plus setup.
  const auto budget = seconds(60) + seconds(payload / (20 << 10));
  const auto t =
      transfer({lab.a, kLanA, source, "delay_ms=50"}, {lab.b, kLanB, sink, "delay_ms=50"}, budget);
  ASSERT_TRUE(t.opened) << errors_of(t.errors) << lab.describe_counters();
  // Connecting alone takes several round trips (ICE check, DTLS 2, SCTP 2): proof that the delay
  // hook was in the path.
  EXPECT_GE(t.open_at - pair_->first_signal_at(), milliseconds(400));
  ASSERT_EQ(t.received_bytes, payload) << errors_of(t.errors) << lab.describe_counters();
  EXPECT_EQ(t.sent_sha, t.received_sha);
  EXPECT_TRUE(t.errors.empty()) << errors_of(t.errors);
  const double secs = duration<double>(t.done_at - t.open_at).count();
  const auto lost = lab.packets("lost", lab.ra);
  std::cout << "[ info ] " << (payload >> 20) << " MiB over 5% loss + 100 ms RTT: "
            << duration<double>(steady_clock::now() - start).count() << " s in all, " << secs
            << " s of transfer (" << (static_cast<double>(payload) / 1024 / secs)
            << " KiB/s), router A dropped " << lost << " datagrams; " << lab.describe_counters()
            << "\n";
  end_peers();
  EXPECT_GT(lost, payload / 1200 / 40) << "the path really was lossy";
  EXPECT_GE(lab.direct_bytes(), payload);
}

TEST_F(NetnsNat, JitterThatReordersDatagramsStillDeliversAnOrderedStreamIntact) {
  // 20-35 ms each way, drawn per datagram: a burst leaves the runtime out of order, so SCTP sees
  // gaps that are not losses (and DTLS records out of sequence) on a direct NATed path.
  auto& lab = make_lab({.nat_a = Nat::EndpointIndependent, .nat_b = Nat::EndpointIndependent});
  const auto source = peer_args("offer", "source", kPayload, false, "info");
  const auto sink = peer_args("answer", "sink", kPayload, false, "info");
  const auto t = transfer({lab.a, kLanA, source, "delay_ms=20,jitter_ms=15"},
                          {lab.b, kLanB, sink, "delay_ms=20,jitter_ms=15"}, seconds(120));
  ASSERT_TRUE(t.opened) << errors_of(t.errors) << lab.describe_counters();
  ASSERT_EQ(t.received_bytes, kPayload) << errors_of(t.errors);
  EXPECT_EQ(t.sent_sha, t.received_sha);
  EXPECT_TRUE(t.errors.empty()) << errors_of(t.errors);
  const double secs = duration<double>(t.done_at - t.open_at).count();
  std::cout << "[ info ] " << (kPayload >> 20) << " MiB with 40-70 ms RTT and reordering: " << secs
            << " s (" << (static_cast<double>(kPayload) / 1024 / secs) << " KiB/s)\n";
  end_peers();
  EXPECT_GE(lab.direct_bytes(), kPayload);
}

// The impairment hook the lossy cell relies on, on loopback (no namespaces needed). They live
// here, next to the hook's one user.
TEST(UdpImpairmentHook, ParsesItsSpecAndRefusesWhatItDoesNotKnow) {
  using runtime::UdpImpairment;
  const auto i = UdpImpairment::parse("delay_ms=50,jitter_ms=5,queue_kib=64");
  EXPECT_EQ(i.delay, milliseconds(50));
  EXPECT_EQ(i.jitter, milliseconds(5));
  EXPECT_EQ(i.queue_bytes, 64u * 1024);
  EXPECT_EQ(UdpImpairment::parse("").delay, microseconds(0));
  EXPECT_THROW(UdpImpairment::parse("delay=50"), std::invalid_argument); // a typo must not pass
  EXPECT_THROW(UdpImpairment::parse("delay_ms=fifty"), std::invalid_argument);
  EXPECT_THROW(UdpImpairment::parse("delay_ms=-1"), std::invalid_argument);
  EXPECT_THROW(UdpImpairment::parse("delay_ms"), std::invalid_argument);
}

TEST(UdpImpairmentHook, HoldsDatagramsBackByTheDelayInOrderAndBoundsItsQueue) {
  boost::asio::io_context io;
  const auto loopback = *IpAddress::parse("127.0.0.1");
  ::setenv("POSTHORN_TEST_IMPAIR", "delay_ms=60,queue_kib=2", 1);
  runtime::UdpMux sender(io.get_executor(), {loopback}); // reads the variable once, here
  ::unsetenv("POSTHORN_TEST_IMPAIR");
  runtime::UdpMux receiver(io.get_executor(), {loopback});
  std::vector<std::pair<steady_clock::time_point, std::uint8_t>> got;
  receiver.add_connection("r", [&](const SocketAddress&, const SocketAddress&, ByteView data) {
    got.emplace_back(steady_clock::now(), data[0]);
    if (got.size() == 2) io.stop();
  });
  const auto key = sender.add_connection("s", [](auto&&...) {});
  const auto start = steady_clock::now();
  for (std::uint8_t n = 0; n < 3; ++n) {
    const Bytes datagram(900, n); // the third exceeds the 2 KiB queue
    sender.send(key, sender.local_addresses()[0], receiver.local_addresses()[0], datagram);
  }
  EXPECT_EQ(sender.stats().datagrams_out, 0u) << "nothing leaves before the delay";
  EXPECT_EQ(sender.stats().impair_delayed, 2u);
  EXPECT_EQ(sender.stats().impair_dropped, 1u);
  io.run_for(seconds(2));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_GE(got[0].first - start, milliseconds(60));
  EXPECT_EQ(got[0].second, 0);
  EXPECT_EQ(got[1].second, 1);
  EXPECT_EQ(sender.stats().datagrams_out, 2u);
}

} // namespace
} // namespace posthorn::tools
