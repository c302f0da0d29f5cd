#pragma once
// Which local IP addresses to gather host candidates on.

#include "core/socket_address.hpp"

#include <vector>

namespace posthorn::runtime {

struct InterfaceFilter {
  bool include_loopback = false;
  bool include_ipv6 = true;
  bool include_link_local = false;
};

/// Addresses of interfaces that are up (getifaddrs). When nothing else is available, loopback
/// is returned even if not asked for, so that a machine without a network still connects to
/// itself.
std::vector<IpAddress> local_interface_addresses(const InterfaceFilter& filter = {});

} // namespace posthorn::runtime
