#pragma once
// SimPeer: an rtc::PeerConnection attached to the sim network, for end-to-end scenarios (ICE +
// DTLS + SCTP through NATs, loss and partitions on a virtual clock).
//
// The adapter does the driver's job (peer_connection.hpp "Sans-IO"): the network hands it
// datagrams and timeouts, it drains the connection's transmits and events, and it records what
// happened with virtual timestamps (states, candidates, channels, messages) for the test to
// assert on. Signaling is simulated too: descriptions and trickled candidates reach the other
// peer through Network::schedule_in after `signaling_delay`, as a relay would deliver them.
//
//   sim::Network net(seed);
//   sim::TwoPeerTopology topo(net, NatType::PortRestricted, NatType::FullCone);
//   sim::SimPeer alice(net, "alice", topo.site_a.local_ip, {.stun_servers = {topo.stun_address}});
//   sim::SimPeer bob(net, "bob", topo.site_b.local_ip, {.stun_servers = {topo.stun_address}});
//   topo.attach_a(alice, "alice");
//   topo.attach_b(bob, "bob");
//   auto ch = alice.create_channel({.label = "chat"});
//   sim::negotiate(alice, bob);                        // offer from alice, answer from bob
//   ASSERT_TRUE(net.drive_until([&] { return bob.channel_by_label("chat").has_value(); }, 30s,
//                               "channel open"));
//
// Clocks: a SimPeer installs a VirtualWallClock (sim_wall_clock.hpp) for its network, so the
// wall clock usrsctp and OpenSSL read behind our back follows the virtual one.
//
// Randomness: each SimPeer owns a SeededRng seeded from net.rng(), so the ICE credentials, tie
// breakers and consent jitter follow the test seed. OpenSSL still draws its own randomness (DTLS
// randoms, ECDSA signature lengths): datagram sizes, and so trace_hash(), may differ between runs
// of a scenario with DTLS. ICE-only scenarios (sim_agent_peer.hpp) replay bit for bit.
//
// Not thread-safe (nothing in the sim is). A SimPeer must outlive its use by the network.

#include "sim_net.hpp"
#include "sim_wall_clock.hpp"

#include "core/crypto.hpp"
#include "ice/agent.hpp"
#include "rtc/peer_connection.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace posthorn::sim {

struct SimPeerConfig {
  std::vector<SocketAddress> stun_servers;
  ice::IceTiming ice_timing{};
  std::uint16_t port = 5000;
  /// How long a description or a trickled candidate takes to reach the other peer.
  Duration signaling_delay = milliseconds(50);
  /// Trickle candidates one by one (RFC 8838); off: send each description only once gathering
  /// completed, with every candidate inside (what non-trickle signaling does).
  bool trickle = true;
  /// Keep every received message; off: only count them and hash their bytes (for 16 MiB runs).
  bool store_messages = true;
  std::size_t max_message_size = 256 * 1024;
  /// Install a VirtualWallClock (sim_wall_clock.hpp) for the network. Only for showing what
  /// happens without one: usrsctp never repairs a lost retransmission under loss.
  bool virtual_wall_clock = true;
};

template <class T> struct Timed {
  TimePoint at;
  T value;
};

/// What arrived on one channel.
struct ChannelRx {
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
  std::optional<TimePoint> first_at;
  std::optional<TimePoint> last_at;
  std::vector<Bytes> stored; // only with store_messages
};

class SimPeer final : public Endpoint {
public:
  SimPeer(Network& net, std::string name, IpAddress local_ip, SimPeerConfig config = {});
  ~SimPeer() override;
  SimPeer(const SimPeer&) = delete;
  SimPeer& operator=(const SimPeer&) = delete;

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] const SocketAddress& local_address() const noexcept { return local_; }
  /// The connection itself, for anything the helpers below do not cover. Events the test causes
  /// by calling it directly are collected at the next step.
  [[nodiscard]] rtc::PeerConnection& pc() noexcept { return pc_; }
  [[nodiscard]] const rtc::PeerConnection& pc() const noexcept { return pc_; }

  // --- signaling ------------------------------------------------------------------------------
  /// Where this peer's descriptions and candidates go.
  void set_signaling_peer(SimPeer& other) noexcept { remote_ = &other; }
  void set_trickle(bool on) noexcept { config_.trickle = on; }
  void set_signaling_delay(Duration d) noexcept { config_.signaling_delay = d; }
  /// Creates an offer, applies it and sends it (now with trickle, else once gathered).
  void offer();
  /// restart_ice() then offer(): an ICE restart initiated by this peer (RFC 8445 §9).
  void restart_ice();
  /// Signaling errors (a description or candidate the peer refused), also reported as test
  /// failures where they happen.
  [[nodiscard]] const std::vector<std::string>& signaling_errors() const noexcept {
    return signaling_errors_;
  }
  [[nodiscard]] std::size_t descriptions_received() const noexcept { return descriptions_in_; }

  // --- data channels --------------------------------------------------------------------------
  /// create_data_channel; fails the test (and returns 0) on error.
  rtc::ChannelId create_channel(const sctp::ChannelOptions& options);
  /// Sends binary data now; returns the PeerConnection's result (Blocked, not open, ...).
  [[nodiscard]] result<void> send(rtc::ChannelId channel, ByteView data, bool binary = true);
  [[nodiscard]] bool is_open(rtc::ChannelId channel) const;
  /// The first channel with this label that opened here (ours or the peer's).
  [[nodiscard]] std::optional<rtc::ChannelId> channel_by_label(std::string_view label) const;
  [[nodiscard]] const std::vector<Timed<rtc::ChannelInfo>>& opened() const noexcept {
    return opened_;
  }
  [[nodiscard]] const std::vector<Timed<rtc::ChannelId>>& closed() const noexcept {
    return closed_;
  }
  /// What arrived on `channel` (an empty record if nothing did).
  [[nodiscard]] const ChannelRx& rx(rtc::ChannelId channel) const;
  /// SHA-256 of every byte received on `channel`, in order. Ends that channel's hash: a message
  /// arriving afterwards fails the test.
  [[nodiscard]] crypto::Sha256Digest rx_digest(rtc::ChannelId channel);
  [[nodiscard]] std::uint64_t buffered_low_events() const noexcept { return low_events_; }

  /// Called for every message (after it is counted), e.g. to check sequence numbers.
  std::function<void(rtc::ChannelId, const Bytes&, bool binary)> on_message;
  /// Listeners for DataChannelBufferedAmountLow; the token removes one.
  int add_buffered_low_listener(std::function<void(rtc::ChannelId)> fn);
  void remove_buffered_low_listener(int token);

  // --- states ---------------------------------------------------------------------------------
  [[nodiscard]] rtc::ConnectionState state() const noexcept { return pc_.connection_state(); }
  [[nodiscard]] bool connected() const noexcept {
    return state() == rtc::ConnectionState::Connected;
  }
  [[nodiscard]] const std::vector<Timed<rtc::ConnectionState>>& connection_states() const noexcept {
    return connection_states_;
  }
  [[nodiscard]] const std::vector<Timed<ice::IceState>>& ice_states() const noexcept {
    return ice_states_;
  }
  /// When the connection first entered `s` (nullopt: never).
  [[nodiscard]] std::optional<TimePoint> first_time(rtc::ConnectionState s) const;
  [[nodiscard]] std::optional<TimePoint> first_time(ice::IceState s) const;
  [[nodiscard]] std::optional<TimePoint> first_time_after(rtc::ConnectionState s,
                                                          TimePoint after) const;
  [[nodiscard]] std::optional<TimePoint> first_time_after(ice::IceState s, TimePoint after) const;
  /// Local candidates in W3C form, in the order gathered ("" = end-of-candidates).
  [[nodiscard]] const std::vector<Timed<std::string>>& local_candidates() const noexcept {
    return local_candidates_;
  }
  /// One line per fact, with virtual times: for failure messages (`<< peer.describe()`).
  [[nodiscard]] std::string describe() const;

  // --- sim::Endpoint --------------------------------------------------------------------------
  void handle_datagram(TimePoint now, const SocketAddress& local, const SocketAddress& from,
                       ByteView data) override;
  void handle_timeout(TimePoint now) override;
  std::optional<Datagram> poll_transmit() override;
  std::optional<TimePoint> poll_timeout() override;

  /// Takes the connection's pending events now (the network does it at every step).
  void process_events();

private:
  struct Rx {
    ChannelRx record;
    std::unique_ptr<crypto::Sha256> hash = std::make_unique<crypto::Sha256>();
    std::optional<crypto::Sha256Digest> digest;
  };

  void on_event(rtc::Event& e);
  void receive_description(const rtc::Description& d);
  void send_description(const rtc::Description& d);
  void send_candidate(const std::string& candidate, const std::string& mid);
  void signaling_error(std::string what);
  void send_when_gathered();

  Network& net_;
  std::optional<VirtualWallClock> clock_; // usrsctp's and DTLS's hidden clock follows net_'s
  std::string name_;
  SimPeerConfig config_;
  SeededRng rng_;
  rtc::PeerConnection pc_;
  SocketAddress local_;
  SimPeer* remote_ = nullptr;
  bool processing_ = false;
  bool send_when_gathered_ = false;

  std::vector<std::string> signaling_errors_;
  std::size_t descriptions_in_ = 0;
  std::vector<Timed<std::string>> local_candidates_;
  std::vector<Timed<rtc::ConnectionState>> connection_states_;
  std::vector<Timed<ice::IceState>> ice_states_;
  std::vector<Timed<rtc::ChannelInfo>> opened_;
  std::vector<Timed<rtc::ChannelId>> closed_;
  std::map<rtc::ChannelId, Rx> rx_;
  std::uint64_t low_events_ = 0;
  std::map<int, std::function<void(rtc::ChannelId)>> low_listeners_;
  int next_listener_ = 1;
};

/// JSEP offer/answer between two peers: wires their signaling to each other, then `offerer`
/// creates and sends the offer; the answerer answers when it arrives. Drive the network to let
/// it happen.
void negotiate(SimPeer& offerer, SimPeer& answerer);

/// Closes both connections, lets in-flight datagrams land and reports (as a test failure) if the
/// network is not idle afterwards: every scenario ends clean (docs/testing.md).
void close_and_drain(Network& net, SimPeer& a, SimPeer& b);

struct BulkOptions {
  std::size_t total = 16 << 20;
  std::size_t chunk = 64 << 10;
  /// Send while the channel's buffered amount is below this ...
  std::size_t high_water = 1 << 20;
  /// ... then wait for BufferedAmountLow, whose threshold this is.
  std::size_t low_water = 256 << 10;
  /// The payload is SeededRng(seed)'s byte stream.
  std::uint64_t seed = 1;
};

/// Sends `total` pseudo-random bytes on an open channel with back-pressure, the way an
/// application should (W3C bufferedAmount / bufferedamountlow): send while the buffered amount is
/// below the high-water mark, stop, resume on BufferedAmountLow. Hashes what it sent.
class BulkSender {
public:
  BulkSender(SimPeer& sender, rtc::ChannelId channel, BulkOptions options = {});
  ~BulkSender();
  BulkSender(const BulkSender&) = delete;
  BulkSender& operator=(const BulkSender&) = delete;

  /// Sets the low threshold, listens for BufferedAmountLow and sends the first burst.
  void start();
  [[nodiscard]] bool done() const noexcept { return sent_ == options_.total; }
  [[nodiscard]] std::size_t sent() const noexcept { return sent_; }
  /// SHA-256 of everything sent; call once done().
  [[nodiscard]] crypto::Sha256Digest digest();
  [[nodiscard]] std::uint64_t resumes() const noexcept { return resumes_; }
  [[nodiscard]] std::uint64_t blocked() const noexcept { return blocked_; }
  [[nodiscard]] std::size_t max_buffered() const noexcept { return max_buffered_; }
  [[nodiscard]] const std::vector<std::string>& errors() const noexcept { return errors_; }
  [[nodiscard]] std::string describe() const;

private:
  void pump();

  SimPeer& peer_;
  rtc::ChannelId channel_;
  BulkOptions options_;
  SeededRng pattern_;
  crypto::Sha256 hash_;
  std::optional<crypto::Sha256Digest> digest_;
  Bytes pending_; // drawn from the pattern, not yet accepted
  std::size_t sent_ = 0;
  std::uint64_t resumes_ = 0;
  std::uint64_t blocked_ = 0;
  std::size_t max_buffered_ = 0;
  std::vector<std::string> errors_;
  int listener_ = 0;
  bool pumping_ = false;
};

/// "12.345 s" style virtual time since kEpoch, for messages.
std::string format_virtual(TimePoint t);

} // namespace posthorn::sim
