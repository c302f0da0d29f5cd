// PosthornBenchPeer: one posthorn::Runtime (own loop thread, loopback only) joined to the bench
// rooms through the public API, as an application would.
#include "cli/bench_room_peers.hpp"

#include <posthorn/posthorn.hpp>

#include <boost/asio/post.hpp>

#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <stdexcept>

namespace posthorn::cli {

double epoch_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(system_clock::now().time_since_epoch()).count();
}

namespace {

// Sends in flight at once: enough to keep the data channel's queue full, few enough that the
// flood never sits in memory whole (the same window the Trystero side uses).
constexpr int kFloodWindow = 256;

class PosthornBenchPeer final : public BenchPeer {
public:
  explicit PosthornBenchPeer(BenchPeerConfig config)
      : config_(std::move(config)), runtime_(RuntimeOptions{.bind_addresses = {"127.0.0.1"}}) {}

  ~PosthornBenchPeer() override {
    std::vector<Room> rooms;
    {
      std::lock_guard lock(mutex_);
      for (auto& [id, r] : rooms_)
        rooms.push_back(r->room);
    }
    for (auto& r : rooms)
      r.leave();
  }

  std::string name() const override { return "posthorn"; }

  double join(const std::string& app, const std::string& room_id) override {
    auto state = std::make_shared<RoomState>();
    const double t = epoch_ms();
    state->room = join_room(
        runtime_, {.app_id = app, .strategy = strategies::mqtt({config_.relay_url})}, room_id);
    // Weak: the room holds this handler, the state holds the room.
    state->room.on_peer_join([this, weak = std::weak_ptr<RoomState>(state)](const PeerId&) {
      auto state = weak.lock();
      if (!state) return;
      std::lock_guard lock(mutex_);
      if (state->joined_at == 0) state->joined_at = epoch_ms();
      changed_.notify_all();
    });
    state->room.on_join_error([room_id](const JoinError& e) {
      std::fprintf(stderr, "posthorn bench peer: room %s: %s\n", room_id.c_str(),
                   e.message.c_str());
    });
    std::lock_guard lock(mutex_);
    rooms_[room_id] = state;
    return t;
  }

  double wait_peer_join(const std::string& room_id, std::chrono::milliseconds timeout) override {
    auto state = find(room_id);
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, timeout, [&] { return state->joined_at != 0; }))
      throw std::runtime_error("posthorn: no peer joined room " + room_id + " in time");
    return state->joined_at;
  }

  void expect(const std::string& room_id, const std::string& action_name,
              std::uint64_t count) override {
    auto state = find(room_id);
    auto batch = std::make_shared<Batch>();
    batch->want = count;
    Action action = action_for(*state, action_name);
    action.on_message([this, batch](Payload p, const MessageInfo&) {
      std::lock_guard lock(mutex_);
      const double t = epoch_ms();
      if (batch->got.count == 0) batch->got.t_first_ms = t;
      ++batch->got.count;
      batch->got.bytes += p.size();
      batch->got.t_last_ms = t;
      if (batch->got.count == batch->want) changed_.notify_all();
    });
    std::lock_guard lock(mutex_);
    state->batches[action_name] = batch;
  }

  Received wait_received(const std::string& room_id, const std::string& action_name,
                         std::chrono::milliseconds timeout) override {
    auto state = find(room_id);
    std::unique_lock lock(mutex_);
    auto batch = state->batches.at(action_name);
    if (!changed_.wait_for(lock, timeout, [&] { return batch->got.count >= batch->want; })) {
      throw std::runtime_error("posthorn: " + std::to_string(batch->got.count) + " of " +
                               std::to_string(batch->want) + " messages arrived in time");
    }
    return batch->got;
  }

  double start_flood(const std::string& room_id, const std::string& action_name,
                     std::uint64_t count, std::size_t size) override {
    auto state = find(room_id);
    auto flood = std::make_shared<Flood>(action_for(*state, action_name));
    flood->remaining = count;
    std::vector<std::uint8_t> bytes(size);
    for (std::size_t i = 0; i < size; ++i)
      bytes[i] = static_cast<std::uint8_t>(i % 251);
    flood->payload = Payload::binary(std::move(bytes)); // made before the clock starts
    const double t = epoch_ms();
    boost::asio::post(runtime_.get_executor(), [flood] { pump(flood); });
    return t;
  }

  void leave(const std::string& room_id) override {
    std::shared_ptr<RoomState> state;
    {
      std::lock_guard lock(mutex_);
      auto it = rooms_.find(room_id);
      if (it == rooms_.end()) return;
      state = it->second;
      rooms_.erase(it);
    }
    state->room.leave();
  }

private:
  struct Batch {
    std::uint64_t want = 0;
    Received got;
  };
  struct RoomState {
    Room room{nullptr};
    double joined_at = 0;
    std::map<std::string, Action> actions;
    std::map<std::string, std::shared_ptr<Batch>> batches;
  };
  struct Flood {
    explicit Flood(Action a) : action(std::move(a)) {}
    Action action;
    Payload payload;
    std::uint64_t remaining = 0;
    std::uint64_t errors = 0;
    int in_flight = 0;
  };

  // Runs on the runtime's loop: keeps kFloodWindow sends in flight until all went out.
  static void pump(const std::shared_ptr<Flood>& f) {
    while (f->remaining > 0 && f->in_flight < kFloodWindow) {
      --f->remaining;
      ++f->in_flight;
      // The last send takes the payload itself: a single bulk message is never copied.
      f->action.async_send(f->remaining == 0 ? std::move(f->payload) : f->payload, {},
                           [f](error_code ec) {
                             --f->in_flight;
                             if (ec && f->errors++ == 0)
                               std::fprintf(stderr, "posthorn bench peer: a send failed: %s\n",
                                            ec.message().c_str());
                             pump(f);
                           });
    }
  }

  std::shared_ptr<RoomState> find(const std::string& room_id) {
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(room_id);
    if (it == rooms_.end()) throw std::logic_error("bench: room " + room_id + " not joined");
    return it->second;
  }

  Action action_for(RoomState& state, const std::string& name) {
    std::lock_guard lock(mutex_);
    auto it = state.actions.find(name);
    if (it == state.actions.end())
      it = state.actions.emplace(name, state.room.make_action(name)).first;
    return it->second;
  }

  BenchPeerConfig config_;
  Runtime runtime_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, std::shared_ptr<RoomState>> rooms_;
};

} // namespace

std::unique_ptr<BenchPeer> make_posthorn_bench_peer(const BenchPeerConfig& config) {
  return std::make_unique<PosthornBenchPeer>(config);
}

} // namespace posthorn::cli
