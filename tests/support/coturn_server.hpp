#pragma once
// A real coturn (`/usr/bin/turnserver`, Debian's coturn 4.6) on loopback for integration tests.
//
// The constructor writes a config into a fresh temp dir (free UDP+TCP listening port on
// 127.0.0.1, long-term credentials with one static user, relaying on 127.0.0.1 with loopback
// peers allowed, no TLS/DTLS/CLI, log file in the temp dir), starts the server, and returns once
// it answers a STUN Binding over UDP and accepts a TCP connection. The destructor stops that one
// process by its pid (SIGTERM, then SIGKILL) and removes the temp dir.
//
//   if (!test::CoturnServer::available()) GTEST_SKIP() << test::CoturnServer::skip_reason();
//   test::CoturnServer turn;   // turn.address(), turn.user(), turn.password(), turn.realm()
//
// Options::netns and Options::listening_ip put it elsewhere: inside a network namespace (the
// process is spawned, and probed, from inside it; see netns.hpp) on one of that namespace's
// addresses, e.g. the "public" side of tests/integration/netns_nat_test.cpp.

#include "core/socket_address.hpp"

#include <sys/types.h>

#include <string>
#include <vector>

namespace posthorn::test {

class CoturnServer {
public:
  struct Options {
    std::string user = "alice";
    std::string password = "secret";
    std::string realm = "posthorn.test";
    /// More `key=value` config lines, e.g. "stale-nonce=1".
    std::vector<std::string> extra_config;
    /// Network namespace (a name under /run/netns) to run in; empty = the caller's.
    std::string netns;
    /// IPv4 address to listen and relay on; empty = 127.0.0.1.
    std::string listening_ip;
  };

  static constexpr const char* kBinary = "/usr/bin/turnserver";
  /// Whether the binary exists and is executable.
  static bool available();
  static std::string skip_reason();

  /// Throws std::runtime_error (with the tail of coturn's log) if it does not come up in 10 s.
  explicit CoturnServer(Options options);
  CoturnServer() : CoturnServer(Options{}) {}
  ~CoturnServer();
  CoturnServer(const CoturnServer&) = delete;
  CoturnServer& operator=(const CoturnServer&) = delete;

  /// <listening ip>:<port> (127.0.0.1 by default), for both UDP and TCP.
  [[nodiscard]] SocketAddress address() const;
  [[nodiscard]] const std::string& user() const noexcept { return options_.user; }
  [[nodiscard]] const std::string& password() const noexcept { return options_.password; }
  [[nodiscard]] const std::string& realm() const noexcept { return options_.realm; }
  [[nodiscard]] std::uint16_t min_relay_port() const noexcept { return min_port_; }
  [[nodiscard]] std::uint16_t max_relay_port() const noexcept { return max_port_; }
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  /// The last `lines` lines of coturn's log, for failure messages.
  [[nodiscard]] std::string log_tail(std::size_t lines = 30) const;

private:
  void stop();
  bool answers_binding() const;
  bool accepts_tcp() const;

  Options options_;
  std::string dir_;
  std::uint32_t ip_ = 0; // listening address, network byte order
  std::uint16_t port_ = 0;
  std::uint16_t min_port_ = 0;
  std::uint16_t max_port_ = 0;
  pid_t pid_ = -1;
};

} // namespace posthorn::test
