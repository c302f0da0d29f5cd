// `posthorn dc`: one data-channel peer whose signaling is JSON lines on stdin/stdout, so any
// WebRTC implementation can be wired to it by a small script. The contract is docs/cli-dc.md.
#include "cli/commands.hpp"
#include "cli/json_lines.hpp"
#include "cli/stun_url.hpp"
#include "core/crypto.hpp"
#include "core/log.hpp"
#include "core/overloaded.hpp"
#include "dtls/certificate.hpp"
#include "runtime/interfaces.hpp"
#include "runtime/peer_driver.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <cstring>

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
      auto server = resolve_stun_url(url);
      if (!server) return fail("cannot use STUN server '" + url + "': " + server.error());
      config.stun_servers.push_back(*server);
    }
    for (const auto& url : options_.turn) {
      auto server = resolve_turn_url(url);
      if (!server) return fail("cannot use TURN server '" + url + "': " + server.error());
      if (options_.turn_user.empty())
        return fail("--turn needs --turn-user and --turn-pass (long-term credentials)");
      ice::TurnServerConfig turn;
      turn.server = (*server).server;
      turn.transport = (*server).transport;
      turn.username = options_.turn_user;
      turn.password = options_.turn_pass;
      config.turn_servers.push_back(std::move(turn));
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
        channel_ = pc.create_data_channel({.label = options_.label}).value();
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
  int fail(const std::string& why) {
    emit({{"type", "error"}, {"error", why}});
    exit_code_ = 1;
    return 1;
  }

  void emit(const json& j) {
    // Text from the network may be invalid UTF-8: replace, never throw.
    std::string line = j.dump(-1, ' ', false, json::error_handler_t::replace);
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
  }

  void finish(int code) {
    exit_code_ = code;
    if (driver_) driver_->with([](rtc::PeerConnection& pc, TimePoint now) { pc.close(now); });
    stdin_.stop();
    io_.stop();
  }

  void on_stdin_closed() { finish(exit_code_); }

  void on_line(const std::string& line) {
    auto j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("type") || !j["type"].is_string()) {
      emit({{"type", "error"}, {"error", "ignored a line that is not a JSON signaling object"}});
      return;
    }
    const auto type = j["type"].get<std::string>();
    driver_->with([&](rtc::PeerConnection& pc, TimePoint now) {
      if (type == "offer" || type == "answer") {
        if (!j.contains("sdp") || !j["sdp"].is_string()) {
          emit({{"type", "error"}, {"error", type + " without an sdp string"}});
          return;
        }
        const auto dtype =
            type == "offer" ? rtc::DescriptionType::Offer : rtc::DescriptionType::Answer;
        if (auto r = pc.set_remote_description(now, {dtype, j["sdp"].get<std::string>()}); !r) {
          emit({{"type", "error"}, {"error", "remote " + type + ": " + r.error().message()}});
          return;
        }
        if (dtype == rtc::DescriptionType::Offer) {
          auto answer = pc.create_answer();
          if (!answer) {
            emit({{"type", "error"}, {"error", "answer: " + answer.error().message()}});
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
          emit({{"type", "error"}, {"error", "candidate: " + r.error().message()}});
      } else if (type == "send") {
        send_command(pc, now, j);
      } else if (type == "close") {
        if (channel_) pc.close_channel(now, *channel_);
      } else {
        emit({{"type", "error"}, {"error", "unknown signaling type '" + type + "'"}});
      }
    });
  }

  // {"type":"send","data":"...","binary":false} — text as is, binary as base64.
  void send_command(rtc::PeerConnection& pc, TimePoint now, const json& j) {
    if (!channel_ || !j.contains("data") || !j["data"].is_string()) {
      emit({{"type", "error"}, {"error", "send: no open channel or no data string"}});
      return;
    }
    const bool binary = j.value("binary", false);
    const auto text = j["data"].get<std::string>();
    Bytes payload;
    if (binary) {
      auto decoded = crypto::base64_decode(text);
      if (!decoded) {
        emit({{"type", "error"}, {"error", "send: binary data is not base64"}});
        return;
      }
      payload = std::move(*decoded);
    } else {
      payload = to_bytes(text);
    }
    if (auto r = pc.send(now, *channel_, payload, binary); !r)
      emit({{"type", "error"}, {"error", "send: " + r.error().message()}});
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
                     if (channel_ && *channel_ != o.channel.id) return;
                     channel_ = o.channel.id;
                     emit({{"type", "open"}, {"label", o.channel.label}});
                     if (options_.mode == "source") {
                       driver_->with([&](rtc::PeerConnection& pc, TimePoint) {
                         pc.set_buffered_amount_low_threshold(*channel_, kLowWater);
                       });
                       pump_source();
                     }
                   },
                   [&](rtc::event::DataChannelMessage& m) { on_message(m); },
                   [&](rtc::event::DataChannelBufferedAmountLow&) { pump_source(); },
                   [&](rtc::event::DataChannelClosed& c) {
                     if (channel_ && c.channel == *channel_) closed();
                   },
                   [&](rtc::event::ConnectionStateChanged& c) {
                     if (c.state == rtc::ConnectionState::Failed) {
                       emit({{"type", "error"}, {"error", "connection failed"}});
                       closed(1);
                     } else if (c.state == rtc::ConnectionState::Closed) {
                       closed();
                     }
                   },
                   [](auto&) {},
               },
               e);
  }

  void closed(int code = 0) {
    if (closed_) return;
    closed_ = true;
    emit({{"type", "closed"}});
    boost::asio::post(io_, [this, code] { finish(code); });
  }

  void on_message(rtc::event::DataChannelMessage& m) {
    if (!options_.quiet || options_.mode == "echo") {
      json line = {{"type", "message"}, {"bytes", m.data.size()}, {"binary", m.binary}};
      // Short text messages carry their content, so scripts can check what arrived.
      if (!m.binary && m.data.size() <= 1024) line["data"] = std::string(as_string_view(m.data));
      emit(line);
    }
    if (options_.mode == "echo") {
      driver_->with([&](rtc::PeerConnection& pc, TimePoint now) {
        if (auto r = pc.send(now, m.channel, m.data, m.binary); !r)
          emit({{"type", "error"}, {"error", "echo: " + r.error().message()}});
      });
    } else if (options_.mode == "sink") {
      received_ += m.data.size();
      hash_.update(m.data);
      if (!done_ && received_ >= options_.bytes) {
        done_ = true;
        emit({{"type", "done"}, {"bytes", received_}, {"sha256", to_hex(hash_.finish())}});
      }
    }
  }

  // Sends the pattern while the channel's buffer is below the high-water mark; resumes on the
  // buffered-amount-low event (the W3C back-pressure idiom).
  void pump_source() {
    if (options_.mode != "source" || !channel_ || done_) return;
    driver_->with([&](rtc::PeerConnection& pc, TimePoint now) {
      Bytes chunk;
      while (sent_ < options_.bytes && pc.buffered_amount(*channel_) < kHighWater) {
        const std::size_t n =
            std::min<std::uint64_t>(options_.message_size, options_.bytes - sent_);
        chunk.resize(n);
        fill_pattern(chunk, sent_);
        auto r = pc.send(now, *channel_, chunk, true);
        if (!r) {
          if (r.error() == Condition::Blocked) return; // resume on BufferedAmountLow
          emit({{"type", "error"}, {"error", "send: " + r.error().message()}});
          return;
        }
        hash_.update(chunk);
        sent_ += n;
      }
      if (sent_ >= options_.bytes) {
        done_ = true;
        emit({{"type", "done"}, {"bytes", sent_}, {"sha256", to_hex(hash_.finish())}});
      }
    });
  }

  // Back-pressure marks: keep 1-4 MiB in flight, enough to fill a loopback or LAN pipe.
  static constexpr std::size_t kHighWater = 4 << 20;
  static constexpr std::size_t kLowWater = 1 << 20;

  boost::asio::io_context& io_;
  DcOptions options_;
  CryptoRng rng_;
  JsonLineReader stdin_;
  std::shared_ptr<runtime::UdpMux> mux_;
  std::unique_ptr<runtime::PeerDriver> driver_;
  std::optional<rtc::ChannelId> channel_;
  crypto::Sha256 hash_;
  std::uint64_t sent_ = 0;
  std::uint64_t received_ = 0;
  bool done_ = false;
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
  app.add_option("--mode", o.mode, "echo | sink | source")
      ->check(CLI::IsMember({"echo", "sink", "source"}));
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
