#include "room/errc.hpp"

namespace posthorn::room {

const char* describe(Errc e) noexcept {
  switch (e) {
  case Errc::FrameTooShort: return "data-channel message shorter than a room frame header";
  case Errc::UnknownFrameType: return "data-channel message is neither a room nor a presence frame";
  case Errc::EmptyToken: return "room frame with an empty room token";
  case Errc::TruncatedFrame: return "room frame token runs past the end of the message";
  case Errc::TruncatedChunk: return "action chunk shorter than its 36-byte header";
  case Errc::ActionNameEmpty: return "action name is empty";
  case Errc::ActionNameTooLong: return "action name is longer than 32 UTF-8 bytes";
  case Errc::ActionNameReserved:
    return "action name starts with \"@_\", which Trystero reserves for internal actions";
  case Errc::ActionNameInvalidUtf8: return "action name is not valid UTF-8";
  case Errc::ActionNameHasNul: return "action name contains a NUL character";
  }
  return "unknown room error";
}

Condition classify(Errc e) noexcept {
  switch (e) {
  case Errc::FrameTooShort:
  case Errc::UnknownFrameType:
  case Errc::EmptyToken:
  case Errc::TruncatedFrame:
  case Errc::TruncatedChunk: return Condition::ProtocolViolation;
  case Errc::ActionNameEmpty:
  case Errc::ActionNameTooLong:
  case Errc::ActionNameReserved:
  case Errc::ActionNameInvalidUtf8:
  case Errc::ActionNameHasNul: return Condition::InvalidArgument;
  }
  return Condition::ProtocolViolation;
}

} // namespace posthorn::room
