#pragma once
// The torrent strategy: Trystero's signaling through WebTorrent trackers (spec §5.2) — public ones
// (wss://tracker.webtorrent.dev, …), the npm bittorrent-tracker server, or `posthorn relay`.
// Several trackers at once; relay index = index in `urls`.
//
// A tracker has no topics. Each room's info_hash stands in for one: "subscribing" sends nothing
// and is ready as soon as the connection is open; every message from the tracker names its
// info_hash and goes to that room; what the room publishes is a complete tracker message
// (signal/tracker_codec.hpp), composed by its TorrentCoordinator, sent as it is. A tracker's
// "failure reason" without an info_hash is logged and counted (JS logs them too).
//
// Threading: as every strategy (strategy.hpp).

#include "core/rng.hpp"
#include "net/tls.hpp"
#include "strategy/strategy.hpp"
#include "strategy/topic_relays.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace posthorn::strategy {

struct TorrentStrategyConfig {
  std::vector<std::string> urls; ///< ws:// or wss://
  detail::ReconnectPolicy reconnect;
  std::chrono::milliseconds connect_timeout{10'000};
  /// An announce carries three complete SDPs; a forwarded offer one.
  std::size_t max_message_size = 256u << 10;
  std::size_t max_queued_bytes = 4u << 20;
  std::chrono::milliseconds idle_timeout{60'000};
  net::TlsOptions tls;
};

/// Trystero's default trackers, the first `redundancy` of them (no shuffle, spec §5.2).
[[nodiscard]] std::vector<std::string> torrent_default_trackers(std::size_t redundancy = 3);

/// Throws std::invalid_argument on a bad configuration (no URL, a URL that is not ws/wss).
[[nodiscard]] std::unique_ptr<Strategy> make_torrent_strategy(boost::asio::any_io_executor executor,
                                                              TorrentStrategyConfig config,
                                                              Rng& rng);

} // namespace posthorn::strategy
