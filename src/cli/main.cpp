// posthorn command-line entry point: dispatches to one file per subcommand.
#include "cli/commands.hpp"

#include <cstdio>
#include <string_view>

namespace {

void usage() {
  std::fprintf(
      stderr,
      "usage: posthorn <command> [options]\n"
      "  demo    a relay and three native peers in a room on loopback (the main job)\n"
      "  peer    a room peer (Trystero-compatible), scripted by JSON lines (docs/cli-peer.md)\n"
      "  relay   the self-hosted signaling relay (ws-relay) on one port\n"
      "  dc      one data-channel peer, signaling as JSON lines (docs/cli-dc.md)\n"
      "  bench   benchmarks: `posthorn bench dc [--json]`\n"
      "Run `posthorn <command> --help` for the options of a command.\n");
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage();
    return 2;
  }
  const std::string_view command = argv[1];
  // Each subcommand parses argv from its own name on.
  if (command == "dc") return posthorn::cli::run_dc(argc - 1, argv + 1);
  if (command == "bench") return posthorn::cli::run_bench(argc - 1, argv + 1);
  if (command == "peer") return posthorn::cli::run_peer(argc - 1, argv + 1);
  if (command == "relay") return posthorn::cli::run_relay(argc - 1, argv + 1);
  if (command == "demo") return posthorn::cli::run_demo(argc - 1, argv + 1);
  if (command == "--help" || command == "-h" || command == "help") {
    usage();
    return 0;
  }
  std::fprintf(stderr, "posthorn: unknown command '%s'\n", argv[1]);
  usage();
  return 2;
}
