#include "sctp/usrsctp_stack.hpp"

#include "core/log.hpp"
#include "sctp/checksum.hpp"
#include "sctp/tuning.hpp"

#include <usrsctp.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>

namespace posthorn::sctp::detail {
namespace {

void apply_sysctls() {
  using namespace tuning;
  // Defaults for new sockets; each socket also sets SO_SNDBUF/SO_RCVBUF itself.
  usrsctp_sysctl_set_sctp_sendspace(kSendBufferSize);
  usrsctp_sysctl_set_sctp_recvspace(kReceiveBufferSize);
  // RFC 8831 §6.1: PR-SCTP (RFC 3758) is required; reconfig (RFC 6525) carries stream resets.
  usrsctp_sysctl_set_sctp_pr_enable(1);
  usrsctp_sysctl_set_sctp_reconfig_enable(1);
  // ECN bits cannot cross DTLS-over-UDP sockets we do not control; browsers disable it too.
  usrsctp_sysctl_set_sctp_ecn_enable(0);
  // Our AF_CONN "addresses" never change: no dynamic address reconfiguration (RFC 5061), and so
  // no AUTH (RFC 4895), which only ASCONF needs. WebRTC peers do not use either (Chrome's dcsctp
  // implements neither), and every extension not offered is parser surface a peer cannot reach.
  usrsctp_sysctl_set_sctp_auto_asconf(0);
  usrsctp_sysctl_set_sctp_asconf_enable(0); // before auth: usrsctp refuses ASCONF without AUTH
  usrsctp_sysctl_set_sctp_auth_enable(0);
  usrsctp_sysctl_set_sctp_max_chunks_on_queue(kMaxChunksOnQueue);
  usrsctp_sysctl_set_sctp_initial_cwnd(kInitialCwndMtus);
  usrsctp_sysctl_set_sctp_max_burst_default(kMaxBurst);
  usrsctp_sysctl_set_sctp_delayed_sack_time_default(
      static_cast<std::uint32_t>(kDelayedSackTime.count()));
  usrsctp_sysctl_set_sctp_rto_min_default(static_cast<std::uint32_t>(kRtoMin.count()));
  usrsctp_sysctl_set_sctp_rto_initial_default(static_cast<std::uint32_t>(kRtoInitial.count()));
  usrsctp_sysctl_set_sctp_rto_max_default(static_cast<std::uint32_t>(kRtoMax.count()));
  usrsctp_sysctl_set_sctp_init_rto_max_default(static_cast<std::uint32_t>(kRtoMax.count()));
}

} // namespace

UsrsctpStack& UsrsctpStack::instance() {
  // Deliberately leaked: usrsctp's global state outlives every static destructor that might still
  // close an association, and usrsctp_finish() would fail while associations linger anyway.
  static UsrsctpStack* stack = new UsrsctpStack();
  return *stack;
}

UsrsctpStack::UsrsctpStack() : scratch_(tuning::kReceiveChunk) {
  // Port 0: no UDP encapsulation. No threads: usrsctp's timers advance only in advance().
  usrsctp_init_nothreads(0, &UsrsctpStack::on_output, &UsrsctpStack::on_debug);
  apply_sysctls();
  // CRC32c (RFC 9260 §6.8). With offload on, usrsctp neither computes it for outgoing packets
  // (on_output fills it in: peers such as browsers verify it) nor verifies it on incoming ones.
  // Skipping verification is safe because every packet we feed to usrsctp was authenticated by
  // DTLS (the checksum adds nothing against an attacker and DTLS's MAC already catches
  // corruption), saves one pass over every received byte, and is how usrsctp's own fuzzers run
  // its input path, so that path is well exercised without the checksum gate.
  usrsctp_enable_crc32c_offload();
}

UsrsctpStack::Session::Session(UsrsctpStack& stack, PortId id)
    : stack_(stack), lock_(stack.mutex_) {
  stack_.active_.store(id, std::memory_order_relaxed);
  // This association is about to drain its socket and take its output: whatever woke it is
  // handled by this session.
  stack_.clear_woken(id);
}

UsrsctpStack::Session::~Session() {
  stack_.active_.store(0, std::memory_order_relaxed);
  std::vector<std::function<void()>> hooks;
  {
    std::lock_guard ports(stack_.port_mutex_);
    for (PortId id : stack_.woken_list_) {
      auto it = stack_.ports_.find(id);
      if (it != stack_.ports_.end() && it->second.wake) hooks.push_back(it->second.wake);
    }
    stack_.woken_list_.clear();
  }
  lock_.unlock();
  // Outside both locks: a hook may post work or even drive another association.
  for (auto& hook : hooks)
    hook();
}

PortId UsrsctpStack::open_port(std::function<void()> wake) {
  std::lock_guard ports(port_mutex_);
  PortId id = next_id_++;
  ports_[id].wake = std::move(wake);
  return id;
}

void UsrsctpStack::close_port(PortId id) {
  std::lock_guard ports(port_mutex_);
  ports_.erase(id);
}

void UsrsctpStack::take_output(PortId id, std::deque<Bytes>& out) {
  std::lock_guard ports(port_mutex_);
  auto it = ports_.find(id);
  if (it == ports_.end() || it->second.outbox.empty()) return;
  auto& box = it->second.outbox;
  if (out.empty()) {
    out.swap(box);
  } else {
    std::move(box.begin(), box.end(), std::back_inserter(out));
    box.clear();
  }
}

bool UsrsctpStack::is_woken(PortId id) const {
  std::lock_guard ports(port_mutex_);
  auto it = ports_.find(id);
  return it != ports_.end() && it->second.woken;
}

void UsrsctpStack::clear_woken(PortId id) {
  std::lock_guard ports(port_mutex_);
  if (auto it = ports_.find(id); it != ports_.end()) it->second.woken = false;
}

void UsrsctpStack::mark_woken_locked(PortId id, Port& port) {
  if (port.woken) return;
  port.woken = true;
  woken_list_.push_back(id);
}

void UsrsctpStack::advance(TimePoint now) {
  const Duration::rep now_ticks = now.time_since_epoch().count();
  if (!started_) {
    started_ = true;
    last_.store(now_ticks, std::memory_order_relaxed);
    return;
  }
  const TimePoint last{Duration{last_.load(std::memory_order_relaxed)}};
  if (now < last) {
    if (last - now > tuning::kClockRebaseThreshold)
      last_.store(now_ticks, std::memory_order_relaxed);
    return;
  }
  const auto elapsed = std::chrono::floor<milliseconds>(now - last);
  if (elapsed.count() <= 0) return;
  // usrsctp compares 32-bit tick counts with serial arithmetic: one step must stay far below
  // 2^31 ms. An hour is longer than any usrsctp timer that matters (HEARTBEAT, RTO max, cookie).
  constexpr milliseconds kMaxStep = std::chrono::hours(1);
  if (elapsed > kMaxStep) {
    last_.store(now_ticks, std::memory_order_relaxed);
    usrsctp_handle_timers(static_cast<std::uint32_t>(kMaxStep.count()));
    return;
  }
  last_.store((last + elapsed).time_since_epoch().count(), std::memory_order_relaxed);
  usrsctp_handle_timers(static_cast<std::uint32_t>(elapsed.count()));
}

TimePoint UsrsctpStack::last_advance() const noexcept {
  return TimePoint{Duration{last_.load(std::memory_order_relaxed)}};
}

TimePoint UsrsctpStack::next_tick() const noexcept {
  return last_advance() + tuning::kTimerTick;
}

// Runs synchronously inside usrsctp (any association's call, or usrsctp's iterator thread), with
// usrsctp's internal locks held: it must not call usrsctp and must not block on the stack mutex.
int UsrsctpStack::on_output(void* addr, void* buffer, std::size_t length, std::uint8_t /*tos*/,
                            std::uint8_t /*set_df*/) {
  if (length < 12) return -1;
  // CRC32c offload is on (see the constructor): the checksum is ours to fill in.
  auto* bytes = static_cast<std::uint8_t*>(buffer);
  fill_checksum(MutableByteView(bytes, length));
  Bytes packet(bytes, bytes + length); // usrsctp frees `buffer` when we return: copy out

  auto& stack = instance();
  const auto id = reinterpret_cast<PortId>(addr);
  std::lock_guard ports(stack.port_mutex_);
  auto it = stack.ports_.find(id);
  if (it == stack.ports_.end()) return 0; // association already destroyed: drop silently
  it->second.outbox.push_back(std::move(packet));
  if (stack.active_.load(std::memory_order_relaxed) != id) stack.mark_woken_locked(id, it->second);
  return 0;
}

// The socket upcall fires after usrsctp processed input for a socket (readable, writable or
// error). Only a flag: the owning Association reads the socket when it is next driven.
void UsrsctpStack::on_upcall(struct socket*, void* arg, int) {
  auto& stack = instance();
  const auto id = reinterpret_cast<PortId>(arg);
  // The common case: the association being driven drains its socket after every call anyway.
  if (stack.active_.load(std::memory_order_relaxed) == id) return;
  std::lock_guard ports(stack.port_mutex_);
  if (auto it = stack.ports_.find(id); it != stack.ports_.end())
    stack.mark_woken_locked(id, it->second);
}

void UsrsctpStack::on_debug(const char* format, ...) {
  if (!log_enabled(LogLevel::Debug)) return;
  char text[512];
  va_list args;
  va_start(args, format);
  const int n = std::vsnprintf(text, sizeof text, format, args);
  va_end(args);
  if (n <= 0) return;
  std::string_view line(text, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof text - 1));
  while (!line.empty() && line.back() == '\n')
    line.remove_suffix(1);
  log_write(LogLevel::Debug, "usrsctp", line);
}

} // namespace posthorn::sctp::detail
