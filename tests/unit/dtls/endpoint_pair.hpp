#pragma once
// Two dtls::Endpoints wired back to back in memory, with a virtual clock.
//
// step() carries every pending datagram across (optionally through a filter that drops or
// rewrites) and collects events; drive_until() steps until a predicate holds, advancing the
// virtual clock to the next deadline whenever nothing is in flight.
//
// OpenSSL's retransmission timer reads the real clock (see dtls/endpoint.hpp), so a scenario
// that needs a retransmission sets `real_time = true`: advancing the virtual clock then first
// sleeps the same amount of real time. Those tests use small retransmission timeouts.

#include "dtls/endpoint.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace posthorn::dtls::testing {

inline std::shared_ptr<const Certificate> make_certificate() {
  auto cert = Certificate::generate();
  EXPECT_TRUE(cert) << cert.error().message();
  return *cert;
}

template <class T> bool has_event(const std::vector<Event>& events) {
  return std::any_of(events.begin(), events.end(),
                     [](const Event& e) { return std::holds_alternative<T>(e); });
}

template <class T> std::size_t count_events(const std::vector<Event>& events) {
  return static_cast<std::size_t>(std::count_if(
      events.begin(), events.end(), [](const Event& e) { return std::holds_alternative<T>(e); }));
}

inline std::optional<error_code> failure_of(const std::vector<Event>& events) {
  for (const auto& e : events)
    if (auto* f = std::get_if<Failed>(&e)) return f->error;
  return std::nullopt;
}

inline std::vector<Bytes> received_data(const std::vector<Event>& events) {
  std::vector<Bytes> out;
  for (const auto& e : events)
    if (auto* d = std::get_if<ApplicationData>(&e)) out.push_back(d->data);
  return out;
}

class EndpointPair {
public:
  enum class Side { Client, Server };
  /// Returns false to drop the datagram; may rewrite it.
  using Filter = std::function<bool(Side from, Bytes& datagram)>;

  /// A pair that knows each other's fingerprints from the start (the common case).
  static EndpointPair connected_configs() {
    auto c = make_certificate();
    auto s = make_certificate();
    return EndpointPair(config(Role::Client, c, s), config(Role::Server, s, c));
  }

  static Endpoint::Config config(Role role, std::shared_ptr<const Certificate> mine,
                                 const std::shared_ptr<const Certificate>& theirs) {
    Endpoint::Config cfg;
    cfg.role = role;
    cfg.certificate = std::move(mine);
    if (theirs) cfg.remote_fingerprint = theirs->fingerprint(FingerprintAlgorithm::Sha256);
    return cfg;
  }

  EndpointPair(Endpoint::Config client_config, Endpoint::Config server_config)
      : client(std::move(client_config)), server(std::move(server_config)) {}

  void start() {
    client.start(now);
    server.start(now);
  }

  /// Carries all pending datagrams both ways once and drains events. True if anything moved.
  bool step() {
    bool moved = carry(client, server, Side::Client);
    moved |= carry(server, client, Side::Server);
    drain_events();
    return moved;
  }

  /// Steps until `done()`; when idle, jumps the clock to the earliest deadline and fires it.
  /// Fails the test (with `label`) if the pair gets stuck or runs out of steps.
  bool drive_until(const std::function<bool()>& done, const std::string& label,
                   int max_steps = 2000) {
    for (int i = 0; i < max_steps; ++i) {
      if (done()) return true;
      if (step()) continue;
      if (!advance_to_next_deadline()) break;
    }
    if (done()) return true;
    ADD_FAILURE() << "drive_until gave up: " << label;
    return false;
  }

  bool handshake() {
    start();
    return drive_until([&] { return both_connected(); }, "handshake");
  }

  [[nodiscard]] bool both_connected() const {
    return has_event<Connected>(client_events) && has_event<Connected>(server_events);
  }

  /// Jumps to the earliest deadline of either endpoint and fires it. False if there is none.
  bool advance_to_next_deadline() {
    auto tc = client.poll_timeout();
    auto ts = server.poll_timeout();
    if (!tc && !ts) return false;
    TimePoint next = tc && ts ? std::min(*tc, *ts) : (tc ? *tc : *ts);
    if (next > now) {
      if (real_time) std::this_thread::sleep_for(next - now);
      now = next;
    }
    if (tc && *tc <= now) client.handle_timeout(now);
    if (ts && *ts <= now) server.handle_timeout(now);
    drain_events();
    return true;
  }

  void drain_events() {
    while (auto e = client.poll_event())
      client_events.push_back(std::move(*e));
    while (auto e = server.poll_event())
      server_events.push_back(std::move(*e));
  }

  Endpoint& endpoint(Side s) { return s == Side::Client ? client : server; }

  TimePoint now = TimePoint{} + std::chrono::hours(1);
  Endpoint client;
  Endpoint server;
  std::vector<Event> client_events;
  std::vector<Event> server_events;
  /// Every datagram each side emitted, before filtering.
  std::vector<Bytes> client_sent;
  std::vector<Bytes> server_sent;
  Filter filter;
  bool real_time = false;
  /// Delivers each batch of datagrams backwards, every datagram twice.
  bool reverse_and_duplicate = false;

private:
  bool carry(Endpoint& from, Endpoint& to, Side side) {
    std::vector<Bytes> batch;
    while (auto d = from.poll_transmit())
      batch.push_back(std::move(*d));
    if (reverse_and_duplicate) std::reverse(batch.begin(), batch.end());
    for (auto& d : batch) {
      (side == Side::Client ? client_sent : server_sent).push_back(d);
      if (filter && !filter(side, d)) continue;
      to.handle_datagram(now, d);
      if (reverse_and_duplicate) to.handle_datagram(now, d);
    }
    return !batch.empty();
  }
};

} // namespace posthorn::dtls::testing
