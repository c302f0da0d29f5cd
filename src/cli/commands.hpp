#pragma once
// Subcommand entry points, one file each (src/cli/<name>.cpp).

namespace posthorn::cli {

int run_dc(int argc, char** argv);
int run_bench(int argc, char** argv);
int run_demo(int argc, char** argv);
int run_peer(int argc, char** argv);
int run_relay(int argc, char** argv);

} // namespace posthorn::cli
