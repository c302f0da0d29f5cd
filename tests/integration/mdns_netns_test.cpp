// MdnsSocket against a tiny mDNS responder over a real link: two network namespaces joined by a
// veth pair, created and removed by the test (root and `ip` required; the suite skips with the
// reason otherwise). Covers what a single host cannot: a responder on another host, the IPv6
// group ff02::fb, lost queries, silence, and the ephemeral-port fallback.
//
// Both ends run in this process on one io_context: a socket belongs to the namespace that was
// current when it was created, so the test enters namespace A to create the responder's sockets
// and namespace B to create the MdnsSocket, then returns to its own.
#include "netns.hpp"

#include "ice/mdns_errc.hpp"
#include "ice/mdns_message.hpp"
#include "runtime/mdns_socket.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <gtest/gtest.h>

#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <map>
#include <stdexcept>

namespace posthorn::runtime {
namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;
namespace mdns = ice::mdns;
using namespace std::chrono_literals;

const std::string kNsA = "phmdns-a-" + std::to_string(::getpid());
const std::string kNsB = "phmdns-b-" + std::to_string(::getpid());
const IpAddress kAddrA = *IpAddress::parse("10.77.0.1");
const IpAddress kAddrB = *IpAddress::parse("10.77.0.2");
const IpAddress kAddrA6 = *IpAddress::parse("fd77::1");

using test::EnterNetns;
using test::sh;

/// Answers A/AAAA queries for its names: by multicast to the group (as Chromium does) or, for
/// queries from a port other than 5353, by legacy unicast to the sender (RFC 6762 §6.7).
class TinyResponder {
public:
  struct Options {
    std::map<std::string, IpAddress> names;
    int ignore_first = 0; // queries to drop before answering (simulated loss)
    bool legacy_unicast = false;
    bool ipv4 = true;
    bool ipv6 = false;
  };

  /// Call inside the responder's namespace; `ifname` is the link to serve.
  TinyResponder(asio::io_context& io, Options options, const std::string& ifname)
      : options_(std::move(options)), ifindex_(if_nametoindex(ifname.c_str())) {
    if (ifindex_ == 0) throw std::runtime_error("no interface " + ifname);
    if (options_.ipv4) {
      auto& s = sockets_.emplace_back(io);
      s.open(udp::v4());
      s.set_option(asio::socket_base::reuse_address(true));
      s.bind({asio::ip::make_address_v4("224.0.0.251"), mdns::kPort});
      ip_mreqn req{};
      req.imr_multiaddr.s_addr = htonl(0xe00000fb);
      req.imr_ifindex = static_cast<int>(ifindex_);
      if (::setsockopt(s.native_handle(), IPPROTO_IP, IP_ADD_MEMBERSHIP, &req, sizeof req) != 0 ||
          ::setsockopt(s.native_handle(), IPPROTO_IP, IP_MULTICAST_IF, &req, sizeof req) != 0)
        throw std::runtime_error("responder: cannot join 224.0.0.251");
    }
    if (options_.ipv6) {
      auto& s = sockets_.emplace_back(io);
      s.open(udp::v6());
      s.set_option(asio::socket_base::reuse_address(true));
      s.set_option(asio::ip::v6_only(true));
      s.bind({asio::ip::make_address_v6(asio::ip::address_v6::bytes_type{0xff, 2, 0, 0, 0, 0, 0, 0,
                                                                         0, 0, 0, 0, 0, 0, 0, 0xfb},
                                        ifindex_),
              mdns::kPort});
      ipv6_mreq req{};
      req.ipv6mr_multiaddr.s6_addr[0] = 0xff;
      req.ipv6mr_multiaddr.s6_addr[1] = 0x02;
      req.ipv6mr_multiaddr.s6_addr[15] = 0xfb;
      req.ipv6mr_interface = ifindex_;
      const int index = static_cast<int>(ifindex_);
      if (::setsockopt(s.native_handle(), IPPROTO_IPV6, IPV6_JOIN_GROUP, &req, sizeof req) != 0 ||
          ::setsockopt(s.native_handle(), IPPROTO_IPV6, IPV6_MULTICAST_IF, &index, sizeof index) !=
              0)
        throw std::runtime_error("responder: cannot join ff02::fb");
    }
    buffers_.resize(sockets_.size());
    senders_.resize(sockets_.size());
    for (std::size_t i = 0; i < sockets_.size(); ++i)
      receive(i);
  }

  [[nodiscard]] int queries() const noexcept { return queries_; }
  [[nodiscard]] int answers() const noexcept { return answers_; }

private:
  void receive(std::size_t i) {
    // A datagram read just before destruction still completes with success: check liveness.
    std::weak_ptr<bool> weak = alive_;
    sockets_[i].async_receive_from(asio::buffer(buffers_[i]), senders_[i],
                                   [this, i, weak](boost::system::error_code ec, std::size_t n) {
                                     if (ec || weak.expired()) return;
                                     answer(i, ByteView(buffers_[i].data(), n));
                                     receive(i);
                                   });
  }

  void answer(std::size_t i, ByteView datagram) {
    auto query = mdns::Message::decode(datagram);
    if (!query || query->is_response()) return;
    if (++queries_ <= options_.ignore_first) return;
    const bool legacy = senders_[i].port() != mdns::kPort;
    if (legacy && !options_.legacy_unicast) {
      // Chromium's behaviour: answer to the group even though the querier cannot hear it there.
    }
    mdns::Message reply;
    reply.flags = mdns::Message::kFlagResponse | mdns::Message::kFlagAuthoritative;
    for (const auto& q : query->questions) {
      for (const auto& [text, ip] : options_.names) {
        if (!(q.name == *mdns::Name::parse(text))) continue;
        // RFC 6762 §6.7: legacy answers repeat the question, echo the ID and keep TTLs <= 10 s.
        auto rec = mdns::Record::address_record(q.name, ip, legacy ? 10 : 120, !legacy);
        const bool asked = (q.type == mdns::rr_type::kA) == ip.is_v4();
        (asked ? reply.answers : reply.additionals).push_back(rec);
      }
    }
    if (reply.answers.empty() && reply.additionals.empty()) return;
    udp::endpoint to = senders_[i];
    if (legacy && options_.legacy_unicast) {
      reply.id = query->id;
      reply.questions = query->questions;
    } else {
      to = sockets_[i].local_endpoint(); // the group, port 5353
    }
    boost::system::error_code ec;
    sockets_[i].send_to(asio::buffer(reply.encode()), to, 0, ec);
    if (!ec) ++answers_;
  }

  Options options_;
  unsigned ifindex_;
  std::vector<udp::socket> sockets_;
  std::vector<std::array<std::uint8_t, 9000>> buffers_;
  std::vector<udp::endpoint> senders_;
  int queries_ = 0;
  int answers_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

class MdnsNetns : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) {
      skip_reason_ = "needs root to create network namespaces";
      return;
    }
    remove_stale_namespaces();
    if (!sh("ip netns add " + kNsA) || !sh("ip netns add " + kNsB)) {
      skip_reason_ = "cannot create network namespaces (ip netns add failed)";
      teardown();
      return;
    }
    created_ = true;
    bool ok = true;
    for (const auto& ns : {kNsA, kNsB}) {
      // No duplicate address detection: addresses are usable at once, not seconds later.
      ok =
          ok && sh("ip netns exec " + ns +
                   " sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0");
      ok = ok && sh("ip -n " + ns + " link set lo up");
    }
    ok = ok && sh("ip -n " + kNsA + " link add mdns0 type veth peer name mdns1 netns " + kNsB) &&
         sh("ip -n " + kNsA + " addr add 10.77.0.1/24 dev mdns0") &&
         sh("ip -n " + kNsB + " addr add 10.77.0.2/24 dev mdns1") &&
         sh("ip -n " + kNsA + " addr add fd77::1/64 dev mdns0 nodad") &&
         sh("ip -n " + kNsB + " addr add fd77::2/64 dev mdns1 nodad") &&
         sh("ip -n " + kNsA + " link set mdns0 up") && sh("ip -n " + kNsB + " link set mdns1 up");
    if (!ok) {
      skip_reason_ = "cannot create the veth pair between the namespaces";
      teardown();
      return;
    }
    // The kernel reports carrier on a new veth asynchronously (link watch, up to a second), and
    // until then IPv6 has no link-local address or multicast route (sendto gives ENETUNREACH).
    // Setup-only wait, bounded; the tests themselves never sleep.
    for (int i = 0; i < 50; ++i) {
      if (sh("ip -n " + kNsA + " -6 addr show dev mdns0 scope link | grep -q inet6") &&
          sh("ip -n " + kNsB + " -6 addr show dev mdns1 scope link | grep -q inet6"))
        return;
      ::usleep(100'000);
    }
    skip_reason_ = "the veth pair never got IPv6 link-local addresses";
    teardown();
  }
  static void TearDownTestSuite() { teardown(); }
  /// Namespaces of an earlier run of this test that crashed before its teardown (their names
  /// end in the pid of a process that no longer exists).
  static void remove_stale_namespaces() { test::remove_stale_namespaces("phmdns"); }
  static void teardown() {
    if (!created_) return;
    sh("ip netns del " + kNsA);
    sh("ip netns del " + kNsB);
    created_ = false;
  }

  void SetUp() override {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
  }

  void TearDown() override {
    // Every test ends clean: once the sockets are gone the loop has nothing left to run.
    responder_.reset();
    mdns_.reset();
    io_.restart();
    io_.run_for(1s);
    EXPECT_TRUE(io_.stopped()) << "work left on the loop after the test";
  }

  TinyResponder& start_responder(TinyResponder::Options options, const std::string& ns = kNsA,
                                 const std::string& ifname = "mdns0") {
    EnterNetns in(ns);
    responder_.emplace(io_, std::move(options), ifname);
    return *responder_;
  }

  MdnsSocket& start_resolver(MdnsSocketOptions options = {}) {
    EnterNetns in(kNsB);
    mdns_.emplace(io_.get_executor(), std::move(options));
    return *mdns_;
  }

  struct Outcome {
    result<IpAddress> address = error_code{};
    Duration took{};
  };
  /// Resolves `name` and runs the loop until the handler ran (at most `budget`).
  Outcome resolve(std::string_view name, Duration budget = 10s) {
    std::optional<Outcome> out;
    const auto start = Clock::now();
    auto id = mdns_->resolve(name, [&](const result<IpAddress>& r) {
      out = Outcome{r, Clock::now() - start};
      io_.stop();
    });
    EXPECT_TRUE(id) << id.error().message();
    io_.restart();
    io_.run_for(budget);
    if (!out) ADD_FAILURE() << "no answer and no timeout for " << name;
    return out ? *out : Outcome{};
  }

  static inline std::string skip_reason_;
  static inline bool created_ = false;
  asio::io_context io_;
  std::optional<TinyResponder> responder_;
  std::optional<MdnsSocket> mdns_;
};

TEST_F(MdnsNetns, ResolvesANameAnsweredFromAnotherHost) {
  auto& responder = start_responder({.names = {{"peer-a.local", kAddrA}}});
  auto& mdns = start_resolver();
  EXPECT_TRUE(mdns.is_shared_port());
  EXPECT_EQ(mdns.interface_names(), std::vector<std::string>{"mdns1"}); // not lo
  auto out = resolve("peer-a.local");
  ASSERT_TRUE(out.address) << out.address.error().message();
  EXPECT_EQ(*out.address, kAddrA);
  EXPECT_LT(out.took, 500ms); // answered by the first query
  EXPECT_GE(responder.answers(), 1);
}

TEST_F(MdnsNetns, ResolvesIpv6NamesOverTheIpv6Group) {
  auto& responder =
      start_responder({.names = {{"peer-a6.local", kAddrA6}}, .ipv4 = false, .ipv6 = true});
  MdnsSocketOptions options;
  options.ipv4 = false;
  start_resolver(options);
  auto out = resolve("peer-a6.local");
  ASSERT_TRUE(out.address) << out.address.error().message();
  EXPECT_EQ(*out.address, kAddrA6);
  EXPECT_GE(responder.answers(), 1);
}

TEST_F(MdnsNetns, RepeatsTheQueryAfterOneSecondWhenTheFirstIsLost) {
  // The first round is two queries (A and AAAA) on the IPv4 group.
  auto& responder = start_responder({.names = {{"peer-a.local", kAddrA}}, .ignore_first = 2});
  MdnsSocketOptions options;
  options.ipv6 = false;
  start_resolver(options);
  auto out = resolve("peer-a.local");
  ASSERT_TRUE(out.address) << out.address.error().message();
  EXPECT_EQ(*out.address, kAddrA);
  EXPECT_GE(out.took, 1s); // RFC 6762 §5.2: the second query goes out one second later
  EXPECT_LT(out.took, 2s);
  EXPECT_GE(responder.queries(), 3);
}

TEST_F(MdnsNetns, TimesOutWhenNobodyKnowsTheName) {
  auto& responder = start_responder({.names = {{"peer-a.local", kAddrA}}});
  MdnsSocketOptions options;
  options.ipv6 = false;
  options.resolver.timing.timeout = 1500ms;
  auto& mdns = start_resolver(options);
  auto out = resolve("nobody.local");
  ASSERT_FALSE(out.address);
  EXPECT_EQ(out.address.error(), mdns::Errc::TimedOut);
  EXPECT_GE(out.took, 1500ms);
  EXPECT_EQ(responder.queries(), 4); // A and AAAA at 0 s and at 1 s
  EXPECT_EQ(mdns.resolver().stats().timed_out, 1u);
}

TEST_F(MdnsNetns, ConcurrentNamesAndACancelledOne) {
  start_responder({.names = {{"one.local", kAddrA}, {"two.local", kAddrB}}});
  auto& mdns = start_resolver();
  std::map<std::string, IpAddress> got;
  bool cancelled_called = false;
  auto handler_for = [&](std::string name) {
    return [&, name](const result<IpAddress>& r) {
      ASSERT_TRUE(r) << name;
      got.emplace(name, *r);
      if (got.size() == 2) io_.stop();
    };
  };
  ASSERT_TRUE(mdns.resolve("one.local", handler_for("one.local")));
  auto cancelled =
      mdns.resolve("ONE.local", [&](const result<IpAddress>&) { cancelled_called = true; });
  ASSERT_TRUE(mdns.resolve("two.local", handler_for("two.local")));
  ASSERT_TRUE(cancelled);
  mdns.cancel(*cancelled);
  io_.run_for(5s);
  EXPECT_EQ(got.at("one.local"), kAddrA);
  EXPECT_EQ(got.at("two.local"), kAddrB);
  EXPECT_FALSE(cancelled_called);
}

TEST_F(MdnsNetns, FallsBackToOneShotQueriesWhenPort5353CannotBeShared) {
  auto& responder = start_responder({.names = {{"peer-a.local", kAddrA}}, .legacy_unicast = true});
  std::optional<udp::socket> blocker;
  {
    // A socket that holds 5353 without SO_REUSEADDR, like a non-cooperating responder.
    EnterNetns in(kNsB);
    blocker.emplace(io_, udp::endpoint(udp::v4(), mdns::kPort));
  }
  MdnsSocketOptions options;
  options.ipv6 = false;
  auto& mdns = start_resolver(options);
  EXPECT_FALSE(mdns.is_shared_port());
  auto out = resolve("peer-a.local");
  ASSERT_TRUE(out.address) << out.address.error().message();
  EXPECT_EQ(*out.address, kAddrA);
  EXPECT_GE(responder.answers(), 1);
  blocker.reset();
}

TEST_F(MdnsNetns, OneShotQueriesCannotHearResponderThatOnlyMulticasts) {
  // What happens with Chromium's responder when 5353 is taken: it answers to the group, which
  // an ephemeral port does not receive.
  auto& responder = start_responder({.names = {{"peer-a.local", kAddrA}}});
  std::optional<udp::socket> blocker;
  {
    EnterNetns in(kNsB);
    blocker.emplace(io_, udp::endpoint(udp::v4(), mdns::kPort));
  }
  MdnsSocketOptions options;
  options.ipv6 = false;
  options.resolver.timing.timeout = 1500ms;
  start_resolver(options);
  auto out = resolve("peer-a.local");
  ASSERT_FALSE(out.address);
  EXPECT_EQ(out.address.error(), Condition::TimedOut);
  EXPECT_GE(responder.answers(), 1); // it did answer, to 224.0.0.251:5353
  blocker.reset();
}

TEST_F(MdnsNetns, ChoosesInterfacesByOneOfTheirAddresses) {
  MdnsSocketOptions by_v4;
  by_v4.interfaces = {kAddrB};
  EXPECT_EQ(start_resolver(by_v4).interface_names(), std::vector<std::string>{"mdns1"});
  mdns_.reset();
  MdnsSocketOptions by_loopback;
  by_loopback.interfaces = {*IpAddress::parse("127.0.0.1")};
  EXPECT_EQ(start_resolver(by_loopback).interface_names(), std::vector<std::string>{"lo"});
  mdns_.reset();
  MdnsSocketOptions nowhere;
  nowhere.interfaces = {*IpAddress::parse("203.0.113.1")};
  EXPECT_THROW(start_resolver(nowhere), std::runtime_error);
}

TEST_F(MdnsNetns, WorksOverLoopbackWithAResponderOnTheSameHost) {
  // Linux carries multicast on lo although lo lacks IFF_MULTICAST; a host whose only interface
  // is lo still resolves names its own responders announce.
  auto& responder =
      start_responder({.names = {{"self.local", *IpAddress::parse("127.0.0.1")}}}, kNsB, "lo");
  MdnsSocketOptions options;
  options.interfaces = {*IpAddress::parse("127.0.0.1")};
  options.ipv6 = false;
  start_resolver(options);
  auto out = resolve("self.local");
  ASSERT_TRUE(out.address) << out.address.error().message();
  EXPECT_EQ(*out.address, *IpAddress::parse("127.0.0.1"));
  EXPECT_GE(responder.answers(), 1);
}

TEST_F(MdnsNetns, RefusesToFallBackWhenTold) {
  std::optional<udp::socket> blocker;
  {
    EnterNetns in(kNsB);
    blocker.emplace(io_, udp::endpoint(udp::v4(), mdns::kPort));
  }
  MdnsSocketOptions options;
  options.ipv6 = false;
  options.allow_ephemeral_fallback = false;
  EXPECT_THROW(start_resolver(options), std::runtime_error);
  blocker.reset();
}

} // namespace
} // namespace posthorn::runtime
