// Two real `posthorn dc` processes that may only talk through a real coturn on loopback
// (--relay-only: no host or server-reflexive candidate is signalled or paired), over TURN/UDP and
// TURN/TCP: the bytes arrive intact, coturn's own accounting shows they crossed its relays, and a
// wrong password is a clear error within seconds rather than a hang.
#include "coturn_server.hpp"
#include "tools/dc_pair.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <regex>
#include <sstream>
#include <thread>

namespace posthorn::tools {
namespace {

using namespace std::chrono;
using test::CoturnServer;

std::string turn_url(const CoturnServer& turn, const std::string& transport) {
  return "turn:" + turn.address().to_string() + "?transport=" + transport;
}

DcPeerArgs relay_peer(const CoturnServer& turn, const std::string& transport, std::string role,
                      std::string mode, std::uint64_t bytes, std::string password = {}) {
  DcPeerArgs a{std::move(role), std::move(mode), bytes};
  a.turn = {turn_url(turn, transport)};
  a.turn_user = turn.user();
  a.turn_pass = password.empty() ? turn.password() : std::move(password);
  a.relay_only = true;
  return a;
}

struct RelayUsage {
  std::uint64_t peer_bytes_in = 0; // bytes that arrived at relayed addresses from peers
  int sessions_deleted = 0;
};

/// Sums coturn's "peer usage" lines (rb = bytes received from peers on the relayed address);
/// coturn writes them periodically and when an allocation is deleted.
RelayUsage relay_usage(const CoturnServer& turn) {
  static const std::regex peer_usage(R"(peer usage: .*rb=(\d+))");
  RelayUsage u;
  std::istringstream log(turn.log_tail(1'000'000));
  std::string line;
  while (std::getline(log, line)) {
    std::smatch m;
    if (std::regex_search(line, m, peer_usage)) u.peer_bytes_in += std::stoull(m[1]);
    if (line.find(": delete: realm=") != std::string::npos) ++u.sessions_deleted;
  }
  return u;
}

/// Waits (up to 10 s) until coturn logged the deletion of `sessions` allocations: it writes the
/// final usage lines then, and there is no event to wait for but its log file.
RelayUsage final_relay_usage(const CoturnServer& turn, int sessions) {
  const auto deadline = steady_clock::now() + seconds(10);
  auto u = relay_usage(turn);
  while (u.sessions_deleted < sessions && steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(50));
    u = relay_usage(turn);
  }
  return u;
}

void transfer_through_relay(const std::string& transport) {
  if (!CoturnServer::available()) GTEST_SKIP() << CoturnServer::skip_reason();
  CoturnServer turn;
  constexpr std::uint64_t kBytes = 16ull << 20;
  DcPair pair(dc_command(POSTHORN_BINARY, relay_peer(turn, transport, "offer", "source", kBytes)),
              dc_command(POSTHORN_BINARY, relay_peer(turn, transport, "answer", "sink", kBytes)));
  std::string sent, received;
  std::uint64_t received_bytes = 0;
  pair.run_until(
      [&](const DcEvent& e) {
        EXPECT_NE(e.type, "error") << e.line;
        if (e.type == "done" && e.side == Side::Offerer) sent = e.sha256;
        if (e.type == "done" && e.side == Side::Answerer) {
          received = e.sha256;
          received_bytes = e.bytes;
        }
        return !sent.empty() && !received.empty();
      },
      seconds(120));
  ASSERT_EQ(sent.size(), 64u) << turn.log_tail();
  EXPECT_EQ(sent, received);
  EXPECT_EQ(received_bytes, kBytes);

  // End both peers: each releases its allocation (Refresh, LIFETIME 0) as it closes.
  pair.process(Side::Offerer).close_stdin();
  pair.process(Side::Answerer).close_stdin();
  EXPECT_EQ(pair.process(Side::Offerer).wait(seconds(10)), 0);
  EXPECT_EQ(pair.process(Side::Answerer).wait(seconds(10)), 0);

  // The data crossed coturn: the answerer's relayed address received it from the offerer's.
  const auto usage = final_relay_usage(turn, 2);
  EXPECT_EQ(usage.sessions_deleted, 2) << turn.log_tail();
  EXPECT_GE(usage.peer_bytes_in, kBytes) << turn.log_tail();
}

TEST(DcTurn, RelayOnlyOverTurnUdpMovesDataIntactThroughTheRelay) {
  transfer_through_relay("udp");
}

TEST(DcTurn, RelayOnlyOverTurnTcpMovesDataIntactThroughTheRelay) {
  transfer_through_relay("tcp");
}

TEST(DcTurn, EchoAcrossAUdpRelayAndATcpRelay) {
  if (!CoturnServer::available()) GTEST_SKIP() << CoturnServer::skip_reason();
  CoturnServer turn;
  auto offer = relay_peer(turn, "udp", "offer", "echo", 0);
  auto answer = relay_peer(turn, "tcp", "answer", "sink", 0);
  offer.quiet = answer.quiet = false;
  DcPair pair(dc_command(POSTHORN_BINARY, offer), dc_command(POSTHORN_BINARY, answer));
  int open = 0;
  ASSERT_TRUE(pair.run_until(
      [&](const DcEvent& e) {
        EXPECT_NE(e.type, "error") << e.line;
        return e.type == "open" && ++open == 2;
      },
      seconds(30)))
      << turn.log_tail();
  pair.process(Side::Answerer).write_line(R"({"type":"send","data":"über TURN"})");
  auto text = pair.run_until(
      [](const DcEvent& e) { return e.type == "message" && e.side == Side::Answerer; },
      seconds(10));
  ASSERT_TRUE(text);
  auto j = nlohmann::json::parse(text->line);
  EXPECT_EQ(j["data"], "über TURN");
  EXPECT_EQ(j["binary"], false);
}

TEST(DcTurn, WrongPasswordIsAClearErrorWithinSecondsNotAHang) {
  if (!CoturnServer::available()) GTEST_SKIP() << CoturnServer::skip_reason();
  CoturnServer turn;
  for (const std::string transport : {"udp", "tcp"}) {
    SCOPED_TRACE(transport);
    DcPair pair(
        dc_command(POSTHORN_BINARY, relay_peer(turn, transport, "offer", "echo", 0, "wrong")),
        dc_command(POSTHORN_BINARY, relay_peer(turn, transport, "answer", "echo", 0, "wrong")));
    const auto start = steady_clock::now();
    auto error = pair.run_until(
        [](const DcEvent& e) { return e.type == "error" && e.side == Side::Offerer; }, seconds(10));
    ASSERT_TRUE(error) << "no error line within 10 s\n" << turn.log_tail();
    EXPECT_LE(steady_clock::now() - start, seconds(5));
    auto j = nlohmann::json::parse(error->line);
    EXPECT_EQ(j["errorCode"], 401) << error->line;
    EXPECT_EQ(j["url"], turn_url(turn, transport));
    EXPECT_NE(error->error.find("401 Unauthorized: bad credentials"), std::string::npos)
        << error->error;
    // With --relay-only nothing is left to try: the peer says so and exits with 1.
    auto failed = pair.run_until(
        [](const DcEvent& e) { return e.side == Side::Offerer && e.type == "closed"; },
        seconds(10));
    EXPECT_TRUE(failed);
    EXPECT_EQ(pair.process(Side::Offerer).wait(seconds(5)), 1);
  }
}

TEST(DcTurn, RelayOnlyWithoutATurnServerIsRefused) {
  DcPeerArgs a{"offer", "echo"};
  a.relay_only = true;
  DcPair pair(dc_command(POSTHORN_BINARY, a), dc_command(POSTHORN_BINARY, {"answer", "echo"}));
  auto error = pair.run_until(
      [](const DcEvent& e) { return e.type == "error" && e.side == Side::Offerer; }, seconds(10));
  ASSERT_TRUE(error);
  EXPECT_NE(error->error.find("--relay-only needs at least one --turn"), std::string::npos)
      << error->error;
  EXPECT_EQ(pair.process(Side::Offerer).wait(seconds(5)), 1);
}

} // namespace
} // namespace posthorn::tools
