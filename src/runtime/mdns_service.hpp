#pragma once
// The mDNS resolver every connection of an executor shares (Runtime, `posthorn dc`): opens the
// multicast sockets (MdnsSocket) the first time a browser's ".local" candidate needs resolving,
// not before, since most connections never see one and port 5353 is a shared, visible resource.
//
// A machine without any multicast-capable interface is not an error at construction: each
// resolve() then fails with ice::mdns::Errc::NoMulticast and the connection goes on with the
// peer's other candidates (and its checks, which make it peer-reflexive).
//
// Threading: construct, call and destroy on the executor's thread. Handlers always run later
// from the executor (never inside resolve()), and are dropped with the service.

#include "core/socket_address.hpp"
#include "runtime/mdns_socket.hpp"
#include <posthorn/error.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <memory>
#include <string>

namespace posthorn::runtime {

class MdnsService {
public:
  using ResolveHandler = std::function<void(const result<IpAddress>&)>;

  explicit MdnsService(boost::asio::any_io_executor executor, MdnsSocketOptions options = {});
  ~MdnsService();
  MdnsService(const MdnsService&) = delete;
  MdnsService& operator=(const MdnsService&) = delete;

  /// Resolves `name` ("<uuid>.local"); `handler` gets the address or an error (TimedOut,
  /// NoMulticast, NotLocal, TooManyQueries).
  void resolve(const std::string& name, ResolveHandler handler);

  /// The socket, once opened (tests and diagnostics).
  [[nodiscard]] const MdnsSocket* socket() const noexcept;

private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

} // namespace posthorn::runtime
