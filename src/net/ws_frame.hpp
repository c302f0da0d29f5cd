#pragma once
// WebSocket framing (RFC 6455 §5), sans-IO: frames encoded into a byte string, and a reader that
// turns received bytes into messages and control frames. `posthorn relay` owns its connections'
// framing with it (relay/ws_server) so that every message waiting for a client goes out in one
// write: Beast writes one message per operation, and a relay that fans a tracker offer or a Nostr
// event out to many clients spent half its time in one sendmsg per message.
//
// No extension is ever negotiated, so the RSV bits must be clear (§5.2).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace posthorn::net::ws {

enum class Opcode : std::uint8_t {
  Continuation = 0x0,
  Text = 0x1,
  Binary = 0x2,
  Close = 0x8,
  Ping = 0x9,
  Pong = 0xA,
};

/// Status codes of the Close frame (§7.4.1).
namespace close_code {
inline constexpr std::uint16_t kNormal = 1000;
inline constexpr std::uint16_t kGoingAway = 1001;
inline constexpr std::uint16_t kProtocolError = 1002;
inline constexpr std::uint16_t kInvalidPayload = 1007; // e.g. a text message that is not UTF-8
inline constexpr std::uint16_t kPolicyViolation = 1008;
inline constexpr std::uint16_t kMessageTooBig = 1009;
inline constexpr std::uint16_t kNoStatus = 1005; // never sent: an empty Close frame reads as this
} // namespace close_code

/// Appends one unmasked frame (a server's, §5.1) with the shortest length encoding (§5.2).
void append_frame(std::string& out, Opcode opcode, std::string_view payload, bool fin = true);
/// Appends one masked frame (a client's, §5.3) with masking key `mask` (big-endian on the wire).
void append_masked_frame(std::string& out, Opcode opcode, std::string_view payload,
                         std::uint32_t mask, bool fin = true);
/// The payload of a Close frame: the status code, then the UTF-8 reason (§5.5.1), cut to fit the
/// 125 bytes of a control frame at a character boundary.
[[nodiscard]] std::string close_payload(std::uint16_t code, std::string_view reason = {});
/// XORs `data` with the masking key as if it started `offset` bytes into the payload (§5.3).
void apply_mask(std::span<char> data, std::uint32_t mask, std::size_t offset = 0) noexcept;

/// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key (§4.2.2, step 5.4).
[[nodiscard]] std::string accept_key(std::string_view client_key);

struct ReaderLimits {
  std::size_t max_message_bytes = 1u << 20; ///< a whole message, over all its fragments
  bool expect_masked = true; ///< a server reads masked frames, a client unmasked ones (§5.1)
};

/// A whole message, or a control frame. Views stay valid until the next call of next() or feed().
struct Received {
  Opcode opcode;               ///< Text, Binary, Close, Ping or Pong
  std::string_view payload;    ///< for Close: the reason
  std::uint16_t close_code{0}; ///< for Close: the status, kNoStatus when the frame had none
};
/// The connection must fail (§7.1.7) with this Close status.
struct ReadFailure {
  std::uint16_t close_code;
  const char* why;
};
/// Every whole frame of the bytes fed so far has been read.
struct NeedMore {};

/// Reads messages out of a byte stream: reassembles fragments (§5.4), lets control frames through
/// in between, unmasks, checks text for UTF-8 (§8.1) and enforces the limits and every MUST of §5
/// a receiver can check. After a ReadFailure it only returns that failure.
///
///   reader.feed(bytes);  // bytes: what one read returned, unmasked in place
///   for (;;) { auto r = reader.next(); if NeedMore: break; … }
///
/// The bytes passed to feed() are read in place where whole frames allow, and only an unfinished
/// frame at their end is copied (so an idle connection holds no buffer).
class MessageReader {
public:
  explicit MessageReader(ReaderLimits limits = {}) : limits_(limits) {}

  /// Hands over newly received bytes; they must stay valid and unchanged until next() returns
  /// NeedMore. Call it only after next() returned NeedMore (or before the first next()).
  void feed(std::span<char> bytes);
  [[nodiscard]] std::variant<NeedMore, Received, ReadFailure> next();

  /// Bytes held between reads: an unfinished frame, and the fragments of an unfinished message.
  [[nodiscard]] std::size_t buffered_bytes() const noexcept {
    return carry_.size() + message_.size();
  }

private:
  ReadFailure fail(std::uint16_t code, const char* why);
  void keep_unread_tail();

  ReaderLimits limits_;
  std::string carry_;            // an unfinished frame carried over from earlier reads
  std::span<char> input_;        // what next() reads: the fed bytes, or carry_
  std::size_t pos_ = 0;          // how much of input_ has been read
  std::string message_;          // the fragments so far of a fragmented message
  Opcode message_opcode_{};      // Text or Binary, while a fragmented message is open
  bool in_message_ = false;      // a fragmented message is open
  bool release_message_ = false; // message_ was handed out whole: clear it on the next call
  std::optional<ReadFailure> failed_;
};

} // namespace posthorn::net::ws
