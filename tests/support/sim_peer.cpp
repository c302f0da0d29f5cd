#include "sim_peer.hpp"

#include "core/overloaded.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <iomanip>
#include <sstream>

namespace posthorn::sim {
namespace {

rtc::Configuration make_configuration(const SimPeerConfig& c) {
  rtc::Configuration config;
  config.stun_servers = c.stun_servers;
  config.ice_timing = c.ice_timing;
  config.max_message_size = c.max_message_size;
  return config;
}

template <class T>
std::optional<TimePoint> first_matching(const std::vector<Timed<T>>& v, T value, TimePoint after) {
  for (const auto& t : v) {
    if (t.value == value && t.at >= after) return t.at;
  }
  return std::nullopt;
}

} // namespace

std::string format_virtual(TimePoint t) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(3) << to_ms(t - kEpoch) / 1000.0 << " s";
  return os.str();
}

SimPeer::SimPeer(Network& net, std::string name, IpAddress local_ip, SimPeerConfig config)
    : net_(net), name_(std::move(name)), config_(std::move(config)), rng_(net.rng().next_u64()),
      pc_(make_configuration(config_), rng_), local_(local_ip, config_.port) {
  if (config_.virtual_wall_clock) clock_.emplace(net);
  pc_.add_local_socket(local_);
}

SimPeer::~SimPeer() = default;

// --- signaling ---------------------------------------------------------------------------------

void SimPeer::signaling_error(std::string what) {
  ADD_FAILURE() << name_ << " at " << format_virtual(net_.now()) << ": " << what;
  signaling_errors_.push_back(std::move(what));
}

void SimPeer::offer() {
  auto o = pc_.create_offer();
  if (!o) return signaling_error("create_offer: " + o.error().message());
  if (auto r = pc_.set_local_description(net_.now(), *o); !r)
    return signaling_error("set_local_description(offer): " + r.error().message());
  if (config_.trickle) {
    send_description(*o);
  } else {
    send_when_gathered();
  }
  process_events();
}

void SimPeer::restart_ice() {
  pc_.restart_ice(net_.now());
  offer();
}

void SimPeer::send_when_gathered() {
  // Without trickle the description must carry every candidate: wait for end-of-candidates
  // unless gathering already finished (the PeerConnection notes it before we see the event).
  if (pc_.is_gathering_complete()) {
    send_when_gathered_ = false;
    auto d = pc_.local_description();
    if (!d) return signaling_error("no local description to send");
    send_description(*d);
  } else {
    send_when_gathered_ = true;
  }
}

void SimPeer::send_description(const rtc::Description& d) {
  if (remote_ == nullptr) return signaling_error("no signaling peer for the description");
  SimPeer* to = remote_;
  net_.schedule_in(config_.signaling_delay, [to, d] { to->receive_description(d); });
}

void SimPeer::send_candidate(const std::string& candidate, const std::string& mid) {
  if (remote_ == nullptr) return; // negotiation has not wired us yet; non-trickle peers ignore
  SimPeer* to = remote_;
  net_.schedule_in(config_.signaling_delay, [to, candidate, mid] {
    if (auto r = to->pc_.add_remote_candidate(to->net_.now(), candidate, mid); !r) {
      to->signaling_error("add_remote_candidate(" + candidate + "): " + r.error().message());
    }
    to->process_events();
  });
}

void SimPeer::receive_description(const rtc::Description& d) {
  ++descriptions_in_;
  if (auto r = pc_.set_remote_description(net_.now(), d); !r) {
    signaling_error("set_remote_description(" + std::string(rtc::to_string(d.type)) +
                    "): " + r.error().message());
    return;
  }
  if (d.type == rtc::DescriptionType::Offer) {
    auto answer = pc_.create_answer();
    if (!answer) return signaling_error("create_answer: " + answer.error().message());
    if (auto r = pc_.set_local_description(net_.now(), *answer); !r)
      return signaling_error("set_local_description(answer): " + r.error().message());
    if (config_.trickle) {
      send_description(*answer);
    } else {
      send_when_gathered();
    }
  }
  process_events();
}

void negotiate(SimPeer& offerer, SimPeer& answerer) {
  offerer.set_signaling_peer(answerer);
  answerer.set_signaling_peer(offerer);
  offerer.offer();
}

// --- data channels -----------------------------------------------------------------------------

rtc::ChannelId SimPeer::create_channel(const sctp::ChannelOptions& options) {
  auto id = pc_.create_data_channel(options);
  if (!id) {
    ADD_FAILURE() << name_ << ": create_data_channel(" << options.label
                  << "): " << id.error().message();
    return 0;
  }
  process_events();
  return *id;
}

result<void> SimPeer::send(rtc::ChannelId channel, ByteView data, bool binary) {
  auto r = pc_.send(net_.now(), channel, data, binary);
  process_events();
  return r;
}

bool SimPeer::is_open(rtc::ChannelId channel) const {
  const bool opened = std::any_of(opened_.begin(), opened_.end(),
                                  [&](const auto& o) { return o.value.id == channel; });
  const bool closed = std::any_of(closed_.begin(), closed_.end(),
                                  [&](const auto& c) { return c.value == channel; });
  return opened && !closed;
}

std::optional<rtc::ChannelId> SimPeer::channel_by_label(std::string_view label) const {
  for (const auto& o : opened_) {
    if (o.value.label == label) return o.value.id;
  }
  return std::nullopt;
}

const ChannelRx& SimPeer::rx(rtc::ChannelId channel) const {
  static const ChannelRx kEmpty;
  auto it = rx_.find(channel);
  return it == rx_.end() ? kEmpty : it->second.record;
}

crypto::Sha256Digest SimPeer::rx_digest(rtc::ChannelId channel) {
  auto& r = rx_[channel];
  if (!r.digest) r.digest = r.hash->finish();
  return *r.digest;
}

int SimPeer::add_buffered_low_listener(std::function<void(rtc::ChannelId)> fn) {
  const int token = next_listener_++;
  low_listeners_.emplace(token, std::move(fn));
  return token;
}

void SimPeer::remove_buffered_low_listener(int token) {
  low_listeners_.erase(token);
}

// --- states ------------------------------------------------------------------------------------

std::optional<TimePoint> SimPeer::first_time(rtc::ConnectionState s) const {
  return first_matching(connection_states_, s, TimePoint::min());
}
std::optional<TimePoint> SimPeer::first_time(ice::IceState s) const {
  return first_matching(ice_states_, s, TimePoint::min());
}
std::optional<TimePoint> SimPeer::first_time_after(rtc::ConnectionState s, TimePoint after) const {
  return first_matching(connection_states_, s, after);
}
std::optional<TimePoint> SimPeer::first_time_after(ice::IceState s, TimePoint after) const {
  return first_matching(ice_states_, s, after);
}

std::string SimPeer::describe() const {
  std::ostringstream os;
  os << name_ << " (" << local_.to_string() << "): connection " << rtc::to_string(state())
     << ", ice " << ice::to_string(pc_.ice_state()) << ", signaling "
     << rtc::to_string(pc_.signaling_state()) << "\n  connection states:";
  for (const auto& s : connection_states_)
    os << " " << rtc::to_string(s.value) << "@" << format_virtual(s.at);
  os << "\n  ice states:";
  for (const auto& s : ice_states_)
    os << " " << ice::to_string(s.value) << "@" << format_virtual(s.at);
  os << "\n  local candidates:";
  for (const auto& c : local_candidates_)
    os << "\n    " << format_virtual(c.at) << " " << (c.value.empty() ? "<end>" : c.value);
  if (auto p = pc_.selected_pair()) {
    os << "\n  selected pair: " << p->local.to_string() << " -> " << p->remote.to_string() << " ("
       << ice::to_string(p->remote_type) << (p->nominated ? ", nominated" : "") << ")";
  }
  os << "\n  channels opened:";
  for (const auto& o : opened_) {
    os << " #" << o.value.id << " '" << o.value.label << "'@" << format_virtual(o.at);
    const auto& r = rx(o.value.id);
    os << " (rx " << r.messages << " msgs, " << r.bytes << " B)";
  }
  os << "\n  channels closed:";
  for (const auto& c : closed_)
    os << " #" << c.value << "@" << format_virtual(c.at);
  const auto& st = pc_.stats();
  os << "\n  dropped: unknown " << st.dropped_unknown_datagrams << ", unpermitted "
     << st.dropped_unpermitted_source << ", early dtls " << st.dropped_early_dtls
     << ", unsent dtls " << st.dropped_unsent_dtls << "; descriptions received "
     << descriptions_in_;
  for (const auto& e : signaling_errors_)
    os << "\n  signaling error: " << e;
  return os.str();
}

// --- events ------------------------------------------------------------------------------------

void SimPeer::process_events() {
  // Listeners (a bulk sender) call back into the connection, which queues more events; the
  // outermost call drains them all.
  if (processing_) return;
  processing_ = true;
  while (auto e = pc_.poll_event())
    on_event(*e);
  processing_ = false;
}

void SimPeer::on_event(rtc::Event& e) {
  const TimePoint now = net_.now();
  std::visit(overloaded{
                 [&](rtc::event::LocalCandidate& c) {
                   local_candidates_.push_back({now, c.candidate});
                   if (config_.trickle) send_candidate(c.candidate, c.mid);
                   if (c.candidate.empty() && send_when_gathered_) send_when_gathered();
                 },
                 [&](rtc::event::SignalingStateChanged&) {},
                 [&](rtc::event::IceStateChanged& s) {
                   ice_states_.push_back({now, s.state});
                 },
                 [&](rtc::event::ConnectionStateChanged& s) {
                   connection_states_.push_back({now, s.state});
                 },
                 [&](rtc::event::DataChannelOpen& o) {
                   opened_.push_back({now, o.channel});
                 },
                 [&](rtc::event::DataChannelMessage& m) {
                   auto& r = rx_[m.channel];
                   ++r.record.messages;
                   r.record.bytes += m.data.size();
                   if (!r.record.first_at) r.record.first_at = now;
                   r.record.last_at = now;
                   if (r.digest) {
                     ADD_FAILURE() << name_ << ": a message arrived on channel #" << m.channel
                                   << " after its digest was taken";
                   } else {
                     r.hash->update(m.data);
                   }
                   if (on_message) on_message(m.channel, m.data, m.binary);
                   if (config_.store_messages) r.record.stored.push_back(std::move(m.data));
                 },
                 [&](rtc::event::DataChannelBufferedAmountLow& b) {
                   ++low_events_;
                   // Copy: a listener may remove itself (or another) while we iterate.
                   auto listeners = low_listeners_;
                   for (auto& [token, fn] : listeners)
                     fn(b.channel);
                 },
                 [&](rtc::event::DataChannelClosed& c) {
                   closed_.push_back({now, c.channel});
                 },
             },
             e);
}

// --- sim::Endpoint -----------------------------------------------------------------------------

void SimPeer::handle_datagram(TimePoint now, const SocketAddress& local, const SocketAddress& from,
                              ByteView data) {
  pc_.handle_datagram(now, local, from, data);
  process_events();
}

void SimPeer::handle_timeout(TimePoint now) {
  pc_.handle_timeout(now);
  process_events();
}

std::optional<Datagram> SimPeer::poll_transmit() {
  // Events may make more output (a bulk sender resuming on BufferedAmountLow): drain both.
  auto t = pc_.poll_transmit();
  if (!t) {
    process_events();
    t = pc_.poll_transmit();
  }
  if (!t) return std::nullopt;
  return Datagram{t->local, t->remote, std::move(t->payload)};
}

std::optional<TimePoint> SimPeer::poll_timeout() {
  process_events();
  return pc_.poll_timeout();
}

// --- helpers -----------------------------------------------------------------------------------

void close_and_drain(Network& net, SimPeer& a, SimPeer& b) {
  a.pc().close(net.now());
  b.pc().close(net.now());
  a.process_events();
  b.process_events();
  net.run_for(seconds(5));
  EXPECT_TRUE(net.idle()) << "after closing both peers something is still pending\n"
                          << a.describe() << "\n"
                          << b.describe();
}

BulkSender::BulkSender(SimPeer& sender, rtc::ChannelId channel, BulkOptions options)
    : peer_(sender), channel_(channel), options_(options), pattern_(options.seed) {}

BulkSender::~BulkSender() {
  if (listener_ != 0) peer_.remove_buffered_low_listener(listener_);
}

void BulkSender::start() {
  peer_.pc().set_buffered_amount_low_threshold(channel_, options_.low_water);
  listener_ = peer_.add_buffered_low_listener([this](rtc::ChannelId ch) {
    if (ch != channel_) return;
    ++resumes_;
    pump();
  });
  pump();
}

void BulkSender::pump() {
  if (pumping_) return; // send() below processes events, which may call back here
  pumping_ = true;
  auto& pc = peer_.pc();
  while (sent_ < options_.total && pc.buffered_amount(channel_) < options_.high_water) {
    if (pending_.empty())
      pending_ = pattern_.bytes(std::min(options_.chunk, options_.total - sent_));
    auto r = peer_.send(channel_, pending_, true);
    max_buffered_ = std::max(max_buffered_, pc.buffered_amount(channel_));
    if (!r) {
      if (r.error() == Condition::Blocked) {
        ++blocked_; // BufferedAmountLow follows (sctp::Association owes us one)
      } else {
        errors_.push_back("send at " + std::to_string(sent_) + " B: " + r.error().message());
        ADD_FAILURE() << peer_.name() << ": bulk send failed: " << errors_.back();
      }
      break;
    }
    hash_.update(pending_);
    sent_ += pending_.size();
    pending_.clear();
  }
  pumping_ = false;
}

crypto::Sha256Digest BulkSender::digest() {
  EXPECT_TRUE(done()) << "digest of an unfinished transfer: " << describe();
  if (!digest_) digest_ = hash_.finish();
  return *digest_;
}

std::string BulkSender::describe() const {
  std::ostringstream os;
  os << "bulk from " << peer_.name() << " on #" << channel_ << ": sent " << sent_ << "/"
     << options_.total << " B, buffered " << peer_.pc().buffered_amount(channel_) << " (max "
     << max_buffered_ << "), resumes " << resumes_ << ", blocked " << blocked_;
  for (const auto& e : errors_)
    os << "; error: " << e;
  return os.str();
}

} // namespace posthorn::sim
