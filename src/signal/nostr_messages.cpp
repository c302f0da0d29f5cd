#include "signal/nostr_messages.hpp"

#include "core/overloaded.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace posthorn::signal::nostr {
namespace {

using Json = nlohmann::ordered_json;

std::string dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Json filter_json(const Filter& f) {
  Json j = Json::object();
  if (!f.kinds.empty()) j["kinds"] = f.kinds;
  if (f.since) j["since"] = *f.since;
  if (!f.x_tags.empty()) j["#x"] = f.x_tags;
  return j;
}

decoded<Filter> filter_from(const Json& j) {
  if (!j.is_object()) return DecodeError{"a filter is not an object"};
  Filter f;
  if (auto it = j.find("kinds"); it != j.end()) {
    if (!it->is_array()) return DecodeError{"\"kinds\" is not an array"};
    for (const auto& k : *it) {
      if (!k.is_number_unsigned() || k.get<std::uint64_t>() > 0xFFFFFFFFu)
        return DecodeError{"a kind is not a 32-bit unsigned integer"};
      f.kinds.push_back(k.get<std::uint32_t>());
    }
  }
  if (auto it = j.find("since"); it != j.end()) {
    if (!it->is_number_integer()) return DecodeError{"\"since\" is not an integer"};
    f.since = it->get<std::int64_t>();
  }
  if (auto it = j.find("#x"); it != j.end()) {
    if (!it->is_array()) return DecodeError{"\"#x\" is not an array"};
    for (const auto& x : *it) {
      if (!x.is_string()) return DecodeError{"an \"#x\" value is not a string"};
      f.x_tags.push_back(x.get<std::string>());
    }
  }
  return f;
}

decoded<std::string> subscription_id(const Json& j) {
  if (!j.is_string()) return DecodeError{"the subscription id is not a string"};
  auto id = j.get<std::string>();
  if (id.empty() || id.size() > kMaxSubscriptionIdBytes)
    return DecodeError{"the subscription id is empty or longer than 64 characters"};
  return id;
}

decoded<Event> event_from(const Json& j) {
  auto e = event_from_json(dump(j));
  if (!e) return DecodeError{"malformed event"};
  return std::move(*e);
}

decoded<Json> parse_array(std::string_view text) {
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded()) return DecodeError{"not JSON"};
  if (!j.is_array() || j.empty() || !j[0].is_string())
    return DecodeError{"not a NIP-01 message (an array starting with its type)"};
  return j;
}

} // namespace

bool Filter::matches(const Event& event) const {
  if (!kinds.empty() && std::find(kinds.begin(), kinds.end(), event.kind) == kinds.end())
    return false;
  if (since && event.created_at < *since) return false;
  if (!x_tags.empty()) {
    const bool tagged = std::any_of(event.tags.begin(), event.tags.end(), [&](const auto& tag) {
      return tag.size() >= 2 && tag[0] == "x" &&
             std::find(x_tags.begin(), x_tags.end(), tag[1]) != x_tags.end();
    });
    if (!tagged) return false;
  }
  return true;
}

decoded<ClientMessage> decode_client_message(std::string_view text) {
  auto parsed = parse_array(text);
  if (auto* why = std::get_if<DecodeError>(&parsed)) return *why;
  const Json& j = std::get<Json>(parsed);
  const auto type = j[0].get<std::string>();
  if (type == "EVENT") {
    if (j.size() != 2) return DecodeError{"EVENT takes one event"};
    auto e = event_from(j[1]);
    if (auto* why = std::get_if<DecodeError>(&e)) return *why;
    return ClientEvent{std::move(std::get<Event>(e))};
  }
  if (type == "REQ") {
    if (j.size() < 3) return DecodeError{"REQ takes a subscription id and filters"};
    auto id = subscription_id(j[1]);
    if (auto* why = std::get_if<DecodeError>(&id)) return *why;
    Req req{std::move(std::get<std::string>(id)), {}};
    for (std::size_t i = 2; i < j.size(); ++i) {
      auto f = filter_from(j[i]);
      if (auto* why = std::get_if<DecodeError>(&f)) return *why;
      req.filters.push_back(std::move(std::get<Filter>(f)));
    }
    return req;
  }
  if (type == "CLOSE") {
    if (j.size() != 2) return DecodeError{"CLOSE takes a subscription id"};
    auto id = subscription_id(j[1]);
    if (auto* why = std::get_if<DecodeError>(&id)) return *why;
    return Close{std::move(std::get<std::string>(id))};
  }
  return DecodeError{"unknown message type \"" + type.substr(0, 16) + "\""};
}

decoded<RelayMessage> decode_relay_message(std::string_view text) {
  auto parsed = parse_array(text);
  if (auto* why = std::get_if<DecodeError>(&parsed)) return *why;
  const Json& j = std::get<Json>(parsed);
  const auto type = j[0].get<std::string>();
  auto string_at = [&](std::size_t i) -> std::optional<std::string> {
    if (i >= j.size() || !j[i].is_string()) return std::nullopt;
    return j[i].get<std::string>();
  };
  if (type == "EVENT") {
    auto id = string_at(1);
    if (!id || j.size() != 3) return DecodeError{"EVENT takes a subscription id and an event"};
    auto e = event_from(j[2]);
    if (auto* why = std::get_if<DecodeError>(&e)) return *why;
    return RelayEvent{std::move(*id), std::move(std::get<Event>(e))};
  }
  if (type == "OK") {
    auto id = string_at(1);
    if (!id || j.size() < 3 || !j[2].is_boolean())
      return DecodeError{"OK takes an event id, a boolean and a message"};
    return Ok{std::move(*id), j[2].get<bool>(), string_at(3).value_or("")};
  }
  if (type == "EOSE") {
    auto id = string_at(1);
    if (!id) return DecodeError{"EOSE takes a subscription id"};
    return Eose{std::move(*id)};
  }
  if (type == "NOTICE") return Notice{string_at(1).value_or("")};
  if (type == "CLOSED") {
    auto id = string_at(1);
    if (!id) return DecodeError{"CLOSED takes a subscription id"};
    return Closed{std::move(*id), string_at(2).value_or("")};
  }
  return DecodeError{"unknown message type \"" + type.substr(0, 16) + "\""};
}

std::string encode(const ClientMessage& message) {
  return std::visit(overloaded{
                        [](const ClientEvent& m) { return "[\"EVENT\"," + to_json(m.event) + "]"; },
                        [](const Req& m) {
                          Json j = Json::array({"REQ", m.subscription_id});
                          for (const auto& f : m.filters)
                            j.push_back(filter_json(f));
                          return dump(j);
                        },
                        [](const Close& m) {
                          return dump(Json::array({"CLOSE", m.subscription_id}));
                        },
                    },
                    message);
}

std::string encode(const RelayMessage& message) {
  return std::visit(overloaded{
                        [](const RelayEvent& m) {
                          return "[\"EVENT\"," + dump(Json(m.subscription_id)) + "," +
                                 to_json(m.event) + "]";
                        },
                        [](const Ok& m) {
                          return dump(Json::array({"OK", m.event_id, m.accepted, m.message}));
                        },
                        [](const Eose& m) {
                          return dump(Json::array({"EOSE", m.subscription_id}));
                        },
                        [](const Notice& m) {
                          return dump(Json::array({"NOTICE", m.message}));
                        },
                        [](const Closed& m) {
                          return dump(Json::array({"CLOSED", m.subscription_id, m.message}));
                        },
                    },
                    message);
}

} // namespace posthorn::signal::nostr
