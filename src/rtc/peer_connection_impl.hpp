#pragma once
// Private state of rtc::PeerConnection, shared by peer_connection.cpp (JSEP signaling),
// peer_connection_transport.cpp (datagrams, ICE/DTLS/SCTP pumping) and local_description.cpp.

#include "dtls/endpoint.hpp"
#include "rtc/peer_connection.hpp"
#include "rtc/sdp.hpp"

#include <deque>
#include <map>

namespace posthorn::rtc {

struct ChannelEntry {
  ChannelInfo info;
  sctp::ChannelOptions options;
  bool open = false;
  bool closed = false;
  bool requested = false; // handed to the SCTP association (or opened by the peer)
  std::size_t low_threshold = 0;
};

struct PeerConnection::Impl {
  Impl(Configuration c, Rng& r);

  Configuration config;
  Rng& rng;
  ice::Agent agent;
  std::optional<dtls::Endpoint> dtls;
  std::optional<sctp::Association> sctp;

  // --- signaling ---
  SignalingState signaling = SignalingState::Stable;
  std::optional<SessionDescription> current_local, current_remote; // last applied in stable
  std::optional<SessionDescription> pending_local, pending_remote; // during an offer/answer
  std::optional<DescriptionType> current_local_type;
  std::uint64_t session_id;
  std::uint64_t session_version = 0;
  std::string data_mid = "0"; // our application m= section's mid
  bool gathering_started = false;
  bool gathering_complete = false;
  std::vector<ice::Candidate> local_candidates;
  std::vector<ice::Candidate> early_candidates; // trickled before the remote description
  bool ice_restart_pending = false;

  // --- remote mDNS host candidates (peer_connection_mdns.cpp) ---
  struct PendingName {
    std::string name;                       // lower-case "<uuid>.local"
    std::vector<ice::Candidate> candidates; // waiting for its address
  };
  std::vector<PendingName> mdns_pending;          // bounded: kMaxPendingMdnsNames
  std::deque<std::string> mdns_queries;           // for poll_mdns_query()
  std::map<std::string, IpAddress> mdns_resolved; // bounded: kMaxPendingMdnsNames
  bool remote_end_of_candidates_deferred = false; // until the pending names are answered

  // --- transport ---
  std::optional<dtls::Role> dtls_role;
  std::optional<dtls::Fingerprint> remote_fingerprint;
  std::uint16_t remote_sctp_port = 5000;
  std::size_t remote_max_message_size = 65536;
  bool dtls_started = false;
  bool dtls_connected = false;
  bool dtls_failed = false;
  bool remote_closed = false;
  bool closed = false;
  std::deque<Bytes> early_dtls;  // received before the DTLS endpoint existed
  std::deque<Bytes> unsent_dtls; // produced before a pair was selected

  // --- channels ---
  ChannelId next_channel = 1;
  std::map<ChannelId, ChannelEntry> channels;
  std::map<sctp::StreamId, ChannelId> by_stream;

  // --- outputs ---
  std::deque<ice::Transmit> transmits;
  std::deque<Event> events;
  ConnectionState connection = ConnectionState::New;
  PeerConnectionStats stats;
  /// Set by send(): the layers have work the next poll_* call pumps through (so that a burst of
  /// small sends leaves as one bundled SCTP packet).
  std::optional<TimePoint> pending_pump;

  // peer_connection_mdns.cpp
  /// Hands a remote candidate to the agent, or parks it until its mDNS name is resolved.
  void add_remote(TimePoint now, const ice::Candidate& c);
  /// The peer's end-of-candidates (RFC 8838 §4.4), held back while names are being resolved so
  /// that ICE does not give up before the candidates behind them are checked.
  void remote_gathering_done(TimePoint now);

  // peer_connection.cpp
  void set_signaling(SignalingState s);
  result<void> apply_local(TimePoint now, DescriptionType type, SessionDescription sdp);
  result<void> apply_remote(TimePoint now, DescriptionType type, SessionDescription sdp);
  void rollback();
  void on_negotiation_complete(TimePoint now);

  // local_description.cpp
  SessionDescription build_offer() const;
  result<SessionDescription> build_answer() const;
  void add_transport_attributes(MediaSection& m, SetupRole setup) const;
  SessionDescription with_candidates(SessionDescription sdp) const;

  // peer_connection_transport.cpp
  void pump(TimePoint now);
  void pump_if_pending();
  void start_dtls(TimePoint now);
  void start_sctp(TimePoint now);
  void on_ice_event(TimePoint now, ice::Event e);
  void on_dtls_event(TimePoint now, dtls::Event e);
  void on_sctp_event(TimePoint now, sctp::Event e);
  void on_datagram(TimePoint now, const SocketAddress& local, const SocketAddress& remote,
                   ByteView data);
  void drain_relayed(TimePoint now);
  void send_dtls_datagram(TimePoint now, Bytes datagram);
  void flush_unsent_dtls(TimePoint now);
  void open_pending_channels();
  void update_connection_state();
  ChannelEntry* find_channel(ChannelId id);
  const ChannelEntry* find_channel(ChannelId id) const;
};

} // namespace posthorn::rtc
