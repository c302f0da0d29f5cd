// Resolves the mDNS names headless Chromium hides its host candidates behind, by multicast on
// this machine, with Chromium's own responder answering (RFC 6762 one question per query, from
// port 5353). Chromium runs under Node (tests/integration/mdns_chromium.mjs, playwright-core
// from tests/interop/js/node_modules); the test skips when any of those is missing.
#include "ice/candidate.hpp"
#include "ice/mdns_errc.hpp"
#include "runtime/interfaces.hpp"
#include "runtime/mdns_socket.hpp"
#include "tools/child_process.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>

namespace posthorn::runtime {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const fs::path kSourceTests = fs::path(POSTHORN_TEST_DATA_DIR).parent_path();
const fs::path kScript = kSourceTests / "integration" / "mdns_chromium.mjs";
const fs::path kJsDir = kSourceTests / "interop" / "js";
const fs::path kChromium = "/usr/bin/chromium";

std::optional<fs::path> find_node() {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    const auto colon = dirs.find(':');
    const fs::path candidate = fs::path(dirs.substr(0, colon)) / "node";
    if (fs::exists(candidate)) return candidate;
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return std::nullopt;
}

/// Runs the Chromium script and returns its candidates; the browser stays up while `child` lives.
std::vector<ice::Candidate> gather(tools::ChildProcess& child) {
  std::vector<ice::Candidate> out;
  while (auto line = child.read_line(30000ms)) {
    if (*line == "gathered") return out;
    auto c = ice::Candidate::parse(*line);
    EXPECT_TRUE(c) << *line;
    if (c) out.push_back(*c);
  }
  ADD_FAILURE() << "mdns_chromium.mjs ended without 'gathered'";
  return out;
}

class MdnsChromium : public ::testing::Test {
protected:
  void SetUp() override {
    node_ = find_node();
    if (!node_) GTEST_SKIP() << "node is not installed";
    if (!fs::exists(kChromium)) GTEST_SKIP() << kChromium << " is not installed";
    if (!fs::exists(kJsDir / "node_modules" / "playwright-core"))
      GTEST_SKIP() << "playwright-core is not installed in " << kJsDir
                   << " (scripts/setup-node.sh)";
  }

  std::optional<fs::path> node_;
};

std::vector<ice::Candidate> hidden_hosts(const std::vector<ice::Candidate>& candidates) {
  std::vector<ice::Candidate> out;
  for (const auto& c : candidates)
    if (c.type == ice::CandidateType::Host && c.is_mdns()) out.push_back(c);
  return out;
}

bool is_local_address(const IpAddress& ip) {
  InterfaceFilter all;
  all.include_loopback = true;
  all.include_link_local = true;
  const auto local = local_interface_addresses(all);
  return std::find(local.begin(), local.end(), ip) != local.end();
}

TEST_F(MdnsChromium, ResolvesChromiumHostCandidatesToThisMachinesAddresses) {
  tools::ChildProcess child({node_->string(), kScript.string(), kJsDir.string(), kChromium});
  const auto candidates = gather(child);
  if (candidates.empty()) GTEST_SKIP() << "Chromium gathered no candidates (no network?)";
  const auto hidden = hidden_hosts(candidates);
  ASSERT_FALSE(hidden.empty()) << "Chromium exposed its host addresses instead of mDNS names";

  // Opened after Chromium announced its names, so every answer comes from a query.
  boost::asio::io_context io;
  MdnsSocketOptions options;
  options.resolver.timing.timeout = 1500ms; // for the unknown name: queries at 0 and 1 s
  MdnsSocket mdns(io.get_executor(), options);
  ASSERT_TRUE(mdns.is_shared_port()) << "could not share port 5353 with Chromium's responder";
  std::vector<std::string> names;
  for (const auto& c : hidden)
    names.push_back(c.address);
  const std::string unknown = "00000000-0000-4000-8000-000000000000.local";
  names.push_back(unknown);
  std::map<std::string, result<IpAddress>> results;
  std::map<std::string, Duration> latency;
  for (const auto& name : names) {
    const auto start = Clock::now();
    auto id = mdns.resolve(name, [&, name, start](const result<IpAddress>& r) {
      latency[name] = Clock::now() - start;
      results.emplace(name, r);
      if (results.size() == names.size()) io.stop();
    });
    ASSERT_TRUE(id) << id.error().message();
  }
  io.run_for(10s);
  ASSERT_EQ(results.size(), names.size());

  for (const auto& c : hidden) {
    const auto& r = results.at(c.address);
    ASSERT_TRUE(r) << c.address << ": " << r.error().message();
    EXPECT_TRUE(is_local_address(*r))
        << c.address << " resolved to " << r->to_string() << ", not an address of this machine";
    std::cout << "[ mdns     ] " << c.address << " -> " << r->to_string() << " in "
              << to_ms(latency[c.address]) << " ms\n";
  }
  const auto& none = results.at(unknown);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error(), ice::mdns::Errc::TimedOut);
  EXPECT_EQ(none.error(), Condition::TimedOut);
  EXPECT_EQ(mdns.resolver().stats().timed_out, 1u);
}

TEST_F(MdnsChromium, CachesTheNamesChromiumAnnouncesBeforeItsCandidatesAppear) {
  // Opened before Chromium gathers. Chromium announces each new name (RFC 6762 §8.3, an
  // unsolicited response) when it registers it, which is before the candidate is handed to the
  // page; a resolver that keeps announced records can answer without a query. Later names are
  // announced about a second apart (Chromium paces its responses), so only the first is
  // guaranteed to be cached by the time gathering completes; every name must still resolve.
  boost::asio::io_context io;
  MdnsSocket mdns(io.get_executor());
  tools::ChildProcess child({node_->string(), kScript.string(), kJsDir.string(), kChromium});
  std::vector<ice::Candidate> candidates;
  bool gathered = false;
  const auto deadline = Clock::now() + 30s;
  while (!gathered && Clock::now() < deadline) {
    io.run_for(20ms); // receive announcements while Chromium starts and gathers
    const bool open = child.pump_stdout();
    while (auto line = child.take_buffered_line()) {
      if (*line == "gathered")
        gathered = true;
      else if (auto c = ice::Candidate::parse(*line))
        candidates.push_back(*c);
    }
    if (!open) break; // the script ended
  }
  ASSERT_TRUE(gathered);
  const auto hidden = hidden_hosts(candidates);
  if (hidden.empty()) GTEST_SKIP() << "Chromium gathered no mDNS host candidates";
  int cached = 0;
  for (const auto& c : hidden)
    cached += mdns.resolver().cached(Clock::now(), c.address).has_value();
  std::cout << "[ mdns     ] " << cached << " of " << hidden.size()
            << " names known from announcements when gathering completed\n";
  EXPECT_GE(cached, 1);
  int answered = 0;
  for (const auto& c : hidden) {
    auto id = mdns.resolve(c.address, [&, name = c.address](const result<IpAddress>& r) {
      EXPECT_TRUE(r) << name;
      if (r) {
        EXPECT_TRUE(is_local_address(*r)) << r->to_string();
      }
      if (++answered == static_cast<int>(hidden.size())) io.stop();
    });
    ASSERT_TRUE(id);
  }
  io.run_for(6s);
  EXPECT_EQ(answered, static_cast<int>(hidden.size()));
}

} // namespace
} // namespace posthorn::runtime
