#pragma once
// The state behind posthorn::Runtime: the event loop, the shared UDP sockets, the certificate,
// this process's peer id, and the rooms and app sessions that live on the loop.

#include "core/rng.hpp"
#include "rtc/peer_connection.hpp"
#include "runtime/mdns_service.hpp"
#include "runtime/udp_mux.hpp"
#include "strategy/strategy.hpp"

#include <posthorn/room.hpp>
#include <posthorn/runtime.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace posthorn::detail {

class AppSession;
class RoomImpl;

class RuntimeImpl : public std::enable_shared_from_this<RuntimeImpl> {
public:
  explicit RuntimeImpl(RuntimeOptions options);
  ~RuntimeImpl();

  void start_thread();
  void shutdown();

  [[nodiscard]] boost::asio::any_io_executor executor() { return io_.get_executor(); }
  boost::asio::io_context& io() { return io_; }
  [[nodiscard]] const PeerId& self_id() const noexcept { return self_id_; }
  Rng& rng() { return rng_; }
  /// Sockets for one new peer connection. Each connection gets its own, as in a browser: two
  /// connections between the same two runtimes (two apps, or a reconnect while the old link
  /// lingers) would otherwise share one 5-tuple, and datagrams routed by remote address would
  /// reach the wrong connection.
  [[nodiscard]] std::shared_ptr<runtime::UdpMux> connection_sockets();
  /// The signaling strategy for `config`, shared by every room of this runtime on the same medium
  /// and relays: one broker connection serves them all (a second room joins over an open
  /// connection, and public brokers see one client, not one per room). The handle is a lease:
  /// when the last room lets go, the connections linger for tuning::kSignalingLinger, then close.
  /// Throws std::invalid_argument for an unknown strategy name. Any thread.
  [[nodiscard]] std::shared_ptr<strategy::Strategy> strategy_for(const StrategyConfig& config);
  /// Resolves browsers' ".local" candidates for every connection of the runtime (one set of
  /// multicast sockets, opened on first use). Loop thread only.
  [[nodiscard]] const std::shared_ptr<runtime::MdnsService>& mdns();
  /// A fresh configuration for one peer connection.
  [[nodiscard]] rtc::Configuration peer_config() const { return base_config_; }

  /// The session of an app (created on first use). Loop thread only.
  std::shared_ptr<AppSession> app_session(const std::string& app_id);
  /// Rooms by (app, room): join_room is idempotent. Any thread.
  std::shared_ptr<RoomImpl> find_room(const std::string& app_id, const std::string& room_id);
  void register_room(const std::string& app_id, const std::string& room_id,
                     const std::shared_ptr<RoomImpl>& room);
  void forget_room(const std::string& app_id, const std::string& room_id);
  /// Destroys a room on the loop thread, whichever thread let go of its last reference. A room's
  /// subscriptions, peer links and timers belong to the loop: a room torn down by the user's
  /// thread while the loop flushed the same subscription list was a use-after-free (ASan, CI).
  /// Inline when called on the loop, or when no loop thread runs (before start_thread, after
  /// shutdown, or with own_thread off, where the user drives the loop). Any thread.
  void destroy_on_loop(std::unique_ptr<RoomImpl> room);

private:
  void bury_the_dead(); // destroys what destroy_on_loop queued
  RuntimeOptions options_;
  boost::asio::io_context io_{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  CryptoRng rng_;
  PeerId self_id_;
  rtc::Configuration base_config_;
  std::vector<IpAddress> bind_addresses_;
  std::map<std::string, std::shared_ptr<AppSession>> apps_;
  struct SharedStrategy {
    std::unique_ptr<strategy::Strategy> strategy;
    std::size_t users = 0;
    std::uint64_t generation = 0; // bumped by every lease, so a stale linger expiry does nothing
  };
  void release_strategy(const std::string& key);
  std::shared_ptr<runtime::MdnsService> mdns_;
  std::mutex strategies_mutex_;
  std::map<std::string, SharedStrategy> strategies_;
  std::mutex rooms_mutex_;
  std::map<std::pair<std::string, std::string>, std::weak_ptr<RoomImpl>> rooms_;
  std::mutex graveyard_mutex_;
  bool loop_thread_running_ = false;                 // guarded by graveyard_mutex_
  std::vector<std::unique_ptr<RoomImpl>> graveyard_; // guarded by graveyard_mutex_
};

} // namespace posthorn::detail
