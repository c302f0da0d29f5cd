#pragma once
// Test-only access to relay internals (STYLE.md: one explicit testing.hpp per layer). Production
// code must not include this.

#include "relay/tracker_hub.hpp"

#include <string>

namespace posthorn::relay {

struct TrackerHubTesting {
  /// The first broken invariant of the hub's indexes, or "" when they all hold: every swarm is
  /// non-empty and within its bound, its `order` and its map hold the same members with the right
  /// slots and seeder count, every member belongs to a connected client that lists it, and every
  /// client lists only members it holds, at most one per swarm and max_swarms_per_client in all.
  static std::string audit(const TrackerHub& hub) {
    std::size_t memberships = 0;
    for (const auto& [id, client] : hub.clients_) {
      memberships += client.swarms.size();
      if (client.swarms.size() > hub.limits_.max_swarms_per_client)
        return "client " + std::to_string(id) + " is in too many swarms";
      for (std::size_t i = 0; i < client.swarms.size(); ++i) {
        const auto& held = client.swarms[i];
        auto sit = hub.swarms_.find(held.swarm->first);
        if (sit == hub.swarms_.end() || &*sit != held.swarm)
          return "client " + std::to_string(id) + " lists a swarm that is gone";
        auto mit = sit->second.members.find(held.member->first);
        if (mit == sit->second.members.end() || &*mit != held.member)
          return "client " + std::to_string(id) + " lists a member that is gone";
        if (held.member->second.client != id)
          return "client " + std::to_string(id) + " lists another client's member";
        for (std::size_t k = 0; k < i; ++k)
          if (client.swarms[k].swarm == held.swarm)
            return "client " + std::to_string(id) + " holds two peer_ids in one swarm";
      }
    }
    std::size_t members = 0;
    for (const auto& [info_hash, swarm] : hub.swarms_) {
      if (swarm.members.empty()) return "an empty swarm stayed";
      if (swarm.members.size() > hub.limits_.max_members_per_swarm) return "a swarm overflowed";
      if (swarm.order.size() != swarm.members.size()) return "order and members disagree";
      std::size_t complete = 0;
      for (std::size_t i = 0; i < swarm.order.size(); ++i) {
        const auto* entry = swarm.order[i];
        auto mit = swarm.members.find(entry->first);
        if (mit == swarm.members.end() || &*mit != entry) return "order points outside the swarm";
        if (entry->second.slot != i) return "a member's slot is wrong";
        if (!hub.clients_.contains(entry->second.client))
          return "a member of a disconnected client stayed";
        complete += entry->second.complete ? 1 : 0;
      }
      if (complete != swarm.complete) return "the seeder count is wrong";
      members += swarm.members.size();
    }
    // Every member is listed by its client (each listing was checked against the swarms above).
    if (members != memberships) return "members and client listings disagree";
    return "";
  }
};

} // namespace posthorn::relay
