#pragma once
// What a Responder handle refers to: one request from one peer, answered at most once.

#include <posthorn/room.hpp>

#include <atomic>

namespace posthorn::detail {
class RoomImpl;
}

namespace posthorn {

struct Responder::State {
  std::weak_ptr<detail::RoomImpl> room;
  PeerId peer;
  std::string request_id;
  boost::asio::any_io_executor executor;
  std::atomic<bool> answered{false};
  /// Post the answer to the loop (a handler may answer from any thread).
  void answer(std::optional<Payload> reply, std::string error);
  ~State();
};

} // namespace posthorn
