#include "strategy/strategy.hpp"

namespace posthorn::strategy {

std::string_view to_string(RelayState state) noexcept {
  switch (state) {
  case RelayState::Connecting: return "connecting";
  case RelayState::Open: return "open";
  case RelayState::Closed: return "closed";
  case RelayState::Failed: return "failed";
  }
  return "unknown";
}

} // namespace posthorn::strategy
