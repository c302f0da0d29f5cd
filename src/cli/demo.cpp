// `posthorn demo`: the main job on a fresh machine, offline. Two native posthorn peers — separate
// processes, each with its own ICE agent, DTLS and SCTP — find each other through a relayed
// signaling channel on loopback, chat, move a large file with a live progress bar and check it
// end to end. Exit 0 only if everything checked out.
//
// (The full mission — an embedded relay, three peers in a Trystero room, ping table,
// request/response — grows here as issues #4 and #5 land.)
#include "cli/commands.hpp"
#include "tools/dc_pair.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <stdexcept>
#include <unistd.h>

namespace posthorn::cli {
namespace {

using namespace std::chrono;
using tools::DcEvent;
using tools::DcPair;
using tools::Side;

std::vector<std::string> peer(const std::string& role, const std::string& mode, std::uint64_t bytes,
                              bool quiet) {
  return tools::dc_command(tools::self_executable(), {role, mode, bytes, 64 * 1024, quiet});
}

struct Terminal {
  bool tty = isatty(STDOUT_FILENO) != 0;
  void progress(double fraction, double mb_per_s) {
    const int width = 40;
    const int filled = static_cast<int>(fraction * width);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(width, '.');
    if (tty) {
      std::printf("\r  [%s] %5.1f%%  %7.1f MB/s", bar.c_str(), fraction * 100, mb_per_s);
      std::fflush(stdout);
    }
  }
};

/// Pads to `width` terminal columns, counting UTF-8 code points rather than bytes.
std::string pad(const std::string& text, std::size_t width) {
  std::size_t columns = 0;
  for (unsigned char c : text)
    columns += (c & 0xC0) != 0x80;
  return text + std::string(columns < width ? width - columns : 0, ' ');
}

double ms_between(steady_clock::time_point a, steady_clock::time_point b) {
  return duration<double, std::milli>(b - a).count();
}

} // namespace

int run_demo(int argc, char** argv) {
  std::uint64_t file_bytes = 200ull << 20;
  CLI::App app{"posthorn demo: two native peers connect over loopback, chat and move a file"};
  app.add_option("--bytes", file_bytes, "size of the file to transfer");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  Terminal term;
  bool ok = true;
  try {
    std::printf("posthorn demo — two peers, two processes, our own ICE + DTLS 1.2 + SCTP\n\n");

    // 1. Connect and chat: alice (offerer) echoes whatever bob sends her.
    std::printf("1. connect\n");
    DcPair chat(peer("offer", "echo", 0, false), peer("answer", "sink", 0, false));
    int open = 0;
    auto opened = chat.run_until(
        [&](const DcEvent& e) {
          if (e.type == "error") throw std::runtime_error(e.error);
          return e.type == "open" && ++open == 2;
        },
        seconds(30));
    if (!opened) throw std::runtime_error("the peers did not connect within 30 s");
    std::printf("   alice ⇄ bob data channel open after %.1f ms (%zu signaling messages)\n\n",
                ms_between(chat.first_signal_at(), opened->at), chat.relayed());

    std::printf("2. chat (bob → alice → bob)\n");
    const std::vector<std::string> lines = {"hello alice", "the tower is quiet tonight",
                                            "¿dónde está la posta?"};
    for (const auto& text : lines) {
      const auto sent = steady_clock::now();
      chat.process(Side::Answerer)
          .write_line(nlohmann::json{{"type", "send"}, {"data", text}}.dump());
      auto echo = chat.run_until(
          [&](const DcEvent& e) { return e.type == "message" && e.side == Side::Answerer; },
          seconds(10));
      if (!echo || echo->line.find("\"data\"") == std::string::npos) {
        ok = false;
        std::printf("   %s  ✗ no echo\n", pad(text, 32).c_str());
        continue;
      }
      std::printf("   %s  ✓ round trip %.2f ms\n", pad(text, 32).c_str(),
                  ms_between(sent, echo->at));
    }
    std::printf("\n");

    // 2. A file: alice sends a deterministic pattern, bob hashes what arrives.
    std::printf("3. file transfer: %.0f MiB alice → bob\n",
                static_cast<double>(file_bytes) / (1 << 20));
    DcPair file(peer("offer", "source", file_bytes, true),
                peer("answer", "sink", file_bytes, false));
    std::uint64_t received = 0;
    steady_clock::time_point start{};
    std::string sent_hash, received_hash;
    steady_clock::time_point end{};
    file.run_until(
        [&](const DcEvent& e) {
          if (e.type == "error") throw std::runtime_error(e.error);
          if (e.type == "open" && start == steady_clock::time_point{}) start = e.at;
          if (e.type == "message" && e.side == Side::Answerer) {
            received += e.bytes;
            const double secs = std::max(1e-6, duration<double>(e.at - start).count());
            term.progress(static_cast<double>(received) / static_cast<double>(file_bytes),
                          static_cast<double>(received) / 1e6 / secs);
          }
          if (e.type == "done" && e.side == Side::Offerer) sent_hash = e.sha256;
          if (e.type == "done" && e.side == Side::Answerer) {
            received_hash = e.sha256;
            end = e.at;
          }
          return !sent_hash.empty() && !received_hash.empty();
        },
        seconds(600));
    if (term.tty) std::printf("\n");
    const double secs = duration<double>(end - start).count();
    const bool intact = !sent_hash.empty() && sent_hash == received_hash;
    ok = ok && intact;
    std::printf("   %llu bytes in %.2f s = %.1f MB/s, sha256 %s %s\n\n",
                static_cast<unsigned long long>(received), secs,
                static_cast<double>(received) / 1e6 / secs, received_hash.substr(0, 16).c_str(),
                intact ? "✓ matches the sender's" : "✗ DIFFERS from the sender's");

    std::printf("4. goodbye\n");
    chat.process(Side::Answerer).write_line(R"({"type":"close"})");
    auto closed = chat.run_until(
        [&](const DcEvent& e) { return e.type == "closed" && e.side == Side::Offerer; },
        seconds(10));
    std::printf("   bob closed the channel; alice %s\n\n",
                closed ? "saw it close ✓" : "did not notice ✗");
    ok = ok && closed.has_value();
  } catch (const std::exception& e) {
    std::printf("\ndemo failed: %s\n", e.what());
    return 1;
  }
  std::printf("%s\n", ok ? "demo: everything checked out" : "demo: FAILED");
  return ok ? 0 : 1;
}

} // namespace posthorn::cli
