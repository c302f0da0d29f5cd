#include "signal/candidate_json.hpp"

#include "signal/errc.hpp"
#include "signal/signal_message.hpp"

#include <nlohmann/json.hpp>

namespace posthorn::signal {
namespace {

using Json = nlohmann::ordered_json;

// Missing and null are the same (toJSON() writes null for what it does not know).
const Json* field(const Json& object, const char* key) {
  const auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

bool optional_string(const Json& object, const char* key, std::optional<std::string>& out) {
  const Json* v = field(object, key);
  if (!v) return true;
  if (!v->is_string()) return false;
  out = v->get<std::string>();
  return true;
}

} // namespace

result<CandidateInit> parse_candidate_json(std::string_view text) {
  // Same bound as a whole signal message: the candidate is decrypted from one.
  if (text.size() > kMaxSignalMessageBytes) return Errc::MalformedCandidate;
  const Json json = Json::parse(text.begin(), text.end(), nullptr, false);
  if (json.is_discarded() || !json.is_object()) return Errc::MalformedCandidate;

  CandidateInit out;
  if (const Json* c = field(json, "candidate")) {
    if (!c->is_string()) return Errc::MalformedCandidate;
    std::string_view line = c->get_ref<const std::string&>();
    // node-datachannel reports the SDP attribute line itself (§6.3). Stripping every repeat keeps
    // parse(to_json(parse(x))) == parse(x).
    while (line.starts_with("a="))
      line.remove_prefix(2);
    out.candidate = std::string(line);
  }
  if (!optional_string(json, "sdpMid", out.sdp_mid)) return Errc::MalformedCandidate;
  if (!optional_string(json, "usernameFragment", out.username_fragment))
    return Errc::MalformedCandidate;
  if (const Json* index = field(json, "sdpMLineIndex")) {
    // nlohmann types every non-negative integer as unsigned, so anything else (negative, 0.0,
    // "0") is refused: no implementation writes those.
    if (!index->is_number_unsigned() || index->get<std::uint64_t>() > 65535)
      return Errc::MalformedCandidate;
    out.sdp_mline_index = static_cast<int>(index->get<std::uint64_t>());
  }
  return out;
}

std::string to_json(const CandidateInit& c) {
  Json json = Json::object();
  json["candidate"] = c.candidate;
  json["sdpMid"] = c.sdp_mid ? Json(*c.sdp_mid) : Json(nullptr);
  json["sdpMLineIndex"] = c.sdp_mline_index ? Json(*c.sdp_mline_index) : Json(nullptr);
  json["usernameFragment"] = c.username_fragment ? Json(*c.username_fragment) : Json(nullptr);
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

} // namespace posthorn::signal
