#include "ice/mdns_resolver.hpp"

#include "core/log.hpp"
#include "ice/mdns_errc.hpp"

#include <algorithm>

namespace posthorn::ice::mdns {
namespace {

/// Addresses that cannot be an ICE candidate's. Responders do advertise them: on the development
/// machine, Chromium instances announced names with A 0.0.0.0 and AAAA :: (docs/mdns.md).
bool is_usable(const IpAddress& ip) noexcept {
  if (ip.is_unspecified()) return false;
  const auto b = ip.bytes();
  if (ip.is_v4()) return b[0] < 224; // multicast 224/4, reserved 240/4, broadcast
  return b[0] != 0xff;               // IPv6 multicast
}

} // namespace

Resolver::Resolver(ResolverConfig config) : config_(std::move(config)) {}
Resolver::~Resolver() = default;

result<QueryId> Resolver::resolve(TimePoint now, std::string_view text) {
  auto name = Name::parse(text);
  if (!name) return name.error();
  if (!name->is_local()) return Errc::NotLocal;
  auto key = name->key();
  // A cached answer costs nothing to serve, so the bound below does not apply to it.
  if (auto ip = live_address(now, key)) {
    const QueryId id = next_id_++;
    events_.push_back(Resolved{id, std::string(text), *ip});
    ++stats_.resolved;
    return id;
  }
  if (outstanding_ >= config_.max_queries) return Errc::TooManyQueries;
  const QueryId id = next_id_++;
  ++outstanding_;
  for (auto& lookup : lookups_) {
    if (lookup.key == key) {
      lookup.waiters.push_back({id, std::string(text)});
      return id;
    }
  }
  // RFC 6762 §5.2 suggests delaying a querier's first query by 20-120 ms so that hosts that
  // start together do not query in sync. Our queries are triggered by one peer's signalling,
  // not by a boot or a link change, so we send at once: the delay would only add latency.
  Lookup lookup{std::move(*name),
                std::move(key),
                {{id, std::string(text)}},
                now + config_.timing.first_retransmit,
                config_.timing.first_retransmit,
                now + config_.timing.timeout};
  send_queries(lookup);
  lookups_.push_back(std::move(lookup));
  return id;
}

void Resolver::cancel(QueryId id) {
  for (auto it = lookups_.begin(); it != lookups_.end(); ++it) {
    auto& waiters = it->waiters;
    const auto before = waiters.size();
    std::erase_if(waiters, [&](const Waiter& w) { return w.id == id; });
    if (waiters.size() == before) continue;
    --outstanding_;
    if (waiters.empty()) lookups_.erase(it);
    return;
  }
  // Resolved from the cache, event not yet polled.
  std::erase_if(events_, [&](const Event& e) {
    const auto* r = std::get_if<Resolved>(&e);
    return r && r->id == id;
  });
}

void Resolver::send_queries(const Lookup& lookup) {
  for (const auto& destination : config_.destinations) {
    if (config_.query_a) {
      transmits_.push_back({destination, make_query(lookup.name, rr_type::kA)});
      ++stats_.queries_sent;
    }
    if (config_.query_aaaa) {
      transmits_.push_back({destination, make_query(lookup.name, rr_type::kAaaa)});
      ++stats_.queries_sent;
    }
  }
}

void Resolver::handle_datagram(TimePoint now, const SocketAddress& from, ByteView data) {
  ++stats_.datagrams_received;
  // RFC 6762 §6: "Multicast DNS implementations MUST silently ignore any Multicast DNS responses
  // they receive where the source UDP port is not 5353." (Legacy unicast answers, §6.7, come
  // from 5353 too.)
  if (from.port() != kPort) {
    ++stats_.dropped_bad_source_port;
    return;
  }
  auto message = Message::decode(data);
  if (!message) {
    ++stats_.dropped_malformed;
    POSTHORN_LOG(Debug, "mdns", "malformed datagram: ", message.error().message());
    return;
  }
  if (!message->is_response()) {
    ++stats_.dropped_not_response;
    return;
  }
  // RFC 6762 §18.3 and §18.11: a non-zero OPCODE or RCODE MUST be silently ignored.
  if (message->opcode() != 0 || message->rcode() != 0) {
    ++stats_.dropped_bad_header;
    return;
  }
  // RFC 6762 §6: questions in a response are ignored; records may come in the Answer or the
  // Additional section (Chromium answers an AAAA question for an IPv4 name with NSEC in the
  // answer and the A record as additional). The Authority section only carries probe data.
  for (const auto* section : {&message->answers, &message->additionals})
    for (const auto& record : *section)
      learn(now, record);
}

void Resolver::learn(TimePoint now, const Record& record) {
  if (record.type != rr_type::kA && record.type != rr_type::kAaaa) return;
  const auto ip = record.address(); // nullopt for a wrong class or length
  if (!ip || !is_usable(*ip) || !record.name.is_local()) {
    ++stats_.records_ignored;
    return;
  }
  const auto key = record.name.key();
  // RFC 2181 §8: a TTL with the top bit set is treated as zero.
  const std::uint32_t ttl = record.ttl >= 0x80000000u ? 0 : record.ttl;
  if (ttl == 0) {
    // RFC 6762 §10.1 goodbye: keep the record one more second but stop serving it.
    ++stats_.goodbyes;
    auto it = cache_.find(key);
    if (it == cache_.end()) return;
    auto& slot = ip->is_v4() ? it->second.v4 : it->second.v6;
    if (slot && slot->address == *ip) {
      slot->goodbye = true;
      slot->expires = std::min(slot->expires, now + config_.timing.goodbye_delay);
    }
    return;
  }
  const Duration lifetime = std::min<Duration>(seconds(ttl), config_.timing.max_cache_ttl);
  insert(now, key, CachedAddress{*ip, now + lifetime, false});

  auto lookup =
      std::find_if(lookups_.begin(), lookups_.end(), [&](const Lookup& l) { return l.key == key; });
  if (lookup == lookups_.end()) return;
  for (auto& w : lookup->waiters) {
    events_.push_back(Resolved{w.id, std::move(w.name), *ip});
    ++stats_.resolved;
  }
  outstanding_ -= lookup->waiters.size();
  lookups_.erase(lookup);
}

void Resolver::insert(TimePoint now, const std::string& key, const CachedAddress& entry) {
  if (config_.max_cache_entries == 0) return;
  auto expiry = [](const CacheEntry& e) {
    TimePoint t{};
    if (e.v4) t = std::max(t, e.v4->expires);
    if (e.v6) t = std::max(t, e.v6->expires);
    return t;
  };
  if (!cache_.contains(key) && cache_.size() >= config_.max_cache_entries) {
    std::erase_if(cache_, [&](const auto& kv) { return expiry(kv.second) <= now; });
    if (cache_.size() >= config_.max_cache_entries) {
      // Full of live entries: drop the one closest to expiring; it costs at most a re-query.
      auto victim =
          std::min_element(cache_.begin(), cache_.end(), [&](const auto& a, const auto& b) {
            return expiry(a.second) < expiry(b.second);
          });
      cache_.erase(victim);
      ++stats_.cache_evictions;
    }
  }
  auto& e = cache_[key];
  // One address per family: a newer record replaces the older (RFC 6762 §10.2 cache flush; a
  // browser's name never has two addresses of one family).
  (entry.address.is_v4() ? e.v4 : e.v6) = entry;
}

std::optional<IpAddress> Resolver::live_address(TimePoint now, const std::string& key) const {
  auto it = cache_.find(key);
  if (it == cache_.end()) return std::nullopt;
  for (const auto* slot : {&it->second.v4, &it->second.v6})
    if (*slot && !(*slot)->goodbye && (*slot)->expires > now) return (*slot)->address;
  return std::nullopt;
}

void Resolver::handle_timeout(TimePoint now) {
  for (auto it = lookups_.begin(); it != lookups_.end();) {
    if (now >= it->deadline) {
      for (auto& w : it->waiters) {
        events_.push_back(Failed{w.id, std::move(w.name), make_error_code(Errc::TimedOut)});
        ++stats_.timed_out;
      }
      outstanding_ -= it->waiters.size();
      it = lookups_.erase(it);
      continue;
    }
    if (now >= it->next_send) {
      send_queries(*it);
      // RFC 6762 §5.2: successive intervals at least double.
      it->interval *= 2;
      it->next_send = now + it->interval;
    }
    ++it;
  }
}

std::optional<Transmit> Resolver::poll_transmit() {
  if (transmits_.empty()) return std::nullopt;
  auto t = std::move(transmits_.front());
  transmits_.pop_front();
  return t;
}

std::optional<Event> Resolver::poll_event() {
  if (events_.empty()) return std::nullopt;
  auto e = std::move(events_.front());
  events_.pop_front();
  return e;
}

std::optional<TimePoint> Resolver::poll_timeout() const {
  std::optional<TimePoint> next;
  for (const auto& l : lookups_) {
    const auto t = std::min(l.next_send, l.deadline);
    if (!next || t < *next) next = t;
  }
  return next;
}

std::optional<IpAddress> Resolver::cached(TimePoint now, std::string_view text) const {
  auto name = Name::parse(text);
  if (!name) return std::nullopt;
  return live_address(now, name->key());
}

std::size_t Resolver::outstanding() const noexcept {
  return outstanding_;
}

std::size_t Resolver::cache_size() const noexcept {
  return cache_.size();
}

} // namespace posthorn::ice::mdns
