#pragma once
// Errors are values: boost::system::error_code and result<T>.
//
// Every layer has its own `enum class Errc` and category (ice::Errc, dtls::Errc, ...). Callers
// that do not care which layer failed compare against the public conditions below, the way
// Beast's websocket errors compare against beast::condition:
//
//   if (ec == posthorn::Condition::TimedOut) retry();

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace posthorn {

using error_code = boost::system::error_code;
template <class T> using result = boost::system::result<T, error_code>;

/// Layer-independent classes of failure.
enum class Condition {
  TimedOut = 1,      // a deadline passed (handshake, consent, request)
  Closed,            // the peer or the app closed it
  Blocked,           // back-pressure: try again after the buffered-amount-low event
  ProtocolViolation, // the remote sent something the protocol forbids
  AuthFailed,        // credentials, fingerprint or integrity check failed
  InvalidArgument,   // the caller passed something unusable
  Unsupported,       // a valid request we do not implement
};

const boost::system::error_category& condition_category() noexcept;

inline boost::system::error_condition make_error_condition(Condition c) noexcept {
  return {static_cast<int>(c), condition_category()};
}

} // namespace posthorn

template <> struct boost::system::is_error_condition_enum<posthorn::Condition> : std::true_type {};
