#include "ice/mdns_errc.hpp"

namespace posthorn::ice::mdns {

const char* describe(Errc e) noexcept {
  switch (e) {
  case Errc::Truncated: return "truncated DNS message";
  case Errc::BadLabel: return "unsupported DNS label type";
  case Errc::NameTooLong: return "DNS name longer than 255 octets";
  case Errc::BadPointer: return "DNS compression pointer does not point backwards";
  case Errc::InvalidName: return "invalid DNS name";
  case Errc::NotLocal: return "not an mDNS name (must end in .local)";
  case Errc::TooManyQueries: return "too many outstanding mDNS queries";
  case Errc::TimedOut: return "mDNS query timed out";
  case Errc::NoMulticast: return "no interface can send mDNS (multicast) queries";
  }
  return "unknown mDNS error";
}

Condition classify(Errc e) noexcept {
  switch (e) {
  case Errc::Truncated:
  case Errc::BadLabel:
  case Errc::NameTooLong:
  case Errc::BadPointer: return Condition::ProtocolViolation;
  case Errc::InvalidName:
  case Errc::NotLocal: return Condition::InvalidArgument;
  // The caller retries after an outstanding query completes, as with any back-pressure.
  case Errc::TooManyQueries: return Condition::Blocked;
  case Errc::TimedOut: return Condition::TimedOut;
  case Errc::NoMulticast: return Condition::Unsupported; // this machine cannot do it
  }
  return Condition::ProtocolViolation;
}

} // namespace posthorn::ice::mdns
