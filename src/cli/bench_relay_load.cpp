#include "cli/bench_relay_load.hpp"

#include "cli/bench_relay_ws.hpp"
#include "net/ws_frame.hpp"
#include "signal/tracker_codec.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

namespace posthorn::cli {

namespace asio = boost::asio;
namespace tracker = signal::tracker;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kSourceAddresses = 64;
constexpr std::uint32_t kFirstSource = (127u << 24) | (1u << 16) | 1u; // 127.1.0.1
/// Enough for the upgrade response and a reply; grows when a frame needs more.
constexpr std::size_t kHoldReadBuffer = 1024;
/// A read takes whatever arrived for one connection since its last wake-up.
constexpr std::size_t kLoadReadBuffer = std::size_t{32} * 1024;

std::string fixed_id(std::string_view prefix, std::size_t n) {
  char digits[32];
  const int width = static_cast<int>(tracker::kIdLength - prefix.size());
  std::snprintf(digits, sizeof digits, "%0*zu", width, n);
  return std::string(prefix) + digits;
}

std::string peer_id(std::size_t client) {
  return fixed_id("bench-peer-", client);
}
std::string info_hash(std::size_t swarm) {
  return fixed_id("bench-swarm-", swarm);
}

/// Base64 characters, as in Trystero's encrypted SDP: nothing a JSON encoder escapes.
std::string random_text(std::mt19937_64& rng, std::size_t n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string s(n, 'A');
  for (auto& c : s)
    c = kAlphabet[rng() % 64];
  return s;
}

enum class Kind { Reply, Offer, Answer, Failure };

/// Both servers write these shapes in this field order (bittorrent-tracker's, which
/// signal/tracker_codec copies); anything else is looked into before it counts as a failure.
Kind classify(std::string_view m) {
  if (m.starts_with(R"({"complete")")) return Kind::Reply;
  if (m.starts_with(R"({"action":"announce","offer")")) return Kind::Offer;
  if (m.starts_with(R"({"action":"announce","answer")")) return Kind::Answer;
  if (m.find("\"failure reason\"") != std::string_view::npos) return Kind::Failure;
  if (m.find("\"interval\"") != std::string_view::npos) return Kind::Reply;
  if (m.find("\"offer\":") != std::string_view::npos) return Kind::Offer;
  if (m.find("\"answer\":") != std::string_view::npos) return Kind::Answer;
  return Kind::Failure;
}

double cpu_seconds_of_this_process() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

LoadCounts operator-(const LoadCounts& a, const LoadCounts& b) {
  return {a.replies - b.replies,
          a.offers - b.offers,
          a.answers - b.answers,
          a.failures - b.failures,
          a.announces_sent - b.announces_sent,
          a.answers_sent - b.answers_sent,
          a.lost - b.lost};
}

/// One client connection. Addresses are stable (held by unique_ptr), so handlers keep a pointer.
struct Conn {
  explicit Conn(asio::io_context& io) : socket(io) {}
  enum class State : std::uint8_t { Idle, Connecting, Handshaking, Open, Dead };

  tcp::socket socket;
  std::uint32_t index = 0;
  State state = State::Idle;
  bool answered = false; ///< its first announce got a reply (or a failure)
  bool write_waiting = false;
  std::uint32_t to_send = 0; ///< load announces owed, sent after the current read is parsed
  std::vector<char> in;
  std::size_t in_used = 0;
  /// The server's frames (unmasked, §5.1); it reassembles fragments and carries unfinished ones.
  net::ws::MessageReader reader{{.max_message_bytes = 64u << 20, .expect_masked = false}};
  std::string out; ///< bytes the kernel has not taken yet
};

} // namespace

struct RelayLoad::Impl {
  explicit Impl(std::uint16_t port)
      : server(asio::ip::make_address_v4("127.0.0.1"), port),
        request(bench_ws::upgrade_request("127.0.0.1:" + std::to_string(port))) {}

  // Declared first, destroyed last: the sockets go before their io_context.
  asio::io_context io{1};
  tcp::endpoint server;
  std::string request;
  std::vector<std::unique_ptr<Conn>> conns;
  std::mt19937_64 rng{0x706f7374686f726eull};

  // hold()
  HoldPlan plan;
  HoldResult result;
  std::size_t next_to_start = 0;
  std::size_t in_setup = 0;
  bool starting = false;
  std::size_t read_buffer = kHoldReadBuffer;
  Clock::time_point started, last_progress;

  // throughput()
  LoadCounts counts;
  bool loading = false;
  std::vector<std::string> load_frames; ///< per client: its announce (and answer), masked
  std::string first_failure;

  std::uint32_t mask_of(const Conn& c) const { return 0x9e3779b9u * (c.index + 1); }

  void note_error(const std::string& why) {
    if (result.first_error.empty()) result.first_error = why;
  }

  void start_more() {
    // start() may fail at once and settle, which calls back here: loop, never recurse.
    if (starting) return;
    starting = true;
    while (in_setup < plan.concurrency && next_to_start < conns.size())
      start(*conns[next_to_start++]);
    starting = false;
  }

  void start(Conn& c) {
    boost::system::error_code ec;
    c.state = Conn::State::Connecting;
    ++in_setup;
    c.in.resize(read_buffer);
    c.socket.open(tcp::v4(), ec);
    if (!ec) {
      // The port is picked at connect time, per destination: many more than the ephemeral
      // range per source address (Linux ≥ 4.2).
      int one = 1;
      ::setsockopt(c.socket.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      c.socket.bind(tcp::endpoint(asio::ip::address_v4(static_cast<std::uint32_t>(
                                      kFirstSource + c.index % kSourceAddresses)),
                                  0),
                    ec);
    }
    if (ec) {
      fail(c, "socket: " + ec.message());
      return;
    }
    c.socket.async_connect(server, [this, p = &c](const boost::system::error_code& e) {
      if (p->state == Conn::State::Dead) return;
      if (e) return fail(*p, "connect: " + e.message());
      boost::system::error_code ignored;
      p->socket.set_option(tcp::no_delay(true), ignored);
      p->socket.non_blocking(true, ignored);
      p->state = Conn::State::Handshaking;
      p->out = request;
      flush(*p);
      read(*p);
    });
  }

  /// Its first announce was answered, or it failed before: one fewer in setup.
  void settle(Conn& c, bool held) {
    c.answered = true;
    --in_setup;
    held ? ++result.held : ++result.failed;
    last_progress = Clock::now();
    if (result.held + result.failed == result.clients) {
      result.seconds = std::chrono::duration<double>(last_progress - started).count();
      io.stop();
      return;
    }
    start_more();
  }

  void fail(Conn& c, const std::string& why) {
    if (c.state == Conn::State::Dead) return;
    const bool was_open = c.state == Conn::State::Open;
    c.state = Conn::State::Dead;
    boost::system::error_code ignored;
    c.socket.close(ignored);
    if (!c.answered) {
      note_error(why);
      settle(c, false);
    } else if (was_open) {
      ++counts.lost;
      if (first_failure.empty()) first_failure = "a held connection ended: " + why;
    }
  }

  void read(Conn& c) {
    c.socket.async_read_some(asio::buffer(c.in.data() + c.in_used, c.in.size() - c.in_used),
                             [this, p = &c](const boost::system::error_code& e, std::size_t n) {
                               if (p->state == Conn::State::Dead) return;
                               if (e)
                                 return fail(*p, e == asio::error::eof
                                                     ? std::string("closed by the server")
                                                     : "read: " + e.message());
                               p->in_used += n;
                               if (parse(*p)) read(*p);
                             });
  }

  /// Everything whole in c.in; false when the connection is gone.
  bool parse(Conn& c) {
    std::size_t pos = 0;
    if (c.state == Conn::State::Handshaking) {
      auto head = bench_ws::upgrade_response_length({c.in.data(), c.in_used});
      if (auto* no = std::get_if<bench_ws::NotUpgraded>(&head)) {
        fail(c, "upgrade refused: " + no->status_line);
        return false;
      }
      pos = std::get<std::size_t>(head);
      if (pos == 0) {
        if (c.in_used == c.in.size()) c.in.resize(c.in.size() * 2);
        return true;
      }
      c.state = Conn::State::Open;
      ++result.connected;
      send_first_announce(c);
    }
    if (c.state == Conn::State::Open && c.in_used > pos) {
      c.reader.feed(std::span<char>(c.in.data() + pos, c.in_used - pos));
      while (c.state == Conn::State::Open) {
        auto r = c.reader.next();
        if (std::holds_alternative<net::ws::NeedMore>(r)) break;
        if (auto* bad = std::get_if<net::ws::ReadFailure>(&r)) {
          fail(c, std::string("bad frame: ") + bad->why);
          return false;
        }
        on_frame(c, std::get<net::ws::Received>(r));
      }
    }
    if (c.state == Conn::State::Dead) return false;
    c.in_used = 0; // the reader carries an unfinished frame itself
    if (c.to_send > 0) {
      const auto& frame = load_frames[c.index];
      for (; c.to_send > 0; --c.to_send)
        c.out += frame;
    }
    flush(c);
    return c.state != Conn::State::Dead;
  }

  void on_frame(Conn& c, const net::ws::Received& f) {
    using net::ws::Opcode;
    switch (f.opcode) {
    case Opcode::Text:
    case Opcode::Binary: return on_message(c, f.payload);
    case Opcode::Ping:
      net::ws::append_masked_frame(c.out, Opcode::Pong, f.payload, mask_of(c));
      return;
    case Opcode::Close: fail(c, "the server closed the WebSocket"); return;
    default: return;
    }
  }

  void on_message(Conn& c, std::string_view m) {
    switch (classify(m)) {
    case Kind::Reply:
      if (!c.answered) return settle(c, true);
      ++counts.replies;
      if (loading) ++c.to_send;
      return;
    case Kind::Offer: ++counts.offers; return;
    case Kind::Answer: ++counts.answers; return;
    case Kind::Failure:
      ++counts.failures;
      if (first_failure.empty()) first_failure = std::string(m.substr(0, 200));
      if (!c.answered) {
        note_error("announce refused: " + std::string(m.substr(0, 200)));
        return settle(c, false);
      }
      if (loading) ++c.to_send; // a refused announce was handled too: keep the window full
      return;
    }
  }

  void send_first_announce(Conn& c) {
    // Trystero's dormant announce (signal/torrent_coordinator): in the swarm, no offers.
    const auto text = tracker::encode(
        tracker::ClientMessage{tracker::Announce{.info_hash = info_hash(c.index / plan.swarm_size),
                                                 .peer_id = peer_id(c.index),
                                                 .numwant = 3,
                                                 .left = 0}});
    net::ws::append_masked_frame(c.out, net::ws::Opcode::Text, text, mask_of(c));
  }

  void flush(Conn& c) {
    if (c.out.empty() || c.write_waiting || c.state == Conn::State::Dead) return;
    boost::system::error_code ec;
    const std::size_t n = c.socket.write_some(asio::buffer(c.out), ec);
    if (ec && ec != asio::error::would_block && ec != asio::error::try_again)
      return fail(c, "write: " + ec.message());
    if (n == c.out.size()) {
      c.out.clear();
      return;
    }
    c.out.erase(0, n);
    c.write_waiting = true;
    c.socket.async_wait(tcp::socket::wait_write,
                        [this, p = &c](const boost::system::error_code& e) {
                          p->write_waiting = false;
                          if (p->state == Conn::State::Dead) return;
                          if (e) return fail(*p, "write: " + e.message());
                          flush(*p);
                        });
  }

  void close_all() {
    for (auto& c : conns) {
      if (c->state == Conn::State::Idle || c->state == Conn::State::Dead) continue;
      c->state = Conn::State::Dead;
      boost::system::error_code ignored;
      c->socket.set_option(asio::socket_base::linger(true, 0), ignored); // RST: no TIME_WAIT
      c->socket.close(ignored);
    }
  }
};

RelayLoad::RelayLoad(std::uint16_t port) : impl_(std::make_unique<Impl>(port)) {}

RelayLoad::~RelayLoad() {
  impl_->close_all();
}

HoldResult RelayLoad::hold(const HoldPlan& plan) {
  auto& m = *impl_;
  m.plan = plan;
  m.plan.swarm_size = std::max<std::size_t>(1, plan.swarm_size);
  m.plan.concurrency = std::max<std::size_t>(1, plan.concurrency);
  m.result = HoldResult{.clients = plan.clients};
  const std::size_t first = m.conns.size();
  for (std::size_t i = 0; i < plan.clients; ++i) {
    m.conns.push_back(std::make_unique<Conn>(m.io));
    m.conns.back()->index = static_cast<std::uint32_t>(first + i);
  }
  m.next_to_start = first;
  m.in_setup = 0;
  m.started = m.last_progress = Clock::now();
  if (plan.clients == 0) return m.result;

  asio::steady_timer watchdog(m.io);
  std::function<void()> watch = [&] {
    watchdog.expires_after(std::chrono::milliseconds(250));
    watchdog.async_wait([&](const boost::system::error_code& e) {
      if (e) return;
      const auto now = Clock::now();
      if (now - m.last_progress >= plan.stall || now - m.started >= plan.limit) {
        m.io.stop();
        return;
      }
      watch();
    });
  };
  watch();
  m.start_more();
  m.io.restart();
  m.io.run();
  watchdog.cancel();
  // Whoever has not been answered by now counts as failed (the server stalled).
  for (std::size_t i = first; i < m.conns.size(); ++i) {
    Conn& c = *m.conns[i];
    if (c.answered) continue;
    if (c.state != Conn::State::Idle) m.note_error("no reply within the stall limit");
    c.answered = true;
    ++m.result.failed;
    if (c.state != Conn::State::Idle && c.state != Conn::State::Dead) {
      c.state = Conn::State::Dead;
      boost::system::error_code ignored;
      c.socket.set_option(asio::socket_base::linger(true, 0), ignored);
      c.socket.close(ignored);
    }
  }
  if (m.result.seconds == 0)
    m.result.seconds = std::chrono::duration<double>(m.last_progress - m.started).count();
  // Run what the closes above cancelled, so no handler is left for a later run.
  m.io.restart();
  m.io.poll();
  return m.result;
}

ThroughputResult RelayLoad::throughput(const ThroughputPlan& plan,
                                       const std::function<void()>& window_start,
                                       const std::function<void()>& window_end) {
  auto& m = *impl_;
  ThroughputResult out;
  m.read_buffer = kLoadReadBuffer;
  out.setup = hold(HoldPlan{.clients = plan.clients, .swarm_size = plan.swarm_size});

  // Each client's load frame, built once: its announce with one offer (and an answer).
  const std::size_t swarm_size = std::max<std::size_t>(1, plan.swarm_size);
  m.load_frames.assign(m.conns.size(), {});
  for (const auto& c : m.conns) {
    const std::size_t i = c->index;
    const std::size_t swarm = i / swarm_size;
    auto& frame = m.load_frames[i];
    tracker::Announce a{.info_hash = info_hash(swarm), .peer_id = peer_id(i), .numwant = 1};
    a.offers.push_back({random_text(m.rng, 20), random_text(m.rng, plan.offer_bytes)});
    net::ws::append_masked_frame(frame, net::ws::Opcode::Text,
                                 tracker::encode(tracker::ClientMessage{a}), m.mask_of(*c));
    if (plan.answers) {
      // To the next member of the same swarm (the last swarm may be short).
      const std::size_t base = swarm * swarm_size;
      const std::size_t members = std::min(swarm_size, m.conns.size() - base);
      const std::size_t to = base + (i - base + 1) % members;
      const tracker::SendAnswer answer{.info_hash = info_hash(swarm),
                                       .peer_id = peer_id(i),
                                       .to_peer_id = peer_id(to),
                                       .offer_id = random_text(m.rng, 20),
                                       .sdp = random_text(m.rng, plan.offer_bytes)};
      net::ws::append_masked_frame(frame, net::ws::Opcode::Text,
                                   tracker::encode(tracker::ClientMessage{answer}), m.mask_of(*c));
    }
  }

  m.loading = true;
  m.counts = {};
  m.first_failure.clear();
  std::size_t sending = 0;
  for (auto& c : m.conns) {
    if (c->state != Conn::State::Open) continue;
    ++sending;
    c->to_send = static_cast<std::uint32_t>(plan.window);
    for (; c->to_send > 0; --c->to_send)
      c->out += m.load_frames[c->index];
    m.flush(*c);
  }
  // Sent frames are counted where they are built: each reply owes one more.
  const std::uint64_t per_frame_answers = plan.answers ? 1 : 0;

  LoadCounts at_start;
  double cpu_start = 0;
  Clock::time_point t_start;
  asio::steady_timer timer(m.io);
  timer.expires_after(plan.warmup);
  timer.async_wait([&](const boost::system::error_code& e) {
    if (e) return;
    at_start = m.counts;
    cpu_start = cpu_seconds_of_this_process();
    t_start = Clock::now();
    if (window_start) window_start();
    timer.expires_after(plan.measure);
    timer.async_wait([&](const boost::system::error_code& e2) {
      if (e2) return;
      const auto t_end = Clock::now();
      out.counts = m.counts - at_start;
      out.load_cpu_s = cpu_seconds_of_this_process() - cpu_start;
      out.seconds = std::chrono::duration<double>(t_end - t_start).count();
      if (window_end) window_end();
      m.loading = false;
      m.io.stop();
    });
  });
  if (sending > 0) {
    m.io.restart();
    m.io.run();
  }
  // Every reply in the window released one frame; the window itself was sent before it.
  out.counts.announces_sent = out.counts.replies + out.counts.failures;
  out.counts.answers_sent = out.counts.announces_sent * per_frame_answers;
  out.first_failure = m.first_failure;
  return out;
}

std::size_t RelayLoad::open_connections() const {
  return static_cast<std::size_t>(
      std::count_if(impl_->conns.begin(), impl_->conns.end(),
                    [](const auto& c) { return c->state == Conn::State::Open; }));
}

void RelayLoad::close_all() {
  impl_->close_all();
  impl_->io.restart();
  impl_->io.poll();
}

} // namespace posthorn::cli
