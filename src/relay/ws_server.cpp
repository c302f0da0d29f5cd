// The only translation unit of the relay that instantiates Beast's WebSocket server stream.
#include "relay/ws_server.hpp"

#include "core/log.hpp"
#include "core/rng.hpp"
#include "relay/message_route.hpp"
#include "relay/static_files.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <deque>
#include <optional>
#include <unordered_map>

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

/// One client: its stream, and the texts waiting to be written to it.
struct Client : std::enable_shared_from_this<Client> {
  Client(tcp::socket socket, ClientId client_id)
      : ws(std::move(socket)), id(client_id), wake(ws.get_executor()) {}

  websocket::stream<beast::tcp_stream> ws;
  ClientId id;
  std::deque<std::shared_ptr<const std::string>> queue;
  std::size_t queued_bytes = 0;
  asio::steady_timer wake; // the writer sleeps on it while the queue is empty
  bool closing = false;
};

struct WsServer::State : std::enable_shared_from_this<State> {
  State(asio::any_io_executor ex, WsServerOptions opts)
      : executor(std::move(ex)), options(std::move(opts)), acceptor(executor), hub(options.limits),
        nostr(options.nostr_limits), tracker(options.tracker_limits, CryptoRng().next_u64()) {}

  asio::any_io_executor executor;
  WsServerOptions options;
  tcp::acceptor acceptor;
  PubSubHub hub;
  NostrHub nostr;
  TrackerHub tracker;
  std::unordered_map<ClientId, std::shared_ptr<Client>> clients;
  std::optional<StaticFiles> web; // serve_files(), --web
  // Connections still in their HTTP phase (static files, or before the upgrade), closed by stop().
  std::unordered_map<ClientId, std::shared_ptr<Client>> http_phase;
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
      auto client = std::make_shared<Client>(std::move(socket), self->next_id++);
      asio::co_spawn(self->executor, serve(self, client), asio::detached);
    }
  }

  /// Answers plain HTTP requests (static files with --web) until one asks for a WebSocket
  /// upgrade, which it returns; nullopt when the connection ended first.
  static asio::awaitable<std::optional<Request>> read_upgrade(std::shared_ptr<State> self,
                                                              std::shared_ptr<Client> client) {
    if (self->stopped) co_return std::nullopt;
    auto& stream = client->ws.next_layer();
    self->http_phase.emplace(client->id, client);
    beast::flat_buffer buffer;
    std::optional<Request> upgrade;
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
        stream.expires_never(); // the WebSocket stream's own timeouts take over
        upgrade = std::move(req);
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
    co_return upgrade;
  }

  static asio::awaitable<void> serve(std::shared_ptr<State> self, std::shared_ptr<Client> client) {
    auto& ws = client->ws;
    const auto upgrade = co_await read_upgrade(self, client);
    if (!upgrade) co_return;
    ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws.read_message_max(std::max({self->options.limits.max_message_bytes,
                                  self->options.nostr_limits.max_message_bytes,
                                  self->options.tracker_limits.max_message_bytes}));
    ws.text(true);
    auto [accept_ec] = co_await ws.async_accept(*upgrade, kNoThrow);
    if (accept_ec || self->stopped) {
      ++self->counters.rejected;
      co_return;
    }
    ++self->counters.accepted;
    self->clients.emplace(client->id, client);
    self->hub.add_client(client->id, Clock::now());
    self->nostr.add_client(client->id, Clock::now());
    self->tracker.add_client(client->id, Clock::now());
    asio::co_spawn(self->executor, write_loop(self, client), asio::detached);

    beast::flat_buffer buffer;
    for (;;) {
      buffer.clear();
      auto [ec, n] = co_await ws.async_read(buffer, kNoThrow);
      if (ec || self->stopped || client->closing) break;
      if (!ws.got_text()) continue; // every protocol here is text only; binary frames are ignored
      const std::string_view text(static_cast<const char*>(buffer.data().data()), n);
      auto out = self->handle(client->id, text);
      for (auto& send : out.sends)
        for (ClientId to : send.to)
          self->enqueue(to, send.text);
      if (out.disconnect) {
        self->close_client(*client, websocket::close_code::policy_error);
        break;
      }
    }
    self->forget(client->id);
  }

  HubOutput handle(ClientId from, std::string_view text) {
    switch (route_message(text)) {
    case Protocol::Nostr: return nostr.handle(from, text, Clock::now());
    case Protocol::Tracker: return tracker.handle(from, text, Clock::now());
    case Protocol::WsRelay: break;
    }
    return hub.handle(from, text, Clock::now());
  }

  void enqueue(ClientId to, const std::shared_ptr<const std::string>& text) {
    auto it = clients.find(to);
    if (it == clients.end() || it->second->closing) return;
    Client& c = *it->second;
    if (c.queued_bytes + text->size() > options.max_queued_bytes) {
      ++counters.dropped_out; // a client that does not read loses messages, not the relay
      return;
    }
    c.queued_bytes += text->size();
    c.queue.push_back(text);
    c.wake.cancel();
  }

  static asio::awaitable<void> write_loop(std::shared_ptr<State> self,
                                          std::shared_ptr<Client> client) {
    for (;;) {
      while (client->queue.empty()) {
        if (client->closing || self->stopped) co_return;
        client->wake.expires_at(asio::steady_timer::time_point::max());
        co_await client->wake.async_wait(kNoThrow);
      }
      if (client->closing) co_return;
      auto text = client->queue.front();
      auto [ec, n] = co_await client->ws.async_write(asio::buffer(*text), kNoThrow);
      client->queue.pop_front();
      client->queued_bytes -= text->size();
      if (ec) co_return; // the read loop sees the failure too and forgets the client
    }
  }

  void close_client(Client& client, websocket::close_code code) {
    if (client.closing) return;
    client.closing = true;
    client.wake.cancel();
    client.ws.async_close(code, [keep = client.shared_from_this()](beast::error_code) {});
  }

  void forget(ClientId id) {
    auto it = clients.find(id);
    if (it == clients.end()) return;
    it->second->closing = true;
    it->second->wake.cancel();
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
    for (auto& [id, client] : http_phase)
      client->ws.next_layer().close();
    for (auto& [id, client] : clients)
      close_client(*client, websocket::close_code::going_away);
  }
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
