#pragma once
// Drives one rtc::PeerConnection on an asio executor: feeds it the datagrams its UdpMux receives
// and its timer, and after every input drains it — transmits to the sockets, events to the
// application's callback, then re-arms the one timer (STYLE.md "sans-IO shape").
//
// TURN: transmits for a TURN link go to this driver's own TurnSockets (a UDP socket or TCP
// connection per TURN server, see turn_sockets.hpp); what they receive is fed back with
// handle_turn_bytes / handle_turn_closed. TURN servers that fail are reported to
// on_candidate_error (W3C `icecandidateerror`).
//
// mDNS: a browser's ".local" host candidates are resolved through an MdnsService (shared by
// every driver of an executor when the owner passes one; else one of its own, opened on demand),
// and the answers are fed back with handle_mdns_resolved.
//
// Threading: everything runs on the executor's thread; callbacks are invoked from flush(), never
// re-entrantly inside a PeerConnection call. Call `with()` to use the PeerConnection API: it
// flushes afterwards so that whatever the call produced goes out.

#include "core/rng.hpp"
#include "rtc/peer_connection.hpp"
#include "runtime/mdns_service.hpp"
#include "runtime/turn_sockets.hpp"
#include "runtime/udp_mux.hpp"

#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>

namespace posthorn::runtime {

class PeerDriver {
public:
  using EventHandler = std::function<void(rtc::Event&)>;
  using CandidateErrorHandler = std::function<void(const ice::CandidateError&)>;

  /// `mux` is shared: many drivers may serve their connections from one set of sockets; so may
  /// `mdns` (null: the driver opens its own when a .local candidate first needs it).
  PeerDriver(boost::asio::any_io_executor executor, std::shared_ptr<UdpMux> mux,
             rtc::Configuration config, Rng& rng, std::shared_ptr<MdnsService> mdns = nullptr);
  ~PeerDriver();
  PeerDriver(const PeerDriver&) = delete;
  PeerDriver& operator=(const PeerDriver&) = delete;

  void on_event(EventHandler handler) { handler_ = std::move(handler); }
  /// A TURN server could not be used; runs from flush(), before the events of the same input
  /// (so the reason precedes the "failed" state change it may cause).
  void on_candidate_error(CandidateErrorHandler handler) {
    candidate_error_handler_ = std::move(handler);
  }

  /// Runs `fn(pc, now)` and flushes. Returns what fn returns.
  template <class Fn> decltype(auto) with(Fn&& fn) {
    struct FlushOnExit {
      PeerDriver* self;
      ~FlushOnExit() { self->flush(); }
    } guard{this};
    return std::forward<Fn>(fn)(pc_, Clock::now());
  }

  [[nodiscard]] const rtc::PeerConnection& pc() const noexcept { return pc_; }
  [[nodiscard]] const TurnSocketStats& turn_socket_stats() const noexcept;
  /// Drains transmits and events, re-arms the timer.
  void flush();

private:
  void arm_timer();
  void send_turn(const ice::Transmit& t);
  void resolve_mdns(std::string name);

  boost::asio::any_io_executor executor_;
  std::shared_ptr<UdpMux> mux_;
  rtc::PeerConnection pc_;
  UdpMux::ConnectionKey key_;
  boost::asio::steady_timer timer_;
  std::optional<TimePoint> armed_;
  EventHandler handler_;
  CandidateErrorHandler candidate_error_handler_;
  std::unique_ptr<TurnSockets> turn_sockets_; // created on the first TURN transmit
  std::shared_ptr<MdnsService> mdns_;         // created on the first .local candidate if null
  bool flushing_ = false;
  std::vector<ice::Transmit> outgoing_; // reused across flushes
  std::vector<UdpMux::Outgoing> batch_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace posthorn::runtime
