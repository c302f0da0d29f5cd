#include "sctp/stack_init.hpp"

#include "sctp/usrsctp_stack.hpp"

namespace posthorn::sctp {

void initialize_stack() {
  detail::UsrsctpStack::instance();
}

} // namespace posthorn::sctp
