#pragma once
// sim::Network — a deterministic in-memory UDP network with a virtual clock, for driving sans-IO
// cores (ICE agents, PeerConnections) through latency, loss, reordering and NATs in tests.
//
// Drive rules (the sans-IO shape of STYLE.md, applied to every attached Endpoint):
//   - Time only moves when the network steps. `now()` starts at kEpoch and never goes back.
//   - One step() takes the earliest pending event — a datagram arriving, an action the test
//     scheduled, or an endpoint deadline (poll_timeout) falling due — advances the clock to it
//     and runs it (handle_datagram / the action / handle_timeout). Ties: arrivals first, in the
//     order they were sent, then scheduled actions in order, then deadlines in host order.
//   - After every input the endpoint's transmits are drained (poll_transmit until empty) and its
//     deadline is re-read. Before choosing an event every endpoint is drained the same way, so
//     a test may poke an endpoint between steps (e.g. "send this message") without telling the
//     network.
//   - Every random choice comes from SeededRngs derived from the constructor's seed and is taken
//     in a fixed order: the same seed and the same scenario replay bit for bit; trace_hash()
//     proves it. Link randomness (loss, jitter, reorder, duplicates) and NAT port choice use
//     separate streams, so turning on loss does not renumber every NAT port.
//
// Addressing: each host owns IP addresses in a "realm": the public internet, or the private
// side of a NAT (see sim_nat.hpp; NATs may nest). A host receives on any port of its addresses:
// the source addresses of its transmits define its sockets. A datagram climbs through NATs
// (outbound translation, at send time) until its destination address is known in the current
// realm, then travels with the link's latency, and descends through NATs (inbound filtering and
// translation, at arrival time, so simultaneous-open hole punching works as in real life).
//
// Link conditions apply per directed host pair (falling back to the default); the pair is known
// at send time when the destination NAT already has a mapping, otherwise the default applies.
// Partitions are checked at arrival time: packets in flight when a partition starts are lost.
//
// Not thread-safe. Endpoints are referenced, not owned (unless added as unique_ptr); they must
// outlive the network or be removed with remove_host().
//
//   sim::Network net(seed);
//   auto a = net.add_host("alice", alice, {*IpAddress::parse("198.51.100.1")});
//   net.set_conditions({.latency = 25ms, .loss = 0.05});
//   ASSERT_TRUE(net.drive_until([&] { return alice.done(); }, 100'000, "alice done"));

#include "sim_nat.hpp"

#include "core/bytes.hpp"
#include "core/rng.hpp"
#include "core/socket_address.hpp"
#include "core/time.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

namespace posthorn::sim {

/// Where virtual time starts: far enough from zero that "now - 30 s" is still a valid time point.
inline constexpr TimePoint kEpoch{seconds(1000)};

enum class HostId : std::uint32_t {};
enum class NatId : std::uint32_t {};
std::ostream& operator<<(std::ostream& os, HostId id); // "host#3"
std::ostream& operator<<(std::ostream& os, NatId id);  // "nat#0"

struct Datagram {
  SocketAddress from; // one of the sending host's local addresses
  SocketAddress to;
  Bytes payload;
};

/// Something attached to the network: usually a sans-IO core wrapped in a small adapter by the
/// test. The network calls it only from step() (and its helpers), never re-entrantly.
class Endpoint {
public:
  virtual ~Endpoint() = default;
  /// A datagram arrived at `local`, one of this endpoint's addresses.
  virtual void handle_datagram(TimePoint now, const SocketAddress& local, const SocketAddress& from,
                               ByteView data) = 0;
  /// The deadline from poll_timeout() has come (now >= deadline).
  virtual void handle_timeout(TimePoint now) = 0;
  virtual std::optional<Datagram> poll_transmit() = 0;
  virtual std::optional<TimePoint> poll_timeout() = 0;
};

struct LinkConditions {
  /// One-way delay; the round-trip time is twice this (two hosts, same conditions).
  Duration latency{0};
  /// Extra delay drawn uniformly from [0, jitter]. Jitter never reorders a flow by itself:
  /// a datagram never overtakes an earlier one of the same directed host pair (use `reorder`).
  Duration jitter{0};
  /// Probability that a datagram is lost.
  double loss = 0;
  /// Probability that a datagram is held back by `reorder_delay`, letting later ones overtake.
  double reorder = 0;
  Duration reorder_delay = milliseconds(10);
  /// Probability that a datagram arrives twice (the copy gets its own jitter).
  double duplicate = 0;
  /// IP MTU: a datagram is dropped when payload + IP/UDP headers (28 bytes for IPv4, 48 for
  /// IPv6) exceed it — the sim never fragments, like a path with DF set.
  std::size_t mtu = 1500;
  /// Bottleneck bandwidth of the directed host pair: adds serialization delay; datagrams that
  /// find more than `queue_bytes` waiting are dropped (tail drop).
  std::optional<double> rate_bytes_per_s;
  std::size_t queue_bytes = 64 * 1024;
};

struct Stats {
  std::uint64_t sent = 0; // datagrams taken from endpoints
  std::uint64_t delivered = 0;
  std::uint64_t bytes_delivered = 0;
  std::uint64_t dropped_bad_source = 0; // `from` is not an address of the sending host
  std::uint64_t dropped_filter = 0;     // the test's packet filter said Drop
  std::uint64_t dropped_no_route = 0;   // nobody has the destination address, or IPv4 ↔ IPv6
  std::uint64_t dropped_mtu = 0;
  std::uint64_t dropped_queue = 0;
  std::uint64_t dropped_loss = 0;
  std::uint64_t dropped_partition = 0;
  std::uint64_t dropped_nat_no_mapping = 0; // inbound to an unmapped or expired NAT port
  std::uint64_t dropped_nat_filter = 0;     // inbound not admitted by the NAT's filtering
  std::uint64_t dropped_nat_hairpin = 0;    // hairpin through a NAT that does not hairpin
  std::uint64_t dropped_nat_ports = 0;      // NAT port range exhausted
  std::uint64_t duplicated = 0;
  std::uint64_t reordered = 0; // datagrams held back by `reorder`
  std::uint64_t steps = 0;

  [[nodiscard]] std::uint64_t dropped() const noexcept;
};

enum class TraceKind : std::uint8_t { Delivered, Dropped };

/// One line of the optional trace: for deliveries the addresses the receiver saw; for drops the
/// addresses at the point of the drop.
struct TraceEntry {
  TimePoint at;
  TraceKind kind;
  SocketAddress from;
  SocketAddress to;
  std::size_t size;
  std::string_view reason; // "delivered" or the Stats counter name without "dropped_"
};

enum class Verdict : std::uint8_t { Pass, Drop };
/// Sees every datagram as the endpoint sent it (before NATs); for targeted drops in tests.
using PacketFilter = std::function<Verdict(TimePoint now, HostId sender, const Datagram&)>;

class Network {
public:
  explicit Network(std::uint64_t seed);
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  [[nodiscard]] TimePoint now() const noexcept { return now_; }
  /// Virtual time since kEpoch.
  [[nodiscard]] Duration elapsed() const noexcept { return now_ - kEpoch; }
  /// An RNG stream of the network's seed reserved for the test (the network never draws from
  /// it): hand it to the cores under test so one seed fixes the whole scenario.
  [[nodiscard]] Rng& rng() noexcept { return test_rng_; }

  // --- topology -------------------------------------------------------------------------------
  /// Attaches an endpoint with its local addresses, on the public network or behind `behind`.
  /// Throws std::invalid_argument if an address is already taken in that realm.
  HostId add_host(std::string name, Endpoint& endpoint, std::vector<IpAddress> addresses,
                  std::optional<NatId> behind = std::nullopt);
  /// Same, the network owns the endpoint (servers the test does not otherwise hold).
  HostId add_host(std::string name, std::unique_ptr<Endpoint> endpoint,
                  std::vector<IpAddress> addresses, std::optional<NatId> behind = std::nullopt);
  /// One more address for a host, possibly in another realm (e.g. a public IPv6 address next
  /// to a NATed IPv4 one, or a second interface).
  void add_address(HostId host, IpAddress address, std::optional<NatId> behind = std::nullopt);
  /// Detaches a host: its addresses become unreachable and it is never called again. Not from
  /// inside that host's own callbacks if the network owns it (that would destroy it mid-call).
  void remove_host(HostId host);
  /// A NAT whose public side `public_ip` lives on the public network, or inside `behind`
  /// (carrier-grade NAT in front of a home NAT).
  NatId add_nat(NatConfig config, IpAddress public_ip, std::optional<NatId> behind = std::nullopt);

  [[nodiscard]] Endpoint& endpoint(HostId host);
  [[nodiscard]] const std::string& name(HostId host) const;
  [[nodiscard]] Nat& nat(NatId nat);

  // --- conditions -----------------------------------------------------------------------------
  /// Default conditions for every pair without its own.
  void set_conditions(LinkConditions conditions);
  /// Conditions for traffic between `a` and `b`, both directions.
  void set_conditions(HostId a, HostId b, LinkConditions conditions);
  void set_directed_conditions(HostId from, HostId to, LinkConditions conditions);
  /// Back to the default for this pair (both directions).
  void clear_conditions(HostId a, HostId b);
  /// Cuts (on = true) or heals traffic between two hosts, both directions, including datagrams
  /// already in flight.
  void partition(HostId a, HostId b, bool on);
  /// Cuts or heals all traffic to and from one host.
  void isolate(HostId host, bool on);
  void set_packet_filter(PacketFilter filter);

  // --- driving --------------------------------------------------------------------------------
  /// Processes the next event. Returns false when nothing is pending (no datagram in flight,
  /// no scheduled action, no endpoint deadline): the network is idle.
  bool step();
  /// Steps until `pred()` holds (checked before the first step and after each). On a step limit
  /// or an idle network it reports a non-fatal test failure at the caller's line naming `label`,
  /// the steps, the virtual time, deadlines and drops, and returns false: wrap in ASSERT_TRUE.
  bool drive_until(const std::function<bool()>& pred, std::size_t max_steps, std::string_view label,
                   std::source_location where = std::source_location::current());
  /// Same, bounded by virtual time (and by `max_steps` as livelock guard). On failure the clock
  /// stands at now + max_time.
  bool drive_until(const std::function<bool()>& pred, Duration max_time, std::string_view label,
                   std::size_t max_steps = 10'000'000,
                   std::source_location where = std::source_location::current());
  /// Processes every event due within `d`, then sets the clock to now + d. Reports a failure
  /// (and returns false) if more than `max_steps` events happen, which means a livelock.
  bool run_for(Duration d, std::size_t max_steps = 10'000'000,
               std::source_location where = std::source_location::current());
  /// run_for until an absolute time (the clock stays put if it is in the past).
  bool run_until(TimePoint t, std::size_t max_steps = 10'000'000,
                 std::source_location where = std::source_location::current());
  /// Runs `action` when the virtual clock reaches `at` (now, if `at` is past), as one step:
  /// scripted events such as delayed signaling ("bob gets alice's answer 150 ms later"),
  /// "partition at t = 5 s", "heal at t = 20 s". Endpoints are drained afterwards as usual.
  void schedule(TimePoint at, std::function<void()> action);
  void schedule_in(Duration delay, std::function<void()> action);
  /// Drains all endpoints now (what step() does first); rarely needed.
  void flush_transmits();
  [[nodiscard]] bool idle();

  // --- observation ----------------------------------------------------------------------------
  [[nodiscard]] const Stats& stats() const noexcept { return stats_; }
  [[nodiscard]] std::size_t in_flight() const noexcept { return events_.size(); }
  /// Hash of every delivery and drop so far (time, kind, addresses, size; not payloads, which
  /// may hold OpenSSL randomness): same seed and scenario ⇒ same hash.
  [[nodiscard]] std::uint64_t trace_hash() const noexcept { return trace_hash_; }
  /// Keeps the last `max_entries` trace entries (0 = off, the default).
  void record_trace(std::size_t max_entries);
  [[nodiscard]] const std::deque<TraceEntry>& trace() const noexcept { return trace_; }
  /// The trace as text, one line per entry, for failure messages.
  [[nodiscard]] std::string format_trace() const;
  /// Which host receives datagrams to `address` in the public realm right now (following NAT
  /// mappings as a packet from `from` would, without changing any state); nullopt if nobody.
  [[nodiscard]] std::optional<HostId> resolve(const SocketAddress& from,
                                              const SocketAddress& address);

private:
  using RealmId = std::uint32_t; // 0 = public network; NAT n's inside = n + 1
  struct Host {
    std::string name;
    Endpoint* endpoint = nullptr; // null once removed
    std::unique_ptr<Endpoint> owned;
    std::vector<std::pair<IpAddress, RealmId>> addresses;
    std::optional<TimePoint> deadline;
  };
  struct NatNode {
    Nat nat;
    RealmId outer;
    RealmId inner;
  };
  struct Owner {
    bool is_nat;
    std::uint32_t index;
  };
  struct InFlight {
    RealmId realm; // where `to` is known
    HostId sender;
    SocketAddress from;
    SocketAddress to;
    Bytes payload;
  };
  struct LinkState {
    TimePoint busy_until;   // the bottleneck is sending until then
    TimePoint last_arrival; // keeps jitter from reordering the flow
  };
  struct Route {
    std::optional<HostId> host;
    SocketAddress from;
    SocketAddress to;
    std::uint64_t Stats::*drop = nullptr;
  };

  Host& host(HostId id);
  const Host& host(HostId id) const;
  HostId insert_host(std::string name, Endpoint* endpoint, std::unique_ptr<Endpoint> owned,
                     std::vector<IpAddress> addresses, std::optional<NatId> behind);
  RealmId realm_of(std::optional<NatId> behind) const;
  void drain(HostId id);
  void send(HostId sender, Datagram datagram);
  void deliver(InFlight packet);
  Route route_down(RealmId realm, SocketAddress from, SocketAddress to, bool commit);
  const LinkConditions& conditions(HostId from, std::optional<HostId> to) const;
  bool blocked(HostId a, HostId b) const;
  void drop(std::uint64_t Stats::*counter, const SocketAddress& from, const SocketAddress& to,
            std::size_t size);
  void record(TraceKind kind, std::string_view reason, const SocketAddress& from,
              const SocketAddress& to, std::size_t size);
  struct NextEvent {
    TimePoint at;
    enum Kind : std::uint8_t { Delivery, Action, Timer } kind;
    HostId host; // for Timer
  };
  std::optional<NextEvent> next_event() const;
  enum class DriveEnd : std::uint8_t { Predicate, Deadline, Idle, StepLimit };
  /// The loop behind drive_until/run_until: stops when `pred` (if any) holds, when the next
  /// event lies past `deadline` (if any), when nothing is pending, or after `max_steps` steps.
  DriveEnd drive(const std::function<bool()>* pred, std::size_t max_steps,
                 std::optional<TimePoint> deadline);
  std::string describe_state() const;

  SeededRng link_rng_;
  SeededRng nat_rng_;
  SeededRng test_rng_;
  TimePoint now_ = kEpoch;
  std::uint64_t seq_ = 0;
  std::vector<std::unique_ptr<Host>> hosts_;
  std::vector<std::unique_ptr<NatNode>> nats_;
  std::map<std::pair<RealmId, IpAddress>, Owner> addresses_;
  std::map<std::pair<TimePoint, std::uint64_t>, InFlight> events_;
  std::map<std::pair<TimePoint, std::uint64_t>, std::function<void()>> actions_;
  LinkConditions default_conditions_;
  std::map<std::pair<HostId, HostId>, LinkConditions> pair_conditions_;
  std::map<std::pair<HostId, std::optional<HostId>>, LinkState> links_;
  std::set<std::pair<HostId, HostId>> partitions_;
  std::set<HostId> isolated_;
  PacketFilter filter_;
  Stats stats_;
  std::uint64_t trace_hash_;
  std::size_t trace_limit_ = 0;
  std::deque<TraceEntry> trace_;
  std::string last_event_;
};

} // namespace posthorn::sim
