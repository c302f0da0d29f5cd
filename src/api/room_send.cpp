// RoomImpl: the send path (§8.3–§8.4, §8.7), ping (§9) and request/response (§11).
#include "api/app_session.hpp"
#include "api/responder_state.hpp"
#include "api/room_impl.hpp"
#include "api/runtime_impl.hpp"
#include "api/tuning.hpp"
#include "core/log.hpp"
#include "room/envelope.hpp"
#include "signal/trystero_ids.hpp"

namespace posthorn::detail {
namespace {

std::shared_ptr<ByteSource> source_of(Payload payload) {
  return make_memory_source(std::move(payload).release());
}

} // namespace

std::uint16_t RoomImpl::next_nonce(const std::string& type) {
  return nonces_[type].next();
}

std::vector<std::shared_ptr<PeerLink>> RoomImpl::targets(const std::vector<PeerId>& wanted,
                                                         bool include_pending, PeerId* missing) {
  std::vector<std::shared_ptr<PeerLink>> out;
  auto usable = [&](const PeerState& s) { return s.link && (s.active || include_pending); };
  if (wanted.empty()) {
    for (auto& [peer, state] : peers_)
      if (usable(state)) out.push_back(state.link);
    return out;
  }
  for (const auto& peer : wanted) {
    auto it = peers_.find(peer);
    if (it == peers_.end() || !usable(it->second)) {
      if (missing) *missing = peer;
      return {};
    }
    out.push_back(it->second.link);
  }
  return out;
}

void RoomImpl::send_message(const std::string& type, PayloadKind kind,
                            std::shared_ptr<ByteSource> source, std::optional<std::string> metadata,
                            const std::vector<PeerId>& target_ids, bool include_pending,
                            bool urgent, std::function<void(const ProgressInfo&)> on_progress,
                            std::function<void(error_code)> done) {
  // §8.4: the nonce advances on every send, even one with no recipients.
  const std::uint16_t nonce = next_nonce(type);
  if (left_) {
    if (done) done(make_error_code(boost::system::errc::not_connected));
    return;
  }
  PeerId missing;
  auto links = targets(target_ids, include_pending, &missing);
  if (!missing.empty()) {
    POSTHORN_LOG(Debug, "room", "send '{}': target {} is not in the room", type, redact(missing));
    if (done) done(make_error_code(boost::system::errc::no_such_device_or_address));
    return;
  }
  if (links.empty()) {
    if (done) done({});
    return;
  }
  room::MessagePlan plan(type, nonce, static_cast<room::PayloadKind>(kind), source->size(),
                         metadata);
  auto message = std::make_shared<OutgoingMessage>(token_, std::move(plan), std::move(source),
                                                   std::move(metadata));
  message->urgent = urgent;
  if (on_progress) {
    const double total = static_cast<double>(message->plan.chunk_count());
    std::weak_ptr<OutgoingMessage> weak = message;
    message->on_chunk_sent = [on_progress, total, weak](const PeerId& peer, std::size_t index) {
      auto m = weak.lock();
      on_progress(ProgressInfo{peer, static_cast<double>(index + 1) / total, Direction::Out,
                               m ? m->metadata : std::nullopt});
    };
  }
  struct Completion {
    std::size_t remaining;
    error_code first_error;
    std::function<void(error_code)> done;
  };
  auto completion = std::make_shared<Completion>(Completion{links.size(), {}, std::move(done)});
  message->on_done = [completion](const PeerId&, error_code ec) {
    if (ec && !completion->first_error) completion->first_error = ec;
    if (--completion->remaining == 0 && completion->done) completion->done(completion->first_error);
  };
  for (auto& link : links)
    link->send(message);
}

void RoomImpl::send_internal(const PeerId& peer, const std::string& type, PayloadKind kind,
                             Bytes data, std::optional<std::string> metadata) {
  send_message(type, kind, make_memory_source(std::move(data)), std::move(metadata), {peer},
               /*include_pending=*/true, /*urgent=*/true, {}, {});
}

void RoomImpl::send(const std::shared_ptr<ActionImpl>& action, Payload payload, SendOptions options,
                    std::function<void(error_code)> done) {
  const auto kind = payload.kind();
  send_message(action->name, kind, source_of(std::move(payload)), std::move(options.metadata),
               options.targets, false, false, std::move(options.on_progress), std::move(done));
}

void RoomImpl::send_file(const std::shared_ptr<ActionImpl>& action, const std::string& path,
                         SendOptions options, std::function<void(error_code)> done) {
  auto source = make_file_source(path);
  if (!source) {
    next_nonce(action->name);
    if (done) done(source.error());
    return;
  }
  send_message(action->name, PayloadKind::Binary, std::move(*source), std::move(options.metadata),
               options.targets, false, false, std::move(options.on_progress), std::move(done));
}

void RoomImpl::ping(
    const PeerId& peer,
    std::function<void(error_code, std::chrono::duration<double, std::milli>)> done) {
  auto it = peers_.find(peer);
  if (left_ || it == peers_.end() || !it->second.active) {
    done(make_error_code(boost::system::errc::no_such_device_or_address), {});
    return;
  }
  it->second.pings.emplace_back(Clock::now(), std::move(done));
  send_message("@_ping", PayloadKind::Text, make_memory_source({}), std::nullopt, {peer}, false,
               true, {}, {});
}

void RoomImpl::settle(PendingRequest& request, Response response) {
  auto& batch = *request.batch;
  batch.responses[request.index] = std::move(response);
  if (--batch.remaining == 0 && batch.done) batch.done(std::move(batch.responses));
}

void RoomImpl::request(const std::shared_ptr<ActionImpl>& action, Payload payload,
                       std::vector<PeerId> targets, RequestOptions options,
                       std::function<void(std::vector<Response>)> done) {
  if (targets.empty())
    for (auto& [peer, state] : peers_)
      if (state.active) targets.push_back(peer);
  if (targets.empty()) {
    done({});
    return;
  }
  auto batch = std::make_shared<RequestBatch>();
  batch->responses.resize(targets.size());
  batch->remaining = targets.size();
  batch->done = std::move(done);
  const auto kind = payload.kind();
  auto bytes = std::move(payload).release();
  for (std::size_t index = 0; index < targets.size(); ++index) {
    const PeerId& peer = targets[index];
    PendingRequest pending{peer, batch, index, nullptr};
    auto pit = peers_.find(peer);
    if (left_ || pit == peers_.end() || !pit->second.active) {
      settle(pending, {peer,
                       make_error_code(boost::system::errc::no_such_device_or_address),
                       "peer is not in the room",
                       {}});
      continue;
    }
    // §11: one request id per target, the envelope travels as the message's metadata.
    std::string id = signal::gen_id(runtime_->rng(), 20);
    if (options.timeout.count() > 0) {
      pending.timer = std::make_unique<boost::asio::steady_timer>(executor(), options.timeout);
      pending.timer->async_wait([self = weak_from_this(), id](error_code ec) {
        if (ec) return;
        auto room = self.lock();
        if (!room) return;
        auto node = room->requests_.extract(id);
        if (node.empty()) return;
        settle(node.mapped(), {node.mapped().peer,
                               make_error_code(boost::system::errc::timed_out),
                               "request timed out",
                               {}});
      });
    }
    requests_.emplace(id, std::move(pending));
    send_message(action->name, kind, make_memory_source(bytes),
                 room::make_request_metadata(id, options.metadata), {peer}, false, false, {},
                 [self = weak_from_this(), id](error_code ec) {
                   if (!ec) return;
                   auto room = self.lock();
                   if (!room) return;
                   auto node = room->requests_.extract(id);
                   if (node.empty()) return;
                   settle(node.mapped(), {node.mapped().peer, ec, "request could not be sent", {}});
                 });
  }
}

void RoomImpl::handle_request(const std::shared_ptr<ActionImpl>& action, const PeerId& peer,
                              Payload payload, const std::string& request_id,
                              std::optional<std::string> user_metadata) {
  auto state = std::make_shared<Responder::State>();
  state->room = weak_from_this();
  state->peer = peer;
  state->request_id = request_id;
  state->executor = executor();
  action->on_request(std::move(payload), MessageInfo{peer, std::move(user_metadata)},
                     Responder(std::move(state)));
}

void RoomImpl::respond(const PeerId& peer, const std::string& request_id,
                       std::optional<Payload> reply, std::string error) {
  if (left_ || !peers_.count(peer)) return;
  if (reply) {
    const auto kind = reply->kind();
    send_message("@_response", kind, source_of(std::move(*reply)),
                 room::make_response_metadata(request_id, std::nullopt), {peer}, false, false, {},
                 {});
  } else {
    // §11: an error answers JSON null with the message in the envelope.
    send_message("@_response", PayloadKind::Json, make_memory_source(Bytes{'n', 'u', 'l', 'l'}),
                 room::make_response_metadata(request_id, error), {peer}, false, false, {}, {});
  }
}

void RoomImpl::handle_response(const PeerId& peer, PayloadKind kind, Bytes data,
                               const std::optional<std::string>& metadata) {
  if (!metadata) return;
  auto envelope = room::parse_response_metadata(*metadata);
  if (!envelope) return;
  auto it = requests_.find(envelope->id);
  // §11: matched by request id and by the sender.
  if (it == requests_.end() || it->second.peer != peer) return;
  auto node = requests_.extract(it);
  auto& r = node.mapped();
  Response response{peer, {}, {}, {}};
  if (envelope->error) {
    response.error = make_error_code(boost::system::errc::operation_not_permitted);
    response.error_message = *envelope->error;
  } else {
    switch (kind) {
    case PayloadKind::Text:
      response.payload = Payload::text(std::string(data.begin(), data.end()));
      break;
    case PayloadKind::Json:
      response.payload = Payload::json(std::string(data.begin(), data.end()));
      break;
    case PayloadKind::Binary: response.payload = Payload::binary(std::move(data)); break;
    }
  }
  settle(r, std::move(response));
}

} // namespace posthorn::detail
