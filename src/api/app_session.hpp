#pragma once
// Connection sharing for one app id (spec §7.2, §7.4): Trystero keeps one peer connection per
// (app, remote peer) and multiplexes every room of the app over it by room token. This class owns
// those live links, routes their frames to the rooms by token, exchanges presence frames, and
// tells every room when a peer's connection is gone.
//
// Loop thread only.

#include "api/peer_link.hpp"

#include <boost/asio/steady_timer.hpp>

#include <map>
#include <memory>
#include <set>
#include <string>

namespace posthorn::detail {

class RoomImpl;
class RuntimeImpl;

class AppSession : public std::enable_shared_from_this<AppSession> {
public:
  AppSession(std::weak_ptr<RuntimeImpl> runtime, std::string app_id);
  ~AppSession();

  /// A room of this app joined / left (by token). Joining announces presence on every live
  /// link; the room attaches a peer when that peer's presence (or a frame) names the room.
  void add_room(const std::string& token, const std::shared_ptr<RoomImpl>& room);
  void remove_room(const std::string& token);

  /// A link negotiated by `room`'s signaling just opened: it becomes the app's connection to that
  /// peer (a duplicate is closed), presence goes out for every room, `room` attaches at once.
  void adopt_link(const std::shared_ptr<PeerLink>& link, const std::string& room_token);

  [[nodiscard]] bool is_connected(const PeerId& peer) const;
  [[nodiscard]] std::shared_ptr<PeerLink> link(const PeerId& peer) const;
  /// A room of this app stopped using a peer's link (left, or its handshake failed).
  void detach(const PeerId& peer, const std::string& token);
  /// Close the link to a peer (its signaling says it restarted) and tell every room.
  void drop_link(const PeerId& peer);
  /// Attach an already-connected peer to a room (AttachShared from its coordinator).
  void attach_shared(const PeerId& peer, const std::string& token);

private:
  struct LinkEntry {
    std::shared_ptr<PeerLink> link;
    std::set<std::string> attached;                        // room tokens using the link
    std::vector<std::pair<std::string, Bytes>> unattached; // frames waiting for their room
    std::unique_ptr<boost::asio::steady_timer> linger;
  };

  void on_room_frame(const PeerId& peer, std::string_view token, ByteView chunk);
  void on_presence(const PeerId& peer, std::string_view token, bool present);
  void on_link_closed(const PeerId& peer);
  void attach(const PeerId& peer, LinkEntry& entry, const std::string& token);
  void schedule_linger(const PeerId& peer, LinkEntry& entry);

  std::weak_ptr<RuntimeImpl> runtime_;
  std::string app_id_;
  std::map<std::string, std::weak_ptr<RoomImpl>> rooms_; // by token
  std::map<PeerId, LinkEntry> links_;
};

} // namespace posthorn::detail
