#include "runtime/peer_driver.hpp"

namespace posthorn::runtime {

PeerDriver::PeerDriver(boost::asio::any_io_executor executor, std::shared_ptr<UdpMux> mux,
                       rtc::Configuration config, Rng& rng, std::shared_ptr<MdnsService> mdns)
    : executor_(executor), mux_(std::move(mux)), pc_(std::move(config), rng), timer_(executor),
      mdns_(std::move(mdns)) {
  for (const auto& local : mux_->local_addresses())
    pc_.add_local_socket(local);
  key_ = mux_->add_connection(
      pc_.local_ice_credentials().ufrag,
      [this](const SocketAddress& local, const SocketAddress& remote, ByteView data) {
        pc_.handle_datagram(Clock::now(), local, remote, data);
      },
      // Datagrams of one receive burst are all fed in, then one flush sends every reply together.
      [this] { flush(); });
}

PeerDriver::~PeerDriver() {
  *alive_ = false;
  mux_->remove_connection(key_);
}

const TurnSocketStats& PeerDriver::turn_socket_stats() const noexcept {
  static const TurnSocketStats kNone;
  return turn_sockets_ ? turn_sockets_->stats() : kNone;
}

void PeerDriver::flush() {
  // A handler may call back into with(); the outer flush finishes the job.
  if (flushing_) return;
  flushing_ = true;
  for (bool progress = true; progress;) {
    progress = false;
    outgoing_.clear();
    while (auto t = pc_.poll_transmit()) {
      if (t->turn) {
        progress = true;
        send_turn(*t);
        continue;
      }
      outgoing_.push_back(std::move(*t));
    }
    if (!outgoing_.empty()) {
      progress = true;
      batch_.clear();
      for (const auto& t : outgoing_)
        batch_.push_back({&t.local, &t.remote, t.payload});
      mux_->send_many(key_, batch_);
    }
    // Candidate errors first: they explain a "failed" state change among the events.
    while (auto e = pc_.poll_candidate_error()) {
      progress = true;
      if (candidate_error_handler_) candidate_error_handler_(*e);
    }
    while (auto e = pc_.poll_event()) {
      progress = true;
      if (handler_) handler_(*e);
    }
    while (auto name = pc_.poll_mdns_query())
      resolve_mdns(std::move(*name)); // answers arrive later, from the executor
  }
  mux_->set_ufrag(key_, pc_.local_ice_credentials().ufrag);
  flushing_ = false;
  arm_timer();
}

void PeerDriver::send_turn(const ice::Transmit& t) {
  if (!turn_sockets_) {
    std::weak_ptr<bool> alive = alive_;
    TurnSockets::Handlers h;
    h.on_bytes = [this, alive](ice::TurnLinkId link, ByteView data) {
      if (!alive.expired()) pc_.handle_turn_bytes(Clock::now(), link, data);
    };
    h.on_closed = [this, alive](ice::TurnLinkId link) {
      if (!alive.expired()) pc_.handle_turn_closed(Clock::now(), link);
    };
    // One flush per receive burst, like the mux's burst_end.
    h.on_burst_end = [this, alive] {
      if (!alive.expired()) flush();
    };
    turn_sockets_ = std::make_unique<TurnSockets>(executor_, std::move(h));
  }
  turn_sockets_->send(t);
}

void PeerDriver::resolve_mdns(std::string name) {
  if (!mdns_) mdns_ = std::make_shared<MdnsService>(executor_);
  std::weak_ptr<bool> alive = alive_;
  mdns_->resolve(name, [this, alive, name](const result<IpAddress>& address) {
    if (alive.expired()) return;
    pc_.handle_mdns_resolved(Clock::now(), name, address);
    flush();
  });
}

void PeerDriver::arm_timer() {
  auto next = pc_.poll_timeout();
  if (!next) return;
  if (armed_ && *armed_ <= *next) return; // the armed timer fires first anyway
  armed_ = *next;
  timer_.expires_at(*next);
  std::weak_ptr<bool> alive = alive_;
  timer_.async_wait([this, alive](boost::system::error_code ec) {
    if (ec || alive.expired()) return;
    armed_.reset();
    pc_.handle_timeout(Clock::now());
    flush();
  });
}

} // namespace posthorn::runtime
