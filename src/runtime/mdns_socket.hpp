#pragma once
// Resolves mDNS ".local" names (browsers' hidden host candidates) over real multicast sockets:
// drives an ice::mdns::Resolver (the sans-IO core) on an asio executor.
//
// Sockets: one IPv4 socket bound to 224.0.0.251:5353 and joined to that group on every chosen
// interface, and, when enabled, one IPv6 socket per interface bound to [ff02::fb%if]:5353.
// SO_REUSEADDR and SO_REUSEPORT are set because other responders on the machine (a browser,
// avahi, systemd-resolved) already own port 5353 the same way. Binding the group address rather
// than the wildcard means only datagrams sent to the link-local group reach us; routers never
// forward 224.0.0.251 or ff02::fb, which is the "from the local link" check of RFC 6762 §11
// without inspecting TTLs (Chromium sends its answers with TTL 1, not 255, so a TTL check would
// reject it). Each query is sent on every chosen interface (IP_MULTICAST_IF per send).
//
// Fallback: if port 5353 cannot be shared (another process holds it without SO_REUSEADDR), the
// IPv4 socket binds an ephemeral port and the queries become RFC 6762 §5.1 one-shot queries. Only
// responders that send legacy unicast answers (§6.7) answer those; Chromium does not (it answers
// by multicast to port 5353, measured in docs/mdns.md), so the fallback exists for other
// responders and is reported by is_shared_port().
//
// Threading: construct, call and destroy on the executor's thread (one io_context thread).
// Handlers run from the executor, never inside resolve() or cancel(); a handler may call
// resolve(), cancel() or destroy the MdnsSocket. Handlers of queries still outstanding at
// destruction are dropped without being called.

#include "core/socket_address.hpp"
#include "ice/mdns_resolver.hpp"
#include <posthorn/error.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace posthorn::runtime {

struct MdnsSocketOptions {
  /// Interfaces to query on, each named by one of its addresses (local_interface_addresses()
  /// gives them). Empty: every interface that is up and multicast-capable, excluding loopback
  /// unless there is no other (then loopback, which Linux lets carry multicast).
  std::vector<IpAddress> interfaces;
  bool ipv4 = true;
  /// Also query ff02::fb on interfaces that have an IPv6 address. A browser answers AAAA
  /// questions over IPv4 too, so this is optional; failures to open it are logged, not fatal.
  bool ipv6 = true;
  /// See "Fallback" above. When false, a port 5353 that cannot be shared throws.
  bool allow_ephemeral_fallback = true;
  /// Timing and limits; `destinations` is replaced by the groups actually joined.
  ice::mdns::ResolverConfig resolver;
};

struct MdnsSocketStats {
  std::uint64_t datagrams_sent = 0;
  std::uint64_t send_errors = 0;
  std::uint64_t dropped_off_link = 0; // fallback mode: unicast from outside our subnets
};

class MdnsSocket {
public:
  using ResolveHandler = std::function<void(const result<IpAddress>&)>;

  /// Opens and joins the sockets. Throws std::runtime_error when no socket can be opened on
  /// any chosen interface (a configuration error at startup, not remote input).
  explicit MdnsSocket(boost::asio::any_io_executor executor, MdnsSocketOptions options = {});
  ~MdnsSocket();
  MdnsSocket(const MdnsSocket&) = delete;
  MdnsSocket& operator=(const MdnsSocket&) = delete;

  /// Starts resolving `name` ("<uuid>.local"); `handler` later gets the address or
  /// ice::mdns::Errc::TimedOut. Immediate errors (not a .local name, too many queries) are
  /// returned and the handler is not called.
  [[nodiscard]] result<ice::mdns::QueryId> resolve(std::string_view name, ResolveHandler handler);
  /// The handler of `id` will not be called.
  void cancel(ice::mdns::QueryId id);

  /// False when the fallback to an ephemeral port was taken.
  [[nodiscard]] bool is_shared_port() const noexcept;
  /// Names of the interfaces queries are sent on ("eth0").
  [[nodiscard]] std::vector<std::string> interface_names() const;
  [[nodiscard]] const ice::mdns::Resolver& resolver() const noexcept;
  [[nodiscard]] const MdnsSocketStats& stats() const noexcept;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace posthorn::runtime
