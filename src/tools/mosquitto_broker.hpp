#pragma once
// A real mosquitto broker (Debian's /usr/sbin/mosquitto 2.0.x) for integration tests and
// `posthorn bench room`, with a
// generated configuration in a temporary directory: one MQTT/TCP and one MQTT/WebSocket listener
// on free loopback ports, anonymous access, no persistence.
//
//   if (!tools::MosquittoBroker::available()) GTEST_SKIP() << "mosquitto is not installed";
//   tools::MosquittoBroker broker;            // started; both ports accept connections
//   connect_to(broker.ws_url());              // "ws://127.0.0.1:PORT/mqtt"
//   broker.restart();                         // same ports: clients can reconnect
//
// mosquitto 2.0.11 quirks handled here: a WebSocket listener binds the wildcard address unless
// the listener also says `socket_domain ipv4` (then it honours `listener PORT 127.0.0.1`), and a
// configuration with only WebSocket listeners refuses to start, so there is always a TCP one.
// The broker only ever listens on 127.0.0.1. It is stopped (SIGTERM, then SIGKILL) by its PID in
// the destructor; nothing else is signalled.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

namespace posthorn::tools {

class MosquittoBroker {
public:
  /// Whether the broker binary exists (tests GTEST_SKIP otherwise).
  static bool available();
  static constexpr const char* kBinary = "/usr/sbin/mosquitto";

  /// Starts the broker; throws std::runtime_error (with its log) if it does not come up.
  MosquittoBroker();
  ~MosquittoBroker();
  MosquittoBroker(const MosquittoBroker&) = delete;
  MosquittoBroker& operator=(const MosquittoBroker&) = delete;

  /// Stops the broker (clients see their connections drop). Idempotent.
  void stop();
  /// Starts it again on the same ports.
  void start();
  void restart() {
    stop();
    start();
  }
  [[nodiscard]] bool running() const noexcept { return pid_ > 0; }

  [[nodiscard]] std::uint16_t tcp_port() const noexcept { return tcp_port_; }
  [[nodiscard]] std::uint16_t ws_port() const noexcept { return ws_port_; }
  /// "mqtt://127.0.0.1:PORT"
  [[nodiscard]] std::string tcp_url() const;
  /// "ws://127.0.0.1:PORT/mqtt" (mosquitto accepts any path; /mqtt is the common one)
  [[nodiscard]] std::string ws_url() const;
  /// The broker's log so far (for failure messages).
  [[nodiscard]] std::string log() const;

private:
  void write_config() const;
  bool try_start(std::string& why);

  std::filesystem::path dir_;
  std::uint16_t tcp_port_ = 0;
  std::uint16_t ws_port_ = 0;
  pid_t pid_ = -1;
};

} // namespace posthorn::tools
