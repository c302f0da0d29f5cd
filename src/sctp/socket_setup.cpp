#include "sctp/socket_setup.hpp"

#include "core/log.hpp"
#include "sctp/tuning.hpp"

#include <usrsctp.h>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>

namespace posthorn::sctp::detail {
namespace {

template <class T>
bool set(struct socket* so, int level, int name, const T& value, const char* what) {
  if (usrsctp_setsockopt(so, level, name, &value, sizeof value) == 0) return true;
  POSTHORN_LOG(Warn, "sctp", "usrsctp_setsockopt(", what, ") failed: ", std::strerror(errno));
  return false;
}

sockaddr_conn make_address(PortId port, std::uint16_t sctp_port) {
  sockaddr_conn a{};
  a.sconn_family = AF_CONN;
  a.sconn_port = htons(sctp_port);
  a.sconn_addr = reinterpret_cast<void*>(port);
  return a;
}

bool configure(struct socket* so) {
  using namespace tuning;
  // Closing the socket must not linger: the DTLS transport under us is usually gone by then.
  // usrsctp_close() then sends ABORT at once (abort() relies on this).
  linger no_linger{};
  no_linger.l_onoff = 1;
  no_linger.l_linger = 0;
  if (!set(so, SOL_SOCKET, SO_LINGER, no_linger, "SO_LINGER")) return false;

  if (!set(so, SOL_SOCKET, SO_SNDBUF, kSendBufferSize, "SO_SNDBUF")) return false;
  if (!set(so, SOL_SOCKET, SO_RCVBUF, kReceiveBufferSize, "SO_RCVBUF")) return false;

  // RFC 8831 §6.7: channels close by resetting streams (RFC 6525).
  sctp_assoc_value reset{};
  reset.assoc_id = SCTP_ALL_ASSOC;
  reset.assoc_value = SCTP_ENABLE_RESET_STREAM_REQ;
  if (!set(so, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, reset, "SCTP_ENABLE_STREAM_RESET"))
    return false;

  // Stream id and PPID of every received message.
  const int on = 1;
  if (!set(so, IPPROTO_SCTP, SCTP_RECVRCVINFO, on, "SCTP_RECVRCVINFO")) return false;
  // RFC 8831 §6.6: the sender SHOULD disable Nagle.
  if (!set(so, IPPROTO_SCTP, SCTP_NODELAY, on, "SCTP_NODELAY")) return false;
  // Explicit EOR: one message may be handed over in several sendv calls, so a message larger
  // than the free send buffer (or than the whole buffer, if the peer allows huge messages) is
  // streamed in as space frees up instead of failing with EMSGSIZE.
  if (!set(so, IPPROTO_SCTP, SCTP_EXPLICIT_EOR, on, "SCTP_EXPLICIT_EOR")) return false;
  // Level 0: pieces of a partially delivered message are never interleaved with other messages
  // or notifications (RFC 6458 §8.1.20), so one reassembly buffer suffices.
  const int interleave = 0;
  if (!set(so, IPPROTO_SCTP, SCTP_FRAGMENT_INTERLEAVE, interleave, "SCTP_FRAGMENT_INTERLEAVE"))
    return false;

  for (std::uint16_t type : {SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT,
                             SCTP_PARTIAL_DELIVERY_EVENT, SCTP_SHUTDOWN_EVENT}) {
    sctp_event ev{};
    ev.se_assoc_id = SCTP_ALL_ASSOC;
    ev.se_type = type;
    ev.se_on = 1;
    if (!set(so, IPPROTO_SCTP, SCTP_EVENT, ev, "SCTP_EVENT")) return false;
  }

  // Fixed path MTU, no probing (tuning::kPathMtu); heartbeats on (usrsctp's 30 s default).
  sctp_paddrparams pmtu{};
  pmtu.spp_assoc_id = SCTP_FUTURE_ASSOC;
  pmtu.spp_flags = SPP_PMTUD_DISABLE | SPP_HB_ENABLE;
  pmtu.spp_pathmtu = kPathMtu;
  if (!set(so, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, pmtu, "SCTP_PEER_ADDR_PARAMS")) return false;

  sctp_initmsg init{};
  init.sinit_num_ostreams = kMaxStreams;
  init.sinit_max_instreams = kMaxStreams;
  if (!set(so, IPPROTO_SCTP, SCTP_INITMSG, init, "SCTP_INITMSG")) return false;
  return true;
}

} // namespace

struct socket* make_socket(PortId port) {
  struct socket* so =
      usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, nullptr, nullptr, 0, nullptr);
  if (so == nullptr) {
    POSTHORN_LOG(Warn, "sctp", "usrsctp_socket failed: ", std::strerror(errno));
    return nullptr;
  }
  if (usrsctp_set_non_blocking(so, 1) != 0 ||
      usrsctp_set_upcall(so, &UsrsctpStack::on_upcall, reinterpret_cast<void*>(port)) != 0 ||
      !configure(so)) {
    POSTHORN_LOG(Warn, "sctp", "configuring the usrsctp socket failed");
    usrsctp_close(so);
    return nullptr;
  }
  return so;
}

bool bind_and_connect(struct socket* so, PortId port, std::uint16_t local_port,
                      std::uint16_t remote_port) {
  sockaddr_conn local = make_address(port, local_port);
  if (usrsctp_bind(so, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
    POSTHORN_LOG(Warn, "sctp", "usrsctp_bind failed: ", std::strerror(errno));
    return false;
  }
  sockaddr_conn remote = make_address(port, remote_port);
  if (usrsctp_connect(so, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0 &&
      errno != EINPROGRESS) {
    POSTHORN_LOG(Warn, "sctp", "usrsctp_connect failed: ", std::strerror(errno));
    return false;
  }
  return true;
}

} // namespace posthorn::sctp::detail
