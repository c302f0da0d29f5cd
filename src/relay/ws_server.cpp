// The relay's connections: Beast parses the HTTP requests (static files, the upgrade); after the
// upgrade the WebSocket framing is ours (net/ws_frame), so that a client's queued frames leave in
// one write.
#include "relay/ws_server.hpp"

#include "core/crypto.hpp"
#include "core/log.hpp"
#include "core/rng.hpp"
#include "net/ws_frame.hpp"
#include "relay/message_route.hpp"
#include "relay/static_files.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <algorithm>
#include <array>
#include <optional>
#include <unordered_map>
#include <variant>
#include <vector>

namespace posthorn::relay {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
// A request line and headers larger than this are refused; the page's requests are far smaller.
constexpr std::uint32_t kHttpHeaderLimit = 8 * 1024;
// How long a connection may take to send its next HTTP request (keep-alive idle included).
constexpr auto kHttpIdle = std::chrono::seconds(30);
using Request = http::request<http::empty_body>;
// A write buffer bigger than this is given back once written, so that a client that once got a
// burst does not hold the memory while idle.
constexpr std::size_t kKeepWriteCapacity = 64 * 1024;
// How long a closing connection may take to read our Close frame before its socket is closed.
constexpr auto kCloseGrace = std::chrono::seconds(5);

/// A static-files answer (relay/static_files) as Beast's response to `req`.
http::response<http::string_body> to_http(StaticResponse r, const Request& req) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), req.version()};
  res.set(http::field::server, "posthorn-relay");
  res.set(http::field::content_type, r.content_type);
  res.set(http::field::cache_control, "no-cache");
  res.set("X-Content-Type-Options", "nosniff");
  if (!r.location.empty()) res.set(http::field::location, r.location);
  if (r.status == 405) res.set(http::field::allow, "GET, HEAD");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(r.body);
  res.content_length(r.content_length); // HEAD: the length GET would get, with no body
  return res;
}

StaticResponse websocket_only() {
  StaticResponse r{.status = 426,
                   .content_type = "text/plain; charset=utf-8",
                   .body =
                       "posthorn relay: WebSocket only (start it with --web DIR to serve files)\n"};
  r.content_length = r.body.size();
  return r;
}
} // namespace

/// One client. After the upgrade its framing is ours (net/ws_frame): frames for it are appended
/// to `out`, and whatever accumulated while a write was in flight goes out in the next single
/// write.
struct Client : std::enable_shared_from_this<Client> {
  Client(tcp::socket s, ClientId client_id, std::size_t max_message_bytes)
      : socket(std::move(s)), id(client_id),
        reader({.max_message_bytes = max_message_bytes, .expect_masked = true}) {}

  tcp::socket socket;
  ClientId id;
  net::ws::MessageReader reader;
  std::string out;     // frames waiting for the next write
  std::string sending; // the frames of the write in flight
  Clock::time_point last_heard{};
  beast::tcp_stream* http_stream = nullptr;        // during the HTTP phase, for stop()
  std::unique_ptr<asio::steady_timer> close_timer; // while closing: cuts off a client that stalls
  bool writing = false;
  bool dirty = false;           // in the server's list of clients to write to
  bool closing = false;         // a Close frame is queued: read nothing more
  bool close_when_sent = false; // close the socket once `out` is written
  bool pinged = false;          // an idle-check Ping is unanswered
};

struct WsServer::State : std::enable_shared_from_this<State> {
  State(asio::any_io_executor ex, WsServerOptions opts)
      : executor(std::move(ex)), options(std::move(opts)), acceptor(executor), idle_timer(executor),
        hub(options.limits), nostr(options.nostr_limits),
        tracker(options.tracker_limits, CryptoRng().next_u64()),
        max_message_bytes(
            std::max({options.limits.max_message_bytes, options.nostr_limits.max_message_bytes,
                      options.tracker_limits.max_message_bytes})) {}

  asio::any_io_executor executor;
  WsServerOptions options;
  tcp::acceptor acceptor;
  asio::steady_timer idle_timer;
  PubSubHub hub;
  NostrHub nostr;
  TrackerHub tracker;
  std::size_t max_message_bytes;
  std::unordered_map<ClientId, std::shared_ptr<Client>> clients;
  std::optional<StaticFiles> web; // serve_files(), --web
  // Connections still in their HTTP phase (static files, or before the upgrade), closed by stop().
  std::unordered_map<ClientId, std::shared_ptr<Client>> http_phase;
  // Clients with frames to write once the current batch of work is done (flush_writes).
  std::vector<std::shared_ptr<Client>> dirty;
  bool flush_posted = false;
  // Every read lands here first: only an unfinished frame is copied into its client's reader, so
  // an idle client holds no read buffer (one thread, and reads are handled to the end at once).
  std::array<char, 64 * 1024> read_buffer{};
  ClientId next_id = 1;
  ServerStats counters;
  std::uint16_t port = 0; // bound, kept for after stop()
  bool stopped = false;

  static asio::awaitable<void> accept_loop(std::shared_ptr<State> self) {
    for (;;) {
      auto [ec, socket] = co_await self->acceptor.async_accept(kNoThrow);
      if (self->stopped) co_return;
      if (ec) {
        // Out of descriptors and the like: pause instead of spinning.
        POSTHORN_LOG(Warn, "relay", "accept failed: ", ec.message());
        asio::steady_timer pause(self->executor, std::chrono::milliseconds(100));
        co_await pause.async_wait(kNoThrow);
        continue;
      }
      if (self->clients.size() + self->http_phase.size() >= self->options.max_clients) {
        ++self->counters.rejected;
        continue; // the socket closes as it goes out of scope
      }
      socket.set_option(tcp::no_delay(true), ec);
      auto client =
          std::make_shared<Client>(std::move(socket), self->next_id++, self->max_message_bytes);
      asio::co_spawn(self->executor, serve(self, client), asio::detached);
    }
  }

  /// The 101 answer to a valid upgrade request (RFC 6455 §4.2.2), or the HTTP error for one that
  /// asks for a WebSocket wrongly (§4.2.1: a 16-byte key, version 13; §4.4: say which version).
  static std::variant<std::string, StaticResponse> answer_upgrade(const Request& req) {
    const auto version = req[http::field::sec_websocket_version];
    if (version != "13") {
      StaticResponse r{.status = 426,
                       .content_type = "text/plain; charset=utf-8",
                       .body = "posthorn relay: WebSocket version 13 only\n"};
      r.content_length = r.body.size();
      return r;
    }
    const auto key = req[http::field::sec_websocket_key];
    const auto decoded = crypto::base64_decode(std::string_view(key.data(), key.size()));
    if (!decoded || decoded->size() != 16) {
      StaticResponse r{.status = 400,
                       .content_type = "text/plain; charset=utf-8",
                       .body = "posthorn relay: a WebSocket upgrade needs a 16-byte key\n"};
      r.content_length = r.body.size();
      return r;
    }
    return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Accept: " +
           net::ws::accept_key(std::string_view(key.data(), key.size())) +
           "\r\nServer: posthorn-relay\r\n\r\n";
  }

  struct Upgrade {
    std::string answer;      // the 101 response
    std::string early_bytes; // what the client sent after its request, before our answer
  };
  /// Answers plain HTTP requests (static files with --web) until one asks for a WebSocket
  /// upgrade; returns the upgrade, or nullopt when the connection ended first.
  static asio::awaitable<std::optional<Upgrade>> read_upgrade(std::shared_ptr<State> self,
                                                              std::shared_ptr<Client> client) {
    if (self->stopped) co_return std::nullopt;
    beast::tcp_stream stream(std::move(client->socket));
    client->http_stream = &stream;
    self->http_phase.emplace(client->id, client);
    beast::flat_buffer buffer;
    std::optional<Upgrade> upgrade;
    for (bool answered = false;; answered = true) {
      http::request_parser<http::empty_body> parser; // a request with a body is refused
      parser.header_limit(kHttpHeaderLimit);
      stream.expires_after(kHttpIdle);
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, kNoThrow);
      if (ec || self->stopped) {
        // Nothing readable came (garbage, a time-out): a failed WebSocket upgrade, as before --web.
        if (!answered && ec != http::error::end_of_stream) ++self->counters.rejected;
        break;
      }
      Request req = parser.release();
      if (websocket::is_upgrade(req)) {
        auto answer = answer_upgrade(req);
        if (auto* accepted = std::get_if<std::string>(&answer)) {
          // The parser stops at the end of the header; anything the client sent after it (its
          // first frames, if it did not wait for our answer) is already in `buffer`.
          upgrade = Upgrade{std::move(*accepted), beast::buffers_to_string(buffer.data())};
          break;
        }
        ++self->counters.rejected;
        auto res = to_http(std::get<StaticResponse>(std::move(answer)), req);
        if (res.result_int() == 426) res.set(http::field::sec_websocket_version, "13");
        res.keep_alive(false);
        auto [write_ec, written] = co_await http::async_write(stream, res, kNoThrow);
        stream.socket().shutdown(tcp::socket::shutdown_send, write_ec);
        break;
      }
      if (!self->web) {
        // Without --web only upgrades are served: a failed upgrade, as Beast would answer it.
        ++self->counters.rejected;
        auto res = to_http(websocket_only(), req);
        res.set(http::field::upgrade, "websocket");
        res.keep_alive(false);
        auto [write_ec, written] = co_await http::async_write(stream, res, kNoThrow);
        stream.socket().shutdown(tcp::socket::shutdown_send, write_ec);
        break;
      }
      ++self->counters.http_requests;
      auto res = to_http(self->web->respond(req.method_string(), req.target()), req);
      auto [write_ec, written] = co_await http::async_write(stream, res, kNoThrow);
      if (write_ec || !res.keep_alive() || self->stopped) {
        stream.socket().shutdown(tcp::socket::shutdown_send, write_ec);
        break;
      }
    }
    self->http_phase.erase(client->id);
    client->http_stream = nullptr;
    if (upgrade) {
      stream.expires_never();
      client->socket = stream.release_socket();
    }
    co_return upgrade;
  }

  static asio::awaitable<void> serve(std::shared_ptr<State> self, std::shared_ptr<Client> client) {
    auto upgrade = co_await read_upgrade(self, client);
    if (!upgrade) co_return;
    if (self->stopped) {
      ++self->counters.rejected;
      co_return;
    }
    boost::system::error_code ec;
    client->socket.non_blocking(true, ec);
    if (ec) {
      ++self->counters.rejected;
      co_return;
    }
    ++self->counters.accepted;
    client->last_heard = Clock::now();
    self->clients.emplace(client->id, client);
    self->hub.add_client(client->id, client->last_heard);
    self->nostr.add_client(client->id, client->last_heard);
    self->tracker.add_client(client->id, client->last_heard);
    self->arm_idle_check();
    client->out = std::move(upgrade->answer); // goes out first, with any frames queued behind it
    self->mark_dirty(*client);
    if (!upgrade->early_bytes.empty()) {
      std::string& early = upgrade->early_bytes;
      self->read_frames(*client, std::span<char>(early.data(), early.size()));
    }
    self->flush_writes();

    // Reads are readiness-driven: wait until the socket is readable, then read what is there
    // into the shared buffer. Asio's reactor is edge-triggered, so a wait only ends on new data;
    // each turn therefore reads until the kernel has nothing more (or a full buffer's worth, in
    // which case it goes round again without waiting).
    while (!client->closing && !self->stopped) {
      auto [wait_ec] = co_await client->socket.async_wait(tcp::socket::wait_read, kNoThrow);
      if (wait_ec || client->closing || self->stopped) break;
      bool open = true;
      for (;;) {
        boost::system::error_code read_ec;
        const std::size_t n = client->socket.read_some(asio::buffer(self->read_buffer), read_ec);
        if (read_ec == asio::error::would_block || read_ec == asio::error::try_again) break;
        if (read_ec) {
          open = false; // end of stream or a reset: the client is gone
          break;
        }
        client->last_heard = Clock::now();
        client->pinged = false;
        self->read_frames(*client, std::span<char>(self->read_buffer.data(), n));
        if (client->closing || n < self->read_buffer.size()) break;
      }
      self->flush_writes();
      if (!open) break;
    }
    self->forget(client->id);
    if (!client->writing && !client->close_when_sent) close_socket(*client);
  }

  /// Hands every whole message of `bytes` to its hub and answers control frames (§5.5).
  void read_frames(Client& client, std::span<char> bytes) {
    client.reader.feed(bytes);
    while (!client.closing) {
      auto next = client.reader.next();
      if (std::holds_alternative<net::ws::NeedMore>(next)) break;
      if (auto* failure = std::get_if<net::ws::ReadFailure>(&next)) {
        POSTHORN_LOG(Debug, "relay", "client ", client.id, ": ", failure->why);
        ++counters.protocol_errors;
        close_client(client, failure->close_code, failure->why);
        break;
      }
      const auto& message = std::get<net::ws::Received>(next);
      switch (message.opcode) {
      case net::ws::Opcode::Text: {
        auto result = handle(client.id, message.payload);
        for (auto& send : result.sends)
          for (ClientId to : send.to)
            enqueue(to, *send.text);
        if (result.disconnect)
          close_client(client, net::ws::close_code::kPolicyViolation, "too many refused messages");
        break;
      }
      case net::ws::Opcode::Ping: // §5.5.3: a Pong with the same payload, as soon as we can
        queue_frame(client, net::ws::Opcode::Pong, message.payload);
        break;
      case net::ws::Opcode::Close: // §5.5.1: echo the status, then close
        close_client(client,
                     message.close_code == net::ws::close_code::kNoStatus
                         ? net::ws::close_code::kNormal
                         : message.close_code,
                     {});
        break;
      default: break; // Pong; Binary (every protocol here is text only)
      }
    }
  }

  HubOutput handle(ClientId from, std::string_view text) {
    switch (route_message(text)) {
    case Protocol::Nostr: return nostr.handle(from, text, Clock::now());
    case Protocol::Tracker: return tracker.handle(from, text, Clock::now());
    case Protocol::WsRelay: break;
    }
    return hub.handle(from, text, Clock::now());
  }

  void enqueue(ClientId to, std::string_view text) {
    auto it = clients.find(to);
    if (it == clients.end()) return;
    Client& c = *it->second;
    if (c.closing) return;
    if (c.out.size() + c.sending.size() + text.size() > options.max_queued_bytes) {
      ++counters.dropped_out; // a client that does not read loses messages, not the relay
      return;
    }
    queue_frame(c, net::ws::Opcode::Text, text);
  }

  void queue_frame(Client& c, net::ws::Opcode opcode, std::string_view payload) {
    net::ws::append_frame(c.out, opcode, payload);
    mark_dirty(c);
  }

  void mark_dirty(Client& c) {
    if (c.dirty || c.writing) return; // a write in flight takes `out` along when it completes
    c.dirty = true;
    dirty.push_back(c.shared_from_this());
    // Work that did not come from a read (stop, idle checks) is flushed on the loop's next turn;
    // a read flushes itself when it is done.
    if (!flush_posted) {
      flush_posted = true;
      asio::post(executor, [weak = weak_from_this()] {
        if (auto self = weak.lock()) self->flush_writes();
      });
    }
  }

  void flush_writes() {
    flush_posted = false;
    auto batch = std::move(dirty);
    dirty.clear();
    for (auto& c : batch) {
      c->dirty = false;
      start_write(std::move(c));
    }
  }

  /// One write with everything queued for the client; what queues meanwhile goes in the next.
  void start_write(std::shared_ptr<Client> c) {
    if (c->writing) return;
    if (c->out.empty()) {
      if (c->close_when_sent) finish_close(*c);
      return;
    }
    c->writing = true;
    std::swap(c->out, c->sending);
    asio::async_write(c->socket, asio::buffer(c->sending),
                      [weak = weak_from_this(), c](boost::system::error_code ec, std::size_t) {
                        c->writing = false;
                        c->sending.clear();
                        if (c->sending.capacity() > kKeepWriteCapacity)
                          std::string().swap(c->sending);
                        auto self = weak.lock();
                        if (ec || !self) {
                          c->out.clear();
                          close_socket(*c); // the read loop sees it and forgets the client
                          return;
                        }
                        self->start_write(c);
                      });
  }

  /// Sends a Close frame (§5.5.1) after what is queued, then closes the connection (§7.1.1: the
  /// server closes TCP first). A client that never reads it is cut off after kCloseGrace.
  void close_client(Client& client, std::uint16_t code, std::string_view why) {
    if (client.closing) return;
    client.closing = true;
    client.close_when_sent = true;
    net::ws::append_frame(client.out, net::ws::Opcode::Close, net::ws::close_payload(code, why));
    mark_dirty(client);
    client.close_timer = std::make_unique<asio::steady_timer>(executor, kCloseGrace);
    client.close_timer->async_wait(
        [weak = std::weak_ptr<Client>(client.shared_from_this())](boost::system::error_code ec) {
          if (auto c = weak.lock(); c && !ec) close_socket(*c);
        });
  }

  void finish_close(Client& c) {
    boost::system::error_code ignored;
    c.socket.shutdown(tcp::socket::shutdown_both, ignored);
    close_socket(c);
  }

  static void close_socket(Client& c) {
    boost::system::error_code ignored;
    c.socket.close(ignored);
    if (c.close_timer) c.close_timer->cancel();
  }

  /// Beast's suggested server timeouts, kept: a client silent for half the idle timeout is pinged,
  /// and one silent for all of it is dropped. One timer checks every client.
  void arm_idle_check() {
    if (idle_check_armed || stopped) return;
    idle_check_armed = true;
    idle_timer.expires_after(options.idle_timeout / 4);
    idle_timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (!self) return;
      self->idle_check_armed = false;
      if (ec || self->stopped) return;
      self->check_idle(Clock::now());
      if (!self->clients.empty()) self->arm_idle_check();
    });
  }

  void check_idle(Clock::time_point now) {
    std::vector<std::shared_ptr<Client>> silent;
    for (auto& [id, c] : clients) {
      if (c->closing) continue;
      const auto quiet = now - c->last_heard;
      if (quiet >= options.idle_timeout) {
        silent.push_back(c);
      } else if (quiet >= options.idle_timeout / 2 && !c->pinged) {
        c->pinged = true;
        queue_frame(*c, net::ws::Opcode::Ping, {});
      }
    }
    for (auto& c : silent) {
      ++counters.timed_out;
      close_client(*c, net::ws::close_code::kGoingAway, "idle");
    }
  }

  void forget(ClientId id) {
    auto it = clients.find(id);
    if (it == clients.end()) return;
    it->second->closing = true;
    clients.erase(it);
    hub.remove_client(id);
    nostr.remove_client(id);
    tracker.remove_client(id);
  }

  void stop() {
    if (stopped) return;
    stopped = true;
    beast::error_code ignored;
    acceptor.close(ignored);
    idle_timer.cancel();
    for (auto& [id, client] : http_phase)
      if (client->http_stream) client->http_stream->close();
    for (auto& [id, client] : clients) {
      close_client(*client, net::ws::close_code::kGoingAway, "relay stopping");
      client->socket.cancel(ignored); // ends the read loop's wait
    }
  }

  bool idle_check_armed = false;
};

WsServer::WsServer(asio::any_io_executor executor, WsServerOptions options)
    : state_(std::make_shared<State>(std::move(executor), std::move(options))) {
  const tcp::endpoint endpoint(asio::ip::make_address(state_->options.bind_address),
                               state_->options.port);
  state_->acceptor.open(endpoint.protocol());
  state_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  state_->acceptor.bind(endpoint);
  state_->acceptor.listen(asio::socket_base::max_listen_connections);
  state_->port = state_->acceptor.local_endpoint().port();
  asio::co_spawn(state_->executor, State::accept_loop(state_), asio::detached);
}

WsServer::~WsServer() {
  stop();
}

std::uint16_t WsServer::port() const {
  return state_->port;
}

std::string WsServer::url() const {
  const auto& host = state_->options.bind_address;
  const bool v6 = host.find(':') != std::string::npos;
  return "ws://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port());
}

void WsServer::serve_files(const std::string& dir) {
  state_->web.emplace(dir);
}

ServerStats WsServer::stats() const {
  ServerStats s = state_->counters;
  s.hub = state_->hub.stats();
  s.nostr = state_->nostr.stats();
  s.tracker = state_->tracker.stats();
  return s;
}

void WsServer::stop() {
  state_->stop();
}

} // namespace posthorn::relay
