#include "runtime/peer_driver.hpp"

namespace posthorn::runtime {

PeerDriver::PeerDriver(boost::asio::any_io_executor executor, std::shared_ptr<UdpMux> mux,
                       rtc::Configuration config, Rng& rng)
    : executor_(executor), mux_(std::move(mux)), pc_(std::move(config), rng), timer_(executor) {
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

void PeerDriver::flush() {
  // A handler may call back into with(); the outer flush finishes the job.
  if (flushing_) return;
  flushing_ = true;
  for (bool progress = true; progress;) {
    progress = false;
    outgoing_.clear();
    while (auto t = pc_.poll_transmit())
      outgoing_.push_back(std::move(*t));
    if (!outgoing_.empty()) {
      progress = true;
      batch_.clear();
      for (const auto& t : outgoing_)
        batch_.push_back({&t.local, &t.remote, t.payload});
      mux_->send_many(key_, batch_);
    }
    while (auto e = pc_.poll_event()) {
      progress = true;
      if (handler_) handler_(*e);
    }
  }
  mux_->set_ufrag(key_, pc_.local_ice_credentials().ufrag);
  flushing_ = false;
  arm_timer();
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
