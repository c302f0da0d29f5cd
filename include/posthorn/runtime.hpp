#pragma once
// The runtime owns the event loop every room runs on: an asio io_context, the UDP sockets that
// all peer connections share, the DTLS certificate and this process's peer id.
//
// Threading: by default the runtime runs its io_context on one thread of its own; every room
// callback runs there. With `own_thread = false` the application calls run() (or drives
// get_executor()'s context) itself. Public methods of rooms and actions may be called from any
// thread: they hand their work to the runtime's executor.

#include <posthorn/payload.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <string>
#include <vector>

namespace posthorn {

namespace detail {
class RuntimeImpl;
}

/// A TURN server (RFC 8656) with long-term credentials, as in W3C RTCIceServer.
struct TurnServer {
  /// "turn:host[:port][?transport=udp|tcp]" (RFC 7065; port 3478, UDP by default). TURN over
  /// TCP serves networks that block UDP.
  std::string url;
  std::string username;
  std::string credential;
};

struct RuntimeOptions {
  /// Local IP addresses to bind the shared UDP sockets to. Empty: every address of every up
  /// interface (loopback too), like a browser.
  std::vector<std::string> bind_addresses;
  /// STUN servers as "host:port" (numeric IPv4/IPv6). Empty: none (host candidates only).
  std::vector<std::string> stun_servers;
  /// TURN servers for relayed candidates, used by every peer connection. A server that refuses
  /// the credentials or cannot be reached costs only its candidates (logged), as in browsers.
  std::vector<TurnServer> turn_servers;
  /// Relayed candidates only (W3C iceTransportPolicy "relay"): peers never learn this host's
  /// addresses. Needs at least one TURN server.
  bool relay_only = false;
  /// Run the loop on a thread owned by the runtime. If false, call run().
  bool own_thread = true;
};

class Runtime {
public:
  Runtime();
  explicit Runtime(RuntimeOptions options);
  /// Leaves every room still joined (without waiting for the goodbye to be delivered) and stops
  /// the loop. Handles that outlive the runtime become inert.
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  [[nodiscard]] boost::asio::any_io_executor get_executor() const;
  /// Runs the loop until stop() (only with own_thread = false).
  void run();
  void stop();
  /// This process's peer id in every room joined through this runtime (spec §1).
  [[nodiscard]] const PeerId& self_id() const;

  [[nodiscard]] const std::shared_ptr<detail::RuntimeImpl>& impl() const noexcept { return impl_; }

private:
  std::shared_ptr<detail::RuntimeImpl> impl_;
};

} // namespace posthorn
