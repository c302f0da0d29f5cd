#pragma once
// Errors of the room layer (pattern: src/core/error.hpp). Remote input that breaks the data-channel
// framing of spec/trystero-wire.md §7.1 or the chunk layout of §8.1 is a ProtocolViolation; a bad
// action name passed by the application is an InvalidArgument.
//
//   auto frame = room::decode_frame(bytes);
//   if (!frame && frame.error() == posthorn::Condition::ProtocolViolation) count_and_drop();

#include "core/error.hpp"

namespace posthorn::room {

enum class Errc {
  // Data-channel frames (§7.1), remote input: JS silently drops each of these.
  FrameTooShort = 1, // fewer than 3 bytes
  UnknownFrameType,  // first byte neither 1 (room frame) nor 2 (presence frame)
  EmptyToken,        // tokenLen is 0
  TruncatedFrame,    // the token runs past the end of the message
  // Action chunks (§8.1), remote input.
  TruncatedChunk, // shorter than the 36-byte chunk header
  // Action names (§8.1, §9), caller misuse.
  ActionNameEmpty,       // ""
  ActionNameTooLong,     // more than 32 UTF-8 bytes
  ActionNameReserved,    // starts with "@_", the prefix of Trystero's internal actions
  ActionNameInvalidUtf8, // not UTF-8: the receiver would decode it to different text
  ActionNameHasNul,      // contains U+0000: the receiver strips NULs from the type field
};

const char* describe(Errc e) noexcept;
Condition classify(Errc e) noexcept;
inline error_code make_error_code(Errc e) noexcept {
  return posthorn::detail::make_layer_error(e, "posthorn.room");
}

} // namespace posthorn::room

template <> struct boost::system::is_error_code_enum<posthorn::room::Errc> : std::true_type {};
