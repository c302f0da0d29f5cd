#include "signal/signal_message.hpp"

#include "signal/errc.hpp"

#include <nlohmann/json.hpp>

namespace posthorn::signal {
namespace {

// ordered_json keeps the keys in the order they arrived, which tells an answerer's candidate from
// an offerer's. Duplicate keys keep their first position and their last value, as JSON.parse does.
using Json = nlohmann::ordered_json;

constexpr const char* kSignalKeys[] = {"offer", "answer", "candidate"};

// JS getString(): the value if it is a non-empty string.
const std::string* non_empty_string(const Json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return nullptr;
  const auto* s = it->get_ptr<const std::string*>();
  return s->empty() ? nullptr : s;
}

bool is_announce(const Json& object) {
  for (const char* key : kSignalKeys)
    if (object.contains(key)) return false;
  return true;
}

std::ptrdiff_t position_of(const Json& object, const char* key) {
  return std::distance(object.begin(), object.find(key));
}

} // namespace

result<SignalMessage> parse_signal_message(std::string_view text) {
  if (text.size() > kMaxSignalMessageBytes) return Errc::MessageTooLarge;
  // No exceptions: a parse error yields a "discarded" value.
  const Json json = Json::parse(text.begin(), text.end(), nullptr, false);
  if (json.is_discarded()) return Errc::MalformedJson;
  if (!json.is_object()) return Errc::NotAnObject;

  for (const char* key : kSignalKeys)
    if (json.contains(key) && !non_empty_string(json, key)) return Errc::InvalidSignalField;
  const std::string* peer_id = non_empty_string(json, "peerId");
  if (!peer_id) return Errc::MissingPeerId;

  SignalMessage msg;
  msg.peer_id = *peer_id;
  if (const auto it = json.find("passive"); it != json.end())
    msg.passive = it->is_boolean() && it->get<bool>();

  // An announce's offerId means nothing (JS never reads it), so it is not kept.
  const std::string* offer_id = non_empty_string(json, "offerId");
  if (offer_id && !is_announce(json)) msg.offer_id = *offer_id;

  // §4.1 step 6: offer, then candidate, then answer.
  if (const auto* offer = non_empty_string(json, "offer")) {
    msg.type = SignalMessage::Type::Offer;
    msg.payload = *offer;
  } else if (const auto* candidate = non_empty_string(json, "candidate")) {
    msg.type = SignalMessage::Type::Candidate;
    msg.payload = *candidate;
    msg.answerer_key_order =
        msg.offer_id && position_of(json, "candidate") < position_of(json, "offerId");
  } else if (const auto* answer = non_empty_string(json, "answer")) {
    msg.type = SignalMessage::Type::Answer;
    msg.payload = *answer;
  }
  return msg;
}

std::string to_json(const SignalMessage& m) {
  Json json = Json::object();
  json["peerId"] = m.peer_id;
  const auto put_offer_id = [&] {
    if (m.offer_id) json["offerId"] = *m.offer_id;
  };
  switch (m.type) {
  case SignalMessage::Type::Announce: break;
  case SignalMessage::Type::Offer:
    put_offer_id();
    json["offer"] = m.payload;
    break;
  case SignalMessage::Type::Answer:
    json["answer"] = m.payload;
    put_offer_id();
    break;
  case SignalMessage::Type::Candidate:
    if (m.answerer_key_order) {
      json["candidate"] = m.payload;
      put_offer_id();
    } else {
      put_offer_id();
      json["candidate"] = m.payload;
    }
    break;
  }
  if (m.passive) json["passive"] = true;
  // JSON.stringify escaping: non-ASCII raw, control characters as \u00xx. Our own strings may not
  // be UTF-8 (a caller's id); replace bad bytes with U+FFFD instead of throwing.
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

} // namespace posthorn::signal
