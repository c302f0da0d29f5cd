#include "room/envelope.hpp"

#include "room/json_text.hpp"

namespace posthorn::room {
namespace {

/// The string "r" of an envelope object, with its members.
struct Parsed {
  std::vector<detail::JsonMember> members;
  std::string id;
};

std::optional<Parsed> parse_envelope(std::string_view metadata_json) {
  auto members = detail::parse_json_object(metadata_json);
  if (!members) return std::nullopt; // §11: not an object (arrays are rejected too, as in JS)
  const auto* r = detail::find_member(*members, "r");
  if (!r) return std::nullopt;
  auto id = detail::json_string_value(r->value);
  if (!id) return std::nullopt;
  return Parsed{std::move(*members), std::move(*id)};
}

} // namespace

std::string make_request_metadata(std::string_view id,
                                  const std::optional<std::string>& user_metadata_json) {
  std::string out = "{\"r\":" + detail::json_quote(id);
  if (user_metadata_json) out += ",\"m\":" + *user_metadata_json;
  out += '}';
  return out;
}

std::optional<RequestEnvelope> parse_request_metadata(std::string_view metadata_json) {
  auto parsed = parse_envelope(metadata_json);
  if (!parsed) return std::nullopt;
  RequestEnvelope envelope{std::move(parsed->id), std::nullopt};
  if (const auto* m = detail::find_member(parsed->members, "m"))
    envelope.user_metadata = std::string(m->value);
  return envelope;
}

std::string make_response_metadata(std::string_view id, const std::optional<std::string>& error) {
  std::string out = "{\"r\":" + detail::json_quote(id);
  if (error) out += ",\"e\":" + detail::json_quote(*error);
  out += '}';
  return out;
}

std::optional<ResponseEnvelope> parse_response_metadata(std::string_view metadata_json) {
  auto parsed = parse_envelope(metadata_json);
  if (!parsed) return std::nullopt;
  ResponseEnvelope envelope{std::move(parsed->id), std::nullopt};
  if (const auto* e = detail::find_member(parsed->members, "e"))
    envelope.error = detail::json_string_value(e->value);
  return envelope;
}

} // namespace posthorn::room
