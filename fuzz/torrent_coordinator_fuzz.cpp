// The TorrentCoordinator driven by a script of tracker traffic and PeerConnection events, one
// line per step, the first byte choosing the step:
//   'm' rest        the rest as a tracker message on the room's info_hash (arbitrary text)
//   'o' p id        a valid, encrypted offer from remote peer p (0-9) with offer_id "id"
//   'a' p k         a valid, encrypted answer from peer p to the k-th offer of our last announce
//   'c' k / 'f' k   the k-th PC we were asked for connects / fails
//   'l' p           connected peer p is lost
//   'd' k           PC k's description arrives (gathering done)
//   't' n           n × 250 ms pass
//   'r' / 'x'       the tracker connection is lost / ready again
// Random bytes alone rarely make a valid offer (they cannot encrypt), hence the crafted steps.
// Invariants beyond "no crash": the pool never exceeds its size; every Publish is a client
// message our decoder accepts, naming our info_hash and peer_id; ApplyAnswer names a peer; the
// de-duplication table stays bounded; after leave() there is no timer.
#include "core/overloaded.hpp"
#include "core/rng.hpp"
#include "signal/signal_cipher.hpp"
#include "signal/torrent_coordinator.hpp"
#include "signal/tracker_codec.hpp"

#include <cstdlib>
#include <string>
#include <vector>

using namespace posthorn;
using namespace posthorn::signal;

namespace {

const std::string kSelf = "M0000000000000000000";

std::string remote_id(char p) {
  // Half below our id (we answer them), half above.
  std::string id = (p % 2 ? "A" : "z") + std::string(19, '0');
  id[19] = static_cast<char>('0' + (static_cast<unsigned char>(p) % 10));
  return id;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  SeededRng rng(1);
  TorrentConfig config{.app_id = "fuzz", .room_id = "room", .self_id = kSelf, .relay_count = 1};
  config.limits.max_peers = 8;
  config.limits.max_dedupe_entries = 16;
  config.passive = !input.empty() && input[0] == 'P';
  TorrentCoordinator c(config, rng);
  const auto key = SignalKey::derive("", "fuzz", "room");
  TimePoint now = TimePoint{} + std::chrono::hours(1);
  std::vector<PcId> pcs;                   // in the order we were asked for them
  std::vector<std::string> last_offer_ids; // of our last announce
  const auto drain = [&] {
    while (auto command = c.poll_command()) {
      std::visit(overloaded{
                     [&](Publish& p) {
                       auto m = tracker::decode_client_message(p.text);
                       const auto* message = std::get_if<tracker::ClientMessage>(&m);
                       if (!message) std::abort();
                       if (const auto* a = std::get_if<tracker::Announce>(message)) {
                         if (a->info_hash != c.info_hash() || a->peer_id != kSelf) std::abort();
                         if (!a->offers.empty()) {
                           last_offer_ids.clear();
                           for (const auto& o : a->offers)
                             last_offer_ids.push_back(o.offer_id);
                         }
                       }
                     },
                     [&](CreateOffer& o) { pcs.push_back(o.pc); },
                     [&](CreateAnswer& a) { pcs.push_back(a.pc); },
                     [&](ApplyAnswer& a) {
                       if (a.peer.empty()) std::abort();
                     },
                     [](auto&) {},
                 },
                 *command);
    }
    while (c.poll_event()) {
    }
    if (c.pool_offers() > config.limits.pool_size) std::abort();
    if (c.remembered_signals() > config.limits.max_dedupe_entries + 1) std::abort();
  };
  c.start(now);
  c.handle_relay_ready(now, 0);
  drain();
  std::size_t start = 0;
  while (start < input.size()) {
    auto end = input.find('\n', start);
    if (end == std::string_view::npos) end = input.size();
    auto line = input.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    const char step = line[0];
    line.remove_prefix(1);
    const auto byte = [&](std::size_t i) -> unsigned char {
      return i < line.size() ? static_cast<unsigned char>(line[i]) : 0;
    };
    const auto pc_at = [&](std::size_t i) -> PcId {
      return pcs.empty() ? 0 : pcs[byte(i) % pcs.size()];
    };
    switch (step) {
    case 'm': c.handle_message(now, 0, c.info_hash(), line); break;
    case 'o': {
      tracker::PeerOffer offer{c.info_hash(), remote_id(static_cast<char>(byte(0))),
                               std::string(line.size() > 1 ? line.substr(1) : "id"),
                               encrypt(key, "v=0 fuzzed offer", rng)};
      if (offer.offer_id.size() > tracker::kMaxOfferIdBytes) offer.offer_id.resize(8);
      c.handle_message(now, 0, c.info_hash(), tracker::encode(offer));
      break;
    }
    case 'a': {
      if (last_offer_ids.empty()) break;
      tracker::PeerAnswer answer{c.info_hash(), remote_id(static_cast<char>(byte(0))),
                                 last_offer_ids[byte(1) % last_offer_ids.size()],
                                 encrypt(key, "v=0 fuzzed answer", rng)};
      c.handle_message(now, 0, c.info_hash(), tracker::encode(answer));
      break;
    }
    case 'c': c.handle_connected(now, pc_at(0)); break;
    case 'f': c.handle_pc_failed(now, pc_at(0)); break;
    case 'l': c.handle_peer_lost(now, remote_id(static_cast<char>(byte(0)))); break;
    case 'd': c.handle_local_description(now, pc_at(0), "v=0 local"); break;
    case 't': {
      now += std::chrono::milliseconds(250) * (1 + byte(0) % 64);
      if (auto due = c.poll_timeout(); due && *due <= now) c.handle_timeout(now);
      break;
    }
    case 'r': c.handle_relay_lost(now, 0); break;
    case 'x': c.handle_relay_ready(now, 0); break;
    default: break;
    }
    drain();
  }
  c.leave(now);
  drain();
  if (c.poll_timeout()) std::abort();
  return 0;
}
