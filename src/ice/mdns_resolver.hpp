#pragma once
// Resolves the mDNS host names browsers put in ICE candidates ("<uuid>.local",
// draft-ietf-mmusic-mdns-ice-candidates §3.1) to IP addresses with multicast DNS queries
// (RFC 6762), without the operating system's resolver.
//
// Sans-IO, like the ICE agent: the resolver never touches a socket or a clock.
//  - The driver owns a UDP socket bound to port 5353 and joined to the mDNS group(s); it feeds
//    every datagram that arrives there to handle_datagram(), and the time to handle_timeout().
//  - After any input (including resolve() and cancel()) the driver drains poll_transmit()
//    (queries to multicast on every interface it serves), then poll_event() (Resolved/Failed,
//    one per resolve() call, never both, never twice), then arms one timer at poll_timeout().
//  - With nothing outstanding poll_timeout() is nullopt: an idle resolver arms no timer.
//
// Queries are RFC 6762 §5.2 "continuous" ones cut off at a deadline: one QM question per message
// (A and AAAA in separate messages, since Chromium ignores multi-question queries), repeated
// after 1 s and then at doubling intervals until an answer arrives or Timing::timeout passes.
// Answers are matched by name, never by query ID (RFC 6762 §18.1), and unsolicited
// announcements count: a browser announces a new host name before its candidate reaches us, so
// every A/AAAA record for a .local name is cached (bounded, TTL-limited) and may satisfy a
// resolve() instantly.
//
// Not thread-safe: one owner drives it (MdnsSocket does so on its executor).
//
// Remote input is bounded: malformed datagrams, queries (including our own, looped back),
// responses from a source port other than 5353 (RFC 6762 §6), non-zero opcode or rcode (§18.3,
// §18.11) and records of other classes are counted and dropped. Memory is bounded by
// max_queries and max_cache_entries.

#include "core/bytes.hpp"
#include "core/socket_address.hpp"
#include "core/time.hpp"
#include "ice/mdns_message.hpp"
#include "ice/mdns_tuning.hpp"
#include <posthorn/error.hpp>

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace posthorn::ice::mdns {

using QueryId = std::uint64_t;

struct ResolverConfig {
  Timing timing;
  /// Which record types to ask for. A browser name has exactly one address, of either family.
  bool query_a = true;
  bool query_aaaa = true;
  /// Where queries go; the driver sets this to the groups it has joined. Every round sends
  /// one query per destination and record type.
  std::vector<SocketAddress> destinations{SocketAddress(multicast_group_v4(), kPort)};
  std::size_t max_queries = kDefaultMaxQueries;
  std::size_t max_cache_entries = kDefaultMaxCacheEntries;
};

struct Transmit {
  SocketAddress destination;
  Bytes payload;
};

struct Resolved {
  QueryId id;
  std::string name; // as passed to resolve()
  IpAddress address;
};
struct Failed {
  QueryId id;
  std::string name;
  error_code reason; // Errc::TimedOut
};
using Event = std::variant<Resolved, Failed>;

struct ResolverStats {
  std::uint64_t queries_sent = 0; // datagrams handed out by poll_transmit()
  std::uint64_t datagrams_received = 0;
  std::uint64_t dropped_malformed = 0;
  std::uint64_t dropped_not_response = 0; // queries, including our own looped back
  std::uint64_t dropped_bad_source_port = 0;
  std::uint64_t dropped_bad_header = 0; // non-zero opcode or rcode
  std::uint64_t records_ignored = 0;    // wrong class, bad length, unusable address, not .local
  std::uint64_t goodbyes = 0;           // TTL-0 records (RFC 6762 §10.1)
  std::uint64_t resolved = 0;
  std::uint64_t timed_out = 0;
  std::uint64_t cache_evictions = 0; // live entries evicted because the cache was full
};

class Resolver {
public:
  explicit Resolver(ResolverConfig config = {});
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;
  ~Resolver();

  /// Starts resolving `name` (it must end in ".local"). Exactly one Resolved or Failed event
  /// with the returned id follows, unless cancel(id) comes first; a cached name resolves with
  /// the next poll_event(). Several calls for one name share one series of queries. Errors
  /// (no event follows): Errc::InvalidName, NotLocal, TooManyQueries.
  [[nodiscard]] result<QueryId> resolve(TimePoint now, std::string_view name);
  /// Forgets a resolve() call; no event follows for it. Unknown ids are ignored.
  void cancel(QueryId id);

  /// A datagram received on the mDNS socket from `from`.
  void handle_datagram(TimePoint now, const SocketAddress& from, ByteView data);
  void handle_timeout(TimePoint now);

  std::optional<Transmit> poll_transmit();
  std::optional<Event> poll_event();
  [[nodiscard]] std::optional<TimePoint> poll_timeout() const;

  /// A live cached address for `name` (IPv4 preferred when both families are known).
  [[nodiscard]] std::optional<IpAddress> cached(TimePoint now, std::string_view name) const;
  [[nodiscard]] std::size_t outstanding() const noexcept; // resolve() calls awaiting an event
  [[nodiscard]] std::size_t cache_size() const noexcept;
  [[nodiscard]] const ResolverStats& stats() const noexcept { return stats_; }

private:
  struct Waiter {
    QueryId id;
    std::string name;
  };
  /// One series of queries for one name, shared by every resolve() of that name.
  struct Lookup {
    Name name;
    std::string key;
    std::vector<Waiter> waiters;
    TimePoint next_send;
    Duration interval;
    TimePoint deadline;
  };
  struct CachedAddress {
    IpAddress address;
    TimePoint expires;
    bool goodbye = false; // withdrawn (TTL 0): kept until `expires` but never served
  };
  struct CacheEntry {
    std::optional<CachedAddress> v4;
    std::optional<CachedAddress> v6;
  };

  void send_queries(const Lookup& lookup);
  void learn(TimePoint now, const Record& record);
  void insert(TimePoint now, const std::string& key, const CachedAddress& entry);
  [[nodiscard]] std::optional<IpAddress> live_address(TimePoint now, const std::string& key) const;

  ResolverConfig config_;
  std::vector<Lookup> lookups_;
  std::unordered_map<std::string, CacheEntry> cache_;
  std::deque<Transmit> transmits_;
  std::deque<Event> events_;
  std::size_t outstanding_ = 0;
  QueryId next_id_ = 1;
  ResolverStats stats_;
};

} // namespace posthorn::ice::mdns
