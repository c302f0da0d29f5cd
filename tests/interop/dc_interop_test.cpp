// posthorn data channels against the WebRTC stacks people run: Chromium (headless, with and
// without mDNS host names), libwebrtc (@roamhq/wrtc), libdatachannel (node-datachannel) and
// werift. Each peer is a process speaking the `posthorn dc` JSON-lines contract
// (docs/cli-dc.md): `posthorn dc` itself, and tests/interop/js/dc-interop-peer.mjs for the
// others. DcPair relays their signaling; ICE stays on 127.0.0.1. docs/interop.md lists the
// cells; run one with e.g.
//   interop_tests --gtest_filter='DcInterop/Exchange.*/Werift_PosthornOffers'
#include "core/crypto.hpp"
#include "coturn_server.hpp"
#include "test_payloads.hpp"
#include "tools/dc_pair.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <sstream>

namespace posthorn::test {
namespace {

using namespace std::chrono;
using nlohmann::json;
using tools::DcPair;
using tools::Side;
namespace fs = std::filesystem;

// ---- the matrix -----------------------------------------------------------------------------

enum class Stack { ChromiumNoMdns, ChromiumMdns, Wrtc, NodeDatachannel, Werift };

struct StackInfo {
  const char* name;                 // test name part
  const char* impl;                 // dc-interop-peer.mjs --impl
  std::vector<std::string> extra;   // more peer arguments
  bool sees_remote_channel_options; // the stack's API reports a remote channel's init options
  bool sends_unordered_pr = true;   // its DATA_CHANNEL_OPEN for an unordered PR channel says so
};

StackInfo info(Stack s) {
  switch (s) {
  case Stack::ChromiumNoMdns: return {"ChromiumNoMdns", "chromium", {"--no-mdns"}, true};
  case Stack::ChromiumMdns: return {"ChromiumMdns", "chromium", {}, true};
  case Stack::Wrtc: return {"Wrtc", "wrtc", {}, true};
  case Stack::NodeDatachannel:
    // The polyfill builds remote channels without their DCEP options (ordered reads true,
    // maxRetransmits/maxPacketLifeTime null) and the native binding has no getter for them.
    return {"NodeDatachannel", "node-datachannel", {}, false};
  case Stack::Werift:
    // werift 0.24.4 writes the DATA_CHANNEL_OPEN channel type of a partially reliable channel
    // as 0x01/0x02, dropping the 0x80 "unordered" bit it set just before (sctp.ts
    // dataChannelOpen assigns instead of or-ing), so its unordered PR channels arrive as ordered
    // ones (RFC 8832 §5.1). posthorn reports what the wire says.
    return {"Werift", "werift", {}, true, false};
  }
  return {};
}

enum class Role { PosthornOffers, PosthornAnswers };

struct Cell {
  Stack stack;
  Role role;
};

void PrintTo(const Cell& c, std::ostream* os) {
  *os << info(c.stack).name
      << (c.role == Role::PosthornOffers ? ", posthorn offers" : ", posthorn answers");
}

std::string cell_name(const ::testing::TestParamInfo<Cell>& p) {
  return std::string(info(p.param.stack).name) +
         (p.param.role == Role::PosthornOffers ? "_PosthornOffers" : "_PosthornAnswers");
}

std::vector<Cell> exchange_cells() {
  std::vector<Cell> cells;
  for (Stack s : {Stack::ChromiumNoMdns, Stack::ChromiumMdns, Stack::Wrtc, Stack::NodeDatachannel,
                  Stack::Werift})
    for (Role r : {Role::PosthornOffers, Role::PosthornAnswers})
      cells.push_back({s, r});
  return cells;
}

// The vanish check costs a consent timeout (~30 s) per cell, so it runs once per stack with
// posthorn as the survivor (posthorn offering) and once with the stack as the survivor (posthorn
// answering). Chromium's mDNS variant is left out: how the address was learnt does not change
// how a dead peer is noticed.
std::vector<Cell> vanish_cells() {
  std::vector<Cell> cells;
  for (Stack s : {Stack::ChromiumNoMdns, Stack::Wrtc, Stack::NodeDatachannel, Stack::Werift})
    for (Role r : {Role::PosthornOffers, Role::PosthornAnswers})
      cells.push_back({s, r});
  return cells;
}

constexpr auto kStep = seconds(30); // any single awaited line
constexpr auto kBulk = seconds(90); // one 16 MiB transfer
constexpr std::uint64_t kBulkBytes = 16u << 20;
// RFC 7675 §5.1: consent expires 30 s after the last response; allow the check period on top.
constexpr auto kConsentBound = seconds(32);

// ---- helpers --------------------------------------------------------------------------------

// sha256 of the first `n` bytes of the contract's source pattern (byte i is i mod 251).
std::string pattern_sha256(std::uint64_t n) {
  Bytes block(251 * 4096);
  for (std::size_t i = 0; i < block.size(); ++i)
    block[i] = static_cast<std::uint8_t>(i % 251);
  crypto::Sha256 sha;
  for (std::uint64_t done = 0; done < n;) {
    const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), n - done));
    sha.update(ByteView(block.data(), k));
    done += k;
  }
  return to_hex(sha.finish());
}

std::string tail(const fs::path& file, std::size_t max_lines) {
  std::ifstream in(file);
  std::deque<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(std::move(line));
    if (lines.size() > max_lines) lines.pop_front();
  }
  std::string out;
  for (auto& l : lines)
    out += "    " + l.substr(0, 400) + "\n";
  return out;
}

using Pred = std::function<bool(const json&)>;

Pred is(const std::string& type) {
  return [type](const json& j) { return j.value("type", "") == type; };
}
Pred is(const std::string& type, const std::string& label) {
  return [type, label](const json& j) {
    return j.value("type", "") == type && j.value("label", "") == label;
  };
}

// ---- the fixture ----------------------------------------------------------------------------

class DcInteropBase : public ::testing::TestWithParam<Cell> {
protected:
  void SetUp() override {
    const std::string js = POSTHORN_INTEROP_JS_DIR;
    if (!fs::exists(js + "/node_modules"))
      GTEST_SKIP() << "tests/interop/js/node_modules is missing: run scripts/setup-node.sh";
    if (info(GetParam().stack).impl == std::string("chromium") &&
        !fs::exists(std::getenv("POSTHORN_CHROMIUM") ? std::getenv("POSTHORN_CHROMIUM")
                                                     : "/usr/bin/chromium"))
      GTEST_SKIP() << "/usr/bin/chromium is not installed";
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(test->test_suite_name()) + "." + test->name();
    for (char& c : name)
      if (c == '/') c = '_';
    static std::atomic<int> counter{0};
    dir_ = fs::path(::testing::TempDir()) / "posthorn-dc-interop" /
           (name + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    started_ = steady_clock::now();
  }

  void TearDown() override {
    if (pair_) {
      for (Side s : {Side::Offerer, Side::Answerer})
        pair_->process(s).close_stdin();
      for (Side s : {Side::Offerer, Side::Answerer}) {
        auto& p = pair_->process(s);
        if (!p.wait(seconds(5))) p.kill();
        p.wait(seconds(5));
        // Chromium and its helpers live in the peer's process group (see wrap()).
        ::kill(-p.pid(), SIGKILL);
      }
    }
    if (HasFailure()) {
      std::ostringstream os;
      os << "---- last lines (" << dir_.string() << ")\n";
      const std::size_t from = history_.size() > 60 ? history_.size() - 60 : 0;
      for (std::size_t i = from; i < history_.size(); ++i)
        os << "  " << history_[i] << "\n";
      for (const char* who : {"posthorn", "stack"})
        os << "---- " << who << " stderr (tail)\n"
           << tail(dir_ / (std::string(who) + ".stderr.log"), 80);
      std::cerr << os.str();
    }
    pair_.reset();
    RecordProperty(
        "wall_ms",
        static_cast<int>(duration_cast<milliseconds>(steady_clock::now() - started_).count()));
    if (!HasFailure() && !dir_.empty()) fs::remove_all(dir_);
  }

  // argv run in its own session (so the test can kill Chromium with its peer) with stderr
  // appended to <dir>/<who>.stderr.log; `exec` keeps the pid the peer's.
  std::vector<std::string> wrap(const std::string& who, const std::vector<std::string>& argv) {
    const auto log = dir_ / (who + ".stderr.log");
    {
      std::ofstream first(log);
      for (const auto& a : argv)
        first << a << ' ';
      first << '\n';
    }
    std::vector<std::string> out = {"/usr/bin/setsid", "/bin/sh", "-c",
                                    "exec \"$@\" 2>>'" + log.string() + "'", "sh"};
    out.insert(out.end(), argv.begin(), argv.end());
    return out;
  }

  void start(Role role, const std::vector<std::string>& posthorn_extra = {},
             const std::vector<std::string>& stack_extra = {}) {
    const Stack stack = GetParam().stack;
    posthorn_ = role == Role::PosthornOffers ? Side::Offerer : Side::Answerer;
    stack_ = posthorn_ == Side::Offerer ? Side::Answerer : Side::Offerer;
    const std::string posthorn_role = posthorn_ == Side::Offerer ? "offer" : "answer";
    const std::string stack_role = posthorn_ == Side::Offerer ? "answer" : "offer";
    auto ph = tools::dc_command(POSTHORN_BINARY, {.role = posthorn_role,
                                                  .mode = "manual",
                                                  .quiet = false,
                                                  .extra = {"--log-level", "info"}});
    ph.insert(ph.end(), posthorn_extra.begin(), posthorn_extra.end());
    const StackInfo si = info(stack);
    std::vector<std::string> js = {
        "node",   std::string(POSTHORN_INTEROP_JS_DIR) + "/dc-interop-peer.mjs",
        "--impl", si.impl,
        "--role", stack_role,
        "--mode", "manual",
        "--bind", "127.0.0.1"};
    js.insert(js.end(), si.extra.begin(), si.extra.end());
    js.insert(js.end(), stack_extra.begin(), stack_extra.end());
    ph = wrap("posthorn", ph);
    js = wrap("stack", js);
    pair_ = posthorn_ == Side::Offerer ? std::make_unique<DcPair>(ph, js)
                                       : std::make_unique<DcPair>(js, ph);
  }

  std::string who(Side s) const {
    return s == posthorn_ ? "posthorn" : info(GetParam().stack).name;
  }

  // The first line from `side` matching `pred`: from the backlog of lines earlier waits passed
  // over, then from new output. Throws (a test failure naming `what`) after `timeout`.
  json wait(Side side, const Pred& pred, milliseconds timeout, const std::string& what) {
    for (auto it = backlog_.begin(); it != backlog_.end(); ++it) {
      if (it->first == side && pred(it->second)) {
        json j = std::move(it->second);
        backlog_.erase(it);
        return j;
      }
    }
    std::optional<json> found;
    pair_->run_until(
        [&](const tools::DcEvent& e) {
          json j = json::parse(e.line, nullptr, false);
          if (!j.is_object()) j = {{"type", "garbage"}, {"line", e.line}};
          const auto ms = duration_cast<milliseconds>(e.at - started_).count();
          history_.push_back(std::to_string(ms) + " ms " + who(e.side) + ": " +
                             e.line.substr(0, 300));
          if (j.value("type", "") == "error") errors_.push_back(who(e.side) + ": " + e.line);
          if (!found && e.side == side && pred(j)) {
            found = std::move(j);
            return true;
          }
          backlog_.emplace_back(e.side, std::move(j));
          return false;
        },
        timeout);
    if (!found)
      throw std::runtime_error("no '" + what + "' from " + who(side) + " within " +
                               std::to_string(duration_cast<seconds>(timeout).count()) + " s");
    return *found;
  }

  void send(Side side, const json& j) { pair_->process(side).write_line(j.dump()); }

  // Whether the stack signalled mDNS host names (dc-interop-core.mjs logs every candidate).
  bool stack_signalled_mdns_names() const {
    std::ifstream in(dir_ / "stack.stderr.log");
    for (std::string line; std::getline(in, line);)
      if (line.find("local candidate sent:") != std::string::npos &&
          line.find(".local ") != std::string::npos)
        return true;
    return false;
  }

  // Both sides report the offerer's channel open, with the W3C defaults.
  [[nodiscard]] bool open_primary() {
    const json first = wait(
        stack_, [](const json& j) { return is("open", "data")(j) || is("closed")(j); }, kStep,
        "open of the first channel");
    if (first.value("type", "") == "closed") {
      ADD_FAILURE() << who(stack_) << " closed before the channel opened";
      return false;
    }
    backlog_.emplace_front(stack_, first);
    for (Side s : {posthorn_, stack_}) {
      const json open = wait(s, is("open", "data"), kStep, "open of the first channel");
      EXPECT_EQ(open.value("ordered", false), true) << who(s) << " " << open.dump();
      EXPECT_TRUE(open["maxRetransmits"].is_null()) << who(s) << " " << open.dump();
      EXPECT_TRUE(open["maxPacketLifeTime"].is_null()) << who(s) << " " << open.dump();
    }
    return true;
  }

  void kill_group(Side s) { ::kill(-pair_->process(s).pid(), SIGKILL); }

  fs::path dir_;
  steady_clock::time_point started_;
  std::unique_ptr<DcPair> pair_;
  Side posthorn_ = Side::Offerer;
  Side stack_ = Side::Answerer;
  std::deque<std::pair<Side, json>> backlog_;
  std::vector<std::string> history_;
  std::vector<std::string> errors_;
};

// ---- exchange: messages, 16 MiB, partial reliability, channel close --------------------------

class Exchange : public DcInteropBase {
protected:
  // Text (non-ASCII) and binary messages from `tx` arrive at `rx` with kind, size and text.
  void messages(Side tx, Side rx) {
    const std::string text = "h\xc3\xa9llo from " + who(tx) + " \xe2\x9c\x93";
    send(tx, {{"type", "send"}, {"data", text}});
    const json t = wait(rx, is("message", "data"), kStep, "text message");
    EXPECT_EQ(t.value("binary", true), false) << t.dump();
    EXPECT_EQ(t.value("data", ""), text) << t.dump();
    EXPECT_EQ(t.value("bytes", 0u), text.size()) << t.dump();
    for (std::size_t size : {1u, 1000u, 65536u}) {
      send(tx, {{"type", "send"}, {"data", random_base64(size, size)}, {"binary", true}});
      const json b = wait(rx, is("message", "data"), kStep, "binary message");
      EXPECT_EQ(b.value("binary", false), true) << b.dump();
      EXPECT_EQ(b.value("bytes", 0u), size) << b.dump();
    }
  }

  // 16 MiB of the pattern from `tx` to `rx` on the first channel, sha256 checked on both sides
  // against our own. The receiver confirms its `expect` with a message before the sender starts
  // (stdin lines of different processes have no order otherwise).
  void bulk(Side tx, Side rx) {
    send(rx, {{"type", "expect"}, {"bytes", kBulkBytes}});
    send(rx, {{"type", "send"}, {"data", "ready"}});
    const json ready = wait(tx, is("message", "data"), kStep, "ready before the bulk transfer");
    ASSERT_EQ(ready.value("data", ""), "ready") << ready.dump();
    const auto t0 = steady_clock::now();
    send(tx, {{"type", "send-pattern"}, {"bytes", kBulkBytes}, {"messageSize", 65536}});
    const json sent = wait(tx, is("done", "data"), kBulk, "done sending 16 MiB");
    const json got = wait(rx, is("done", "data"), kBulk, "done receiving 16 MiB");
    const auto ms = duration_cast<milliseconds>(steady_clock::now() - t0).count();
    RecordProperty(who(tx) + "_to_" + who(rx) + "_16MiB_ms", static_cast<int>(ms));
    static const std::string expected = pattern_sha256(kBulkBytes);
    EXPECT_EQ(sent.value("bytes", 0u), kBulkBytes);
    EXPECT_EQ(got.value("bytes", 0u), kBulkBytes);
    EXPECT_EQ(sent.value("sha256", ""), expected) << who(tx) << " hashed something else";
    EXPECT_EQ(got.value("sha256", ""), expected) << who(rx) << " received something else";
  }

  // Checks the options an `open` line reports for a partially reliable channel.
  void expect_pr_options(const json& open, std::optional<int> rexmit, std::optional<int> lifetime,
                         const std::string& seen_by, bool ordered = false) {
    EXPECT_EQ(open.value("ordered", !ordered), ordered) << seen_by << " " << open.dump();
    EXPECT_EQ(open.value("protocol", "?"), "interop") << seen_by << " " << open.dump();
    if (rexmit)
      EXPECT_EQ(open["maxRetransmits"], *rexmit) << seen_by << " " << open.dump();
    else
      EXPECT_TRUE(open["maxRetransmits"].is_null()) << seen_by << " " << open.dump();
    if (lifetime)
      EXPECT_EQ(open["maxPacketLifeTime"], *lifetime) << seen_by << " " << open.dump();
    else
      EXPECT_TRUE(open["maxPacketLifeTime"].is_null()) << seen_by << " " << open.dump();
  }

  // Ten messages on `label` from tx all reach rx (loopback loses nothing; order is free).
  void pr_messages(Side tx, Side rx, const std::string& label) {
    std::set<std::string> sent, got;
    for (int i = 0; i < 10; ++i) {
      const std::string m = label + " #" + std::to_string(i);
      sent.insert(m);
      send(tx, {{"type", "send"}, {"label", label}, {"data", m}});
    }
    while (got.size() < sent.size()) {
      const json j = wait(rx, is("message", label), kStep, "message on " + label);
      got.insert(j.value("data", ""));
    }
    EXPECT_EQ(got, sent);
  }
};

TEST_P(Exchange, MessagesBulkPartialReliabilityAndClose) {
  start(GetParam().role);
  const StackInfo stack = info(GetParam().stack);
  if (!open_primary()) return;
  // How posthorn reached the stack. With Chromium's mDNS names the pair is usually found from
  // Chromium's checks (prflx) before any .local name is resolved (docs/interop.md).
  const json connected = wait(
      posthorn_,
      [](const json& j) { return is("state")(j) && j.value("state", "") == "connected"; }, kStep,
      "connected");
  const std::string remote_type = connected.value("/selectedPair/remoteType"_json_pointer, "?");
  RecordProperty("posthorn_remote_candidate_type", remote_type);
  std::cerr << "posthorn's selected pair: " << connected.value("selectedPair", json()).dump()
            << "\n";
  if (stack.impl == std::string("chromium")) {
    const bool mdns = GetParam().stack == Stack::ChromiumMdns;
    EXPECT_EQ(stack_signalled_mdns_names(), mdns)
        << (mdns ? "Chromium should hide its host addresses behind .local names"
                 : "--disable-features=WebRtcHideLocalIpsWithMdns should show real addresses");
  }

  messages(posthorn_, stack_);
  messages(stack_, posthorn_);

  bulk(posthorn_, stack_);
  bulk(stack_, posthorn_);

  // A partially reliable unordered channel opened by each side.
  send(posthorn_, {{"type", "open-channel"},
                   {"label", "pr-posthorn"},
                   {"ordered", false},
                   {"maxRetransmits", 0},
                   {"protocol", "interop"}});
  send(stack_, {{"type", "open-channel"},
                {"label", "pr-stack"},
                {"ordered", false},
                {"maxPacketLifeTime", 1500},
                {"protocol", "interop"}});
  expect_pr_options(wait(posthorn_, is("open", "pr-posthorn"), kStep, "open of pr-posthorn"), 0,
                    std::nullopt, "posthorn (own)");
  expect_pr_options(wait(stack_, is("open", "pr-stack"), kStep, "open of pr-stack"), std::nullopt,
                    1500, who(stack_) + " (own)");
  expect_pr_options(wait(posthorn_, is("open", "pr-stack"), kStep, "open of pr-stack"),
                    std::nullopt, 1500, "posthorn (remote)", !stack.sends_unordered_pr);
  const json remote_pr = wait(stack_, is("open", "pr-posthorn"), kStep, "open of pr-posthorn");
  if (stack.sees_remote_channel_options) {
    expect_pr_options(remote_pr, 0, std::nullopt, who(stack_) + " (remote)");
  } else {
    RecordProperty("stack_remote_channel_options", "not observable: " + remote_pr.dump());
  }
  pr_messages(posthorn_, stack_, "pr-posthorn");
  pr_messages(stack_, posthorn_, "pr-stack");
  pr_messages(posthorn_, stack_, "pr-stack");

  // Closing a channel is seen by the other side, which keeps the rest.
  send(posthorn_, {{"type", "close"}, {"label", "pr-posthorn"}});
  wait(stack_, is("channel-closed", "pr-posthorn"), kStep, "channel-closed of pr-posthorn");
  send(stack_, {{"type", "close"}, {"label", "pr-stack"}});
  wait(posthorn_, is("channel-closed", "pr-stack"), kStep, "channel-closed of pr-stack");
  send(stack_, {{"type", "send"}, {"data", "still here"}});
  EXPECT_EQ(wait(posthorn_, is("message", "data"), kStep, "message after closes").value("data", ""),
            "still here");

  // Closing the first channel ends both peers cleanly.
  send(stack_, {{"type", "close"}});
  wait(posthorn_, is("closed"), kStep, "closed after the stack closed the first channel");
  wait(stack_, is("closed"), kStep, "closed after closing the first channel");
  EXPECT_EQ(pair_->process(posthorn_).wait(seconds(10)), 0);

  for (const auto& e : errors_)
    ADD_FAILURE() << "error line: " << e;
}

INSTANTIATE_TEST_SUITE_P(DcInterop, Exchange, ::testing::ValuesIn(exchange_cells()), cell_name);

// ---- a vanished peer ------------------------------------------------------------------------

class Vanish : public DcInteropBase {};

// The peer disappears without a goodbye (SIGKILL of its process group: no DTLS close_notify, no
// SCTP ABORT): the survivor must notice within the consent-freshness bound. posthorn survives
// when it offers, the stack when posthorn answers.
TEST_P(Vanish, SurvivorDetectsWithinConsentBound) {
  start(GetParam().role);
  if (!open_primary()) return;
  send(posthorn_, {{"type", "send"}, {"data", "ping"}});
  wait(stack_, is("message", "data"), kStep, "ping");
  send(stack_, {{"type", "send"}, {"data", "pong"}});
  wait(posthorn_, is("message", "data"), kStep, "pong");

  const Side survivor = GetParam().role == Role::PosthornOffers ? posthorn_ : stack_;
  const Side victim = survivor == posthorn_ ? stack_ : posthorn_;
  const auto killed = steady_clock::now();
  kill_group(victim);
  const json end = wait(
      survivor,
      [](const json& j) {
        const auto t = j.value("type", "");
        return t == "closed" || t == "channel-closed";
      },
      seconds(60), "closed after the peer vanished");
  const auto ms = duration_cast<milliseconds>(steady_clock::now() - killed).count();
  RecordProperty("detected_ms", static_cast<int>(ms));
  std::cerr << who(survivor) << " noticed after " << ms << " ms: " << end.dump() << "\n";
  EXPECT_LE(milliseconds(ms), kConsentBound) << "RFC 7675: 30 s consent timeout";
  for (const auto& e : errors_)
    if (e.find("connection failed") == std::string::npos) ADD_FAILURE() << "error line: " << e;
}

std::string vanish_name(const ::testing::TestParamInfo<Cell>& p) {
  return std::string(info(p.param.stack).name) +
         (p.param.role == Role::PosthornOffers ? "_PosthornSurvives" : "_StackSurvives");
}

INSTANTIATE_TEST_SUITE_P(DcInterop, Vanish, ::testing::ValuesIn(vanish_cells()), vanish_name);

// ---- relay only, through a real coturn ------------------------------------------------------

// Both sides gather only relayed candidates from the same coturn on loopback (W3C
// iceTransportPolicy "relay", `posthorn dc --relay-only`), so every byte goes client -> coturn
// -> coturn -> client. posthorn reaches coturn over UDP when it offers and over TCP when it
// answers (RFC 6062 is not involved: TURN over TCP carries the same UDP relay); the stack always
// uses UDP.
class RelayOnly : public DcInteropBase {};

TEST_P(RelayOnly, DataIntactThroughCoturn) {
  if (!CoturnServer::available()) GTEST_SKIP() << CoturnServer::skip_reason();
  CoturnServer turn;
  const bool posthorn_tcp = GetParam().role == Role::PosthornAnswers;
  const auto url = "turn:" + turn.address().to_string();
  start(GetParam().role,
        {"--turn", url + (posthorn_tcp ? "?transport=tcp" : "?transport=udp"), "--turn-user",
         turn.user(), "--turn-pass", turn.password(), "--relay-only"},
        {"--turn", url + "?transport=udp", "--turn-user", turn.user(), "--turn-pass",
         turn.password(), "--relay-only"});
  if (!open_primary()) return;
  const json connected = wait(
      posthorn_,
      [](const json& j) { return is("state")(j) && j.value("state", "") == "connected"; }, kStep,
      "connected");
  std::cerr << "posthorn's selected pair: " << connected.value("selectedPair", json()).dump()
            << "\n";
  EXPECT_EQ(connected.value("/selectedPair/localType"_json_pointer, "?"), "relay")
      << connected.dump();
  // The remote side is relayed too: its address is one of coturn's relay ports.
  const auto remote = connected.value("/selectedPair/remote"_json_pointer, "");
  const auto port = std::stoi(remote.substr(remote.rfind(':') + 1));
  EXPECT_GE(port, turn.min_relay_port()) << remote;
  EXPECT_LE(port, turn.max_relay_port()) << remote;

  send(posthorn_, {{"type", "send"}, {"data", "through the relay"}});
  EXPECT_EQ(wait(stack_, is("message", "data"), kStep, "message").value("data", ""),
            "through the relay");
  // 4 MiB each way, sha256 checked on both sides.
  constexpr std::uint64_t kBytes = 4u << 20;
  for (const auto& [tx, rx] : {std::pair{posthorn_, stack_}, std::pair{stack_, posthorn_}}) {
    send(rx, {{"type", "expect"}, {"bytes", kBytes}});
    send(rx, {{"type", "send"}, {"data", "ready"}});
    ASSERT_EQ(wait(tx, is("message", "data"), kStep, "ready").value("data", ""), "ready");
    send(tx, {{"type", "send-pattern"}, {"bytes", kBytes}, {"messageSize", 65536}});
    const json sent = wait(tx, is("done", "data"), kBulk, "done sending");
    const json got = wait(rx, is("done", "data"), kBulk, "done receiving");
    EXPECT_EQ(got.value("bytes", 0u), kBytes);
    EXPECT_EQ(got.value("sha256", ""), pattern_sha256(kBytes)) << who(rx) << " received garbage";
    EXPECT_EQ(sent.value("sha256", ""), got.value("sha256", ""));
  }
  send(stack_, {{"type", "close"}});
  wait(posthorn_, is("closed"), kStep, "closed");
  EXPECT_EQ(pair_->process(posthorn_).wait(seconds(10)), 0);
  for (const auto& e : errors_)
    ADD_FAILURE() << "error line: " << e;
}

std::vector<Cell> relay_cells() {
  std::vector<Cell> cells;
  for (Stack s : {Stack::ChromiumNoMdns, Stack::Wrtc})
    for (Role r : {Role::PosthornOffers, Role::PosthornAnswers})
      cells.push_back({s, r});
  return cells;
}

std::string relay_name(const ::testing::TestParamInfo<Cell>& p) {
  return std::string(info(p.param.stack).name) + (p.param.role == Role::PosthornOffers
                                                      ? "_PosthornOffersOverUdp"
                                                      : "_PosthornAnswersOverTcp");
}

INSTANTIATE_TEST_SUITE_P(DcInterop, RelayOnly, ::testing::ValuesIn(relay_cells()), relay_name);

} // namespace
} // namespace posthorn::test
