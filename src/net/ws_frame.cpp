#include "net/ws_frame.hpp"

#include "core/crypto.hpp"
#include "core/utf8.hpp"

#include <cstring>

namespace posthorn::net::ws {

namespace {

constexpr std::uint8_t kFin = 0x80;
constexpr std::uint8_t kRsv = 0x70;
constexpr std::uint8_t kMaskBit = 0x80;
constexpr std::size_t kMaxControlPayload = 125; // §5.5
// An unfinished frame's buffer bigger than this is given back once it is empty again, so that a
// connection that once carried a large message does not hold its buffer while idle.
constexpr std::size_t kKeepCapacity = 4096;

void append_header(std::string& out, Opcode opcode, std::size_t length, bool fin, bool masked) {
  const auto first = static_cast<char>((fin ? kFin : 0) | static_cast<std::uint8_t>(opcode));
  const std::uint8_t mask_bit = masked ? kMaskBit : 0;
  if (length < 126) {
    const char header[2] = {first, static_cast<char>(mask_bit | length)};
    out.append(header, 2);
  } else if (length <= 0xFFFF) {
    const char header[4] = {first, static_cast<char>(mask_bit | 126),
                            static_cast<char>(length >> 8), static_cast<char>(length)};
    out.append(header, 4);
  } else {
    char header[10] = {first, static_cast<char>(mask_bit | 127)};
    for (int i = 0; i < 8; ++i)
      header[2 + i] = static_cast<char>(static_cast<std::uint64_t>(length) >> (56 - 8 * i));
    out.append(header, 10);
  }
}

bool is_known_opcode(std::uint8_t op) {
  return op <= 0x2 || (op >= 0x8 && op <= 0xA);
}

// §7.4.1 and the IANA registry: what a Close frame may carry. 1005, 1006 and 1015 are for
// reporting only and must not appear on the wire; 1004 is reserved; 3000–4999 are for libraries
// and applications.
bool is_sendable_close_code(std::uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

} // namespace

void append_frame(std::string& out, Opcode opcode, std::string_view payload, bool fin) {
  out.reserve(out.size() + payload.size() + 10);
  append_header(out, opcode, payload.size(), fin, false);
  out.append(payload);
}

void append_masked_frame(std::string& out, Opcode opcode, std::string_view payload,
                         std::uint32_t mask, bool fin) {
  out.reserve(out.size() + payload.size() + 14);
  append_header(out, opcode, payload.size(), fin, true);
  const char key[4] = {static_cast<char>(mask >> 24), static_cast<char>(mask >> 16),
                       static_cast<char>(mask >> 8), static_cast<char>(mask)};
  out.append(key, 4);
  const std::size_t start = out.size();
  out.append(payload);
  apply_mask(std::span<char>(out.data() + start, payload.size()), mask);
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
  std::string out = {static_cast<char>(code >> 8), static_cast<char>(code)};
  std::size_t fit = std::min(reason.size(), kMaxControlPayload - 2);
  // Back up to a character boundary: never cut inside a UTF-8 sequence (continuation bytes are
  // 10xxxxxx).
  if (fit < reason.size())
    while (fit > 0 && (static_cast<std::uint8_t>(reason[fit]) & 0xC0) == 0x80)
      --fit;
  out.append(reason.substr(0, fit));
  return out;
}

void apply_mask(std::span<char> data, std::uint32_t mask, std::size_t offset) noexcept {
  std::uint8_t key[4] = {static_cast<std::uint8_t>(mask >> 24),
                         static_cast<std::uint8_t>(mask >> 16),
                         static_cast<std::uint8_t>(mask >> 8), static_cast<std::uint8_t>(mask)};
  std::uint8_t phased[8];
  for (std::size_t j = 0; j < 8; ++j)
    phased[j] = key[(offset + j) % 4];
  std::uint64_t key64;
  std::memcpy(&key64, phased, 8);
  std::size_t i = 0;
  const std::size_t n = data.size();
  for (; n - i >= 8; i += 8) { // 8 is a multiple of 4: the key's phase stays where it was
    std::uint64_t word;
    std::memcpy(&word, data.data() + i, 8);
    word ^= key64;
    std::memcpy(data.data() + i, &word, 8);
  }
  for (; i < n; ++i)
    data[i] = static_cast<char>(static_cast<std::uint8_t>(data[i]) ^ phased[i % 8]);
}

std::string accept_key(std::string_view client_key) {
  static constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"; // §1.3
  std::string text(client_key);
  text += kGuid;
  const auto digest = crypto::sha1(as_bytes(text));
  return crypto::base64_encode(ByteView(digest.data(), digest.size()));
}

void MessageReader::feed(std::span<char> bytes) {
  if (carry_.empty()) {
    input_ = bytes;
  } else {
    carry_.append(bytes.data(), bytes.size());
    input_ = std::span<char>(carry_.data(), carry_.size());
  }
  pos_ = 0;
}

ReadFailure MessageReader::fail(std::uint16_t code, const char* why) {
  failed_ = ReadFailure{code, why};
  carry_.clear();
  message_.clear();
  input_ = {};
  pos_ = 0;
  return *failed_;
}

void MessageReader::keep_unread_tail() {
  const std::size_t unread = input_.size() - pos_;
  if (!carry_.empty() && input_.data() == carry_.data()) {
    carry_.erase(0, pos_);
  } else {
    carry_.assign(input_.data() + pos_, unread);
  }
  if (carry_.empty() && carry_.capacity() > kKeepCapacity) std::string().swap(carry_);
  input_ = {};
  pos_ = 0;
}

std::variant<NeedMore, Received, ReadFailure> MessageReader::next() {
  if (failed_) return *failed_;
  if (release_message_) {
    release_message_ = false;
    message_.clear();
    if (message_.capacity() > kKeepCapacity) std::string().swap(message_);
  }
  for (;;) {
    const std::span<char> rest = input_.subspan(pos_);
    if (rest.size() < 2) {
      keep_unread_tail();
      return NeedMore{};
    }
    const auto b0 = static_cast<std::uint8_t>(rest[0]);
    const auto b1 = static_cast<std::uint8_t>(rest[1]);
    const bool fin = (b0 & kFin) != 0;
    const std::uint8_t op = b0 & 0x0F;
    const bool masked = (b1 & kMaskBit) != 0;
    if (b0 & kRsv) return fail(close_code::kProtocolError, "RSV bits set without an extension");
    if (!is_known_opcode(op)) return fail(close_code::kProtocolError, "reserved opcode");
    if (masked != limits_.expect_masked)
      return fail(close_code::kProtocolError,
                  masked ? "a server's frame was masked" : "a client's frame was not masked");
    const auto opcode = static_cast<Opcode>(op);
    const bool control = op >= 0x8;

    // §5.2: payload length in 7 bits, or 16 or 64 more, each in the shortest form.
    std::size_t header = 2;
    std::uint64_t length = b1 & 0x7F;
    if (length == 126) {
      header = 4;
      if (rest.size() < header) {
        keep_unread_tail();
        return NeedMore{};
      }
      length = (std::uint64_t{static_cast<std::uint8_t>(rest[2])} << 8) |
               static_cast<std::uint8_t>(rest[3]);
      if (length < 126) return fail(close_code::kProtocolError, "length not in its shortest form");
    } else if (length == 127) {
      header = 10;
      if (rest.size() < header) {
        keep_unread_tail();
        return NeedMore{};
      }
      length = 0;
      for (int i = 0; i < 8; ++i)
        length = (length << 8) | static_cast<std::uint8_t>(rest[2 + i]);
      if (length >> 63)
        return fail(close_code::kProtocolError, "64-bit length with its top bit set");
      if (length <= 0xFFFF)
        return fail(close_code::kProtocolError, "length not in its shortest form");
    }
    if (control && (!fin || length > kMaxControlPayload))
      return fail(close_code::kProtocolError, "a control frame fragmented or over 125 bytes");
    if (!control) {
      if (opcode == Opcode::Continuation && !in_message_)
        return fail(close_code::kProtocolError, "a continuation frame with no message to continue");
      if (opcode != Opcode::Continuation && in_message_)
        return fail(close_code::kProtocolError, "a new message inside a fragmented one");
      // Refused from its header, before any of it is buffered.
      const std::uint64_t so_far = in_message_ ? message_.size() : 0;
      if (length > limits_.max_message_bytes - so_far)
        return fail(close_code::kMessageTooBig, "message over the size limit");
    }
    std::uint32_t mask = 0;
    if (masked) {
      if (rest.size() < header + 4) {
        keep_unread_tail();
        return NeedMore{};
      }
      for (int i = 0; i < 4; ++i)
        mask = (mask << 8) | static_cast<std::uint8_t>(rest[header + static_cast<std::size_t>(i)]);
      header += 4;
    }
    if (rest.size() - header < length) {
      keep_unread_tail();
      return NeedMore{};
    }
    const std::span<char> payload = rest.subspan(header, static_cast<std::size_t>(length));
    pos_ += header + payload.size();
    if (masked) apply_mask(payload, mask);
    const std::string_view text(payload.data(), payload.size());

    if (opcode == Opcode::Close) {
      if (text.size() == 1) return fail(close_code::kProtocolError, "a Close frame of one byte");
      if (text.empty()) return Received{opcode, {}, close_code::kNoStatus};
      const auto code = static_cast<std::uint16_t>((static_cast<std::uint8_t>(text[0]) << 8) |
                                                   static_cast<std::uint8_t>(text[1]));
      if (!is_sendable_close_code(code))
        return fail(close_code::kProtocolError, "a Close frame with an invalid status code");
      if (!is_valid_utf8(text.substr(2)))
        return fail(close_code::kInvalidPayload, "a Close reason that is not UTF-8");
      return Received{opcode, text.substr(2), code};
    }
    if (control) return Received{opcode, text};

    if (fin && !in_message_) { // the common case: a whole message in one frame, read in place
      if (opcode == Opcode::Text && !is_valid_utf8(text))
        return fail(close_code::kInvalidPayload, "a text message that is not UTF-8");
      return Received{opcode, text};
    }
    if (!in_message_) {
      in_message_ = true;
      message_opcode_ = opcode;
      message_.assign(text);
    } else {
      message_.append(text);
    }
    if (!fin) continue;
    in_message_ = false;
    if (message_opcode_ == Opcode::Text && !is_valid_utf8(message_))
      return fail(close_code::kInvalidPayload, "a text message that is not UTF-8");
    release_message_ = true;
    return Received{message_opcode_, message_};
  }
}

} // namespace posthorn::net::ws
