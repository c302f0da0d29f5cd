#include "sim_agent_peer.hpp"

#include "core/overloaded.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace posthorn::sim {
namespace {

std::string describe_pair(const ice::SelectedPair& p) {
  std::ostringstream os;
  os << p.local.to_string() << " -> " << p.remote.to_string() << " ("
     << ice::to_string(p.remote_type) << (p.nominated ? ", nominated" : "") << ")";
  return os.str();
}

std::string_view role_name(ice::Role r) {
  return r == ice::Role::Controlling ? "controlling" : "controlled";
}

} // namespace

SimAgentPeer::SimAgentPeer(Network& net, std::string name, IpAddress local_ip,
                           ice::AgentConfig config, std::uint16_t port, Duration signaling_delay)
    : net_(net), name_(std::move(name)), rng_(net.rng().next_u64()),
      agent_(std::move(config), rng_), local_(local_ip, port), signaling_delay_(signaling_delay) {
  agent_.add_local_socket(local_);
}

bool SimAgentPeer::connected() const noexcept {
  const auto s = agent_.state();
  return s == ice::IceState::Connected || s == ice::IceState::Completed;
}

void SimAgentPeer::note(const std::string& what) {
  std::ostringstream os;
  os << to_ms(net_.elapsed()) << " ms " << name_ << ": " << what;
  log_.push_back(os.str());
}

void SimAgentPeer::signal(std::function<void(SimAgentPeer&)> deliver) {
  if (remote_ == nullptr) {
    ADD_FAILURE() << name_ << ": no signaling peer";
    return;
  }
  SimAgentPeer* to = remote_;
  net_.schedule_in(signaling_delay_, [to, deliver = std::move(deliver)] {
    deliver(*to);
    to->drain_events();
  });
}

void SimAgentPeer::start() {
  note("gather, role " + std::string(role_name(agent_.role())));
  agent_.gather(net_.now());
  const auto creds = agent_.local_credentials();
  signal([creds](SimAgentPeer& to) {
    to.note("remote credentials " + creds.ufrag);
    to.agent_.set_remote_credentials(to.net_.now(), creds.ufrag, creds.pwd);
  });
  drain_events();
}

void SimAgentPeer::drain_events() {
  while (auto e = agent_.poll_event()) {
    const TimePoint now = net_.now();
    std::visit(overloaded{
                   [&](ice::event::LocalCandidate& c) {
                     candidates_.push_back(c.candidate);
                     const std::string text = c.candidate.to_string();
                     note("local candidate " + text);
                     // Through the text form, as real signaling would carry it.
                     signal([text](SimAgentPeer& to) {
                       auto parsed = ice::Candidate::parse(text);
                       if (!parsed) {
                         ADD_FAILURE() << "unparsable candidate " << text;
                         return;
                       }
                       to.note("remote candidate " + text);
                       to.agent_.add_remote_candidate(to.net_.now(), *parsed);
                     });
                   },
                   [&](ice::event::GatheringComplete&) {
                     note("gathering complete");
                     signal([](SimAgentPeer& to) {
                       to.note("remote end-of-candidates");
                       to.agent_.set_remote_gathering_complete(to.net_.now());
                     });
                   },
                   [&](ice::event::StateChanged& s) {
                     states_.push_back({now, s.state});
                     note("state " + std::string(ice::to_string(s.state)));
                   },
                   [&](ice::event::SelectedPairChanged& p) {
                     selections_.push_back({now, p.pair});
                     note("selected " + describe_pair(p.pair));
                   },
                   [&](ice::event::RoleChanged& r) {
                     roles_.push_back({now, r.role});
                     note("role " + std::string(role_name(r.role)));
                   },
               },
               *e);
  }
}

std::string SimAgentPeer::describe() const {
  std::ostringstream os;
  const auto& st = agent_.stats();
  os << name_ << " (" << local_.to_string() << "): state " << ice::to_string(agent_.state())
     << ", role " << role_name(agent_.role()) << ", pairs " << agent_.pair_count()
     << ", checks sent " << st.checks_sent << " received " << st.checks_received << ", responses "
     << st.responses_received << ", role conflicts " << st.role_conflicts << ", pairs failed "
     << st.pairs_failed << ", bad integrity " << st.dropped_bad_integrity;
  if (auto p = agent_.selected_pair()) os << "\n  selected " << describe_pair(*p);
  os << "\n  log (last 40):";
  const std::size_t from = log_.size() > 40 ? log_.size() - 40 : 0;
  for (std::size_t i = from; i < log_.size(); ++i)
    os << "\n    " << log_[i];
  return os.str();
}

void SimAgentPeer::handle_datagram(TimePoint now, const SocketAddress& local,
                                   const SocketAddress& from, ByteView data) {
  agent_.handle_datagram(now, local, from, data);
  drain_events();
}

void SimAgentPeer::handle_timeout(TimePoint now) {
  agent_.handle_timeout(now);
  drain_events();
}

std::optional<Datagram> SimAgentPeer::poll_transmit() {
  auto t = agent_.poll_transmit();
  if (!t) return std::nullopt;
  return Datagram{t->local, t->remote, std::move(t->payload)};
}

std::optional<TimePoint> SimAgentPeer::poll_timeout() {
  drain_events();
  return agent_.poll_timeout();
}

void connect_agents(SimAgentPeer& a, SimAgentPeer& b) {
  a.set_signaling_peer(b);
  b.set_signaling_peer(a);
  a.start();
  b.start();
}

} // namespace posthorn::sim
