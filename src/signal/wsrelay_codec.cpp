#include "signal/wsrelay_codec.hpp"

#include "core/overloaded.hpp"

#include <nlohmann/json.hpp>

namespace posthorn::signal::wsrelay {
namespace {

using Json = nlohmann::json;

/// The object's string field `name`, or why not.
std::variant<std::string, DecodeError> string_field(const Json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end()) return DecodeError{std::string("missing \"") + name + "\""};
  if (!it->is_string()) return DecodeError{std::string("\"") + name + "\" is not a string"};
  return it->get<std::string>();
}

std::variant<std::string, DecodeError> topic_field(const Json& object) {
  auto topic = string_field(object, "topic");
  if (auto* t = std::get_if<std::string>(&topic)) {
    if (t->empty()) return DecodeError{"empty topic"};
    if (t->size() > kMaxTopicBytes)
      return DecodeError{"topic longer than " + std::to_string(kMaxTopicBytes) + " bytes"};
  }
  return topic;
}

std::variant<Json, DecodeError> parse_object(std::string_view text) {
  // No exceptions for bad input: a relay parses whatever any client sends.
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return DecodeError{"not JSON"};
  if (!j.is_object()) return DecodeError{"not a JSON object"};
  return j;
}

/// Never throws: text that is not UTF-8 (possible only in what we were given to send) goes out
/// with U+FFFD in place of the bad bytes, as a JS peer would see it anyway.
std::string to_text(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

} // namespace

decoded<ClientMessage> decode_client_message(std::string_view text) {
  auto parsed = parse_object(text);
  if (auto* e = std::get_if<DecodeError>(&parsed)) return *e;
  const Json& j = std::get<Json>(parsed);
  auto type = string_field(j, "type");
  if (auto* e = std::get_if<DecodeError>(&type)) return *e;
  auto topic = topic_field(j);
  if (auto* e = std::get_if<DecodeError>(&topic)) return *e;
  const auto& kind = std::get<std::string>(type);
  auto& t = std::get<std::string>(topic);
  if (kind == "subscribe") return Subscribe{std::move(t)};
  if (kind == "unsubscribe") return Unsubscribe{std::move(t)};
  if (kind == "publish") {
    auto payload = string_field(j, "payload");
    if (auto* e = std::get_if<DecodeError>(&payload)) return *e;
    return Publish{std::move(t), std::move(std::get<std::string>(payload))};
  }
  return DecodeError{"unknown type \"" + kind.substr(0, 32) + "\""};
}

decoded<RelayMessage> decode_relay_message(std::string_view text) {
  auto parsed = parse_object(text);
  if (auto* e = std::get_if<DecodeError>(&parsed)) return *e;
  const Json& j = std::get<Json>(parsed);
  if (!j.contains("type")) { // a delivery is the only message without a type
    auto topic = topic_field(j);
    if (auto* e = std::get_if<DecodeError>(&topic)) return *e;
    auto payload = string_field(j, "payload");
    if (auto* e = std::get_if<DecodeError>(&payload)) return *e;
    return Delivery{std::move(std::get<std::string>(topic)),
                    std::move(std::get<std::string>(payload))};
  }
  auto type = string_field(j, "type");
  if (auto* e = std::get_if<DecodeError>(&type)) return *e;
  const auto& kind = std::get<std::string>(type);
  if (kind == "subscribed") {
    auto topic = topic_field(j);
    if (auto* e = std::get_if<DecodeError>(&topic)) return *e;
    return Subscribed{std::move(std::get<std::string>(topic))};
  }
  if (kind == "error") {
    auto error = string_field(j, "error");
    if (auto* e = std::get_if<DecodeError>(&error)) return *e;
    return Refusal{std::move(std::get<std::string>(error))};
  }
  return DecodeError{"unknown type \"" + kind.substr(0, 32) + "\""};
}

std::string encode(const ClientMessage& message) {
  return std::visit(
      overloaded{
          [](const Subscribe& m) {
            return to_text(Json{{"type", "subscribe"}, {"topic", m.topic}});
          },
          [](const Unsubscribe& m) {
            return to_text(Json{{"type", "unsubscribe"}, {"topic", m.topic}});
          },
          [](const Publish& m) {
            return to_text(Json{{"type", "publish"}, {"topic", m.topic}, {"payload", m.payload}});
          },
      },
      message);
}

std::string encode(const RelayMessage& message) {
  return std::visit(overloaded{
                        [](const Subscribed& m) {
                          return to_text(Json{{"type", "subscribed"}, {"topic", m.topic}});
                        },
                        [](const Delivery& m) {
                          return to_text(Json{{"topic", m.topic}, {"payload", m.payload}});
                        },
                        [](const Refusal& m) {
                          return to_text(Json{{"type", "error"}, {"error", m.error}});
                        },
                    },
                    message);
}

} // namespace posthorn::signal::wsrelay
