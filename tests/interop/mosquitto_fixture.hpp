#pragma once
// A private, minimal mosquitto launcher for the interop suite: one broker with an MQTT/TCP and
// an MQTT/WebSocket listener on loopback ports. (tests/support/mosquitto_server.hpp is meant to
// replace it; the interface is the same: tcp_url() / ws_url().)

#include "tools/child_process.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

namespace posthorn::test {

class LocalMosquitto {
public:
  /// Starts /usr/sbin/mosquitto with its config and log in `dir`; returns once both listeners
  /// accept connections. Throws std::runtime_error if it does not come up within 10 s.
  explicit LocalMosquitto(const std::filesystem::path& dir,
                          std::string binary = "/usr/sbin/mosquitto") {
    std::filesystem::create_directories(dir);
    // Started as root, mosquitto drops to the `mosquitto` user and must still write its log.
    std::filesystem::permissions(dir, std::filesystem::perms::all);
    tcp_port_ = free_port();
    ws_port_ = free_port();
    while (ws_port_ == tcp_port_)
      ws_port_ = free_port();
    log_ = dir / "mosquitto.log";
    const auto conf = dir / "mosquitto.conf";
    {
      std::ofstream out(conf);
      // mosquitto 2.0.11 binds a websockets listener to every address unless it is given an
      // interface name, hence `lo` rather than 127.0.0.1 for it (DESIGN.md §3).
      out << "allow_anonymous true\n"
             "persistence false\n"
             "log_dest file "
          << log_.string()
          << "\n"
             "log_type error\nlog_type warning\nlog_type notice\n"
             "listener "
          << tcp_port_
          << " 127.0.0.1\n"
             "listener "
          << ws_port_ << " lo\nprotocol websockets\n";
    }
    child_ = std::make_unique<tools::ChildProcess>(
        std::vector<std::string>{binary, "-c", conf.string()});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!(accepts(tcp_port_) && accepts(ws_port_))) {
      if (child_->wait(std::chrono::milliseconds(0)) || std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("mosquitto did not start; see " + log_.string());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  ~LocalMosquitto() {
    if (!child_) return;
    ::kill(child_->pid(), SIGTERM);
    if (!child_->wait(std::chrono::seconds(2))) child_->kill();
  }

  LocalMosquitto(const LocalMosquitto&) = delete;
  LocalMosquitto& operator=(const LocalMosquitto&) = delete;

  [[nodiscard]] std::string tcp_url() const {
    return "mqtt://127.0.0.1:" + std::to_string(tcp_port_);
  }
  [[nodiscard]] std::string ws_url() const { return "ws://127.0.0.1:" + std::to_string(ws_port_); }
  [[nodiscard]] const std::filesystem::path& log_path() const noexcept { return log_; }

private:
  static std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      if (fd >= 0) ::close(fd);
      throw std::runtime_error("cannot find a free port");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
  }

  static bool accepts(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
  }

  std::uint16_t tcp_port_ = 0;
  std::uint16_t ws_port_ = 0;
  std::filesystem::path log_;
  std::unique_ptr<tools::ChildProcess> child_;
};

} // namespace posthorn::test
