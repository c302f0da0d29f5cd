// `posthorn relay`: the self-hosted signaling relay (ws-relay, the Nostr subset and the
// WebTorrent tracker protocol Trystero needs, docs/relay.md) on one port. Prints one JSON line
// when listening ({"event":"listening","url":…}, plus "web", the page's address, when --web DIR
// serves DIR's files over HTTP on the same port) and one with the statistics on SIGUSR1 and at
// exit; SIGINT/SIGTERM close every connection and exit 0.
#include "cli/commands.hpp"
#include "core/log.hpp"
#include "relay/ws_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>

namespace posthorn::cli {
namespace {

nlohmann::json stats_json(const relay::ServerStats& s) {
  return {{"event", "stats"},
          {"clients", s.hub.clients},
          {"topics", s.hub.topics},
          {"subscriptions", s.hub.subscriptions},
          {"messages_in", s.hub.messages_in},
          {"deliveries", s.hub.deliveries},
          {"refused", s.hub.refused},
          {"disconnected", s.hub.disconnected},
          {"nostr_subscriptions", s.nostr.subscriptions},
          {"nostr_events_in", s.nostr.events_in},
          {"nostr_deliveries", s.nostr.deliveries},
          {"nostr_refused", s.nostr.refused},
          {"tracker_swarms", s.tracker.swarms},
          {"tracker_members", s.tracker.members},
          {"tracker_announces", s.tracker.announces},
          {"tracker_offers_forwarded", s.tracker.offers_forwarded},
          {"tracker_answers_routed", s.tracker.answers_routed},
          {"tracker_answers_dropped", s.tracker.answers_dropped},
          {"tracker_refused", s.tracker.refused},
          {"tracker_expired", s.tracker.expired},
          {"accepted", s.accepted},
          {"rejected", s.rejected},
          {"dropped_out", s.dropped_out},
          {"http_requests", s.http_requests},
          {"protocol_errors", s.protocol_errors},
          {"timed_out", s.timed_out}};
}

void print_line(const nlohmann::json& j) {
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
}

} // namespace

int run_relay(int argc, char** argv) {
  CLI::App app{"posthorn relay: the self-hosted signaling relay (ws-relay, Nostr, WebTorrent "
               "tracker) on one port",
               "relay"};
  relay::WsServerOptions o;
  app.add_option("--bind", o.bind_address, "address to listen on")->capture_default_str();
  app.add_option("--port", o.port, "port (0: any free port)")->capture_default_str();
  app.add_option("--max-clients", o.max_clients, "connections held at once")->capture_default_str();
  app.add_option("--rate", o.limits.rate_per_second, "messages per second per client")
      ->capture_default_str();
  app.add_option("--burst", o.limits.burst, "message burst per client")->capture_default_str();
  std::int64_t tracker_interval = o.tracker_limits.interval.count();
  app.add_option("--tracker-interval", tracker_interval,
                 "seconds between announces asked of WebTorrent tracker clients")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{86'400}))
      ->capture_default_str();
  std::string web_root;
  app.add_option("--web", web_root,
                 "also serve this directory's files over HTTP on the same port (the browser demo "
                 "page: web/dist)")
      ->check(CLI::ExistingDirectory);
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "log on stderr: trace|debug|info|warn");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  set_log_level(parse_log_level(log_level));
  // The documented per-client message budget holds whatever protocol a client speaks.
  o.nostr_limits.rate_per_second = o.tracker_limits.rate_per_second = o.limits.rate_per_second;
  o.nostr_limits.burst = o.tracker_limits.burst = o.limits.burst;
  o.tracker_limits.interval = std::chrono::seconds(tracker_interval);
  // Members must outlive the interval they were told, with room for a late announce or two.
  o.tracker_limits.member_ttl =
      std::max(o.tracker_limits.member_ttl, o.tracker_limits.interval * 5 / 2);

  boost::asio::io_context io;
  std::optional<relay::WsServer> server;
  try {
    server.emplace(io.get_executor(), o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "posthorn relay: cannot listen on %s:%u: %s\n", o.bind_address.c_str(),
                 static_cast<unsigned>(o.port), e.what());
    return 1;
  }
  try {
    if (!web_root.empty()) server->serve_files(web_root);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "posthorn relay: --web: %s\n", e.what());
    return 2;
  }
  nlohmann::json listening{
      {"event", "listening"}, {"url", server->url()}, {"port", server->port()}};
  if (!web_root.empty()) listening["web"] = "http" + server->url().substr(2) + "/";
  print_line(listening);

  boost::asio::signal_set stats_signal(io, SIGUSR1);
  boost::asio::signal_set stop_signals(io, SIGINT, SIGTERM);
  boost::asio::steady_timer deadline(io);
  stop_signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    server->stop();
    stats_signal.cancel();
    // The loop ends once the closing handshakes are done, or after a second whatever is left.
    deadline.expires_after(std::chrono::seconds(1));
    deadline.async_wait([&io](const boost::system::error_code& e) {
      if (!e) io.stop();
    });
  });
  std::function<void()> wait_stats = [&] {
    stats_signal.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      print_line(stats_json(server->stats()));
      wait_stats();
    });
  };
  wait_stats();
  io.run();
  print_line(stats_json(server->stats()));
  return 0;
}

} // namespace posthorn::cli
