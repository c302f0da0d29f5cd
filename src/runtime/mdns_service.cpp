#include "runtime/mdns_service.hpp"

#include "core/log.hpp"
#include "ice/mdns_errc.hpp"

#include <boost/asio/post.hpp>

#include <optional>
#include <stdexcept>

namespace posthorn::runtime {

struct MdnsService::Impl {
  boost::asio::any_io_executor executor;
  MdnsSocketOptions options;
  std::unique_ptr<MdnsSocket> socket;
  bool unavailable = false; // opening failed once: the machine's interfaces will not change soon

  MdnsSocket* open() {
    if (socket || unavailable) return socket.get();
    try {
      socket = std::make_unique<MdnsSocket>(executor, options);
    } catch (const std::exception& e) {
      unavailable = true;
      POSTHORN_LOG(Warn, "mdns",
                   "mDNS is unavailable, .local candidates will not resolve: ", e.what());
    }
    return socket.get();
  }
};

MdnsService::MdnsService(boost::asio::any_io_executor executor, MdnsSocketOptions options)
    : impl_(std::make_shared<Impl>(Impl{executor, std::move(options), nullptr})) {}

MdnsService::~MdnsService() = default;

void MdnsService::resolve(const std::string& name, ResolveHandler handler) {
  auto fail_later = [this, &handler](error_code ec) {
    std::weak_ptr<Impl> alive = impl_;
    boost::asio::post(impl_->executor, [alive, ec, h = std::move(handler)] {
      if (!alive.expired()) h(result<IpAddress>(ec));
    });
  };
  auto* socket = impl_->open();
  if (!socket) return fail_later(ice::mdns::Errc::NoMulticast);
  // MdnsSocket drops outstanding handlers when it is destroyed with us. It keeps its copy of the
  // handler only when it accepts the query; ours reports an immediate refusal.
  if (auto id = socket->resolve(name, handler); !id) fail_later(id.error());
}

const MdnsSocket* MdnsService::socket() const noexcept {
  return impl_->socket.get();
}

} // namespace posthorn::runtime
