#pragma once
// One WebRTC connection to one remote peer, carrying Trystero's single "data" channel
// (spec §6.2) for every room of an app that shares it (§7.2).
//
// It negotiates as offerer or answerer when a room's coordinator asks, reports the channel
// opening, delivers decoded frames, and sends outgoing messages chunk by chunk under the
// channel's back-pressure: chunks of concurrent messages are interleaved round-robin (the
// receiver reassembles by nonce, §8.5), with internal actions first, so a ping is not stuck
// behind a 200 MiB file.
//
// Threading: the runtime's executor only. Callbacks run from the driver's flush, never inside a
// method call of this class; the owner may destroy the link from a callback (the destruction is
// deferred to the executor).

#include "api/outgoing_message.hpp"
#include "core/rng.hpp"
#include "runtime/peer_driver.hpp"
#include "signal/candidate_json.hpp"

#include <posthorn/payload.hpp>

#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>

namespace posthorn::detail {

struct LinkCallbacks {
  std::function<void(const signal::CandidateInit&)> on_local_candidate;
  std::function<void()> on_open;
  /// A room frame (token, action chunk bytes) or a presence frame.
  std::function<void(std::string_view token, ByteView chunk)> on_room_frame;
  std::function<void(std::string_view token, bool present)> on_presence;
  /// The connection is gone (failed, closed, or disconnected for 5 s as JS decides, §6.4).
  std::function<void(std::string_view reason)> on_closed;
};

class PeerLink : public std::enable_shared_from_this<PeerLink> {
public:
  PeerLink(boost::asio::any_io_executor executor, std::shared_ptr<runtime::UdpMux> mux,
           std::shared_ptr<runtime::MdnsService> mdns, rtc::Configuration config, Rng& rng,
           PeerId remote);
  ~PeerLink();

  void set_callbacks(LinkCallbacks callbacks) { callbacks_ = std::move(callbacks); }
  /// Frames that arrived after the channel opened but before anyone took them (the owner adopts
  /// the link one loop turn after the open event): delivered now to the current callbacks.
  void deliver_early_frames();
  [[nodiscard]] const PeerId& remote() const noexcept { return remote_; }
  [[nodiscard]] bool is_open() const noexcept { return open_; }
  [[nodiscard]] bool is_closed() const noexcept { return closed_; }

  /// Offerer: creates the "data" channel and the offer; returns the offer SDP.
  [[nodiscard]] result<std::string> create_offer();
  /// Answerer: applies the offer, returns the answer SDP.
  [[nodiscard]] result<std::string> accept_offer(std::string_view offer_sdp);
  [[nodiscard]] result<void> apply_answer(std::string_view answer_sdp);
  void add_remote_candidate(const signal::CandidateInit& candidate);
  /// Non-trickle signaling (torrent, spec §5.2): `done` gets the local description with every
  /// candidate inside once ICE gathering completes, or what there is after `limit` (JS waits up
  /// to 15 s). Called from the executor, never inside this call; not called if the link closes.
  void when_gathered(Duration limit, std::function<void(std::string sdp)> done);
  /// An offer made for nobody in particular (torrent's pool) learns its peer from the answer.
  void bind_remote(PeerId remote) { remote_ = std::move(remote); }

  /// Queues a message for this peer (it must be open). Completion via message.on_done.
  void send(std::shared_ptr<OutgoingMessage> message);
  /// Sends a presence frame for a room (§7.1).
  void send_presence(std::string_view token, bool present);
  /// Closes the connection; on_closed is not called for a close we asked for.
  void close();

  [[nodiscard]] std::size_t queued_messages() const noexcept { return queue_.size(); }

private:
  void on_event(rtc::Event& event);
  void pump();
  void fail_queue(error_code ec);
  void mark_closed(std::string_view reason);
  void deliver_frame(ByteView message);

  struct Cursor {
    std::shared_ptr<OutgoingMessage> message;
    std::size_t next = 0;
  };

  boost::asio::any_io_executor executor_;
  PeerId remote_;
  std::unique_ptr<runtime::PeerDriver> driver_;
  LinkCallbacks callbacks_;
  std::string description_with_candidates(const rtc::PeerConnection& pc);
  void release_held_candidates();

  std::optional<rtc::ChannelId> channel_;
  /// Candidates sent inside our offer/answer, not trickled again.
  std::set<std::string> in_description_;
  /// As offerer: candidates gathered after the offer wait here until the answer arrives (see
  /// apply_answer); nullopt once they flow freely.
  std::optional<std::vector<signal::CandidateInit>> held_candidates_;
  bool open_ = false;
  bool closed_ = false;
  bool pumping_ = false;
  std::deque<Cursor> queue_;
  Bytes scratch_;
  std::vector<Bytes> early_frames_;
  boost::asio::steady_timer disconnect_timer_;
  boost::asio::steady_timer gathering_timer_;
  std::function<void(std::string)> on_gathered_;
  void finish_gathering();
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace posthorn::detail
