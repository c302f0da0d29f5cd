#pragma once
// The process-wide usrsctp instance (the one singleton STYLE.md allows).
//
// usrsctp is a kernel SCTP stack compiled into user space: one global state, one global timer
// wheel, one global output callback. This class owns that global state and confines its
// consequences:
//
// * Initialisation: on first use, usrsctp_init_nothreads() (no timer or receive threads: timers
//   advance only when an Association is driven) and the sysctls of tuning.hpp. Never torn down:
//   usrsctp_finish() fails while any association lingers, and a leaked instance at exit is
//   harmless.
// * Locking: every usrsctp call made by an Association happens inside a Session, which holds the
//   stack mutex. usrsctp itself is thread-safe; the mutex makes our own global state (timer clock,
//   scratch buffer) safe and serialises associations driven from different threads.
// * Routing: usrsctp identifies an AF_CONN association by an opaque `void*` address. We give it a
//   PortId (a counter, never a pointer) and keep PortId -> Port in a registry, so a callback for an
//   association destroyed a moment ago finds nothing instead of a dangling pointer. The output
//   callback and the socket upcall touch only their Port, under a separate leaf lock that is never
//   held across a usrsctp call; they may run inside any association's call (timers are global) or
//   on usrsctp's internal iterator thread.
// * Time: see advance().

#include "core/bytes.hpp"
#include "core/time.hpp"

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <vector>

struct socket; // usrsctp's socket (global namespace, as usrsctp.h declares it)

namespace posthorn::sctp::detail {

using PortId = std::uintptr_t;

class UsrsctpStack {
public:
  static UsrsctpStack& instance();

  UsrsctpStack(const UsrsctpStack&) = delete;
  UsrsctpStack& operator=(const UsrsctpStack&) = delete;

  /// Holds the stack mutex and marks `id` as the association driving usrsctp, so output and
  /// upcalls for *other* associations are recognised as "woken". On destruction, after unlocking,
  /// calls the wake hooks of the associations that were woken.
  class Session {
  public:
    Session(UsrsctpStack& stack, PortId id);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

  private:
    UsrsctpStack& stack_;
    std::unique_lock<std::mutex> lock_;
  };
  [[nodiscard]] Session enter(PortId id) { return Session(*this, id); }

  /// Registers a port. `wake` (may be empty) is called when output or a socket event for this
  /// port was produced while another association was being driven; see Association::Config.
  PortId open_port(std::function<void()> wake);
  /// Unregisters; later callbacks for `id` are dropped.
  void close_port(PortId id);

  /// Moves the packets queued for `id` to the back of `out`. Leaf lock only.
  void take_output(PortId id, std::deque<Bytes>& out);
  /// True if another association's activity produced output or socket events for `id` since the
  /// last clear_woken(id).
  bool is_woken(PortId id) const;
  void clear_woken(PortId id);

  // --- Under a Session ---

  /// Advances usrsctp's global timer wheel to `now`: usrsctp_handle_timers(whole ms elapsed since
  /// the last advance, by any association). The sub-millisecond remainder is carried, so time is
  /// never lost or double-counted. A `now` before the last advance is ignored, or rebases the
  /// clock if it is earlier by more than tuning::kClockRebaseThreshold (a different clock).
  void advance(TimePoint now);
  /// The stack-wide receive scratch buffer (tuning::kReceiveChunk bytes).
  MutableByteView scratch() noexcept { return scratch_; }

  /// Next point of the shared timer grid: last advance + tuning::kTimerTick. Lock-free.
  TimePoint next_tick() const noexcept;
  /// The last advance (a time already reached). Lock-free.
  TimePoint last_advance() const noexcept;

  /// The socket upcall to install with usrsctp_set_upcall(so, on_upcall, port id as void*).
  static void on_upcall(struct socket* so, void* arg, int flags);

private:
  struct Port {
    std::deque<Bytes> outbox;
    bool woken = false;
    std::function<void()> wake;
  };

  UsrsctpStack();
  static int on_output(void* addr, void* buffer, std::size_t length, std::uint8_t tos,
                       std::uint8_t set_df);
  static void on_debug(const char* format, ...);
  void mark_woken_locked(PortId id, Port& port);

  std::mutex mutex_;                   // the stack lock (Session)
  std::atomic<PortId> active_{0};      // port driving usrsctp now, 0 if none
  std::atomic<Duration::rep> last_{0}; // last advance, steady_clock ticks since epoch
  bool started_ = false;               // guarded by mutex_
  Bytes scratch_;                      // guarded by mutex_

  mutable std::mutex port_mutex_; // leaf lock: never held across a usrsctp call
  PortId next_id_ = 1;            // 0 is "no port"; ids are never reused
  std::unordered_map<PortId, Port> ports_;
  std::vector<PortId> woken_list_; // ports woken since the last Session ended
};

} // namespace posthorn::sctp::detail
