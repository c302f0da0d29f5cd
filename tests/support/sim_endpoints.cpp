#include "sim_endpoints.hpp"

#include <algorithm>

namespace posthorn::sim {

void RecordingEndpoint::send(SocketAddress from, SocketAddress to, Bytes payload) {
  outbox_.push_back({from, to, std::move(payload)});
}

void RecordingEndpoint::send_at(TimePoint at, SocketAddress from, SocketAddress to, Bytes payload) {
  scheduled_.emplace(std::pair{at, seq_++}, Datagram{from, to, std::move(payload)});
}

std::size_t RecordingEndpoint::count_from(const SocketAddress& from) const {
  return static_cast<std::size_t>(std::count_if(received_.begin(), received_.end(),
                                                [&](const auto& r) { return r.from == from; }));
}

void RecordingEndpoint::handle_datagram(TimePoint now, const SocketAddress& local,
                                        const SocketAddress& from, ByteView data) {
  received_.push_back({now, local, from, Bytes(data.begin(), data.end())});
  if (echo_) outbox_.push_back({local, from, Bytes(data.begin(), data.end())});
}

void RecordingEndpoint::handle_timeout(TimePoint now) {
  while (!scheduled_.empty() && scheduled_.begin()->first.first <= now) {
    outbox_.push_back(std::move(scheduled_.begin()->second));
    scheduled_.erase(scheduled_.begin());
  }
}

std::optional<Datagram> RecordingEndpoint::poll_transmit() {
  if (outbox_.empty()) return std::nullopt;
  Datagram d = std::move(outbox_.front());
  outbox_.pop_front();
  return d;
}

std::optional<TimePoint> RecordingEndpoint::poll_timeout() {
  if (scheduled_.empty()) return std::nullopt;
  return scheduled_.begin()->first.first;
}

} // namespace posthorn::sim
