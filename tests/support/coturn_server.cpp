#include "coturn_server.hpp"

#include "netns.hpp"

#include "ice/stun_message.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace posthorn::test {
namespace {

using namespace std::chrono_literals;

sockaddr_in ipv4(in_addr_t ip, std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = ip;
  return a;
}

/// Whether `port` can be bound on `ip` for `type` (SOCK_DGRAM / SOCK_STREAM) right now.
bool port_free(int type, in_addr_t ip, std::uint16_t port) {
  const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  auto a = ipv4(ip, port);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

/// A port the kernel hands out for UDP that is also free for TCP.
std::uint16_t pick_listening_port(in_addr_t ip) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    auto a = ipv4(ip, 0);
    socklen_t len = sizeof a;
    if (fd < 0) break;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ::close(fd);
      continue;
    }
    ::close(fd);
    const std::uint16_t port = ntohs(a.sin_port);
    if (port_free(SOCK_STREAM, ip, port) && port_free(SOCK_DGRAM, ip, port)) return port;
  }
  throw std::runtime_error("no free UDP+TCP port for coturn");
}

/// A run of 64 relay ports that are all free for UDP at the moment, outside the kernel's
/// ephemeral range (32768-60999 on Linux) so that other tests' sockets do not take them.
std::pair<std::uint16_t, std::uint16_t> pick_relay_range(in_addr_t ip) {
  std::random_device rd;
  std::uniform_int_distribution<int> base(20000 / 64, 32000 / 64);
  for (int attempt = 0; attempt < 50; ++attempt) {
    const auto first = static_cast<std::uint16_t>(base(rd) * 64);
    bool all_free = true;
    for (std::uint16_t p = first; p < first + 64 && all_free; ++p)
      all_free = port_free(SOCK_DGRAM, ip, p);
    if (all_free) return {first, static_cast<std::uint16_t>(first + 63)};
  }
  throw std::runtime_error("no free range of 64 UDP relay ports for coturn");
}

} // namespace

bool CoturnServer::available() {
  return ::access(kBinary, X_OK) == 0;
}

std::string CoturnServer::skip_reason() {
  return std::string(kBinary) + " is not installed (Debian package `coturn`)";
}

CoturnServer::CoturnServer(Options options) : options_(std::move(options)) {
  if (options_.listening_ip.empty()) options_.listening_ip = "127.0.0.1";
  in_addr ip{};
  if (::inet_pton(AF_INET, options_.listening_ip.c_str(), &ip) != 1)
    throw std::invalid_argument("CoturnServer: listening_ip '" + options_.listening_ip +
                                "' is not an IPv4 address");
  ip_ = ip.s_addr;
  // Port picks, the spawn and the readiness probes all happen inside the namespace: setns(2) is
  // per thread, and a child inherits the namespace of the thread that spawned it.
  std::optional<EnterNetns> inside;
  if (!options_.netns.empty()) inside.emplace(options_.netns);
  char tmpl[] = "/tmp/posthorn-coturn-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  port_ = pick_listening_port(ip_);
  std::tie(min_port_, max_port_) = pick_relay_range(ip_);

  const std::string conf = dir_ + "/turnserver.conf";
  {
    std::ofstream out(conf);
    out << "listening-ip=" << options_.listening_ip << "\n"
        << "listening-port=" << port_ << "\n"
        << "relay-ip=" << options_.listening_ip << "\n"
        << "min-port=" << min_port_ << "\n"
        << "max-port=" << max_port_ << "\n"
        << "lt-cred-mech\n"
        << "user=" << options_.user << ":" << options_.password << "\n"
        << "realm=" << options_.realm << "\n"
        << "no-cli\nno-tls\nno-dtls\n"
        // Relaying to 127.0.0.1 peers is the whole point of a loopback test.
        << "allow-loopback-peers\n"
        // RFC 5780 would want a second listening address; the test has one.
        << "no-rfc5780\n"
        << "no-multicast-peers\n"
        << "log-file=" << dir_ << "/turnserver.log\n"
        << "simple-log\nno-stdout-log\nverbose\n"
        << "pidfile=" << dir_
        << "/turnserver.pid\n"
        // The default sqlite path (/var/lib/turn) is not ours to write.
        << "userdb=" << dir_ << "/turndb\n";
    for (const auto& line : options_.extra_config)
      out << line << "\n";
  }

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string console = dir_ + "/console.log";
  posix_spawn_file_actions_addopen(&actions, 1, console.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  std::string bin = kBinary, flag = "-c";
  char* argv[] = {bin.data(), flag.data(), const_cast<char*>(conf.c_str()), nullptr};
  const int rc = ::posix_spawn(&pid_, kBinary, &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = -1;
    std::filesystem::remove_all(dir_);
    throw std::runtime_error(std::string("cannot start ") + kBinary + ": " + std::strerror(rc));
  }

  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      const std::string tail = log_tail();
      std::filesystem::remove_all(dir_);
      throw std::runtime_error("turnserver exited during startup:\n" + tail);
    }
    if (answers_binding() && accepts_tcp()) return;
  }
  const std::string tail = log_tail();
  stop();
  throw std::runtime_error("turnserver did not answer a STUN Binding within 10 s:\n" + tail);
}

CoturnServer::~CoturnServer() {
  stop();
}

void CoturnServer::stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    // coturn winds down its relay threads for a second or two after SIGTERM.
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    bool exited = false;
    while (!exited && std::chrono::steady_clock::now() < deadline) {
      exited = ::waitpid(pid_, nullptr, WNOHANG) == pid_;
      if (!exited) std::this_thread::sleep_for(20ms);
    }
    if (!exited) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    dir_.clear();
  }
}

SocketAddress CoturnServer::address() const {
  return SocketAddress(*IpAddress::parse(options_.listening_ip), port_);
}

bool CoturnServer::answers_binding() const {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ice::TransactionId id{};
  std::random_device rd;
  for (auto& b : id)
    b = static_cast<std::uint8_t>(rd());
  const Bytes request = ice::StunMessage(ice::StunClass::Request, ice::StunMethod::Binding, id)
                            .encode(std::nullopt, true);
  auto to = ipv4(ip_, port_);
  ::sendto(fd, request.data(), request.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  pollfd p{fd, POLLIN, 0};
  bool ok = false;
  if (::poll(&p, 1, 200) == 1) {
    std::uint8_t buf[1500];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      auto msg = ice::StunMessage::decode(ByteView(buf, static_cast<std::size_t>(n)));
      ok = msg && msg->transaction_id() == id &&
           msg->is(ice::StunClass::SuccessResponse, ice::StunMethod::Binding);
    }
  }
  ::close(fd);
  return ok;
}

bool CoturnServer::accepts_tcp() const {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  auto to = ipv4(ip_, port_);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0;
  ::close(fd);
  return ok;
}

std::string CoturnServer::log_tail(std::size_t lines) const {
  std::deque<std::string> tail;
  for (const char* name : {"/turnserver.log", "/console.log"}) {
    std::ifstream in(dir_ + name);
    std::string line;
    while (std::getline(in, line)) {
      tail.push_back(line);
      if (tail.size() > lines) tail.pop_front();
    }
  }
  std::ostringstream out;
  for (const auto& l : tail)
    out << l << "\n";
  return out.str();
}

} // namespace posthorn::test
