#pragma once
// One action message on its way out: its chunk plan (spec §8), where its payload bytes come from
// (memory or a file, read chunk by chunk), and who wants to hear about its progress. Shared by
// every target peer; each peer link keeps its own cursor into it.

#include "core/bytes.hpp"
#include "room/chunk.hpp"

#include <posthorn/error.hpp>
#include <posthorn/payload.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace posthorn::detail {

/// Random access to a payload's bytes.
class ByteSource {
public:
  virtual ~ByteSource() = default;
  [[nodiscard]] virtual std::uint64_t size() const = 0;
  /// Bytes [offset, offset+length): a view valid until the next read. Error if unreadable.
  [[nodiscard]] virtual result<ByteView> read(std::uint64_t offset, std::size_t length) = 0;
};

std::shared_ptr<ByteSource> make_memory_source(Bytes bytes);
/// Opens the file now (so a missing file fails the send at once); reads lazily.
result<std::shared_ptr<ByteSource>> make_file_source(const std::string& path);

struct OutgoingMessage {
  OutgoingMessage(std::string room_token, room::MessagePlan message_plan,
                  std::shared_ptr<ByteSource> payload_source,
                  std::optional<std::string> metadata_json)
      : token(std::move(room_token)), plan(std::move(message_plan)),
        source(std::move(payload_source)), metadata(std::move(metadata_json)) {}

  std::string token;
  room::MessagePlan plan;
  std::shared_ptr<ByteSource> source;
  std::optional<std::string> metadata;
  /// Internal actions (handshake, ping, leave) jump ahead of bulk data on a link.
  bool urgent = false;
  /// After chunk `index` was handed to the data channel for `peer`.
  std::function<void(const PeerId& peer, std::size_t index)> on_chunk_sent;
  /// Once per target: every chunk went out, or why not.
  std::function<void(const PeerId& peer, error_code ec)> on_done;

  /// Appends room frame + chunk `index` to `out`.
  [[nodiscard]] result<void> write_framed_chunk(Bytes& out, std::size_t index);
};

} // namespace posthorn::detail
