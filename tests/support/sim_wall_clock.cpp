#include "sim_wall_clock.hpp"

#include <dlfcn.h>
#include <sys/time.h>

#include <atomic>
#include <cstdint>
#include <ctime>
#include <stdexcept>

namespace posthorn::sim {
namespace {

// Installed and removed from the test's thread only; gettimeofday() itself may be called from
// any thread (a library's), hence the atomics. Trivially destructible: usable during exit.
struct ClockState {
  std::atomic<const Network*> net{nullptr};
  int refs = 0;
  TimePoint virtual_origin{};           // net.now() when installed
  std::int64_t wall_origin_us = 0;      // what gettimeofday() returned at that moment
  std::atomic<std::int64_t> last_us{0}; // the largest value handed out: it never goes back
};

ClockState& state() {
  static ClockState s;
  return s;
}

std::int64_t real_wall_us() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts); // not interposed: the real clock
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

std::int64_t wall_us() {
  auto& s = state();
  std::int64_t us;
  if (const Network* net = s.net.load(); net != nullptr) {
    us = s.wall_origin_us +
         std::chrono::duration_cast<std::chrono::microseconds>(net->now() - s.virtual_origin)
             .count();
  } else {
    us = real_wall_us();
  }
  // Virtual time runs ahead of real time; after a scenario the real clock holds still until it
  // catches up rather than jumping back (usrsctp compares stored timevals with later ones).
  std::int64_t last = s.last_us.load();
  while (us > last && !s.last_us.compare_exchange_weak(last, us)) {
  }
  return us > last ? us : last;
}

} // namespace

VirtualWallClock::VirtualWallClock(const Network& net) {
  auto& s = state();
  if (const Network* current = s.net.load(); current != nullptr && current != &net)
    throw std::logic_error("sim::VirtualWallClock: another network's clock is installed");
  if (s.refs++ == 0) {
    s.wall_origin_us = wall_us();
    s.virtual_origin = net.now();
    s.net.store(&net);
  }
}

VirtualWallClock::~VirtualWallClock() {
  auto& s = state();
  if (--s.refs == 0) {
    (void)wall_us(); // remember where virtual time got to
    s.net.store(nullptr);
  }
}

bool VirtualWallClock::installed() noexcept {
  return state().net.load() != nullptr;
}

bool VirtualWallClock::interposed() noexcept {
  // The libraries resolve gettimeofday through the dynamic linker: it must find ours first.
  using Fn = int (*)(timeval*, void*);
  const auto found = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "gettimeofday"));
  return found == static_cast<Fn>(&::gettimeofday);
}

} // namespace posthorn::sim

// The interposer. Declared by <sys/time.h>; defining it in the executable makes the dynamic
// linker bind libusrsctp's and libssl's imports to it (the executable comes first in lookup
// order, and ld exports symbols that linked shared libraries reference).
extern "C" int gettimeofday(struct timeval* __restrict tv, void* __restrict tz) noexcept {
  (void)tz; // obsolete; glibc ignores it too
  const std::int64_t us = posthorn::sim::wall_us();
  tv->tv_sec = static_cast<time_t>(us / 1'000'000);
  tv->tv_usec = static_cast<suseconds_t>(us % 1'000'000);
  return 0;
}
