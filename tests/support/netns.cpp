#include "netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace posthorn::test {
namespace {

/// Runs `cmd` with /bin/sh, stderr merged into the returned output; `status` gets the exit code.
std::string run(const std::string& cmd, int& status) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) {
    status = -1;
    return out;
  }
  std::array<char, 4096> buf;
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0)
    out.append(buf.data(), n);
  const int rc = ::pclose(p);
  status = rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

void must(const std::string& cmd) {
  int status = 0;
  const auto out = run(cmd, status);
  if (status != 0) throw std::runtime_error("`" + cmd + "` failed: " + out);
}

std::string ns_name(const std::string& prefix, const std::string& role) {
  return prefix + "-" + std::to_string(::getpid()) + "-" + role;
}

/// Loads `ruleset` with `nft -f` inside `ns`; "" on success, else nft's complaint.
std::string try_nft(const std::string& ns, const std::string& ruleset) {
  char path[] = "/tmp/posthorn-nft-XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) return "mkstemp failed";
  ::close(fd);
  {
    std::ofstream out(path);
    out << ruleset;
  }
  int status = 0;
  auto out = run("ip netns exec " + ns + " nft -f " + path, status);
  std::filesystem::remove(path);
  if (status == 0) return {};
  return out.empty() ? "nft exited with " + std::to_string(status) : out;
}

std::string probe_reason(bool need_nft) {
  if (::geteuid() != 0) return "needs root to create network namespaces";
  if (!sh("command -v ip")) return "iproute2's `ip` is not installed";
  if (need_nft && !sh("command -v nft")) return "`nft` (Debian package nftables) is not installed";
  remove_stale_namespaces("phprobe");
  const std::string probe = ns_name("phprobe", "x");
  int status = 0;
  auto out = run("ip netns add " + probe, status);
  while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back())))
    out.pop_back();
  if (status != 0)
    return "this machine forbids network namespaces (`ip netns add` failed: " + out + ")";
  std::string reason;
  if (need_nft) {
    const auto err =
        try_nft(probe, "table ip probe {\n"
                       "  chain nat_post { type nat hook postrouting priority srcnat;\n"
                       "    oifname \"lo\" masquerade fully-random\n  }\n"
                       "  chain filter_fwd { type filter hook forward priority filter;\n"
                       "    numgen random mod 100 < 5 drop\n  }\n"
                       "}\n");
    if (!err.empty()) reason = "the kernel refuses nftables NAT/numgen rules: " + err;
  }
  sh("ip netns del " + probe);
  return reason;
}

} // namespace

bool sh(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;
}

std::string sh_output(const std::string& cmd) {
  int status = 0;
  auto out = run(cmd + " 2>/dev/null", status);
  return status == 0 ? out : std::string();
}

std::string netns_unavailable_reason(bool need_nft) {
  static const std::string plain = probe_reason(false);
  if (!need_nft || !plain.empty()) return plain;
  static const std::string with_nft = probe_reason(true);
  return with_nft;
}

EnterNetns::EnterNetns(const std::string& name) {
  self_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  const int fd = ::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
  const bool ok = self_ >= 0 && fd >= 0 && ::setns(fd, CLONE_NEWNET) == 0;
  if (fd >= 0) ::close(fd);
  if (!ok) {
    if (self_ >= 0) ::close(self_);
    throw std::runtime_error("cannot enter network namespace " + name);
  }
}

EnterNetns::~EnterNetns() {
  if (::setns(self_, CLONE_NEWNET) != 0) std::abort(); // the rest of the test run would lie
  ::close(self_);
}

void remove_stale_namespaces(const std::string& prefix) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/run/netns", ec)) {
    const auto name = entry.path().filename().string();
    if (!name.starts_with(prefix + "-")) continue;
    // "<prefix>-<pid>-<role>" (or the older "<prefix>-<role>-<pid>"): any all-digit part.
    std::string rest = name.substr(prefix.size() + 1);
    bool stale = false;
    std::size_t start = 0;
    while (start <= rest.size()) {
      const auto end = std::min(rest.find('-', start), rest.size());
      const auto part = rest.substr(start, end - start);
      if (!part.empty() && part.find_first_not_of("0123456789") == std::string::npos) {
        stale = !std::filesystem::exists("/proc/" + part);
        break;
      }
      start = end + 1;
    }
    if (!stale) continue;
    // Processes the crashed run left inside (a coturn has no stdin to notice its parent died):
    // they can only be there because that run started them.
    std::istringstream pids(sh_output("ip netns pids " + name));
    std::string pid;
    while (pids >> pid)
      if (pid.find_first_not_of("0123456789") == std::string::npos) ::kill(std::stoi(pid), SIGKILL);
    sh("ip netns del " + name);
  }
}

NetnsSet::NetnsSet(std::string prefix) : prefix_(std::move(prefix)) {
  remove_stale_namespaces(prefix_);
}

NetnsSet::~NetnsSet() {
  remove_all();
}

std::string NetnsSet::add(const std::string& role) {
  const auto name = ns_name(prefix_, role);
  must("ip netns add " + name);
  names_.push_back(name);
  must("ip -n " + name + " link set lo up");
  return name;
}

void NetnsSet::veth(const std::string& ns_a, const std::string& if_a, const std::string& ns_b,
                    const std::string& if_b, const std::string& cidr_a, const std::string& cidr_b) {
  // Created inside ns_a with its peer moved straight into ns_b: nothing appears in the caller's
  // namespace, even for a moment.
  must("ip -n " + ns_a + " link add " + if_a + " type veth peer name " + if_b + " netns " + ns_b);
  if (!cidr_a.empty()) must("ip -n " + ns_a + " addr add " + cidr_a + " dev " + if_a);
  if (!cidr_b.empty()) must("ip -n " + ns_b + " addr add " + cidr_b + " dev " + if_b);
  must("ip -n " + ns_a + " link set " + if_a + " up");
  must("ip -n " + ns_b + " link set " + if_b + " up");
}

void NetnsSet::ip(const std::string& ns, const std::string& args) {
  must("ip -n " + ns + " " + args);
}

void NetnsSet::nft(const std::string& ns, const std::string& ruleset) {
  if (auto err = try_nft(ns, ruleset); !err.empty())
    throw std::runtime_error("nft in " + ns + " refused the ruleset: " + err + "\n" + ruleset);
}

void NetnsSet::sysctl(const std::string& ns, const std::string& assignment) {
  must("ip netns exec " + ns + " sysctl -qw " + assignment);
}

void NetnsSet::remove_all() {
  for (auto it = names_.rbegin(); it != names_.rend(); ++it)
    sh("ip netns del " + *it);
  names_.clear();
}

std::vector<std::string> in_netns(const std::string& ns, std::vector<std::string> argv) {
  std::string ip = "/usr/sbin/ip";
  if (::access(ip.c_str(), X_OK) != 0) ip = "/sbin/ip";
  std::vector<std::string> out = {ip, "netns", "exec", ns};
  out.insert(out.end(), std::make_move_iterator(argv.begin()), std::make_move_iterator(argv.end()));
  return out;
}

} // namespace posthorn::test
