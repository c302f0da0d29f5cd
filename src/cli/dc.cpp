// `posthorn dc`: one data-channel peer whose signaling is JSON lines on stdin/stdout, so any
// WebRTC implementation can be wired to it by a small script. The contract is docs/cli-dc.md.
#include "cli/commands.hpp"
#include "cli/json_lines.hpp"
#include "cli/line_writer.hpp"
#include "core/crypto.hpp"
#include "core/log.hpp"
#include "core/overloaded.hpp"
#include "dtls/certificate.hpp"
#include "runtime/interfaces.hpp"
#include "runtime/peer_driver.hpp"
#include "runtime/server_url.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <cstring>
#include <map>

namespace posthorn::cli {
namespace {

using nlohmann::json;

struct DcOptions {
  std::string role;
  std::string label = "data";
  std::string mode = "echo";
  std::uint64_t bytes = 0;
  std::size_t message_size = 64 * 1024;
  std::vector<std::string> stun;
  std::vector<std::string> turn;
  std::string turn_user, turn_pass;
  bool relay_only = false;
  std::string bind;
  bool quiet = false;
  std::string log_level = "warn";
};

/// The deterministic source pattern: the byte at stream offset i is i mod 251 (a prime, so the
/// pattern never lines up with message boundaries). Documented in docs/cli-dc.md.
void fill_pattern(Bytes& out, std::uint64_t offset) {
  // One period of the pattern, copied in runs: a per-byte modulo costs more than the send.
  static const auto period = [] {
    std::array<std::uint8_t, 251> p{};
    for (std::size_t i = 0; i < p.size(); ++i)
      p[i] = static_cast<std::uint8_t>(i);
    return p;
  }();
  std::size_t phase = static_cast<std::size_t>(offset % 251);
  std::size_t i = 0;
  while (i < out.size()) {
    const std::size_t n = std::min(out.size() - i, period.size() - phase);
    std::memcpy(out.data() + i, period.data() + phase, n);
    i += n;
    phase = 0;
  }
}

class DcPeer {
public:
  DcPeer(boost::asio::io_context& io, DcOptions options)
      : io_(io), options_(std::move(options)),
        stdin_(
            io, [this](std::string line) { on_line(line); }, [this] { on_stdin_closed(); }) {}

  int run() {
    std::vector<IpAddress> ips;
    if (!options_.bind.empty()) {
      auto ip = IpAddress::parse(options_.bind);
      if (!ip) return fail("--bind needs an IP address, got '" + options_.bind + "'");
      ips.push_back(*ip);
    } else {
      ips = runtime::local_interface_addresses();
    }
    rtc::Configuration config;
    for (const auto& url : options_.stun) {
      auto server = runtime::resolve_stun_url(url);
      if (!server) return fail("cannot use STUN server '" + url + "': " + server.error());
      config.stun_servers.push_back(*server);
    }
    for (const auto& url : options_.turn) {
      auto turn = runtime::turn_server_config(url, options_.turn_user, options_.turn_pass);
      if (!turn) return fail("cannot use TURN server '" + url + "': " + turn.error());
      config.turn_servers.push_back(*turn);
    }
    if (options_.relay_only) {
      if (config.turn_servers.empty()) return fail("--relay-only needs at least one --turn server");
      config.ice_transport_policy = ice::IceTransportPolicy::Relay;
    }
    auto certificate = dtls::Certificate::generate();
    if (!certificate)
      return fail("cannot generate a certificate: " + certificate.error().message());
    config.certificate = *certificate;
    mux_ = std::make_shared<runtime::UdpMux>(io_.get_executor(), ips);
    driver_ = std::make_unique<runtime::PeerDriver>(io_.get_executor(), mux_, config, rng_);
    driver_->on_event([this](rtc::Event& e) { on_event(e); });
    driver_->on_candidate_error([this](const ice::CandidateError& e) {
      // W3C icecandidateerror: the peer goes on with its other candidates (and fails with
      // "connection failed" when none is left, e.g. --relay-only with a wrong password).
      emit({{"type", "error"},
            {"error", "TURN server " + e.url + ": " + e.text},
            {"url", e.url},
            {"errorCode", e.code}});
    });

    if (options_.role == "offer") {
      driver_->with([&](rtc::PeerConnection& pc, TimePoint now) {
        const sctp::ChannelOptions init{.label = options_.label};
        primary_ = pc.create_data_channel(init).value();
        channels_[*primary_].info = info_of(*primary_, init);
        auto offer = pc.create_offer().value();
        (void)pc.set_local_description(now, offer);
        emit({{"type", "offer"}, {"sdp", offer.sdp}});
      });
    }
    stdin_.start();
    io_.run();
    return exit_code_;
  }

private:
  /// A bulk job on one channel: send the pattern (source) or hash what arrives (sink).
  struct Job {
    std::uint64_t bytes = 0; // to send / to expect
    std::uint64_t done = 0;  // sent / received so far
    std::size_t message_size = 0;
    std::unique_ptr<crypto::Sha256> hash = std::make_unique<crypto::Sha256>();
    bool report_messages = false; // --mode sink without --quiet also prints each message
  };
  struct Channel {
    rtc::ChannelInfo info;
    bool open = false;
    std::optional<Job> source;
    std::optional<Job> sink;
  };

  static rtc::ChannelInfo info_of(rtc::ChannelId id, const sctp::ChannelOptions& o) {
    rtc::ChannelInfo info;
    info.id = id;
    info.label = o.label;
    info.protocol = o.protocol;
    info.ordered = o.ordered;
    info.max_retransmits = o.max_retransmits;
    info.max_packet_lifetime = o.max_packet_lifetime;
    return info;
  }

  int fail(const std::string& why) {
    emit({{"type", "error"}, {"error", why}});
    exit_code_ = 1;
    return 1;
  }

  void error(const std::string& why) { emit({{"type", "error"}, {"error", why}}); }

  void emit(const json& j) {
    // Text from the network may be invalid UTF-8: replace, never throw.
    out_.write(j.dump(-1, ' ', false, json::error_handler_t::replace));
  }

  void finish(int code) {
    exit_code_ = code;
    if (driver_) driver_->with([](rtc::PeerConnection& pc, TimePoint now) { pc.close(now); });
    stdin_.stop();
    io_.stop();
  }

  void on_stdin_closed() { finish(exit_code_); }

  /// The channel a command names with "label" (the first open one of that label, else the first
  /// not yet open), or the primary channel when it names none.
  std::optional<rtc::ChannelId> channel_for(const json& j) {
    if (!j.contains("label")) return primary_;
    if (!j["label"].is_string()) return std::nullopt;
    const auto label = j["label"].get<std::string>();
    std::optional<rtc::ChannelId> pending;
    for (const auto& [id, ch] : channels_) {
      if (ch.info.label != label) continue;
      if (ch.open) return id;
      if (!pending) pending = id;
    }
    return pending;
  }

  void on_line(const std::string& line) {
    auto j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("type") || !j["type"].is_string()) {
      error("ignored a line that is not a JSON signaling object");
      return;
    }
    const auto type = j["type"].get<std::string>();
    try {
      handle_command(type, j);
    } catch (const json::exception& e) {
      // A field of the wrong JSON type (e.g. "binary":"yes"): refuse the line, keep running.
      error(type + ": " + e.what());
    }
  }

  void handle_command(const std::string& type, const json& j) {
    driver_->with([&](rtc::PeerConnection& pc, TimePoint now) {
      if (type == "offer" || type == "answer") {
        if (!j.contains("sdp") || !j["sdp"].is_string()) {
          error(type + " without an sdp string");
          return;
        }
        const auto dtype =
            type == "offer" ? rtc::DescriptionType::Offer : rtc::DescriptionType::Answer;
        if (auto r = pc.set_remote_description(now, {dtype, j["sdp"].get<std::string>()}); !r) {
          error("remote " + type + ": " + r.error().message());
          return;
        }
        if (dtype == rtc::DescriptionType::Offer) {
          auto answer = pc.create_answer();
          if (!answer) {
            error("answer: " + answer.error().message());
            return;
          }
          (void)pc.set_local_description(now, *answer);
          emit({{"type", "answer"}, {"sdp", answer->sdp}});
        }
      } else if (type == "candidate") {
        std::string candidate = j.value("candidate", std::string());
        std::string mid =
            j.contains("sdpMid") && j["sdpMid"].is_string() ? j["sdpMid"].get<std::string>() : "";
        if (auto r = pc.add_remote_candidate(now, candidate, mid); !r)
          error("candidate: " + r.error().message());
      } else if (type == "send") {
        send_command(pc, now, j);
      } else if (type == "close") {
        if (auto id = channel_for(j))
          pc.close_channel(now, *id);
        else if (j.contains("label"))
          error("close: no channel labelled " + j["label"].dump());
      } else if (type == "open-channel") {
        open_channel_command(pc, j);
      } else if (type == "send-pattern") {
        send_pattern_command(pc, j);
      } else if (type == "expect") {
        expect_command(j);
      } else {
        error("unknown signaling type '" + type + "'");
      }
    });
  }

  // {"type":"open-channel","label":"pr","ordered":false,"maxRetransmits":0,"protocol":"p"}: the
  // W3C RTCDataChannelInit fields (maxPacketLifeTime in ms instead of maxRetransmits).
  void open_channel_command(rtc::PeerConnection& pc, const json& j) {
    sctp::ChannelOptions init;
    init.label = j.value("label", std::string());
    init.protocol = j.value("protocol", std::string());
    init.ordered = j.value("ordered", true);
    const auto number = [&](const char* key) -> std::optional<std::uint64_t> {
      if (!j.contains(key) || j[key].is_null()) return std::nullopt;
      if (!j[key].is_number_unsigned() || j[key].get<std::uint64_t>() > 65535) return 65536;
      return j[key].get<std::uint64_t>();
    };
    const auto rexmit = number("maxRetransmits");
    const auto lifetime = number("maxPacketLifeTime");
    if ((rexmit && *rexmit > 65535) || (lifetime && *lifetime > 65535)) {
      error("open-channel: maxRetransmits and maxPacketLifeTime are integers 0 ... 65535");
      return;
    }
    if (rexmit && lifetime) {
      // W3C createDataChannel: both set is a TypeError.
      error("open-channel: maxRetransmits and maxPacketLifeTime exclude each other");
      return;
    }
    if (rexmit) init.max_retransmits = static_cast<std::uint16_t>(*rexmit);
    if (lifetime) init.max_packet_lifetime = std::chrono::milliseconds(*lifetime);
    auto id = pc.create_data_channel(init);
    if (!id) {
      error("open-channel: " + id.error().message());
      return;
    }
    channels_[*id].info = info_of(*id, init);
  }

  // {"type":"send","data":"...","binary":false,"label":"data"} — text as is, binary as base64.
  void send_command(rtc::PeerConnection& pc, TimePoint now, const json& j) {
    const auto id = channel_for(j);
    if (!id || !j.contains("data") || !j["data"].is_string()) {
      error("send: no open channel or no data string");
      return;
    }
    const bool binary = j.value("binary", false);
    const auto text = j["data"].get<std::string>();
    Bytes payload;
    if (binary) {
      auto decoded = crypto::base64_decode(text);
      if (!decoded) {
        error("send: binary data is not base64");
        return;
      }
      payload = std::move(*decoded);
    } else {
      payload = to_bytes(text);
    }
    if (auto r = pc.send(now, *id, payload, binary); !r) error("send: " + r.error().message());
  }

  // {"type":"send-pattern","bytes":N,"messageSize":M,"label":"data"}: what --mode source does on
  // open, on demand; ends with a `done` line.
  void send_pattern_command(rtc::PeerConnection& pc, const json& j) {
    const auto id = channel_for(j);
    if (!id || !j.contains("bytes") || !j["bytes"].is_number_unsigned()) {
      error("send-pattern: no such channel or no byte count");
      return;
    }
    const auto size = j.value("messageSize", options_.message_size);
    if (size < 1 || size > 256 * 1024) {
      error("send-pattern: messageSize is 1 ... 262144");
      return;
    }
    start_source(pc, *id, j["bytes"].get<std::uint64_t>(), size);
  }

  // {"type":"expect","bytes":N,"label":"data"}: what --mode sink does, on demand: the next N
  // bytes arriving on the channel are hashed instead of reported (and not echoed); then `done`.
  void expect_command(const json& j) {
    const auto id = channel_for(j);
    if (!id || !j.contains("bytes") || !j["bytes"].is_number_unsigned()) {
      error("expect: no such channel or no byte count");
      return;
    }
    auto& ch = channels_[*id];
    ch.sink.emplace();
    ch.sink->bytes = j["bytes"].get<std::uint64_t>();
  }

  void start_source(rtc::PeerConnection& pc, rtc::ChannelId id, std::uint64_t bytes,
                    std::size_t message_size) {
    auto& ch = channels_[id];
    ch.source.emplace();
    ch.source->bytes = bytes;
    ch.source->message_size = message_size;
    pc.set_buffered_amount_low_threshold(id, kLowWater);
    if (ch.open) pump_source(pc, id);
  }

  static json optional_number(const auto& v) {
    if (!v) return nullptr;
    if constexpr (requires { v->count(); })
      return v->count();
    else
      return *v;
  }

  void on_open(rtc::PeerConnection& pc, const rtc::ChannelInfo& info) {
    auto& ch = channels_[info.id];
    ch.info = info;
    ch.open = true;
    if (!primary_) primary_ = info.id;
    emit({{"type", "open"},
          {"label", info.label},
          {"id", info.stream ? json(*info.stream) : json(nullptr)},
          {"ordered", info.ordered},
          {"maxRetransmits", optional_number(info.max_retransmits)},
          {"maxPacketLifeTime", optional_number(info.max_packet_lifetime)},
          {"protocol", info.protocol},
          {"negotiated", info.negotiated},
          {"remote", info.remote}});
    if (info.id == *primary_ && !primary_started_) {
      primary_started_ = true;
      if (options_.mode == "source")
        start_source(pc, info.id, options_.bytes, options_.message_size);
      if (options_.mode == "sink") {
        ch.sink.emplace();
        ch.sink->bytes = options_.bytes;
        ch.sink->report_messages = !options_.quiet;
      }
    }
    if (ch.source) pump_source(pc, info.id);
  }

  void on_event(rtc::Event& e) {
    std::visit(overloaded{
                   [&](rtc::event::LocalCandidate& c) {
                     if (c.candidate.empty()) {
                       emit({{"type", "candidate"}, {"candidate", ""}});
                     } else {
                       emit({{"type", "candidate"},
                             {"candidate", c.candidate},
                             {"sdpMid", c.mid},
                             {"sdpMLineIndex", 0}});
                     }
                   },
                   [&](rtc::event::DataChannelOpen& o) {
                     driver_->with(
                         [&](rtc::PeerConnection& pc, TimePoint) { on_open(pc, o.channel); });
                   },
                   [&](rtc::event::DataChannelMessage& m) { on_message(m); },
                   [&](rtc::event::DataChannelBufferedAmountLow& b) {
                     driver_->with(
                         [&](rtc::PeerConnection& pc, TimePoint) { pump_source(pc, b.channel); });
                   },
                   [&](rtc::event::DataChannelClosed& c) {
                     auto it = channels_.find(c.channel);
                     const std::string label = it == channels_.end() ? "" : it->second.info.label;
                     emit({{"type", "channel-closed"}, {"label", label}});
                     if (it != channels_.end()) channels_.erase(it);
                     if (primary_ && c.channel == *primary_) closed(0, label);
                   },
                   [&](rtc::event::ConnectionStateChanged& c) {
                     json line = {{"type", "state"}, {"state", rtc::to_string(c.state)}};
                     // Which pair carries the session: tells e.g. whether a browser's .local host
                     // candidate was resolved or the peer was learnt from its checks (prflx).
                     if (c.state == rtc::ConnectionState::Connected) {
                       if (const auto pair = driver_->pc().selected_pair()) {
                         line["selectedPair"] = {{"local", pair->local.to_string()},
                                                 {"remote", pair->remote.to_string()},
                                                 {"localType", ice::to_string(pair->local_type)},
                                                 {"remoteType", ice::to_string(pair->remote_type)}};
                       }
                     }
                     emit(line);
                     if (c.state == rtc::ConnectionState::Failed) {
                       error("connection failed");
                       closed(1);
                     } else if (c.state == rtc::ConnectionState::Closed) {
                       closed();
                     }
                   },
                   [](auto&) {},
               },
               e);
  }

  void closed(int code = 0, const std::string& label = {}) {
    if (closed_) return;
    closed_ = true;
    json line = {{"type", "closed"}};
    if (!label.empty()) line["label"] = label;
    emit(line);
    boost::asio::post(io_, [this, code] { finish(code); });
  }

  void report_message(const Channel& ch, const rtc::event::DataChannelMessage& m) {
    json line = {{"type", "message"},
                 {"label", ch.info.label},
                 {"bytes", m.data.size()},
                 {"binary", m.binary}};
    // Short text messages carry their content, so scripts can check what arrived.
    if (!m.binary && m.data.size() <= 1024) line["data"] = std::string(as_string_view(m.data));
    emit(line);
  }

  void on_message(rtc::event::DataChannelMessage& m) {
    auto it = channels_.find(m.channel);
    if (it == channels_.end()) return;
    auto& ch = it->second;
    if (ch.sink) {
      if (ch.sink->report_messages) report_message(ch, m);
      ch.sink->done += m.data.size();
      ch.sink->hash->update(m.data);
      if (ch.sink->done >= ch.sink->bytes) {
        emit({{"type", "done"},
              {"label", ch.info.label},
              {"bytes", ch.sink->done},
              {"sha256", to_hex(ch.sink->hash->finish())}});
        ch.sink.reset();
      }
      return;
    }
    // --quiet silences the first channel's traffic in sink/source mode only.
    const bool reported = !options_.quiet || options_.mode == "echo" || options_.mode == "manual" ||
                          m.channel != primary_;
    if (reported) report_message(ch, m);
    if (options_.mode == "echo") {
      driver_->with([&](rtc::PeerConnection& pc, TimePoint now) {
        if (auto r = pc.send(now, m.channel, m.data, m.binary); !r)
          error("echo: " + r.error().message());
      });
    }
  }

  // Sends the pattern while the channel's buffer is below the high-water mark; resumes on the
  // buffered-amount-low event (the W3C back-pressure idiom).
  void pump_source(rtc::PeerConnection& pc, rtc::ChannelId id) {
    auto it = channels_.find(id);
    if (it == channels_.end() || !it->second.source || !it->second.open) return;
    auto& ch = it->second;
    auto& job = *ch.source;
    const TimePoint now = Clock::now();
    // Never above what the peer accepts (RFC 8841 §6: a=max-message-size, 0 = no limit).
    std::size_t size = job.message_size;
    if (const auto limit = pc.remote_max_message_size(); limit != 0) size = std::min(size, limit);
    Bytes chunk;
    while (job.done < job.bytes && pc.buffered_amount(id) < kHighWater) {
      const std::size_t n = std::min<std::uint64_t>(size, job.bytes - job.done);
      chunk.resize(n);
      fill_pattern(chunk, job.done);
      auto r = pc.send(now, id, chunk, true);
      if (!r) {
        if (r.error() == Condition::Blocked) return; // resume on BufferedAmountLow
        error("send: " + r.error().message());
        ch.source.reset();
        return;
      }
      job.hash->update(chunk);
      job.done += n;
    }
    if (job.done >= job.bytes) {
      emit({{"type", "done"},
            {"label", ch.info.label},
            {"bytes", job.done},
            {"sha256", to_hex(job.hash->finish())}});
      ch.source.reset();
    }
  }

  // Back-pressure marks: keep 1-4 MiB in flight, enough to fill a loopback or LAN pipe.
  static constexpr std::size_t kHighWater = 4 << 20;
  static constexpr std::size_t kLowWater = 1 << 20;

  boost::asio::io_context& io_;
  LineWriter out_; // first: destroyed last, after everything that may still emit
  DcOptions options_;
  CryptoRng rng_;
  JsonLineReader stdin_;
  std::shared_ptr<runtime::UdpMux> mux_;
  std::unique_ptr<runtime::PeerDriver> driver_;
  std::map<rtc::ChannelId, Channel> channels_;
  /// The channel of --label (offerer) or the first to open (answerer): the one --mode drives and
  /// commands without a "label" address; its closing ends the process.
  std::optional<rtc::ChannelId> primary_;
  bool primary_started_ = false;
  bool closed_ = false;
  int exit_code_ = 0;
};

} // namespace

int run_dc(int argc, char** argv) {
  DcOptions o;
  CLI::App app{
      "posthorn dc: one WebRTC data-channel peer, signaling as JSON lines on stdin/stdout"};
  app.add_option("--role", o.role, "offer (creates the channel) or answer")
      ->required()
      ->check(CLI::IsMember({"offer", "answer"}));
  app.add_option("--label", o.label, "data channel label");
  app.add_option("--mode", o.mode, "echo | sink | source | manual")
      ->check(CLI::IsMember({"echo", "sink", "source", "manual"}));
  app.add_option("--bytes", o.bytes, "bytes to send (source) or expect (sink)");
  app.add_option("--message-size", o.message_size, "source message size")
      ->check(CLI::Range(1, 256 * 1024));
  app.add_option("--stun", o.stun, "STUN server URL, stun:host:port (repeatable)");
  app.add_option("--turn", o.turn,
                 "TURN server URL, turn:host[:port][?transport=udp|tcp] (repeatable)");
  app.add_option("--turn-user", o.turn_user, "TURN user name (for every --turn)");
  app.add_option("--turn-pass", o.turn_pass, "TURN password (for every --turn)");
  app.add_flag("--relay-only", o.relay_only,
               "only relayed candidates (iceTransportPolicy relay); needs --turn");
  app.add_option("--bind", o.bind, "only gather on this local IP");
  app.add_flag("--quiet", o.quiet, "no per-message lines in sink/source mode");
  app.add_option("--log-level", o.log_level, "trace|debug|info|warn|error|off (stderr)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  set_log_level(parse_log_level(o.log_level));
  boost::asio::io_context io;
  DcPeer peer(io, std::move(o));
  return peer.run();
}

} // namespace posthorn::cli
