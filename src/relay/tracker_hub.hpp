#pragma once
// The WebTorrent tracker side of `posthorn relay`, sans-IO: what the bittorrent-tracker npm server
// (11.2.3, `_onWebSocketRequest`, lib/server/swarm.js) does for WebSocket clients, restricted to
// what Trystero's torrent strategy needs (spec/trystero-wire.md §5.2). Clients come and go by id,
// their text messages go in with the time, and what to send to whom comes out; the codec is
// signal/tracker_codec. Nothing here reads a clock or a global RNG: offer targets are drawn from
// a generator seeded by the caller, so a test replays a scenario exactly.
//
//  - A swarm per info_hash; its members are peer_ids, each held by one connected client. An
//    announce adds or refreshes the sender (a missing event is "update", which starts a peer not
//    yet in the swarm); "stopped" removes it; a client that disconnects leaves every swarm.
//  - A client holds one peer_id per swarm (announcing another replaces it). A peer_id that a
//    different client holds in that swarm is refused: bittorrent-tracker lets anyone take it over.
//  - Every announce gets an AnnounceReply {interval, complete, incomplete}; offer i goes to the
//    i-th of up to offers.size() distinct random other members. An answer goes to the member
//    with to_peer_id (unknown ones are dropped and counted, without a reply, as bittorrent-tracker
//    only warns) and refreshes the answerer, who gets no reply.
//  - Expiry: a member that has not announced for member_ttl is dropped. Lazily: never picked as an
//    offer target, replaced when another client claims its peer_id, dropped when its own client
//    needs the swarm slot; and by a sweep of the whole hub (O(members)) that handle() runs
//    whenever member_ttl/4 has passed since the last one, so stale members of clients that stay
//    connected but stopped announcing (Trystero never sends "stopped") do not linger in the
//    counts. Callers may run expire() themselves.
//
// Bounds (every refusal is a Failure {reason, info_hash when known} and counted; max_refusals in
// a row disconnect): message size, swarms per client, members per swarm, a token bucket per
// client. Offers beyond max_offers are ignored, as bittorrent-tracker forwards at most numwant.
// Memory is O(clients × max_swarms_per_client): swarms live while they have members.

#include "core/rng.hpp"
#include "relay/hub_output.hpp"
#include "relay/token_bucket.hpp"
#include "signal/tracker_codec.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

namespace posthorn::relay {

struct TrackerLimits {
  std::size_t max_message_bytes = 64u << 10;
  std::size_t max_swarms_per_client = 64;
  std::size_t max_members_per_swarm = 10'000;
  /// Offers forwarded per announce (WebTorrent sends up to 10, Trystero 3); capped at the codec's
  /// kMaxOffers. Beyond it offers are ignored, not refused.
  std::size_t max_offers = 10;
  /// Told to clients in every reply: bittorrent-tracker's WebSocket default (its 10-minute HTTP
  /// interval / 5). Trystero re-announces every clamp(interval, 10 s, 120 s).
  std::chrono::seconds interval{120};
  /// A member silent this long is gone; well above the 120 s at which Trystero re-announces.
  std::chrono::seconds member_ttl{300};
  double rate_per_second = 50;
  double burst = 200;
  std::uint32_t max_refusals = 50;
};

struct TrackerStats {
  std::uint64_t clients = 0;
  std::uint64_t swarms = 0;
  std::uint64_t members = 0;
  std::uint64_t announces = 0;        ///< accepted announces (answers not included)
  std::uint64_t offers_forwarded = 0; ///< one per offer sent to a member
  std::uint64_t answers_routed = 0;
  std::uint64_t answers_dropped = 0; ///< to a swarm or peer_id nobody holds
  std::uint64_t refused = 0;         ///< malformed, oversized, over a limit, peer_id taken
  std::uint64_t disconnected = 0;
  std::uint64_t expired = 0; ///< members dropped after member_ttl of silence
};

class TrackerHub {
public:
  explicit TrackerHub(TrackerLimits limits = {}, std::uint64_t seed = 0)
      : limits_(limits), rng_(seed) {}
  // Members and clients point at unordered_map nodes: a move keeps the nodes, a copy would not.
  TrackerHub(const TrackerHub&) = delete;
  TrackerHub& operator=(const TrackerHub&) = delete;
  TrackerHub(TrackerHub&&) noexcept = default;
  TrackerHub& operator=(TrackerHub&&) noexcept = default;

  void add_client(ClientId id, Clock::time_point now);
  void remove_client(ClientId id);
  /// One text message from `from` (a client that was added).
  [[nodiscard]] HubOutput handle(ClientId from, std::string_view text, Clock::time_point now);
  /// Drops every member silent for member_ttl; returns how many.
  std::size_t expire(Clock::time_point now);

  [[nodiscard]] TrackerStats stats() const;
  [[nodiscard]] const TrackerLimits& limits() const noexcept { return limits_; }

private:
  friend struct TrackerHubTesting;

  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  template <class V>
  using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

  struct Member {
    ClientId client = 0;
    Clock::time_point last_seen{};
    std::uint32_t slot = 0; ///< its index in Swarm::order
    bool complete = false;  ///< announced left == 0 (a seeder, in BitTorrent terms)
  };
  using MemberEntry = StringMap<Member>::value_type; // (peer_id, member)
  struct Swarm {
    // unordered_map nodes never move, so `order` (and clients) may point at them. `order` makes
    // a random member O(1); removal swaps the last one into the hole.
    StringMap<Member> members;
    std::vector<MemberEntry*> order;
    std::size_t complete = 0;
  };
  using SwarmEntry = StringMap<Swarm>::value_type; // (info_hash, swarm)

  struct Membership {
    SwarmEntry* swarm;
    MemberEntry* member;
  };
  struct Client {
    TokenBucket tokens;
    std::uint32_t refusals_in_a_row = 0;
    std::vector<Membership> swarms; ///< at most max_swarms_per_client
  };

  /// Adds or refreshes `from` as `peer_id` in the swarm; or why not.
  std::variant<Membership, std::string> join(ClientId from, Client& client,
                                             const std::string& info_hash,
                                             const std::string& peer_id, bool complete,
                                             Clock::time_point now);
  void leave(ClientId from, const std::string& info_hash, const std::string& peer_id);
  void announce(ClientId from, Client& client, signal::tracker::Announce& message,
                Clock::time_point now, HubOutput& out);
  void route_answer(ClientId from, Client& client, signal::tracker::SendAnswer& message,
                    Clock::time_point now, HubOutput& out);
  /// Up to `wanted` distinct random members other than `sender` into picked_, dropping the
  /// stale ones met on the way.
  void pick_targets(SwarmEntry& swarm, const MemberEntry* sender, std::size_t wanted,
                    Clock::time_point now);
  void reply(ClientId to, const std::string& info_hash, HubOutput& out) const;
  void refuse(ClientId id, Client& client, std::string reason, std::optional<std::string> info_hash,
              HubOutput& out);

  [[nodiscard]] bool is_expired(const Member& m, Clock::time_point now) const {
    return now - m.last_seen >= limits_.member_ttl;
  }
  /// Removes `member` from its swarm and from its client's list; erases the swarm when empty
  /// unless `keep_swarm` (the caller iterates over swarms_).
  void drop(SwarmEntry& swarm, MemberEntry& member, bool keep_swarm = false);
  void unlink(SwarmEntry& swarm, MemberEntry& member);

  TrackerLimits limits_;
  SeededRng rng_;
  std::unordered_map<ClientId, Client> clients_;
  StringMap<Swarm> swarms_;
  Clock::time_point next_sweep_ = Clock::time_point::min();
  std::vector<MemberEntry*> picked_; // scratch for pick_targets, kept to reuse its capacity
  std::vector<MemberEntry*> stale_;
  TrackerStats stats_;
};

} // namespace posthorn::relay
