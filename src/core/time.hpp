#pragma once
// Monotonic time. Protocol cores never read a clock: `now` is an argument of every input, so the
// sim harness can drive them with a virtual clock (STYLE.md "time is an input").

#include <chrono>
#include <cstdint>

namespace posthorn {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

/// Milliseconds as a double, for logs and benchmark output.
inline double to_ms(Duration d) noexcept {
  return std::chrono::duration<double, std::milli>(d).count();
}

} // namespace posthorn
