#pragma once
// POSTHORN_ASSERT guards invariants that only our own bugs can break. It must never be reachable
// from remote input: bad bytes from the network are errors, not assertion failures.

#include <cstdio>
#include <cstdlib>

#define POSTHORN_ASSERT(cond, why)                                                                 \
  do {                                                                                             \
    if (!(cond)) [[unlikely]] {                                                                    \
      std::fprintf(stderr, "posthorn: invariant broken at %s:%d: %s (%s)\n", __FILE__, __LINE__,   \
                   #cond, why);                                                                    \
      std::abort();                                                                                \
    }                                                                                              \
  } while (0)
