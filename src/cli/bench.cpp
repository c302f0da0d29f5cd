// `posthorn bench <what>`: benchmark dispatcher.
#include "cli/commands.hpp"

#include <cstdio>
#include <string_view>

namespace posthorn::cli {

int run_bench_dc(int argc, char** argv);
int run_bench_room(int argc, char** argv);
int run_bench_room_peer(int argc, char** argv);
int run_bench_relay(int argc, char** argv);

int run_bench(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "dc") return run_bench_dc(argc - 1, argv + 1);
  if (argc >= 2 && std::string_view(argv[1]) == "room") return run_bench_room(argc - 1, argv + 1);
  if (argc >= 2 && std::string_view(argv[1]) == "relay") return run_bench_relay(argc - 1, argv + 1);
  // Internal: one posthorn peer of `bench room`, in a process of its own.
  if (argc >= 2 && std::string_view(argv[1]) == "room-peer")
    return run_bench_room_peer(argc - 1, argv + 1);
  std::fprintf(stderr,
               "usage: posthorn bench dc [--json] [--bytes N] [--setup-runs N]\n"
               "       posthorn bench room [--vs trystero] [--json]\n"
               "       posthorn bench relay [--vs bittorrent-tracker] [--clients N]\n"
               "                            [--throughput-clients C] [--seconds T] [--json]\n");
  return 2;
}

} // namespace posthorn::cli
