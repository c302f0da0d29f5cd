#include "core/error.hpp"

namespace posthorn {
namespace {

class ConditionCategory final : public boost::system::error_category {
public:
  const char* name() const noexcept override { return "posthorn"; }
  std::string message(int ev) const override {
    switch (static_cast<Condition>(ev)) {
    case Condition::TimedOut: return "timed out";
    case Condition::Closed: return "closed";
    case Condition::Blocked: return "blocked by back-pressure";
    case Condition::ProtocolViolation: return "protocol violation";
    case Condition::AuthFailed: return "authentication failed";
    case Condition::InvalidArgument: return "invalid argument";
    case Condition::Unsupported: return "unsupported";
    }
    return "unknown posthorn condition";
  }
};

} // namespace

const boost::system::error_category& condition_category() noexcept {
  static const ConditionCategory category;
  return category;
}

} // namespace posthorn
