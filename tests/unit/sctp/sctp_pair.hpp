#pragma once
// Two Associations wired back to back in memory, driven by a virtual clock (no sockets, no
// sleeps). Packets move instantly; an optional seeded loss applies to both directions.

#include "core/rng.hpp"
#include "sctp/association.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

namespace posthorn::sctp::testing {

/// usrsctp's timer wheel is process-wide, so every association in the process must be driven by
/// one monotonic clock: this one starts at the real steady clock and only ever moves forward.
inline TimePoint& virtual_now() {
  static TimePoint now = Clock::now();
  return now;
}

inline Association::Config client_config() {
  Association::Config c;
  c.is_dtls_client = true;
  return c;
}
inline Association::Config server_config() {
  Association::Config c;
  c.is_dtls_client = false;
  return c;
}

struct Side {
  std::unique_ptr<Association> assoc;
  std::vector<Event> events;
  struct InFlight {
    TimePoint arrives;
    Bytes packet;
  };
  std::deque<InFlight> inbox; // packets in flight towards this side, in arrival order
  std::size_t largest_packet = 0;
  std::uint64_t packets_out = 0;
  /// Called for each outgoing packet; return false to drop it (after loss was applied).
  std::function<bool(const Bytes&)> tap;

  template <class E> std::vector<E> all() const {
    std::vector<E> out;
    for (const auto& e : events)
      if (auto* x = std::get_if<E>(&e)) out.push_back(*x);
    return out;
  }
  template <class E> bool has() const { return !all<E>().empty(); }
  template <class E> std::size_t count() const { return all<E>().size(); }
  bool has_closed_channel(StreamId sid) const {
    for (const auto& c : all<ChannelClosed>())
      if (c.stream == sid) return true;
    return false;
  }
  std::optional<ChannelOpen> opened(StreamId sid) const {
    for (const auto& o : all<ChannelOpen>())
      if (o.stream == sid) return o;
    return std::nullopt;
  }
  std::vector<ChannelMessage> messages(StreamId sid) const {
    std::vector<ChannelMessage> out;
    for (const auto& m : all<ChannelMessage>())
      if (m.stream == sid) out.push_back(m);
    return out;
  }
};

class Pair {
public:
  explicit Pair(Association::Config client = client_config(),
                Association::Config server = server_config()) {
    a.assoc = std::make_unique<Association>(std::move(client));
    b.assoc = std::make_unique<Association>(std::move(server));
  }

  Side a; // DTLS client
  Side b; // DTLS server
  double loss = 0.0;
  Duration latency{0}; // one way, both directions
  SeededRng rng{1};
  /// Consumes events as they come instead of collecting them (for long transfers).
  std::function<void(Side&, Event&)> on_event;

  TimePoint now() const { return virtual_now(); }

  void connect_both() {
    a.assoc->connect(now());
    b.assoc->connect(now());
  }

  /// Moves every pending packet and delivers those that have arrived; if nothing happened,
  /// advances the clock to the earliest arrival or deadline and handles what is due. Returns
  /// false when nothing can ever happen again.
  bool step() {
    const bool moved = move(a, b) | move(b, a);
    const bool delivered = deliver(a) | deliver(b);
    collect(a);
    collect(b);
    if (moved || delivered) return true;
    auto ta = a.assoc->poll_timeout();
    auto tb = b.assoc->poll_timeout();
    TimePoint next = std::min(ta.value_or(TimePoint::max()), tb.value_or(TimePoint::max()));
    if (!a.inbox.empty()) next = std::min(next, a.inbox.front().arrives);
    if (!b.inbox.empty()) next = std::min(next, b.inbox.front().arrives);
    if (next == TimePoint::max()) return false;
    virtual_now() = std::max(virtual_now(), next);
    deliver(a);
    deliver(b);
    if (ta && *ta <= now()) a.assoc->handle_timeout(now());
    if (tb && *tb <= now()) b.assoc->handle_timeout(now());
    collect(a);
    collect(b);
    return true;
  }

  /// Steps until `done()`; fails the test with `label` if it takes more than `max_steps`.
  bool drive_until(const std::function<bool()>& done, std::size_t max_steps, const char* label) {
    for (std::size_t i = 0; i < max_steps; ++i) {
      if (done()) return true;
      if (!step()) break;
    }
    if (done()) return true;
    ADD_FAILURE() << "drive_until gave up: " << label;
    return false;
  }

  /// Opens a channel from `opener` and steps until both sides report it open.
  StreamId open_and_wait(Side& opener, const ChannelOptions& options) {
    auto sid = opener.assoc->open_channel(options);
    EXPECT_TRUE(sid) << (sid ? "" : sid.error().message());
    if (!sid) return 0;
    Side& other = &opener == &a ? b : a;
    drive_until([&] { return opener.opened(*sid) && other.opened(*sid); }, 10000, "channel open");
    return *sid;
  }

  /// Steps for a span of virtual time (or until nothing can happen).
  void run_for(Duration span) {
    const TimePoint until = now() + span;
    while (now() < until)
      if (!step()) break;
  }

  bool connect_and_wait() {
    connect_both();
    return drive_until([&] { return a.has<Connected>() && b.has<Connected>(); }, 10000,
                       "association up");
  }

private:
  bool move(Side& from, Side& to) {
    bool moved = false;
    while (auto packet = from.assoc->poll_transmit()) {
      moved = true;
      ++from.packets_out;
      from.largest_packet = std::max(from.largest_packet, packet->size());
      if (loss > 0.0 && rng.next_double() < loss) continue;
      if (from.tap && !from.tap(*packet)) continue;
      to.inbox.push_back({now() + latency, std::move(*packet)});
    }
    return moved;
  }
  bool deliver(Side& to) {
    bool any = false;
    while (!to.inbox.empty() && to.inbox.front().arrives <= now()) {
      Bytes packet = std::move(to.inbox.front().packet);
      to.inbox.pop_front();
      to.assoc->handle_packet(now(), packet);
      any = true;
    }
    return any;
  }
  void collect(Side& s) {
    while (auto e = s.assoc->poll_event()) {
      if (on_event)
        on_event(s, *e);
      else
        s.events.push_back(std::move(*e));
    }
  }
};

} // namespace posthorn::sctp::testing
