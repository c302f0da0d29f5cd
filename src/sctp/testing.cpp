// Test-only hooks (testing.hpp). Linked into the library so that tests need no special build.

#include "sctp/testing.hpp"

#include "sctp/association_internal.hpp"
#include "sctp/usrsctp_stack.hpp"

#include <usrsctp.h>

namespace posthorn::sctp {

using detail::UsrsctpStack;

result<void> AssociationTesting::send_raw(Association& a, StreamId stream, std::uint32_t ppid,
                                          ByteView data) {
  if (a.state_ != Association::State::Connected) return Errc::NotConnected;
  if (stream >= a.stream_limit_ || data.empty()) return Errc::InvalidOptions;
  Association::OutItem item;
  item.stream = stream;
  item.ppid = static_cast<Ppid>(ppid);
  item.data.assign(data.begin(), data.end());
  a.queue_.push_back(std::move(item));
  auto session = UsrsctpStack::instance().enter(a.port_);
  a.after_io();
  return {};
}

std::optional<AssociationTesting::Status> AssociationTesting::status(Association& a) {
  if (a.socket_ == nullptr) return std::nullopt;
  auto session = UsrsctpStack::instance().enter(a.port_);
  sctp_status s{};
  socklen_t length = sizeof s;
  if (usrsctp_getsockopt(a.socket_, IPPROTO_SCTP, SCTP_STATUS, &s, &length) != 0)
    return std::nullopt;
  Status out;
  out.state = s.sstat_state;
  out.peer_rwnd = s.sstat_rwnd;
  out.unacked_chunks = s.sstat_unackdata;
  out.pending_chunks = s.sstat_penddata;
  out.cwnd = s.sstat_primary.spinfo_cwnd;
  out.srtt_ms = s.sstat_primary.spinfo_srtt;
  out.rto_ms = s.sstat_primary.spinfo_rto;
  out.mtu = s.sstat_primary.spinfo_mtu;
  return out;
}

} // namespace posthorn::sctp
