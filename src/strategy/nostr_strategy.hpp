#pragma once
// Trystero's Nostr strategy (spec/trystero-wire.md §5.1): topic pub/sub through Nostr relays
// with NIP-01 over ws:// or wss://. Several relays at once; relay index = index in `urls`.
//
// Per relay, one session at a time (TopicRelays runs the reconnect loop). The topics of a session
// form one batch, sent as REQs of at most 250 topics each, every REQ with its own subscription id
// kept for that chunk, filtering on the topics' kinds, `#x` and `since` = now; a change to the
// batch is flushed on the next turn of the loop (a room adds its self and root topics together),
// and an emptied chunk is CLOSEd. A topic is ready when its REQ's EOSE arrives. Publishing signs
// an ephemeral event (kind from the topic, an `x` tag) with the strategy's key. Incoming events
// are verified (Trystero does not, §5.1) and handed to the topic named by their `x` tag.
//
// A relay that refuses an event for a reason other than rate limiting, or CLOSEs a subscription,
// is retired (RelayState::Failed), as Trystero does; rate-limited and duplicate OKs are counted.
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

struct NostrStrategyConfig {
  std::vector<std::string> urls; ///< ws:// or wss://
  /// Trystero reconnects after a uniform delay in [0, period), period 3 333 ms doubling, and
  /// gives up after five retries (§5.1); ours is the same schedule with equal jitter.
  detail::ReconnectPolicy reconnect{.min = std::chrono::milliseconds(3'333),
                                    .max = std::chrono::milliseconds(53'328),
                                    .max_attempts = 6};
  std::chrono::milliseconds connect_timeout{10'000};
  std::size_t max_message_size = 256u << 10;
  std::size_t max_queued_bytes = 4u << 20;
  std::chrono::milliseconds idle_timeout{60'000};
  net::TlsOptions tls;
};

/// Trystero's default relays for an app (§5.1, TV9): the 28 defaults shuffled with
/// strToNum(app_id) as the seed, the first `redundancy` of them.
[[nodiscard]] std::vector<std::string> nostr_default_relays(std::string_view app_id,
                                                            std::size_t redundancy = 5);

/// Throws std::invalid_argument on a bad configuration (no URL, a URL that is not ws/wss).
[[nodiscard]] std::unique_ptr<Strategy> make_nostr_strategy(boost::asio::any_io_executor executor,
                                                            NostrStrategyConfig config, Rng& rng);

} // namespace posthorn::strategy
