#pragma once
// A token bucket: `rate` tokens per second up to `burst`, one per message. How every hub of
// `posthorn relay` keeps one client from taking the relay's time.

#include <algorithm>
#include <chrono>

namespace posthorn::relay {

class TokenBucket {
public:
  using Clock = std::chrono::steady_clock;
  TokenBucket() = default;
  TokenBucket(double rate, double burst, Clock::time_point now)
      : rate_(rate), burst_(burst), tokens_(burst), refilled_(now) {}

  /// Takes one token if there is one.
  bool take(Clock::time_point now) {
    const double elapsed = std::chrono::duration<double>(now - refilled_).count();
    refilled_ = now;
    tokens_ = std::min(burst_, tokens_ + std::max(0.0, elapsed) * rate_);
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

private:
  double rate_ = 0;
  double burst_ = 0;
  double tokens_ = 0;
  Clock::time_point refilled_{};
};

} // namespace posthorn::relay
