#include "sim_net.hpp"

#include "core/log.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace posthorn::sim {
namespace {

constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr std::uint64_t kFnvPrime = 0x100000001b3ULL;
// An endpoint that never stops producing transmits would hang a step; no real core does that.
constexpr std::size_t kMaxTransmitsPerDrain = 1'000'000;

void mix(std::uint64_t& h, std::uint64_t v) noexcept {
  for (int i = 0; i < 8; ++i) {
    h ^= (v >> (8 * i)) & 0xff;
    h *= kFnvPrime;
  }
}

void mix(std::uint64_t& h, const SocketAddress& a) noexcept {
  for (auto b : a.ip().bytes()) {
    h ^= b;
    h *= kFnvPrime;
  }
  mix(h, a.port());
}

std::size_t header_bytes(IpFamily family) noexcept {
  return family == IpFamily::V4 ? 20 + 8 : 40 + 8;
}

struct CounterName {
  std::uint64_t Stats::*counter;
  std::string_view name;
};
constexpr CounterName kDropCounters[] = {
    {&Stats::dropped_bad_source, "bad_source"}, {&Stats::dropped_filter, "filter"},
    {&Stats::dropped_no_route, "no_route"},     {&Stats::dropped_mtu, "mtu"},
    {&Stats::dropped_queue, "queue"},           {&Stats::dropped_loss, "loss"},
    {&Stats::dropped_partition, "partition"},   {&Stats::dropped_nat_no_mapping, "nat_no_mapping"},
    {&Stats::dropped_nat_filter, "nat_filter"}, {&Stats::dropped_nat_hairpin, "nat_hairpin"},
    {&Stats::dropped_nat_ports, "nat_ports"},
};

std::string_view reason_name(std::uint64_t Stats::*counter) noexcept {
  for (const auto& c : kDropCounters) {
    if (c.counter == counter) return c.name;
  }
  return "?";
}

Duration uniform_duration(Rng& rng, Duration max) {
  if (max <= Duration::zero()) return Duration::zero();
  return Duration{
      static_cast<Duration::rep>(rng.uniform(static_cast<std::uint64_t>(max.count()) + 1))};
}

std::string format_elapsed(Duration d) {
  std::ostringstream os;
  os << "+" << to_ms(d) << " ms";
  return os.str();
}

} // namespace

std::uint64_t Stats::dropped() const noexcept {
  std::uint64_t n = 0;
  for (const auto& c : kDropCounters)
    n += this->*(c.counter);
  return n;
}

std::ostream& operator<<(std::ostream& os, HostId id) {
  return os << "host#" << static_cast<std::uint32_t>(id);
}

std::ostream& operator<<(std::ostream& os, NatId id) {
  return os << "nat#" << static_cast<std::uint32_t>(id);
}

// The streams differ by a constant mixed into the seed; SeededRng runs the seed through
// splitmix64, so they are unrelated.
Network::Network(std::uint64_t seed)
    : link_rng_(seed), nat_rng_(seed ^ 0x6e61742d706f7274ULL),
      test_rng_(seed ^ 0x746573742d726e67ULL), trace_hash_(kFnvOffset) {}
Network::~Network() = default;

// --- topology ---------------------------------------------------------------------------------

Network::RealmId Network::realm_of(std::optional<NatId> behind) const {
  if (!behind) return 0;
  auto index = static_cast<std::uint32_t>(*behind);
  if (index >= nats_.size()) throw std::invalid_argument("sim::Network: unknown NatId");
  return nats_[index]->inner;
}

HostId Network::insert_host(std::string name, Endpoint* endpoint, std::unique_ptr<Endpoint> owned,
                            std::vector<IpAddress> addresses, std::optional<NatId> behind) {
  const RealmId realm = realm_of(behind);
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    if (addresses_.contains({realm, addresses[i]}) ||
        std::find(addresses.begin(), addresses.begin() + static_cast<std::ptrdiff_t>(i),
                  addresses[i]) != addresses.begin() + static_cast<std::ptrdiff_t>(i))
      throw std::invalid_argument("sim::Network::add_host(" + name + "): address " +
                                  addresses[i].to_string() + " is already taken");
  }
  const auto id = static_cast<HostId>(hosts_.size());
  auto h = std::make_unique<Host>();
  h->name = std::move(name);
  h->endpoint = endpoint;
  h->owned = std::move(owned);
  for (const auto& ip : addresses) {
    h->addresses.emplace_back(ip, realm);
    addresses_[{realm, ip}] = Owner{false, static_cast<std::uint32_t>(id)};
  }
  hosts_.push_back(std::move(h));
  return id;
}

HostId Network::add_host(std::string name, Endpoint& endpoint, std::vector<IpAddress> addresses,
                         std::optional<NatId> behind) {
  return insert_host(std::move(name), &endpoint, nullptr, std::move(addresses), behind);
}

HostId Network::add_host(std::string name, std::unique_ptr<Endpoint> endpoint,
                         std::vector<IpAddress> addresses, std::optional<NatId> behind) {
  Endpoint* raw = endpoint.get();
  return insert_host(std::move(name), raw, std::move(endpoint), std::move(addresses), behind);
}

void Network::add_address(HostId id, IpAddress address, std::optional<NatId> behind) {
  Host& h = host(id);
  const RealmId realm = realm_of(behind);
  if (addresses_.contains({realm, address}))
    throw std::invalid_argument("sim::Network::add_address: " + address.to_string() +
                                " is already taken");
  for (const auto& [ip, r] : h.addresses) {
    if (ip == address)
      throw std::invalid_argument("sim::Network::add_address: the host already has " +
                                  address.to_string());
  }
  h.addresses.emplace_back(address, realm);
  addresses_[{realm, address}] = Owner{false, static_cast<std::uint32_t>(id)};
}

void Network::remove_host(HostId id) {
  Host& h = host(id);
  for (const auto& [ip, realm] : h.addresses)
    addresses_.erase({realm, ip});
  h.addresses.clear();
  h.endpoint = nullptr;
  h.owned.reset();
  h.deadline.reset();
}

NatId Network::add_nat(NatConfig config, IpAddress public_ip, std::optional<NatId> behind) {
  const RealmId outer = realm_of(behind);
  if (addresses_.contains({outer, public_ip}))
    throw std::invalid_argument("sim::Network::add_nat: address " + public_ip.to_string() +
                                " is already taken");
  const auto index = static_cast<std::uint32_t>(nats_.size());
  nats_.push_back(std::make_unique<NatNode>(NatNode{Nat(config, public_ip), outer, index + 1}));
  addresses_[{outer, public_ip}] = Owner{true, index};
  return static_cast<NatId>(index);
}

Network::Host& Network::host(HostId id) {
  auto index = static_cast<std::size_t>(id);
  if (index >= hosts_.size()) throw std::invalid_argument("sim::Network: unknown HostId");
  return *hosts_[index];
}

const Network::Host& Network::host(HostId id) const {
  auto index = static_cast<std::size_t>(id);
  if (index >= hosts_.size()) throw std::invalid_argument("sim::Network: unknown HostId");
  return *hosts_[index];
}

Endpoint& Network::endpoint(HostId id) {
  Host& h = host(id);
  if (h.endpoint == nullptr) throw std::invalid_argument("sim::Network: host was removed");
  return *h.endpoint;
}

const std::string& Network::name(HostId id) const {
  return host(id).name;
}

Nat& Network::nat(NatId id) {
  auto index = static_cast<std::size_t>(id);
  if (index >= nats_.size()) throw std::invalid_argument("sim::Network: unknown NatId");
  return nats_[index]->nat;
}

// --- conditions -------------------------------------------------------------------------------

void Network::set_conditions(LinkConditions conditions) {
  default_conditions_ = conditions;
}

void Network::set_conditions(HostId a, HostId b, LinkConditions conditions) {
  pair_conditions_[{a, b}] = conditions;
  pair_conditions_[{b, a}] = conditions;
}

void Network::set_directed_conditions(HostId from, HostId to, LinkConditions conditions) {
  pair_conditions_[{from, to}] = conditions;
}

void Network::clear_conditions(HostId a, HostId b) {
  pair_conditions_.erase({a, b});
  pair_conditions_.erase({b, a});
}

void Network::partition(HostId a, HostId b, bool on) {
  auto key = std::minmax(a, b);
  if (on) {
    partitions_.insert(key);
  } else {
    partitions_.erase(key);
  }
}

void Network::isolate(HostId id, bool on) {
  if (on) {
    isolated_.insert(id);
  } else {
    isolated_.erase(id);
  }
}

void Network::set_packet_filter(PacketFilter filter) {
  filter_ = std::move(filter);
}

const LinkConditions& Network::conditions(HostId from, std::optional<HostId> to) const {
  if (to) {
    if (auto it = pair_conditions_.find({from, *to}); it != pair_conditions_.end())
      return it->second;
  }
  return default_conditions_;
}

bool Network::blocked(HostId a, HostId b) const {
  return isolated_.contains(a) || isolated_.contains(b) || partitions_.contains(std::minmax(a, b));
}

// --- the data path ----------------------------------------------------------------------------

void Network::drain(HostId id) {
  Host& h = host(id);
  if (h.endpoint == nullptr) return;
  for (std::size_t n = 0;; ++n) {
    if (n == kMaxTransmitsPerDrain) {
      ADD_FAILURE() << "sim::Network: host '" << h.name << "' produced " << n
                    << " transmits in one drain; it never stops sending";
      break;
    }
    auto d = h.endpoint->poll_transmit();
    if (!d) break;
    send(id, std::move(*d));
  }
  h.deadline = h.endpoint->poll_timeout();
}

void Network::flush_transmits() {
  for (std::size_t i = 0; i < hosts_.size(); ++i)
    drain(static_cast<HostId>(i));
}

void Network::send(HostId sender, Datagram d) {
  ++stats_.sent;
  const Host& h = host(sender);
  const std::size_t size = d.payload.size();
  auto local = std::find_if(h.addresses.begin(), h.addresses.end(),
                            [&](const auto& a) { return a.first == d.from.ip(); });
  if (local == h.addresses.end()) return drop(&Stats::dropped_bad_source, d.from, d.to, size);
  // A socket of one family cannot reach the other (a v4-mapped v6 socket is not modelled).
  if (d.from.family() != d.to.family()) return drop(&Stats::dropped_no_route, d.from, d.to, size);
  if (filter_ && filter_(now_, sender, d) == Verdict::Drop)
    return drop(&Stats::dropped_filter, d.from, d.to, size);

  // Climb through NATs (outbound translation happens now, where the sender is) until the
  // destination address is known in the current realm.
  RealmId realm = local->second;
  SocketAddress from = d.from;
  std::optional<std::uint32_t> climbed;
  for (;;) {
    auto it = addresses_.find({realm, d.to.ip()});
    if (it != addresses_.end()) {
      // RFC 4787 §6 (REQ-9): a packet that leaves a NAT towards that NAT's own public address
      // loops back in only if the NAT hairpins.
      if (climbed && it->second.is_nat && it->second.index == *climbed &&
          !nats_[*climbed]->nat.config().hairpinning)
        return drop(&Stats::dropped_nat_hairpin, from, d.to, size);
      break;
    }
    if (realm == 0) return drop(&Stats::dropped_no_route, from, d.to, size);
    NatNode& n = *nats_[realm - 1];
    if (n.nat.external_ip().family() != from.family())
      return drop(&Stats::dropped_no_route, from, d.to, size);
    auto external = n.nat.translate_outbound(now_, from, d.to, nat_rng_);
    if (!external) return drop(&Stats::dropped_nat_ports, from, d.to, size);
    from = *external;
    climbed = realm - 1;
    realm = n.outer;
  }

  // Which host this will reach decides the link conditions; a look-ahead, no NAT state changes.
  const std::optional<HostId> receiver = route_down(realm, from, d.to, false).host;
  const LinkConditions& c = conditions(sender, receiver);
  if (size + header_bytes(d.to.family()) > c.mtu)
    return drop(&Stats::dropped_mtu, from, d.to, size);

  LinkState& link = links_[{sender, receiver}];
  TimePoint departure = now_;
  if (c.rate_bytes_per_s && *c.rate_bytes_per_s > 0) {
    const double rate = *c.rate_bytes_per_s;
    const Duration backlog = link.busy_until > now_ ? link.busy_until - now_ : Duration::zero();
    if (std::chrono::duration<double>(backlog).count() * rate > static_cast<double>(c.queue_bytes))
      return drop(&Stats::dropped_queue, from, d.to, size);
    const auto transmission = std::chrono::duration_cast<Duration>(
        std::chrono::duration<double>(static_cast<double>(size) / rate));
    departure = std::max(now_, link.busy_until) + transmission;
    link.busy_until = departure;
  }
  // The random draws happen in a fixed order, and only for knobs that are on.
  if (c.loss > 0 && link_rng_.next_double() < c.loss)
    return drop(&Stats::dropped_loss, from, d.to, size);
  TimePoint arrival = departure + c.latency + uniform_duration(link_rng_, c.jitter);
  if (c.reorder > 0 && link_rng_.next_double() < c.reorder) {
    arrival += c.reorder_delay;
    ++stats_.reordered;
  } else {
    arrival = std::max(arrival, link.last_arrival);
    link.last_arrival = arrival;
  }
  if (c.duplicate > 0 && link_rng_.next_double() < c.duplicate) {
    ++stats_.duplicated;
    TimePoint copy_arrival = arrival + uniform_duration(link_rng_, c.jitter);
    events_.emplace(std::pair{copy_arrival, seq_++},
                    InFlight{realm, sender, from, d.to, d.payload});
  }
  events_.emplace(std::pair{arrival, seq_++},
                  InFlight{realm, sender, from, d.to, std::move(d.payload)});
}

Network::Route Network::route_down(RealmId realm, SocketAddress from, SocketAddress to,
                                   bool commit) {
  // Realms form a tree, so the descent ends; the bound only documents that.
  for (std::size_t hop = 0; hop <= nats_.size(); ++hop) {
    auto it = addresses_.find({realm, to.ip()});
    if (it == addresses_.end()) return {std::nullopt, from, to, &Stats::dropped_no_route};
    if (!it->second.is_nat) return {static_cast<HostId>(it->second.index), from, to};
    NatNode& n = *nats_[it->second.index];
    InboundResult r = n.nat.translate_inbound(now_, from, to.port(), commit);
    switch (r.verdict) {
    case InboundVerdict::NoMapping: return {std::nullopt, from, to, &Stats::dropped_nat_no_mapping};
    case InboundVerdict::Filtered: return {std::nullopt, from, to, &Stats::dropped_nat_filter};
    case InboundVerdict::Pass: break;
    }
    to = r.internal;
    realm = n.inner;
  }
  return {std::nullopt, from, to, &Stats::dropped_no_route};
}

std::optional<HostId> Network::resolve(const SocketAddress& from, const SocketAddress& address) {
  return route_down(0, from, address, false).host;
}

void Network::deliver(InFlight p) {
  const std::size_t size = p.payload.size();
  if (isolated_.contains(p.sender)) return drop(&Stats::dropped_partition, p.from, p.to, size);
  Route peek = route_down(p.realm, p.from, p.to, false);
  if (peek.host && blocked(p.sender, *peek.host))
    return drop(&Stats::dropped_partition, p.from, p.to, size);
  Route r = route_down(p.realm, p.from, p.to, true);
  if (!r.host) return drop(r.drop, r.from, r.to, size);
  Host& h = host(*r.host);
  if (h.endpoint == nullptr) return drop(&Stats::dropped_no_route, r.from, r.to, size);
  ++stats_.delivered;
  stats_.bytes_delivered += size;
  record(TraceKind::Delivered, "delivered", r.from, r.to, size);
  h.endpoint->handle_datagram(now_, r.to, r.from, p.payload);
  drain(*r.host);
}

void Network::drop(std::uint64_t Stats::*counter, const SocketAddress& from,
                   const SocketAddress& to, std::size_t size) {
  ++(stats_.*counter);
  record(TraceKind::Dropped, reason_name(counter), from, to, size);
}

void Network::record(TraceKind kind, std::string_view reason, const SocketAddress& from,
                     const SocketAddress& to, std::size_t size) {
  mix(trace_hash_, static_cast<std::uint64_t>(elapsed().count()));
  mix(trace_hash_, static_cast<std::uint64_t>(kind));
  for (char ch : reason) {
    trace_hash_ ^= static_cast<std::uint8_t>(ch);
    trace_hash_ *= kFnvPrime;
  }
  mix(trace_hash_, from);
  mix(trace_hash_, to);
  mix(trace_hash_, size);
  POSTHORN_LOG(Trace, "sim", format_elapsed(elapsed()), " ", reason, " ", from.to_string(), " -> ",
               to.to_string(), " (", size, " B)");
  if (trace_limit_ == 0) return;
  trace_.push_back(TraceEntry{now_, kind, from, to, size, reason});
  while (trace_.size() > trace_limit_)
    trace_.pop_front();
}

// --- driving ----------------------------------------------------------------------------------

std::optional<Network::NextEvent> Network::next_event() const {
  std::optional<NextEvent> best;
  if (!events_.empty()) best = NextEvent{events_.begin()->first.first, NextEvent::Delivery, {}};
  // Strict `<` everywhere: at equal times arrivals go first, then scheduled actions, then
  // endpoint deadlines in host order.
  if (!actions_.empty() && (!best || actions_.begin()->first.first < best->at))
    best = NextEvent{actions_.begin()->first.first, NextEvent::Action, {}};
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    const Host& h = *hosts_[i];
    if (h.endpoint == nullptr || !h.deadline) continue;
    if (!best || *h.deadline < best->at)
      best = NextEvent{*h.deadline, NextEvent::Timer, static_cast<HostId>(i)};
  }
  return best;
}

bool Network::step() {
  flush_transmits();
  auto next = next_event();
  if (!next) return false;
  // An endpoint may ask for a deadline in the past; the clock still never goes back.
  now_ = std::max(now_, next->at);
  ++stats_.steps;
  switch (next->kind) {
  case NextEvent::Delivery: {
    auto node = events_.extract(events_.begin());
    const InFlight& p = node.mapped();
    last_event_ = "datagram " + p.from.to_string() + " -> " + p.to.to_string() + " from '" +
                  host(p.sender).name + "'";
    deliver(std::move(node.mapped()));
    break;
  }
  case NextEvent::Action: {
    auto node = actions_.extract(actions_.begin());
    last_event_ = "scheduled action";
    node.mapped()();
    break;
  }
  case NextEvent::Timer: {
    Host& h = host(next->host);
    last_event_ = "timeout of '" + h.name + "'";
    h.deadline.reset();
    h.endpoint->handle_timeout(now_);
    drain(next->host);
    break;
  }
  }
  return true;
}

void Network::schedule(TimePoint at, std::function<void()> action) {
  actions_.emplace(std::pair{std::max(at, now_), seq_++}, std::move(action));
}

void Network::schedule_in(Duration delay, std::function<void()> action) {
  schedule(now_ + delay, std::move(action));
}

bool Network::idle() {
  flush_transmits();
  return !next_event().has_value();
}

std::string Network::describe_state() const {
  std::ostringstream os;
  os << "virtual time " << format_elapsed(elapsed()) << ", " << stats_.steps << " steps, "
     << events_.size() << " datagrams in flight, " << actions_.size() << " scheduled actions";
  if (!last_event_.empty()) os << ", last event: " << last_event_;
  os << "\n  deadlines:";
  for (const auto& h : hosts_) {
    if (h->endpoint == nullptr) continue;
    os << " " << h->name << "=";
    if (h->deadline) {
      os << format_elapsed(*h->deadline - kEpoch);
    } else {
      os << "none";
    }
  }
  os << "\n  delivered " << stats_.delivered << ", dropped " << stats_.dropped();
  for (const auto& c : kDropCounters) {
    if (stats_.*(c.counter) != 0) os << " " << c.name << "=" << stats_.*(c.counter);
  }
  if (!trace_.empty()) os << "\n  last trace entries:\n" << format_trace();
  return os.str();
}

Network::DriveEnd Network::drive(const std::function<bool()>* pred, std::size_t max_steps,
                                 std::optional<TimePoint> deadline) {
  for (std::size_t n = 0;; ++n) {
    if (pred != nullptr && (*pred)()) return DriveEnd::Predicate;
    flush_transmits();
    auto next = next_event();
    if (!next || (deadline && next->at > *deadline)) {
      if (pred != nullptr && (*pred)()) return DriveEnd::Predicate;
      return next ? DriveEnd::Deadline : DriveEnd::Idle;
    }
    if (n == max_steps) return DriveEnd::StepLimit;
    step();
  }
}

bool Network::drive_until(const std::function<bool()>& pred, std::size_t max_steps,
                          std::string_view label, std::source_location where) {
  switch (drive(&pred, max_steps, std::nullopt)) {
  case DriveEnd::Predicate: return true;
  case DriveEnd::StepLimit:
    ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line()))
        << "drive_until(\"" << label << "\"): still false after " << max_steps
        << " steps (step limit: a livelock, or raise max_steps); " << describe_state();
    return false;
  case DriveEnd::Idle:
  case DriveEnd::Deadline:
    ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line()))
        << "drive_until(\"" << label
        << "\"): still false and the network is idle (nothing in flight or scheduled, no "
           "deadlines), so it "
           "can never become true; "
        << describe_state();
    return false;
  }
  return false;
}

bool Network::drive_until(const std::function<bool()>& pred, Duration max_time,
                          std::string_view label, std::size_t max_steps,
                          std::source_location where) {
  const TimePoint deadline = now_ + max_time;
  switch (drive(&pred, max_steps, deadline)) {
  case DriveEnd::Predicate: return true;
  case DriveEnd::StepLimit:
    ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line()))
        << "drive_until(\"" << label << "\"): still false after " << max_steps
        << " steps (step limit: a livelock, or raise max_steps); " << describe_state();
    return false;
  case DriveEnd::Idle:
    ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line()))
        << "drive_until(\"" << label
        << "\"): still false and the network is idle (nothing in flight or scheduled, no "
           "deadlines), so it "
           "can never become true; "
        << describe_state();
    return false;
  case DriveEnd::Deadline:
    now_ = std::max(now_, deadline);
    ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line()))
        << "drive_until(\"" << label << "\"): still false after " << to_ms(max_time)
        << " ms of virtual time; " << describe_state();
    return false;
  }
  return false;
}

bool Network::run_until(TimePoint t, std::size_t max_steps, std::source_location where) {
  if (drive(nullptr, max_steps, t) == DriveEnd::StepLimit) {
    ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line()))
        << "run_until: more than " << max_steps << " events before " << format_elapsed(t - kEpoch)
        << " (step limit: a livelock, or raise max_steps); " << describe_state();
    return false;
  }
  now_ = std::max(now_, t);
  return true;
}

bool Network::run_for(Duration d, std::size_t max_steps, std::source_location where) {
  return run_until(now_ + d, max_steps, where);
}

// --- observation ------------------------------------------------------------------------------

void Network::record_trace(std::size_t max_entries) {
  trace_limit_ = max_entries;
  while (trace_.size() > trace_limit_)
    trace_.pop_front();
}

std::string Network::format_trace() const {
  std::ostringstream os;
  for (const auto& e : trace_) {
    os << "    " << format_elapsed(e.at - kEpoch) << " " << e.reason << " " << e.from.to_string()
       << " -> " << e.to.to_string() << " (" << e.size << " B)\n";
  }
  return os.str();
}

} // namespace posthorn::sim
