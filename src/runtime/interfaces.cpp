#include "runtime/interfaces.hpp"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace posthorn::runtime {

std::vector<IpAddress> local_interface_addresses(const InterfaceFilter& filter) {
  std::vector<IpAddress> out;
  std::vector<IpAddress> loopback;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return {IpAddress::v4(0x7f000001)};
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || !(i->ifa_flags & IFF_UP)) continue;
    std::optional<IpAddress> ip;
    if (i->ifa_addr->sa_family == AF_INET) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      std::array<std::uint8_t, 4> b;
      std::memcpy(b.data(), &sin->sin_addr, 4);
      ip = IpAddress::v4(b);
    } else if (i->ifa_addr->sa_family == AF_INET6 && filter.include_ipv6) {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      std::array<std::uint8_t, 16> b;
      std::memcpy(b.data(), &sin6->sin6_addr, 16);
      ip = IpAddress::v6(b);
    }
    if (!ip || ip->is_unspecified()) continue;
    if (ip->is_link_local() && !filter.include_link_local) continue;
    if (ip->is_loopback()) {
      loopback.push_back(*ip);
      if (!filter.include_loopback) continue;
    }
    if (std::find(out.begin(), out.end(), *ip) == out.end()) out.push_back(*ip);
  }
  freeifaddrs(list);
  if (out.empty() && !loopback.empty()) out.push_back(loopback.front());
  if (out.empty()) out.push_back(IpAddress::v4(0x7f000001));
  return out;
}

} // namespace posthorn::runtime
