// `posthorn demo`: the main job on a fresh machine, offline. An embedded `posthorn relay` on
// loopback and three native peers — separate `posthorn peer` processes, each with its own ICE,
// DTLS and SCTP — meet in a Trystero-compatible room, chat, move a large file with live progress
// bars, ping each other, ask a question of the room, and one leaves. Exit 0 only if everything
// checked out (every message arrived, the file's SHA-256 matches, every answer came back).
//
// --browser adds a fourth peer, dave: the demo page (web/dist, served by the embedded relay over
// HTTP through `--web`) in headless Chromium, driven by web/browser-peer.mjs (cli/demo_browser).
// Dave chats with the natives, receives a smaller file (hashed in the page), is in the ping table
// and leaves.
#include "cli/commands.hpp"
#include "cli/demo_browser.hpp"
#include "cli/demo_peers.hpp"
#include "core/bytes.hpp"
#include "core/crypto.hpp"
#include "relay/ws_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unistd.h>
#include <vector>

namespace posthorn::cli {
namespace {

using namespace std::chrono;
using nlohmann::json;

constexpr std::size_t kAlice = 0, kBob = 1, kCarol = 2, kDave = 3;

/// The embedded relay, on its own thread.
class EmbeddedRelay {
public:
  /// `web_root`: also serve these files over HTTP (the demo page), when not empty.
  explicit EmbeddedRelay(const std::string& web_root = {})
      : server_(io_.get_executor(), relay::WsServerOptions{}) {
    if (!web_root.empty()) server_.serve_files(web_root);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~EmbeddedRelay() {
    boost::asio::post(io_, [this] { server_.stop(); });
    io_.stop();
    thread_.join();
  }
  [[nodiscard]] std::string url() const { return server_.url(); }

private:
  boost::asio::io_context io_;
  relay::WsServer server_;
  std::thread thread_;
};

/// The spaces that fill `text` to `width` terminal columns (one column per UTF-8 code point).
std::string fill_to(const std::string& text, std::size_t width) {
  std::size_t columns = 0;
  for (unsigned char c : text)
    columns += (c & 0xC0) != 0x80;
  return std::string(columns < width ? width - columns : 0, ' ');
}
std::string pad(const std::string& text, std::size_t width) {
  return text + fill_to(text, width);
}
std::string rpad(const std::string& text, std::size_t width) {
  return fill_to(text, width) + text;
}

std::string bar(double fraction, int width = 30) {
  const int filled = static_cast<int>(std::clamp(fraction, 0.0, 1.0) * width);
  std::string out;
  for (int i = 0; i < width; ++i)
    out += i < filled ? "█" : "░";
  return out;
}

double ms_since(steady_clock::time_point t) {
  return duration<double, std::milli>(steady_clock::now() - t).count();
}

/// A file of `bytes` deterministic bytes; returns its SHA-256 (hex).
std::string write_pattern_file(const std::filesystem::path& path, std::uint64_t bytes) {
  std::ofstream out(path, std::ios::binary);
  std::vector<std::uint8_t> block(1 << 20);
  crypto::Sha256 hash;
  std::uint64_t written = 0;
  std::uint32_t x = 2463534242u; // xorshift: incompressible, reproducible
  while (written < bytes) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), bytes - written));
    for (std::size_t i = 0; i < n; ++i) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      block[i] = static_cast<std::uint8_t>(x);
    }
    out.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(n));
    hash.update(ByteView(block.data(), n));
    written += n;
  }
  if (!out) throw std::runtime_error("cannot write " + path.string());
  return to_hex(hash.finish());
}

struct Check {
  bool ok = true;
  void operator()(bool good, const std::string& what) {
    std::printf("   %s %s\n", good ? "✓" : "✗", what.c_str());
    ok = ok && good;
  }
};

auto is(const std::string& event) {
  return [event](const json& e) { return e.value("event", "") == event; };
}
auto is_from(const std::string& event, const std::string& peer) {
  return [event, peer](const json& e) {
    return e.value("event", "") == event && e.value("peer", "") == peer;
  };
}
auto has_id(const std::string& event, int id) {
  return [event, id](const json& e) {
    return e.value("event", "") == event && e.value("id", json()) == json(id);
  };
}

} // namespace

int run_demo(int argc, char** argv) {
  std::uint64_t file_bytes = 200ull << 20;
  bool browser = false;
  std::uint64_t browser_bytes = 8ull << 20;
  std::string web_dir = default_web_dir();
  std::string chromium;
  CLI::App app{"posthorn demo: an embedded relay and three peers in a room, on loopback"};
  app.add_option("--bytes", file_bytes, "size of the file alice sends bob")->capture_default_str();
  app.add_flag("--browser", browser,
               "add a fourth peer, dave: the demo page in headless Chromium (scripts/setup.sh)");
  app.add_option("--browser-bytes", browser_bytes, "size of the file alice sends dave")
      ->capture_default_str();
  app.add_option("--web-dir", web_dir, "the web/ directory: dist/ (the page), browser-peer.mjs")
      ->capture_default_str();
  app.add_option("--chromium", chromium, "Chromium for --browser (default /usr/bin/chromium)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  std::optional<BrowserPeer> browser_peer;
  if (browser) {
    try {
      browser_peer = find_browser_peer(web_dir, chromium);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "posthorn demo %s\n", e.what());
      return 2;
    }
  }
  const bool tty = isatty(STDOUT_FILENO) != 0;
  const auto work =
      std::filesystem::temp_directory_path() / ("posthorn-demo-" + std::to_string(::getpid()));
  std::filesystem::create_directories(work);
  Check check;
  const auto started = steady_clock::now();
  std::map<std::string, double> timings;
  try {
    if (browser)
      std::printf("posthorn demo — a room of three native peers and a browser (the demo page in "
                  "headless Chromium), four processes, on loopback\n\n");
    else
      std::printf("posthorn demo — a room of three native peers, three processes, on loopback\n\n");

    std::printf("1. relay\n");
    EmbeddedRelay relay(browser ? browser_peer->web_root : "");
    std::printf("   posthorn relay listening on %s (Nostr signaling, as Trystero's default)\n",
                relay.url().c_str());
    if (browser)
      std::printf("   and serving the demo page on http%s/ (%s)\n", relay.url().substr(2).c_str(),
                  browser_peer->web_root.c_str());
    std::printf("\n");

    std::printf("2. join\n");
    const auto joining = steady_clock::now();
    const std::string app_id = "posthorn-demo-" + std::to_string(::getpid());
    DemoPeers peers({"alice", "bob", "carol"},
                    {"--app", app_id, "--room", "lobby", "--strategy", "nostr", "--relay",
                     relay.url(), "--progress", "--action", "file", "--serve", "ask=echo"},
                    work.string());
    if (browser) {
      auto argv = browser_peer->argv;
      argv.insert(argv.end(), {"--app", app_id, "--room", "lobby", "--strategy", "nostr", "--relay",
                               relay.url(), "--name", "dave", "--progress"});
      peers.add("dave", argv, work.string());
    }
    for (std::size_t i = 0; i < peers.size(); ++i)
      peers.wait_for(i, is("ready"), seconds(i == kDave ? 60 : 30), "its ready event");
    for (std::size_t i = 0; i < peers.size(); ++i)
      for (std::size_t j = 0; j < peers.size(); ++j)
        if (i != j) peers.wait_for(i, is_from("join", peers[j].self), seconds(60), "a join");
    timings["join"] = ms_since(joining);
    for (std::size_t i = 0; i < peers.size(); ++i)
      std::printf("   %s %s%s\n", pad(peers[i].name, 6).c_str(), peers[i].self.c_str(),
                  i == kDave ? "  (headless Chromium: the demo page, real Trystero)" : "");
    check(true, std::string("every peer sees the other ") + (browser ? "three" : "two") + " (" +
                    std::to_string(static_cast<int>(timings["join"])) +
                    " ms from start: processes, signaling, ICE, DTLS, SCTP, room handshake)");
    std::printf("\n");

    std::printf("3. chat\n");
    peers[kAlice].send({{"cmd", "send"},
                        {"id", 1},
                        {"action", "chat"},
                        {"kind", "text"},
                        {"data", "hello room — ¿dónde está la posta?"}});
    peers[kCarol].send({{"cmd", "send"},
                        {"id", 2},
                        {"action", "chat"},
                        {"kind", "json"},
                        {"data", {{"mood", "curious"}, {"n", 3}}}});
    std::vector<std::pair<std::size_t, std::size_t>> routes = {
        {kBob, kAlice}, {kCarol, kAlice}, {kAlice, kCarol}, {kBob, kCarol}};
    if (browser) {
      peers[kDave].send({{"cmd", "send"},
                         {"id", 11},
                         {"action", "chat"},
                         {"kind", "text"},
                         {"data", "hi from the browser — <b>not bold</b>"}});
      routes.insert(
          routes.end(),
          {{kDave, kAlice}, {kDave, kCarol}, {kAlice, kDave}, {kBob, kDave}, {kCarol, kDave}});
    }
    for (auto [to, from] : routes) {
      auto m = peers.wait_for(
          to,
          [&](const json& e) {
            return e.value("event", "") == "message" && e.value("action", "") == "chat" &&
                   e.value("peer", "") == peers[from].self;
          },
          seconds(20), "a chat message");
      check(true, pad(peers[from].name + " → " + peers[to].name, 16) + m["data"].dump());
    }
    std::printf("\n");

    // Sends `bytes` alice → `to` with live progress bars and checks what arrived; returns the
    // seconds it took.
    auto send_file = [&](std::size_t to, std::uint64_t bytes, int id, const std::string& name,
                         const std::string& where_hashed) {
      const auto file = work / name;
      const std::string file_hash = write_pattern_file(file, bytes);
      double out_fraction = 0, in_fraction = 0;
      auto render = [&](bool final) {
        if (!tty && !final) return;
        std::printf("%s   sent     %s %5.1f%%\n   received %s %5.1f%%", tty ? "\r\033[1A" : "",
                    bar(out_fraction).c_str(), out_fraction * 100, bar(in_fraction).c_str(),
                    in_fraction * 100);
        std::fflush(stdout);
      };
      if (tty) std::printf("\n");
      auto last_render = steady_clock::now();
      peers.watch([&](std::size_t i, const json& e) {
        if (e.value("event", "") != "progress" || e.value("action", "") != "file") return;
        if (i != kAlice && i != to) return;
        (i == kAlice ? out_fraction : in_fraction) = e.value("fraction", 0.0);
        if (steady_clock::now() - last_render > milliseconds(50)) {
          render(false);
          last_render = steady_clock::now();
        }
      });
      const auto sending = steady_clock::now();
      peers[kAlice].send({{"cmd", "send-file"},
                          {"id", id},
                          {"action", "file"},
                          {"path", file.string()},
                          {"target", peers[to].self},
                          {"metadata", {{"name", name}}}});
      auto received = peers.wait_for(
          to,
          [&](const json& e) {
            return e.value("event", "") == "message" && e.value("action", "") == "file";
          },
          seconds(600), "the file");
      const double secs = std::max(1e-6, ms_since(sending) / 1000);
      auto sent = peers.wait_for(kAlice, has_id("sent", id), seconds(60), "the file's sent event");
      render(true);
      peers.watch({});
      std::printf("\n");
      check(sent.value("ok", false), "alice: every chunk handed to the channel");
      check(received.value("bytes", 0ull) == bytes && received.value("sha256", "") == file_hash,
            peers[to].name + ": " + std::to_string(received.value("bytes", 0ull)) + " bytes in " +
                std::to_string(secs).substr(0, 5) + " s (" +
                std::to_string(static_cast<int>(static_cast<double>(bytes) / 1e6 / secs)) +
                " MB/s), sha256 " + file_hash.substr(0, 16) + "… matches the file" + where_hashed);
      std::filesystem::remove(file);
      return secs;
    };

    std::printf("4. file: %.0f MiB alice → bob\n", static_cast<double>(file_bytes) / (1 << 20));
    timings["file"] = send_file(kBob, file_bytes, 3, "file.bin", "") * 1000;
    std::printf("\n");
    if (browser) {
      std::printf("4b. file: %.3g MiB alice → dave, into the page\n",
                  static_cast<double>(browser_bytes) / (1 << 20));
      timings["browser file"] =
          send_file(kDave, browser_bytes, 12, "for-dave.bin", " (hashed in the page)") * 1000;
      std::printf("\n");
    }

    std::printf("5. ping (round trip over the data channel, ms)\n");
    std::printf("   %s", pad("from \\ to", 10).c_str());
    for (std::size_t j = 0; j < peers.size(); ++j)
      std::printf("%s", rpad(peers[j].name, 10).c_str());
    std::printf("\n");
    int ping_id = 100;
    for (std::size_t i = 0; i < peers.size(); ++i) {
      std::printf("   %s", pad(peers[i].name, 10).c_str());
      for (std::size_t j = 0; j < peers.size(); ++j) {
        if (i == j) {
          std::printf("%s", rpad("—", 10).c_str());
          continue;
        }
        const int id = ++ping_id;
        peers[i].send({{"cmd", "ping"}, {"id", id}, {"peer", peers[j].self}});
        auto pong = peers.wait_for(i, has_id("pong", id), seconds(10), "a pong");
        std::printf("%10.2f", pong.value("ms", 0.0));
      }
      std::printf("\n");
    }
    check(true, "every peer answered every ping");
    std::printf("\n");

    // The page answers no requests: with dave in the room, carol asks the two who serve "ask".
    std::printf("6. request/response: carol asks %s\n", browser ? "alice and bob" : "the room");
    peers[kCarol].send({{"cmd", "request"},
                        {"id", 7},
                        {"action", "ask"},
                        {"kind", "text"},
                        {"data", "is anyone there?"},
                        {"target", browser ? json{peers[kAlice].self, peers[kBob].self} : json()},
                        {"timeout_ms", 10000}});
    for (std::size_t k = 0; k < 2; ++k) {
      auto r = peers.wait_for(kCarol, has_id("response", 7), seconds(15), "a response");
      const auto who = peers.index_of(r.value("peer", ""));
      check(r.value("ok", false) && r.value("data", "") == "is anyone there?",
            (who < peers.size() ? peers[who].name : std::string("?")) + " answered " +
                r.value("data", json()).dump());
    }
    std::printf("\n");

    std::printf("7. leave\n");
    peers[kCarol].send({{"cmd", "leave"}});
    std::vector<std::size_t> staying = {kAlice, kBob};
    if (browser) staying.push_back(kDave);
    for (auto i : staying)
      peers.wait_for(i, is_from("leave", peers[kCarol].self), seconds(15), "carol leaving");
    check(peers[kCarol].process->wait(seconds(10)) == 0, "carol left and exited cleanly");
    check(true, browser ? "alice, bob and dave saw her go" : "alice and bob saw her go");
    if (browser) {
      peers[kDave].send({{"cmd", "leave"}});
      for (auto i : {kAlice, kBob})
        peers.wait_for(i, is_from("leave", peers[kDave].self), seconds(15), "dave leaving");
      check(peers[kDave].process->wait(seconds(15)) == 0,
            "dave left, closed the browser and exited cleanly; alice and bob saw him go");
    }
    for (auto i : {kAlice, kBob})
      peers[i].send({{"cmd", "leave"}});
    for (auto i : {kAlice, kBob})
      check(peers[i].process->wait(seconds(10)) == 0, peers[i].name + " left and exited cleanly");
    std::printf("\n");
  } catch (const std::exception& e) {
    std::printf("\ndemo failed: %s (peer logs in %s)\n", e.what(), work.c_str());
    return 1;
  }
  if (browser)
    std::printf(
        "summary: joined in %.0f ms, %.0f MiB in %.2f s, %.3g MiB to the browser in %.2f s, "
        "%.1f s in all\n",
        timings["join"], static_cast<double>(file_bytes) / (1 << 20), timings["file"] / 1000,
        static_cast<double>(browser_bytes) / (1 << 20), timings["browser file"] / 1000,
        ms_since(started) / 1000);
  else
    std::printf("summary: joined in %.0f ms, %.0f MiB in %.2f s, %.1f s in all\n", timings["join"],
                static_cast<double>(file_bytes) / (1 << 20), timings["file"] / 1000,
                ms_since(started) / 1000);
  std::printf("%s\n", check.ok ? "demo: everything checked out" : "demo: FAILED");
  if (check.ok) std::filesystem::remove_all(work);
  return check.ok ? 0 : 1;
}

} // namespace posthorn::cli
