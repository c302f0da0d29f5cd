#include "api/app_session.hpp"
#include "api/room_impl.hpp"
#include "api/runtime_impl.hpp"
#include "api/tuning.hpp"
#include "dtls/certificate.hpp"
#include "runtime/interfaces.hpp"
#include "runtime/server_url.hpp"
#include "signal/trystero_ids.hpp"
#include "strategy/mqtt_strategy.hpp"
#include "strategy/nostr_strategy.hpp"
#include "strategy/torrent_strategy.hpp"
#include "strategy/wsrelay_strategy.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <future>
#include <stdexcept>

namespace posthorn {
namespace detail {

RuntimeImpl::RuntimeImpl(RuntimeOptions options) : options_(std::move(options)) {
  // spec §1: one id per process in JS; one per runtime here (a process may host several).
  self_id_ = signal::gen_id(rng_, 20);
  auto certificate = dtls::Certificate::generate();
  if (!certificate)
    throw std::runtime_error("posthorn: cannot generate a DTLS certificate: " +
                             certificate.error().message());
  base_config_.certificate = *certificate;
  for (const auto& server : options_.stun_servers) {
    auto address = SocketAddress::parse(server);
    if (!address)
      throw std::invalid_argument("posthorn: STUN server '" + server +
                                  "' is not a numeric host:port");
    base_config_.stun_servers.push_back(*address);
  }
  for (const auto& server : options_.turn_servers) {
    auto turn = runtime::turn_server_config(server.url, server.username, server.credential);
    if (!turn)
      throw std::invalid_argument("posthorn: TURN server '" + server.url + "': " + turn.error());
    base_config_.turn_servers.push_back(*turn);
  }
  if (options_.relay_only) {
    if (base_config_.turn_servers.empty())
      throw std::invalid_argument("posthorn: relay_only needs at least one TURN server");
    base_config_.ice_transport_policy = ice::IceTransportPolicy::Relay;
  }
  for (const auto& text : options_.bind_addresses) {
    auto ip = IpAddress::parse(text);
    if (!ip) throw std::invalid_argument("posthorn: bind address '" + text + "' is not an IP");
    bind_addresses_.push_back(*ip);
  }
  if (bind_addresses_.empty())
    bind_addresses_ = runtime::local_interface_addresses({.include_loopback = true});
  work_.emplace(io_.get_executor());
}

RuntimeImpl::~RuntimeImpl() {
  shutdown();
}

void RuntimeImpl::start_thread() {
  {
    std::lock_guard lock(graveyard_mutex_);
    loop_thread_running_ = true;
  }
  thread_ = std::thread([this] { io_.run(); });
}

void RuntimeImpl::shutdown() {
  if (!work_) return;
  auto drop_everything = [this] {
    apps_.clear();
    mdns_.reset();
    std::map<std::string, SharedStrategy> strategies;
    {
      std::lock_guard lock(strategies_mutex_);
      strategies.swap(strategies_);
    }
    for (auto& [key, entry] : strategies)
      entry.strategy->close();
  };
  if (thread_.joinable()) {
    // drop_everything must run before the loop stops: it closes the strategies, whose handlers
    // hold the rooms, which hold this runtime (a cycle LeakSanitizer caught when io_.stop() won
    // the race). So it is posted while the work guard still keeps run() going, and it stops the
    // loop itself.
    boost::asio::post(io_, [this, drop_everything] {
      drop_everything();
      {
        std::lock_guard lock(graveyard_mutex_);
        loop_thread_running_ = false; // from here on, rooms are destroyed where they are dropped
      }
      io_.stop();
    });
    work_.reset();
    thread_.join();
    bury_the_dead(); // rooms queued after the loop's last turn; no other thread runs now
  } else {
    work_.reset();
    drop_everything();
    io_.stop();
  }
}

const std::shared_ptr<runtime::MdnsService>& RuntimeImpl::mdns() {
  if (!mdns_) mdns_ = std::make_shared<runtime::MdnsService>(io_.get_executor());
  return mdns_;
}

std::shared_ptr<runtime::UdpMux> RuntimeImpl::connection_sockets() {
  return std::make_shared<runtime::UdpMux>(io_.get_executor(), bind_addresses_);
}

std::shared_ptr<strategy::Strategy> RuntimeImpl::strategy_for(const StrategyConfig& config) {
  std::string key = config.name;
  for (const auto& url : config.relay_urls)
    key += '\n' + url;
  std::lock_guard lock(strategies_mutex_);
  auto& entry = strategies_[key];
  if (!entry.strategy) {
    if (config.name == "mqtt") {
      strategy::MqttStrategyConfig mc;
      mc.urls = config.relay_urls;
      entry.strategy = strategy::make_mqtt_strategy(io_.get_executor(), std::move(mc), rng_);
    } else if (config.name == "wsrelay") {
      strategy::WsRelayStrategyConfig wc;
      wc.urls = config.relay_urls;
      entry.strategy = strategy::make_wsrelay_strategy(io_.get_executor(), std::move(wc), rng_);
    } else if (config.name == "nostr") {
      strategy::NostrStrategyConfig nc;
      nc.urls = config.relay_urls;
      entry.strategy = strategy::make_nostr_strategy(io_.get_executor(), std::move(nc), rng_);
    } else if (config.name == "torrent") {
      strategy::TorrentStrategyConfig tc;
      tc.urls = config.relay_urls;
      entry.strategy = strategy::make_torrent_strategy(io_.get_executor(), std::move(tc), rng_);
    } else {
      strategies_.erase(key);
      throw std::invalid_argument("posthorn: unknown strategy '" + config.name +
                                  "' (this build has: mqtt, wsrelay, nostr, torrent)");
    }
  }
  ++entry.users;
  ++entry.generation;
  // A lease: the strategy itself belongs to the runtime (see release_strategy).
  return {entry.strategy.get(), [weak = weak_from_this(), key](strategy::Strategy*) {
            if (auto self = weak.lock()) self->release_strategy(key);
          }};
}

void RuntimeImpl::release_strategy(const std::string& key) {
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(strategies_mutex_);
    auto it = strategies_.find(key);
    if (it == strategies_.end() || --it->second.users > 0) return;
    generation = it->second.generation;
  }
  boost::asio::post(io_, [weak = weak_from_this(), key, generation] {
    auto self = weak.lock();
    if (!self) return;
    auto timer = std::make_shared<boost::asio::steady_timer>(self->io_, tuning::kSignalingLinger);
    timer->async_wait([weak, key, generation, timer](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self) return;
      std::unique_ptr<strategy::Strategy> idle;
      {
        std::lock_guard lock(self->strategies_mutex_);
        auto it = self->strategies_.find(key);
        if (it == self->strategies_.end() || it->second.users > 0 ||
            it->second.generation != generation)
          return; // leased again meanwhile
        idle = std::move(it->second.strategy);
        self->strategies_.erase(it);
      }
      idle->close();
    });
  });
}

std::shared_ptr<AppSession> RuntimeImpl::app_session(const std::string& app_id) {
  auto& session = apps_[app_id];
  if (!session) session = std::make_shared<AppSession>(weak_from_this(), app_id);
  return session;
}

std::shared_ptr<RoomImpl> RuntimeImpl::find_room(const std::string& app_id,
                                                 const std::string& room_id) {
  std::lock_guard lock(rooms_mutex_);
  auto it = rooms_.find({app_id, room_id});
  return it == rooms_.end() ? nullptr : it->second.lock();
}

void RuntimeImpl::register_room(const std::string& app_id, const std::string& room_id,
                                const std::shared_ptr<RoomImpl>& room) {
  std::lock_guard lock(rooms_mutex_);
  rooms_[{app_id, room_id}] = room;
}

void RuntimeImpl::destroy_on_loop(std::unique_ptr<RoomImpl> room) {
  if (io_.get_executor().running_in_this_thread()) return; // `room` goes out of scope here
  std::unique_lock lock(graveyard_mutex_);
  if (!loop_thread_running_) {
    lock.unlock();
    return; // no loop thread: the caller's thread is the only one touching the room
  }
  const bool first = graveyard_.empty();
  graveyard_.push_back(std::move(room));
  if (first)
    boost::asio::post(io_, [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->bury_the_dead();
    });
}

void RuntimeImpl::bury_the_dead() {
  std::vector<std::unique_ptr<RoomImpl>> dead;
  {
    std::lock_guard lock(graveyard_mutex_);
    dead.swap(graveyard_);
  }
  dead.clear(); // outside the lock: a room's teardown may drop further rooms
}

void RuntimeImpl::forget_room(const std::string& app_id, const std::string& room_id) {
  std::lock_guard lock(rooms_mutex_);
  rooms_.erase({app_id, room_id});
}

} // namespace detail

Runtime::Runtime() : Runtime(RuntimeOptions{}) {}

Runtime::Runtime(RuntimeOptions options) {
  const bool own_thread = options.own_thread;
  impl_ = std::make_shared<detail::RuntimeImpl>(std::move(options));
  if (own_thread) impl_->start_thread();
}

Runtime::~Runtime() {
  impl_->shutdown();
}

boost::asio::any_io_executor Runtime::get_executor() const {
  return impl_->executor();
}
void Runtime::run() {
  impl_->io().run();
}
void Runtime::stop() {
  impl_->io().stop();
}
const PeerId& Runtime::self_id() const {
  return impl_->self_id();
}

} // namespace posthorn
