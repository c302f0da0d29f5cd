#include "api/peer_link.hpp"

#include "api/tuning.hpp"
#include "core/log.hpp"
#include "core/overloaded.hpp"
#include "room/frame.hpp"

#include <boost/asio/post.hpp>

namespace posthorn::detail {

PeerLink::PeerLink(boost::asio::any_io_executor executor, std::shared_ptr<runtime::UdpMux> mux,
                   std::shared_ptr<runtime::MdnsService> mdns, rtc::Configuration config, Rng& rng,
                   PeerId remote)
    : executor_(executor), remote_(std::move(remote)),
      driver_(std::make_unique<runtime::PeerDriver>(executor, std::move(mux), std::move(config),
                                                    rng, std::move(mdns))),
      disconnect_timer_(executor), gathering_timer_(executor) {
  // The owner may drop this link from inside a callback while the driver is still flushing:
  // the flag stops the driver from delivering further events to a destroyed link.
  driver_->on_event([this, alive = std::weak_ptr<bool>(alive_)](rtc::Event& e) {
    if (!alive.expired()) on_event(e);
  });
}

PeerLink::~PeerLink() {
  *alive_ = false;
  fail_queue(make_error_code(boost::system::errc::operation_canceled));
  // The driver may be inside its own flush when the owner drops us from a callback: hand its
  // destruction to the executor so the flush finishes first (STYLE.md "Ownership").
  boost::asio::post(executor_, [driver = std::move(driver_)]() mutable {
    driver->with([](rtc::PeerConnection& pc, TimePoint now) { pc.close(now); });
    driver.reset();
  });
}

result<std::string> PeerLink::create_offer() {
  return driver_->with([&](rtc::PeerConnection& pc, TimePoint now) -> result<std::string> {
    // spec §6.2: exactly one channel, "data", ordered, reliable, DCEP-negotiated.
    auto channel = pc.create_data_channel({.label = "data"});
    if (!channel) return channel.error();
    channel_ = *channel;
    auto offer = pc.create_offer();
    if (!offer) return offer.error();
    if (auto r = pc.set_local_description(now, *offer); !r) return r.error();
    if (!held_candidates_) held_candidates_.emplace();
    return description_with_candidates(pc);
  });
}

result<std::string> PeerLink::accept_offer(std::string_view offer_sdp) {
  return driver_->with([&](rtc::PeerConnection& pc, TimePoint now) -> result<std::string> {
    rtc::Description offer{rtc::DescriptionType::Offer, std::string(offer_sdp)};
    if (auto r = pc.set_remote_description(now, offer); !r) return r.error();
    auto answer = pc.create_answer();
    if (!answer) return answer.error();
    if (auto r = pc.set_local_description(now, *answer); !r) return r.error();
    return description_with_candidates(pc);
  });
}

// The host candidates exist as soon as the local description is set: they go inside it, and only
// what is gathered later (server-reflexive, relayed) is trickled. Trickling them separately races
// the peer's own negotiation: Trystero in Node answers an offer by setRemoteDescription, adding
// the candidates that arrived meanwhile, then setLocalDescription — and libdatachannel refuses a
// candidate added in between, which makes Trystero drop its answer (measured: with Nagle off on
// the signaling socket our candidates arrived in that window every time). Browsers do the same
// when gathering is quick, and JSEP §5.2 allows either.
std::string PeerLink::description_with_candidates(const rtc::PeerConnection& pc) {
  auto local = pc.local_description();
  if (!local) return {};
  for (std::size_t at = local->sdp.find("a=candidate:"); at != std::string::npos;
       at = local->sdp.find("a=candidate:", at + 1)) {
    const auto end = local->sdp.find_first_of("\r\n", at);
    in_description_.insert(local->sdp.substr(at + 2, end - at - 2));
  }
  return local->sdp;
}

// Candidates gathered after our offer (relayed ones, always, when TURN is slower than the offer)
// are held until the answer: the answer proves the peer applied our offer, so a candidate can no
// longer land in the window where Trystero-in-Node's libdatachannel refuses it (see above). They
// could not be used earlier anyway: checks need the answer's credentials on our side.
result<void> PeerLink::apply_answer(std::string_view answer_sdp) {
  auto applied = driver_->with([&](rtc::PeerConnection& pc, TimePoint now) -> result<void> {
    return pc.set_remote_description(now, {rtc::DescriptionType::Answer, std::string(answer_sdp)});
  });
  if (applied) release_held_candidates();
  return applied;
}

void PeerLink::release_held_candidates() {
  if (!held_candidates_) return;
  auto held = std::move(*held_candidates_);
  held_candidates_.reset();
  for (const auto& c : held)
    if (!closed_ && callbacks_.on_local_candidate) callbacks_.on_local_candidate(c);
}

void PeerLink::add_remote_candidate(const signal::CandidateInit& candidate) {
  driver_->with([&](rtc::PeerConnection& pc, TimePoint now) {
    // An empty candidate is end-of-candidates (Firefox sends it; spec §6.3).
    auto r = pc.add_remote_candidate(now, candidate.candidate, candidate.sdp_mid.value_or(""));
    if (!r) POSTHORN_LOG(Debug, "room", "remote candidate refused: {}", r.error().message());
  });
}

void PeerLink::when_gathered(Duration limit, std::function<void(std::string sdp)> done) {
  on_gathered_ = std::move(done);
  const bool complete =
      driver_->with([](rtc::PeerConnection& pc, TimePoint) { return pc.is_gathering_complete(); });
  if (complete) {
    boost::asio::post(executor_, [self = weak_from_this()] {
      if (auto link = self.lock(); link && link->on_gathered_ && !link->closed_)
        link->finish_gathering();
    });
    return;
  }
  gathering_timer_.expires_after(limit);
  gathering_timer_.async_wait([self = weak_from_this()](boost::system::error_code ec) {
    if (ec) return;
    if (auto link = self.lock(); link && link->on_gathered_ && !link->closed_)
      link->finish_gathering();
  });
}

void PeerLink::finish_gathering() {
  gathering_timer_.cancel();
  auto done = std::exchange(on_gathered_, {});
  auto sdp = driver_->with(
      [&](rtc::PeerConnection& pc, TimePoint) { return description_with_candidates(pc); });
  // From the driver's flush (end-of-candidates) or a timer: hand over on a fresh turn, so the
  // owner may do anything, including closing this link.
  boost::asio::post(
      executor_, [self = weak_from_this(), done = std::move(done), sdp = std::move(sdp)]() mutable {
        if (auto link = self.lock(); link && !link->closed_) done(std::move(sdp));
      });
}

void PeerLink::send(std::shared_ptr<OutgoingMessage> message) {
  if (closed_ || !open_) {
    if (message->on_done)
      message->on_done(remote_, make_error_code(boost::system::errc::not_connected));
    return;
  }
  Cursor cursor{std::move(message), 0};
  if (cursor.message->urgent) {
    // Ahead of bulk messages, behind other urgent ones (their order matters: hsready after
    // hsdata).
    auto it = queue_.begin();
    while (it != queue_.end() && it->message->urgent)
      ++it;
    queue_.insert(it, std::move(cursor));
  } else {
    queue_.push_back(std::move(cursor));
  }
  pump();
}

void PeerLink::send_presence(std::string_view token, bool present) {
  if (!open_ || closed_) return;
  driver_->with([&](rtc::PeerConnection& pc, TimePoint now) {
    auto frame = room::encode_presence_frame(token, present);
    (void)pc.send(now, *channel_, frame, true);
  });
}

void PeerLink::close() {
  if (closed_) return;
  closed_ = true;
  open_ = false;
  disconnect_timer_.cancel();
  gathering_timer_.cancel();
  on_gathered_ = {};
  fail_queue(make_error_code(boost::system::errc::operation_canceled));
  driver_->with([&](rtc::PeerConnection& pc, TimePoint now) { pc.close(now); });
}

void PeerLink::pump() {
  if (pumping_ || !open_ || closed_) return;
  pumping_ = true;
  std::weak_ptr<bool> alive = alive_;
  driver_->with([&](rtc::PeerConnection& pc, TimePoint now) {
    // Round-robin over the queued messages, one chunk each per turn, while the channel's buffer
    // is below the high-water mark. Urgent messages sit at the front and are small.
    while (!queue_.empty() && pc.buffered_amount(*channel_) < tuning::kLinkHighWaterBytes) {
      Cursor cursor = std::move(queue_.front());
      queue_.pop_front();
      scratch_.clear();
      auto written = cursor.message->write_framed_chunk(scratch_, cursor.next);
      if (!written) {
        if (cursor.message->on_done) cursor.message->on_done(remote_, written.error());
        continue;
      }
      auto sent = pc.send(now, *channel_, scratch_, true);
      if (!sent) {
        if (sent.error() == Condition::Blocked) {
          queue_.push_front(std::move(cursor)); // resume on BufferedAmountLow
          break;
        }
        if (cursor.message->on_done) cursor.message->on_done(remote_, sent.error());
        continue;
      }
      const std::size_t index = cursor.next++;
      if (cursor.message->on_chunk_sent) cursor.message->on_chunk_sent(remote_, index);
      if (alive.expired()) return;
      if (cursor.next >= cursor.message->plan.chunk_count()) {
        if (cursor.message->on_done) cursor.message->on_done(remote_, {});
        if (alive.expired()) return;
      } else if (cursor.message->urgent) {
        queue_.push_front(std::move(cursor));
      } else {
        queue_.push_back(std::move(cursor));
      }
    }
  });
  if (!alive.expired()) pumping_ = false;
}

void PeerLink::deliver_early_frames() {
  auto frames = std::move(early_frames_);
  early_frames_.clear();
  std::weak_ptr<bool> alive = alive_;
  for (const auto& frame : frames) {
    deliver_frame(frame);
    if (alive.expired() || closed_) return;
  }
}

void PeerLink::deliver_frame(ByteView message) {
  auto frame = room::decode_frame(message);
  if (!frame) {
    POSTHORN_LOG(Debug, "room", "dropped a data-channel message: {}", frame.error().message());
    return;
  }
  std::visit(overloaded{[&](const room::RoomFrameView& f) {
                          if (callbacks_.on_room_frame) callbacks_.on_room_frame(f.token, f.chunk);
                        },
                        [&](const room::PresenceFrameView& f) {
                          if (callbacks_.on_presence) callbacks_.on_presence(f.token, f.present);
                        }},
             *frame);
}

void PeerLink::fail_queue(error_code ec) {
  auto queue = std::move(queue_);
  queue_.clear();
  for (auto& cursor : queue)
    if (cursor.message->on_done) cursor.message->on_done(remote_, ec);
}

void PeerLink::mark_closed(std::string_view reason) {
  if (closed_) return;
  closed_ = true;
  open_ = false;
  disconnect_timer_.cancel();
  fail_queue(make_error_code(boost::system::errc::connection_reset));
  if (callbacks_.on_closed) callbacks_.on_closed(reason);
}

void PeerLink::on_event(rtc::Event& event) {
  std::visit(overloaded{
                 [&](rtc::event::LocalCandidate& e) {
                   if (closed_) return;
                   if (e.candidate.empty() && on_gathered_) {
                     finish_gathering();
                     return;
                   }
                   if (!callbacks_.on_local_candidate) return;
                   signal::CandidateInit init;
                   init.candidate = e.candidate;
                   init.sdp_mid = e.mid.empty() ? std::string("0") : e.mid;
                   init.sdp_mline_index = 0;
                   if (e.candidate.empty()) return; // end-of-candidates: JS never sends it on MQTT
                   if (in_description_.count(e.candidate)) return; // already in the SDP
                   if (held_candidates_) {
                     held_candidates_->push_back(std::move(init));
                     return;
                   }
                   callbacks_.on_local_candidate(init);
                 },
                 [&](rtc::event::DataChannelOpen& e) {
                   if (closed_) return;
                   // The answerer takes whatever channel arrives (§6.2); we only ever use one.
                   if (!channel_ || e.channel.remote) channel_ = e.channel.id;
                   driver_->with([&](rtc::PeerConnection& pc, TimePoint) {
                     pc.set_buffered_amount_low_threshold(*channel_, tuning::kLinkLowWaterBytes);
                   });
                   if (open_) return;
                   open_ = true;
                   if (callbacks_.on_open) callbacks_.on_open();
                 },
                 [&](rtc::event::DataChannelMessage& e) {
                   if (closed_ || !open_) return;
                   if (!callbacks_.on_room_frame) {
                     if (early_frames_.size() < tuning::kMaxBufferedUnattachedFrames)
                       early_frames_.push_back(std::move(e.data));
                     return;
                   }
                   deliver_frame(e.data);
                 },
                 [&](rtc::event::DataChannelBufferedAmountLow&) {
                   boost::asio::post(executor_, [self = weak_from_this()] {
                     if (auto link = self.lock()) link->pump();
                   });
                 },
                 [&](rtc::event::DataChannelClosed& e) {
                   if (channel_ && e.channel == *channel_) mark_closed("data channel closed");
                 },
                 [&](rtc::event::ConnectionStateChanged& e) {
                   using rtc::ConnectionState;
                   if (e.state == ConnectionState::Failed)
                     mark_closed("connection failed");
                   else if (e.state == ConnectionState::Closed)
                     mark_closed("connection closed");
                   else if (e.state == ConnectionState::Disconnected) {
                     // §6.4: JS gives up after 5 s disconnected; consent freshness may still
                     // recover.
                     disconnect_timer_.expires_after(tuning::kDisconnectedGrace);
                     disconnect_timer_.async_wait([self = weak_from_this()](error_code ec) {
                       if (ec) return;
                       if (auto link = self.lock()) link->mark_closed("disconnected for 5 s");
                     });
                   } else if (e.state == ConnectionState::Connected) {
                     disconnect_timer_.cancel();
                   }
                 },
                 [&](auto&) {},
             },
             event);
}

} // namespace posthorn::detail
