// posthorn command-line entry point: dispatches to one file per subcommand.
#include <cstdio>
#include <string_view>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: posthorn <dc|bench|demo> [options]\n");
    return 2;
  }
  std::fprintf(stderr, "posthorn: unknown command '%s'\n", argv[1]);
  return 2;
}
