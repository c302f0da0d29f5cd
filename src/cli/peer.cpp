// `posthorn peer`: a room peer scripted by JSON lines (events on stdout, commands on stdin), so
// other languages and the interop tests drive a native peer. The contract is docs/cli-peer.md;
// it is public: fields and flags may be added, never renamed.
#include "cli/commands.hpp"
#include "cli/json_lines.hpp"
#include "cli/line_writer.hpp"
#include "core/crypto.hpp"
#include "core/log.hpp"

#include <posthorn/posthorn.hpp>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <map>
#include <set>

namespace posthorn::cli {
namespace {

using nlohmann::json;

/// Payloads larger than this are reported by size and hash only (docs/cli-peer.md).
constexpr std::size_t kMaxPrintedPayload = 64 * 1024;

struct PeerOptions {
  std::string app, room, password, strategy = "mqtt";
  std::vector<std::string> relays, serve, actions, bind, stun;
  std::vector<std::string> turn;
  std::string turn_user, turn_pass;
  bool relay_only = false;
  std::string handshake_secret; // --handshake: the application step of docs/cli-peer.md
  bool passive = false, progress = false;
  std::string log_level = "warn";
};

json metadata_json(const std::optional<std::string>& text) {
  if (!text) return nullptr;
  auto parsed = json::parse(*text, nullptr, false);
  return parsed.is_discarded() ? json(*text) : parsed;
}

/// The `data` field of a message/response event for a payload (null when too large).
json data_field(PayloadKind kind, ByteView bytes) {
  if (bytes.size() > kMaxPrintedPayload) return nullptr;
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  switch (kind) {
  case PayloadKind::Text: return std::string(text);
  case PayloadKind::Json: {
    auto parsed = json::parse(text, nullptr, false);
    return parsed.is_discarded() ? json(nullptr) : parsed;
  }
  case PayloadKind::Binary: return crypto::base64_encode(bytes);
  }
  return nullptr;
}

class ScriptedPeer;

/// Hashes an incoming message as it streams in; keeps the first 64 KiB for printing.
class HashingSink final : public MessageSink {
public:
  HashingSink(ScriptedPeer& owner, std::string action, MessageInfo info, PayloadKind kind)
      : owner_(owner), action_(std::move(action)), info_(std::move(info)), kind_(kind) {}
  void write(std::span<const std::uint8_t> bytes) override {
    hash_.update(bytes);
    size_ += bytes.size();
    if (keep_.size() + bytes.size() <= kMaxPrintedPayload)
      keep_.insert(keep_.end(), bytes.begin(), bytes.end());
    else
      too_big_ = true;
  }
  void finish() override;
  void abort(std::string_view reason) override;

private:
  ScriptedPeer& owner_;
  std::string action_;
  MessageInfo info_;
  PayloadKind kind_;
  crypto::Sha256 hash_;
  std::uint64_t size_ = 0;
  Bytes keep_;
  bool too_big_ = false;
};

RuntimeOptions runtime_options(const PeerOptions& o) {
  RuntimeOptions r{.bind_addresses = o.bind, .stun_servers = o.stun, .own_thread = false};
  for (const auto& url : o.turn)
    r.turn_servers.push_back({url, o.turn_user, o.turn_pass});
  r.relay_only = o.relay_only;
  return r;
}

class ScriptedPeer {
public:
  ScriptedPeer(PeerOptions options)
      : options_(std::move(options)), runtime_(runtime_options(options_)),
        io_(static_cast<boost::asio::io_context&>(runtime_.get_executor().context())),
        stdin_(
            io_, [this](std::string line) { on_line(line); }, [this] { on_command_leave(); }) {}

  int run() {
    RoomConfig config{.app_id = options_.app,
                      .password = options_.password,
                      .strategy = {options_.strategy, options_.relays},
                      .passive = options_.passive};
    room_.emplace(join_room(runtime_, std::move(config), options_.room));
    room_->on_peer_join([this](const PeerId& p) { emit({{"event", "join"}, {"peer", p}}); });
    room_->on_peer_leave([this](const PeerId& p) { emit({{"event", "leave"}, {"peer", p}}); });
    room_->on_join_error([this](const JoinError& e) {
      emit({{"event", "join-error"}, {"peer", e.peer}, {"error", e.message}});
    });
    room_->on_error([this](const RoomError& e) {
      json event{{"event", "error"}, {"error", e.message}};
      if (!e.peer.empty()) event["peer"] = e.peer;
      if (!e.action.empty()) event["action"] = e.action;
      emit(event);
    });
    if (!options_.handshake_secret.empty()) run_handshake_step();
    room_->on_unhandled_message([this](const std::string& action, Payload payload,
                                       const MessageInfo& info) {
      // Not registered with --action: it arrived whole; report it and register the name so
      // the next ones stream.
      crypto::Sha256 hash;
      hash.update(payload.bytes());
      print_message(action, info, payload.kind(), payload.bytes(), payload.size(), hash.finish());
      action_for(action);
    });
    for (const auto& name : options_.actions)
      action_for(name);
    for (const auto& spec : options_.serve) {
      const auto eq = spec.find('=');
      const std::string name = spec.substr(0, eq);
      const std::string mode = eq == std::string::npos ? "echo" : spec.substr(eq + 1);
      action_for(name).on_request([mode](Payload p, const MessageInfo&, Responder r) {
        if (mode == "error")
          r.fail("handler error");
        else
          r.reply(std::move(p));
      });
    }
    emit({{"event", "ready"}, {"self", runtime_.self_id()}});
    stdin_.start();
    runtime_.run();
    stdin_.stop();
    return exit_code_;
  }

  // --handshake SECRET (docs/cli-peer.md): the initiator sends {"challenge":"posthorn-peer"} and
  // admits the peer if it answers {"response":SECRET}; the other side checks the challenge and
  // answers. Trystero's README example of onPeerHandshake, so a Trystero peer can do the same.
  void run_handshake_step() {
    room_->on_peer_handshake([secret = options_.handshake_secret](PeerHandshake h) {
      h.on_receive([h, secret](Payload p, std::optional<std::string>) {
        const auto data = json::parse(p.bytes(), nullptr, false);
        const auto field = [&](const char* key) {
          return data.is_object() && data.contains(key) && data[key].is_string()
                     ? data[key].get<std::string>()
                     : std::string();
        };
        if (h.is_initiator()) {
          if (field("response") == secret)
            h.admit();
          else
            h.reject("handshake rejected");
        } else if (field("challenge") == "posthorn-peer") {
          h.send(Payload::json(json{{"response", secret}}.dump()));
          h.admit();
        } else {
          h.reject("handshake rejected");
        }
      });
      if (h.is_initiator()) h.send(Payload::json(R"({"challenge":"posthorn-peer"})"));
    });
  }

  void emit(const json& event) {
    // Progress reports may be skipped when the reader is far behind, except the last one.
    const bool droppable =
        event.value("event", std::string()) == "progress" && event.value("fraction", 1.0) < 1.0;
    out_.write(event.dump(-1, ' ', false, json::error_handler_t::replace),
               droppable ? LineWriter::Importance::Droppable : LineWriter::Importance::Keep);
  }

  void print_message(const std::string& action, const MessageInfo& info, PayloadKind kind,
                     ByteView kept, std::uint64_t size, const crypto::Sha256Digest& digest) {
    json event{{"event", "message"},
               {"action", action},
               {"peer", info.peer},
               {"kind", std::string(to_string(kind))}};
    event["data"] = size > kMaxPrintedPayload ? json(nullptr) : data_field(kind, kept);
    if (info.metadata) event["metadata"] = metadata_json(info.metadata);
    event["bytes"] = size;
    event["sha256"] = to_hex(digest);
    emit(event);
  }

private:
  Action& action_for(const std::string& name) {
    auto it = actions_.find(name);
    if (it != actions_.end()) return it->second;
    Action action = room_->make_action(name);
    action.on_stream([this, name](const MessageInfo& info, PayloadKind kind) {
      return std::make_unique<HashingSink>(*this, name, info, kind);
    });
    if (options_.progress) {
      action.on_progress([this, name](const ProgressInfo& p) {
        json event{{"event", "progress"},
                   {"action", name},
                   {"peer", p.peer},
                   {"direction", "in"},
                   {"fraction", p.fraction}};
        if (p.metadata) event["metadata"] = metadata_json(p.metadata);
        emit(event);
      });
    }
    return actions_.emplace(name, std::move(action)).first->second;
  }

  void on_line(const std::string& line) {
    auto command = json::parse(line, nullptr, false);
    if (command.is_discarded() || !command.is_object() || !command.contains("cmd") ||
        !command["cmd"].is_string()) {
      emit({{"event", "error"}, {"error", "not a command object: " + line.substr(0, 200)}});
      return;
    }
    const std::string cmd = command["cmd"];
    try {
      if (cmd == "send" || cmd == "send-file")
        on_send(command, cmd == "send-file");
      else if (cmd == "ping")
        on_ping(command);
      else if (cmd == "request")
        on_request(command);
      else if (cmd == "leave")
        on_command_leave();
      else
        emit({{"event", "error"}, {"error", "unknown command '" + cmd + "'"}});
    } catch (const std::exception& e) {
      emit({{"event", "error"}, {"error", std::string(cmd) + ": " + e.what()}});
    }
  }

  static std::vector<PeerId> targets_of(const json& command) {
    std::vector<PeerId> out;
    if (!command.contains("target") || command["target"].is_null()) return out;
    const auto& t = command["target"];
    if (t.is_string())
      out.push_back(t.get<std::string>());
    else if (t.is_array())
      for (const auto& x : t)
        out.push_back(x.get<std::string>());
    else
      throw std::invalid_argument("target must be a peer id, a list of ids or null");
    return out;
  }

  static Payload payload_of(const json& command) {
    const std::string kind = command.value("kind", "text");
    const json& data = command.contains("data") ? command["data"] : json(nullptr);
    if (kind == "text") {
      if (!data.is_string()) throw std::invalid_argument("text data must be a string");
      return Payload::text(data.get<std::string>());
    }
    if (kind == "json") return Payload::json(data.dump());
    if (kind == "binary") {
      if (!data.is_string()) throw std::invalid_argument("binary data must be base64 text");
      auto bytes = crypto::base64_decode(data.get<std::string>());
      if (!bytes) throw std::invalid_argument("binary data is not valid base64");
      return Payload::binary(std::move(*bytes));
    }
    throw std::invalid_argument("kind must be text, json or binary");
  }

  void on_send(const json& command, bool file) {
    const json id = command.value("id", json(nullptr));
    const std::string name = command.at("action").get<std::string>();
    SendOptions options;
    options.targets = targets_of(command);
    if (command.contains("metadata") && !command["metadata"].is_null())
      options.metadata = command["metadata"].dump();
    if (options_.progress) {
      options.on_progress = [this, name](const ProgressInfo& p) {
        json event{{"event", "progress"},
                   {"action", name},
                   {"peer", p.peer},
                   {"direction", "out"},
                   {"fraction", p.fraction}};
        if (p.metadata) event["metadata"] = metadata_json(p.metadata);
        emit(event);
      };
    }
    auto done = [this, id](error_code ec) {
      json event{{"event", "sent"}, {"id", id}, {"ok", !ec}};
      if (ec) event["error"] = ec.message();
      emit(event);
    };
    auto& action = action_for(name);
    if (file)
      action.async_send_file(command.at("path").get<std::string>(), std::move(options), done);
    else
      action.async_send(payload_of(command), std::move(options), done);
  }

  void on_ping(const json& command) {
    const json id = command.value("id", json(nullptr));
    const PeerId peer = command.at("peer").get<std::string>();
    room_->async_ping(
        peer, [this, id, peer](error_code ec, std::chrono::duration<double, std::milli> rtt) {
          if (ec)
            emit({{"event", "error"}, {"id", id}, {"error", "ping " + peer + ": " + ec.message()}});
          else
            emit({{"event", "pong"}, {"id", id}, {"peer", peer}, {"ms", rtt.count()}});
        });
  }

  void on_request(const json& command) {
    const json id = command.value("id", json(nullptr));
    RequestOptions options;
    if (command.contains("metadata") && !command["metadata"].is_null())
      options.metadata = command["metadata"].dump();
    options.timeout = std::chrono::milliseconds(command.value("timeout_ms", 0));
    action_for(command.at("action").get<std::string>())
        .async_request_many(
            payload_of(command), targets_of(command), std::move(options),
            [this, id](std::vector<Response> responses) {
              for (const auto& r : responses) {
                json event{{"event", "response"}, {"id", id}, {"peer", r.peer}, {"ok", !r.error}};
                if (r.error) {
                  event["error"] = r.error_message.empty() ? r.error.message() : r.error_message;
                } else {
                  event["kind"] = std::string(to_string(r.payload.kind()));
                  event["data"] = data_field(r.payload.kind(), r.payload.bytes());
                  event["bytes"] = r.payload.size();
                  crypto::Sha256 hash;
                  hash.update(r.payload.bytes());
                  event["sha256"] = to_hex(hash.finish());
                }
                emit(event);
              }
            });
  }

  void on_command_leave() {
    if (leaving_ || !room_) return;
    leaving_ = true;
    room_->async_leave([this] { runtime_.stop(); });
  }

  // First, so destroyed last: never blocks the event loop on a slow reader of stdout.
  LineWriter out_;
  PeerOptions options_;
  Runtime runtime_;
  boost::asio::io_context& io_;
  JsonLineReader stdin_;
  std::optional<Room> room_;
  std::map<std::string, Action> actions_;
  bool leaving_ = false;
  int exit_code_ = 0;
};

void HashingSink::finish() {
  owner_.print_message(action_, info_, kind_, too_big_ ? ByteView{} : ByteView(keep_), size_,
                       hash_.finish());
}

void HashingSink::abort(std::string_view reason) {
  owner_.emit({{"event", "error"},
               {"error", "incoming '" + action_ + "' from " + info_.peer +
                             " did not complete: " + std::string(reason)}});
}

} // namespace

int run_peer(int argc, char** argv) {
  CLI::App app{"posthorn peer: a room peer scripted by JSON lines (docs/cli-peer.md)", "peer"};
  PeerOptions o;
  app.add_option("--app", o.app, "application id")->required();
  app.add_option("--room", o.room, "room id")->required();
  app.add_option("--password", o.password, "room password");
  app.add_option("--strategy", o.strategy, "signaling strategy")
      ->check(CLI::IsMember({"mqtt", "wsrelay", "nostr", "torrent"}));
  app.add_option("--relay", o.relays, "relay / broker URL (repeatable)")->required();
  app.add_flag("--passive", o.passive, "wait for a non-passive peer before announcing");
  app.add_flag("--progress", o.progress, "print progress events");
  app.add_option("--serve", o.serve, "ACTION=echo|error: answer requests on ACTION");
  app.add_option("--action", o.actions, "register ACTION for streamed receiving (repeatable)");
  app.add_option("--bind", o.bind, "local IP to use for peer connections (repeatable)");
  app.add_option("--stun", o.stun, "STUN server host:port (repeatable)");
  app.add_option("--turn", o.turn, "TURN server turn:host[:port][?transport=udp|tcp] (repeatable)");
  app.add_flag("--relay-only", o.relay_only, "relayed candidates only (needs --turn)");
  app.add_option("--turn-user", o.turn_user, "TURN user name");
  app.add_option("--turn-pass", o.turn_pass, "TURN password");
  app.add_option("--handshake", o.handshake_secret,
                 "SECRET: an application handshake step before peers join (docs/cli-peer.md)");
  app.add_option("--log-level", o.log_level, "error|warn|info|debug");
  CLI11_PARSE(app, argc, argv);
  set_log_level(parse_log_level(o.log_level));
  try {
    ScriptedPeer peer(std::move(o));
    return peer.run();
  } catch (const std::exception& e) {
    std::fprintf(stdout, "%s\n", json{{"event", "error"}, {"error", e.what()}}.dump().c_str());
    return 2;
  }
}

} // namespace posthorn::cli
