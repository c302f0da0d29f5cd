#pragma once
// What a PeerHandshake handle refers to: the application step of one room handshake with one
// peer (spec §10). Handles post to the room's loop; the loop-only fields are touched there only.

#include <posthorn/room.hpp>

#include <atomic>
#include <deque>
#include <utility>

namespace posthorn::detail {
class RoomImpl;
}

namespace posthorn {

struct PeerHandshake::State {
  std::weak_ptr<detail::RoomImpl> room;
  PeerId peer;
  bool initiator = false;
  /// Which handshake with `peer` this is: a later one (new connection) ignores old handles.
  std::uint64_t generation = 0;
  boost::asio::any_io_executor executor;
  std::atomic<bool> ended{false}; // admit() or reject() was called

  // Loop only.
  std::function<void(Payload, std::optional<std::string>)> on_receive;
  /// Messages that arrived before on_receive was set (bounded by the handshake's own limits:
  /// the remote can only send during its step, which times out).
  std::deque<std::pair<Payload, std::optional<std::string>>> early;

  /// Loop only, when the step is over: drops the receive handler. It usually holds a handle to
  /// this very state (to answer), a cycle that would otherwise keep both alive forever.
  void release() {
    on_receive = nullptr;
    early.clear();
  }
};

} // namespace posthorn
