#pragma once
// Linux network namespaces for integration tests: create them, wire them with veth pairs, load
// nftables rulesets into them, run commands inside them, and make sure they are gone afterwards.
//
// Every namespace a test creates is named "<prefix>-<pid>-<role>", so a later run can recognise
// and delete the leftovers of a run that crashed before its teardown (the pid no longer exists):
// NetnsSet's constructor does that for its prefix (and kills what that run left running inside
// them, e.g. a coturn). Interfaces are created directly inside the
// namespaces (never in the caller's), and deleting a namespace deletes its veth ends and its
// nftables tables with it, so removing the namespaces is the whole cleanup.
//
//   if (auto why = test::netns_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
//   test::NetnsSet ns("phnat");              // removes stale phnat-<dead pid>-* first
//   auto pub = ns.add("pub");                // "phnat-4242-pub"
//   ns.veth(pub, "a0", other, "b0");
//   { test::EnterNetns in(pub); /* sockets created here live in pub */ }
//
// Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and iproute2's `ip`; nftables rules need `nft`.

#include <string>
#include <vector>

namespace posthorn::test {

/// Runs `cmd` with /bin/sh, output discarded; true when it exits 0.
bool sh(const std::string& cmd);
/// Runs `cmd` with /bin/sh and returns its stdout (stderr discarded); empty on failure.
std::string sh_output(const std::string& cmd);

/// Why namespace tests cannot run here ("" when they can): not root, no `ip`, or the kernel /
/// container refuses `ip netns add` (tried with a throwaway namespace). With `need_nft`, also a
/// missing `nft` binary or an nftables ruleset the kernel refuses (a NAT table is tried).
std::string netns_unavailable_reason(bool need_nft = false);

/// Makes the calling thread's network namespace `name` until destroyed (setns(2) is per thread:
/// sockets created meanwhile belong to `name`, and so does a child process spawned meanwhile).
class EnterNetns {
public:
  explicit EnterNetns(const std::string& name);
  ~EnterNetns();
  EnterNetns(const EnterNetns&) = delete;
  EnterNetns& operator=(const EnterNetns&) = delete;

private:
  int self_ = -1;
};

/// Deletes namespaces named "<prefix>-<pid>-..." whose pid is not a running process, after
/// killing (SIGKILL, by pid) the processes that crashed run left inside them.
void remove_stale_namespaces(const std::string& prefix);

/// A set of namespaces owned by this process, deleted (in reverse order) on destruction.
class NetnsSet {
public:
  /// Removes stale namespaces of `prefix` from crashed runs. Creates nothing yet.
  explicit NetnsSet(std::string prefix);
  ~NetnsSet();
  NetnsSet(const NetnsSet&) = delete;
  NetnsSet& operator=(const NetnsSet&) = delete;

  /// Creates "<prefix>-<pid>-<role>" with lo up and returns its name. Throws std::runtime_error
  /// when `ip netns add` fails.
  std::string add(const std::string& role);
  /// A veth pair: `if_a` inside `ns_a`, `if_b` inside `ns_b`, both up, with optional IPv4
  /// addresses in CIDR form ("10.0.1.1/24"). Throws on failure.
  void veth(const std::string& ns_a, const std::string& if_a, const std::string& ns_b,
            const std::string& if_b, const std::string& cidr_a = {},
            const std::string& cidr_b = {});
  /// Runs `ip -n <ns> <args>` and throws with the command line when it fails.
  void ip(const std::string& ns, const std::string& args);
  /// Loads an nftables ruleset (the text of an `nft -f` file) into `ns`; throws with nft's
  /// error message when the kernel refuses it.
  void nft(const std::string& ns, const std::string& ruleset);
  /// Sets a sysctl inside `ns` (e.g. "net.ipv4.ip_forward=1"); throws on failure.
  void sysctl(const std::string& ns, const std::string& assignment);

  /// Deletes every namespace created so far (idempotent; the destructor calls it).
  void remove_all();
  [[nodiscard]] const std::vector<std::string>& names() const noexcept { return names_; }

private:
  std::string prefix_;
  std::vector<std::string> names_;
};

/// `ip netns exec <ns>` + argv: the argv that runs `argv` inside `ns` (ip execs the command, so
/// the child's pid is the command's own).
std::vector<std::string> in_netns(const std::string& ns, std::vector<std::string> argv);

} // namespace posthorn::test
