#include "dtls/openssl_util.hpp"

#include <openssl/err.h>

namespace posthorn::dtls::detail {

std::string take_openssl_errors() {
  std::string out;
  char buf[256];
  while (const unsigned long e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

} // namespace posthorn::dtls::detail
