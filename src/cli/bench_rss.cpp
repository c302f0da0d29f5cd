#include "cli/bench_rss.hpp"

#include "core/overloaded.hpp"
#include "dtls/certificate.hpp"
#include "runtime/peer_driver.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <fstream>
#include <stdexcept>
#include <string>

namespace posthorn::cli {
namespace {

long current_rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

} // namespace

double measure_rss_kib_per_connection(int connections) {
  const int pairs = std::max(1, connections / 2);
  boost::asio::io_context io;
  CryptoRng rng;
  auto certificate = dtls::Certificate::generate().value();
  rtc::Configuration config;
  config.certificate = certificate;

  // Warm up allocators and usrsctp with one pair first, so the figure is the marginal cost.
  std::vector<std::unique_ptr<runtime::PeerDriver>> drivers;
  int open = 0;
  auto make_pair = [&] {
    auto mux_a = std::make_shared<runtime::UdpMux>(
        io.get_executor(), std::vector<IpAddress>{IpAddress::v4(0x7f000001)});
    auto mux_b = std::make_shared<runtime::UdpMux>(
        io.get_executor(), std::vector<IpAddress>{IpAddress::v4(0x7f000001)});
    auto a = std::make_unique<runtime::PeerDriver>(io.get_executor(), mux_a, config, rng);
    auto b = std::make_unique<runtime::PeerDriver>(io.get_executor(), mux_b, config, rng);
    auto* pa = a.get();
    auto* pb = b.get();
    auto wire = [&](runtime::PeerDriver* self, runtime::PeerDriver* other) {
      self->on_event([&, other](rtc::Event& e) {
        std::visit(overloaded{
                       [&](rtc::event::LocalCandidate& c) {
                         boost::asio::post(io, [other, c] {
                           other->with([&](rtc::PeerConnection& pc, TimePoint now) {
                             (void)pc.add_remote_candidate(now, c.candidate, c.mid);
                           });
                         });
                       },
                       [&](rtc::event::DataChannelOpen&) { ++open; },
                       [](auto&) {},
                   },
                   e);
      });
    };
    wire(pa, pb);
    wire(pb, pa);
    pa->with([&](rtc::PeerConnection& pc, TimePoint now) {
      (void)pc.create_data_channel({.label = "rss"});
      auto offer = pc.create_offer().value();
      (void)pc.set_local_description(now, offer);
      pb->with([&](rtc::PeerConnection& pcb, TimePoint now_b) {
        (void)pcb.set_remote_description(now_b, offer);
        auto answer = pcb.create_answer().value();
        (void)pcb.set_local_description(now_b, answer);
        (void)pc.set_remote_description(now, answer);
      });
    });
    drivers.push_back(std::move(a));
    drivers.push_back(std::move(b));
  };
  auto run_until_open = [&](int target) {
    const auto deadline = Clock::now() + seconds(60);
    while (open < target && Clock::now() < deadline)
      io.run_for(milliseconds(10));
    if (open < target) throw std::runtime_error("memory run: not every channel opened");
  };
  make_pair();
  run_until_open(2);
  const long before = current_rss_kib();
  for (int i = 0; i < pairs; ++i)
    make_pair();
  run_until_open(2 + 2 * pairs);
  const long after = current_rss_kib();
  return static_cast<double>(after - before) / (2.0 * pairs);
}

} // namespace posthorn::cli
