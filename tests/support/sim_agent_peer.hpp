#pragma once
// SimAgentPeer: a bare ice::Agent attached to the sim network, for ICE-only scenarios (role
// conflicts, determinism) where DTLS would only add OpenSSL's own randomness.
//
// Signaling is simulated with Network::schedule_in: start() gathers, sends the credentials, and
// every local candidate (then end-of-candidates) follows after `signaling_delay`. Everything the
// agent reports is logged as text with its virtual time, so two runs can be compared line by line.
//
//   sim::SimAgentPeer a(net, "a", topo.site_a.local_ip, {.role = ice::Role::Controlling, ...});
//   sim::SimAgentPeer b(net, "b", topo.site_b.local_ip, {.role = ice::Role::Controlled, ...});
//   topo.attach_a(a, "a");
//   topo.attach_b(b, "b");
//   sim::connect_agents(a, b);
//   ASSERT_TRUE(net.drive_until([&] { return a.completed() && b.completed(); }, 30s, "ice"));
//
// The agent's RNG is a SeededRng seeded from net.rng(): one seed fixes the whole run.

#include "sim_net.hpp"
#include "sim_peer.hpp"

#include "ice/agent.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace posthorn::sim {

class SimAgentPeer final : public Endpoint {
public:
  SimAgentPeer(Network& net, std::string name, IpAddress local_ip, ice::AgentConfig config,
               std::uint16_t port = 5000, Duration signaling_delay = milliseconds(50));
  SimAgentPeer(const SimAgentPeer&) = delete;
  SimAgentPeer& operator=(const SimAgentPeer&) = delete;

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] const SocketAddress& local_address() const noexcept { return local_; }
  [[nodiscard]] ice::Agent& agent() noexcept { return agent_; }
  [[nodiscard]] const ice::Agent& agent() const noexcept { return agent_; }

  void set_signaling_peer(SimAgentPeer& other) noexcept { remote_ = &other; }
  /// Gathers and sends the credentials; candidates follow as they are gathered (trickle).
  void start();

  [[nodiscard]] bool connected() const noexcept;
  [[nodiscard]] bool completed() const noexcept {
    return agent_.state() == ice::IceState::Completed;
  }
  [[nodiscard]] const std::vector<Timed<ice::IceState>>& states() const noexcept { return states_; }
  [[nodiscard]] const std::vector<Timed<ice::Role>>& role_changes() const noexcept {
    return roles_;
  }
  [[nodiscard]] const std::vector<Timed<ice::SelectedPair>>& selections() const noexcept {
    return selections_;
  }
  [[nodiscard]] const std::vector<ice::Candidate>& local_candidates() const noexcept {
    return candidates_;
  }
  /// Every event and signaling step as "<virtual ms> <name>: <what>".
  [[nodiscard]] const std::vector<std::string>& log() const noexcept { return log_; }
  [[nodiscard]] std::string describe() const;

  void handle_datagram(TimePoint now, const SocketAddress& local, const SocketAddress& from,
                       ByteView data) override;
  void handle_timeout(TimePoint now) override;
  std::optional<Datagram> poll_transmit() override;
  std::optional<TimePoint> poll_timeout() override;

private:
  void drain_events();
  void note(const std::string& what);
  void signal(std::function<void(SimAgentPeer&)> deliver);

  Network& net_;
  std::string name_;
  SeededRng rng_;
  ice::Agent agent_;
  SocketAddress local_;
  Duration signaling_delay_;
  SimAgentPeer* remote_ = nullptr;
  std::vector<Timed<ice::IceState>> states_;
  std::vector<Timed<ice::Role>> roles_;
  std::vector<Timed<ice::SelectedPair>> selections_;
  std::vector<ice::Candidate> candidates_;
  std::vector<std::string> log_;
};

/// Wires the two agents' signaling to each other and starts both.
void connect_agents(SimAgentPeer& a, SimAgentPeer& b);

} // namespace posthorn::sim
