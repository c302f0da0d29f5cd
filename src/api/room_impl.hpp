#pragma once
// The state behind posthorn::Room: one room of one app, joined through one signaling strategy.
//
//  - signaling: a strategy (relays) + the sans-IO signal::Coordinator, which decides who offers
//    and when; this class carries out its commands (create offers/answers on new PeerLinks) and
//    hands each link to the app's AppSession once its channel opens;
//  - membership: one room::Handshake per attached peer (spec §10); a peer is in the room once
//    both sides sent @_hsready;
//  - actions: chunks are reassembled by room::Reassembler and dispatched by type; internal
//    actions (@_ping, @_pong, @_leave, @_response, @_hsdata, @_hsready) are handled here.
//
// Loop thread only. User callbacks are invoked here, on the loop, never inside a public call
// (public calls post to the loop first).

#include "api/outgoing_message.hpp"
#include "api/peer_link.hpp"
#include "room/chunk.hpp"
#include "room/handshake.hpp"
#include "room/reassembler.hpp"
#include "signal/room_signaling.hpp"
#include "strategy/strategy.hpp"

#include <posthorn/room.hpp>

#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <map>
#include <memory>
#include <string>

namespace posthorn::detail {

class AppSession;
class RuntimeImpl;

class ActionImpl {
public:
  ActionImpl(std::weak_ptr<RoomImpl> room, std::string name, boost::asio::any_io_executor ex)
      : room(std::move(room)), name(std::move(name)), executor(std::move(ex)) {}
  std::weak_ptr<RoomImpl> room;
  std::string name;
  boost::asio::any_io_executor executor;
  // Set on the loop thread only.
  std::function<void(Payload, const MessageInfo&)> on_message;
  std::function<void(const ProgressInfo&)> on_progress;
  std::function<std::unique_ptr<MessageSink>(const MessageInfo&, PayloadKind)> on_stream;
  std::function<void(Payload, const MessageInfo&, Responder)> on_request;
};

class RoomImpl : public std::enable_shared_from_this<RoomImpl> {
public:
  RoomImpl(std::shared_ptr<RuntimeImpl> runtime, RoomConfig config, std::string room_id,
           std::shared_ptr<strategy::Strategy> strategy);
  ~RoomImpl();

  void start();
  [[nodiscard]] boost::asio::any_io_executor executor() const;
  [[nodiscard]] const std::shared_ptr<RuntimeImpl>& runtime() const { return runtime_; }
  [[nodiscard]] const std::string& token() const noexcept { return token_; }
  [[nodiscard]] const std::string& room_id() const noexcept { return room_id_; }
  [[nodiscard]] const PeerId& self_id() const noexcept;
  [[nodiscard]] bool has_left() const noexcept { return left_; }

  // --- from AppSession ---
  void attach_peer(const PeerId& peer, const std::shared_ptr<PeerLink>& link);
  void handle_chunk(const PeerId& peer, ByteView chunk);
  void peer_connection_lost(const PeerId& peer);

  // --- from the public handles (already on the loop) ---
  /// The action of that name, created on first use (any thread).
  std::shared_ptr<ActionImpl> action(const std::string& name);
  [[nodiscard]] std::shared_ptr<ActionImpl> find_action(std::string_view name) const;
  void send(const std::shared_ptr<ActionImpl>& action, Payload payload, SendOptions options,
            std::function<void(error_code)> done);
  void send_file(const std::shared_ptr<ActionImpl>& action, const std::string& path,
                 SendOptions options, std::function<void(error_code)> done);
  void request(const std::shared_ptr<ActionImpl>& action, Payload payload,
               std::vector<PeerId> targets, RequestOptions options,
               std::function<void(std::vector<Response>)> done);
  void ping(const PeerId& peer,
            std::function<void(error_code, std::chrono::duration<double, std::milli>)> done);
  void leave(std::function<void()> done);
  void respond(const PeerId& peer, const std::string& request_id, std::optional<Payload> reply,
               std::string error);
  /// PeerHandshake, on the loop: one `@_hsdata` message / the end of the application step.
  void handshake_send(const PeerHandshake::State& step, Payload payload,
                      std::optional<std::string> metadata_json);
  void handshake_end(const PeerHandshake::State& step, bool ok, std::string reason);
  /// Complete messages of an action registered late (§8.6).
  void deliver_queued(const std::shared_ptr<ActionImpl>& action);

  // Callbacks and snapshot, guarded for the public getters called from other threads.
  std::function<void(const PeerId&)> on_peer_join;
  std::function<void(const PeerId&)> on_peer_leave;
  std::function<void(const JoinError&)> on_join_error;
  std::function<void(const RoomError&)> on_error;
  std::function<void(PeerHandshake)> handshake_handler; ///< the application step (§10)
  std::function<void(const std::string&, Payload, const MessageInfo&)> on_unhandled;
  [[nodiscard]] std::vector<PeerId> active_peers() const;
  [[nodiscard]] std::vector<Room::RelayInfo> relay_statuses() const;

private:
  struct PeerState {
    std::shared_ptr<PeerLink> link;
    std::unique_ptr<room::Handshake> handshake;
    std::uint64_t handshake_generation = 0;
    std::shared_ptr<PeerHandshake::State> user_step; // while the application step runs
    PeerState() = default;
    PeerState(PeerState&&) noexcept = default;
    PeerState& operator=(PeerState&&) noexcept = default;
    ~PeerState(); // releases user_step (see PeerHandshake::State::release)
    void end_user_step();
    std::unique_ptr<boost::asio::steady_timer> handshake_timer;
    bool active = false;
    std::deque<std::pair<
        TimePoint, std::function<void(error_code, std::chrono::duration<double, std::milli>)>>>
        pings;
  };
  /// One request of a (possibly multi-target) async_request_many; the batch completes when the
  /// last of its requests settles.
  struct RequestBatch {
    std::vector<Response> responses; // in the order of the targets
    std::size_t remaining = 0;
    std::function<void(std::vector<Response>)> done;
  };
  struct PendingRequest {
    PeerId peer;
    std::shared_ptr<RequestBatch> batch;
    std::size_t index = 0; // this target's place in batch->responses
    std::unique_ptr<boost::asio::steady_timer> timer;
  };
  /// Records a request's outcome; the batch's completion runs once all of them are in.
  static void settle(PendingRequest& request, Response response);
  struct QueuedMessage {
    std::string type;
    Payload payload;
    MessageInfo info;
  };
  struct StreamState {
    std::unique_ptr<MessageSink> sink;
    Bytes fallback; // the action gave no sink: collect and deliver whole
    PayloadKind kind = PayloadKind::Binary;
    std::optional<std::string> metadata;
  };

  // signaling
  void drive_coordinator();
  void arm_coordinator_timer();
  void execute(signal::Command& command);
  std::shared_ptr<PeerLink> make_link(signal::PcId pc, const PeerId& peer);
  void report_description(PeerLink& link, signal::PcId pc, std::string sdp, bool complete);
  void on_link_open(signal::PcId pc);
  void on_link_failed(signal::PcId pc);

  // membership
  void drive_handshake(const PeerId& peer);
  void arm_handshake_timer(const PeerId& peer);
  void start_user_step(const PeerId& peer, PeerState& state);
  PeerState* step_owner(const PeerHandshake::State& step);
  void activate(const PeerId& peer);
  void remove_peer(const PeerId& peer, std::string_view why, bool notify_session);
  void fail_peer_operations(const PeerId& peer, error_code ec);

  // receiving
  void drain_reassembler();
  void dispatch_complete(const PeerId& peer, const std::string& type, PayloadKind kind, Bytes data,
                         std::optional<std::string> metadata);
  void dispatch_user(const std::shared_ptr<ActionImpl>& action, const PeerId& peer,
                     PayloadKind kind, Bytes data, std::optional<std::string> metadata);
  void handle_request(const std::shared_ptr<ActionImpl>& action, const PeerId& peer,
                      Payload payload, const std::string& request_id,
                      std::optional<std::string> user_metadata);
  void handle_response(const PeerId& peer, PayloadKind kind, Bytes data,
                       const std::optional<std::string>& metadata);

  // sending
  std::uint16_t next_nonce(const std::string& type);
  std::vector<std::shared_ptr<PeerLink>> targets(const std::vector<PeerId>& wanted,
                                                 bool include_pending, PeerId* missing);
  void send_message(const std::string& type, PayloadKind kind, std::shared_ptr<ByteSource> source,
                    std::optional<std::string> metadata, const std::vector<PeerId>& target_ids,
                    bool include_pending, bool urgent,
                    std::function<void(const ProgressInfo&)> on_progress,
                    std::function<void(error_code)> done);
  void send_internal(const PeerId& peer, const std::string& type, PayloadKind kind, Bytes data,
                     std::optional<std::string> metadata = std::nullopt);

  void report_join_error(const PeerId& peer, std::string message);
  void report_error(RoomError error);

  std::shared_ptr<RuntimeImpl> runtime_;
  RoomConfig config_;
  std::string room_id_;
  std::string token_;
  std::shared_ptr<AppSession> session_;
  /// Shared with the runtime's other rooms on the same relays (RuntimeImpl::strategy_for).
  std::shared_ptr<strategy::Strategy> strategy_;
  std::unique_ptr<signal::RoomSignaling> coordinator_;
  std::map<std::string, strategy::Subscription> subscriptions_;
  boost::asio::steady_timer coordinator_timer_;
  std::optional<TimePoint> coordinator_armed_;
  std::map<signal::PcId, std::shared_ptr<PeerLink>> negotiating_;
  std::map<PeerId, PeerState> peers_;
  room::Reassembler reassembler_;
  std::map<std::tuple<PeerId, std::string, std::uint16_t>, StreamState> streams_;
  std::map<std::string, std::shared_ptr<ActionImpl>> actions_;
  std::map<std::string, room::NonceCounter> nonces_;
  std::map<std::string, PendingRequest> requests_;
  std::deque<QueuedMessage> unregistered_;
  bool started_ = false;
  bool left_ = false;
  mutable std::mutex snapshot_mutex_;
  std::vector<PeerId> active_snapshot_;
};

} // namespace posthorn::detail
