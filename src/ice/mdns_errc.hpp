#pragma once
// Error codes of the mDNS resolver (src/ice/mdns_*): the DNS message codec and the resolver core.
// Each maps to a public posthorn::Condition, so a caller that only wants to know "did the name
// resolve in time" compares against Condition::TimedOut.

#include "core/error.hpp"

namespace posthorn::ice::mdns {

enum class Errc {
  Truncated = 1,  // the message ends inside a header, question or record (RFC 1035 §4.1)
  BadLabel,       // a label type other than 0 or a compression pointer (RFC 1035 §4.1.4, RFC 6891)
  NameTooLong,    // a name longer than 255 octets on the wire (RFC 1035 §3.1)
  BadPointer,     // a compression pointer that does not point strictly backwards (a loop)
  InvalidName,    // the caller's name is not a valid domain name (empty label, label > 63)
  NotLocal,       // the caller's name is not under "local." (RFC 6762 §3), so not mDNS
  TooManyQueries, // the resolver's bound on outstanding queries is reached
  TimedOut,       // no answer before the query's deadline
  NoMulticast,    // no mDNS socket could be opened on any interface (runtime::MdnsService)
};

const char* describe(Errc e) noexcept;
posthorn::Condition classify(Errc e) noexcept;

inline error_code make_error_code(Errc e) noexcept {
  return detail::make_layer_error(e, "posthorn.mdns");
}

} // namespace posthorn::ice::mdns

template <> struct boost::system::is_error_code_enum<posthorn::ice::mdns::Errc> : std::true_type {};
