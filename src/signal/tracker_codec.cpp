#include "signal/tracker_codec.hpp"

#include "core/overloaded.hpp"
#include "signal/json_scan.hpp"

#include <nlohmann/json.hpp>

#include <charconv>
#include <limits>

namespace posthorn::signal::tracker {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

template <class T> using field = std::variant<T, DecodeError>;

field<std::string> string_field(const Json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end()) return DecodeError{std::string("missing \"") + name + "\""};
  if (!it->is_string()) return DecodeError{std::string("\"") + name + "\" is not a string"};
  return it->get<std::string>();
}

field<std::string> id_field(const Json& object, const char* name) {
  auto value = string_field(object, name);
  if (auto* s = std::get_if<std::string>(&value); s && !is_valid_id(*s))
    return DecodeError{std::string("invalid \"") + name + "\" (not 20 characters)"};
  return value;
}

field<std::string> offer_id_field(const Json& object) {
  auto value = string_field(object, "offer_id");
  if (auto* s = std::get_if<std::string>(&value)) {
    if (s->empty()) return DecodeError{"empty \"offer_id\""};
    if (s->size() > kMaxOfferIdBytes) return DecodeError{"\"offer_id\" too long"};
  }
  return value;
}

/// {"type":…,"sdp":S} → S. The type is not checked, as trackers and Trystero do not.
field<std::string> sdp_of(const Json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end()) return DecodeError{std::string("missing \"") + name + "\""};
  if (!it->is_object()) return DecodeError{std::string("\"") + name + "\" is not an object"};
  auto sdp = string_field(*it, "sdp");
  if (auto* s = std::get_if<std::string>(&sdp); s && s->empty())
    return DecodeError{std::string("empty \"") + name + ".sdp\""};
  return sdp;
}

/// A JSON number or numeric string (bittorrent-tracker applies Number() to "left") as an integer.
std::optional<std::int64_t> integer_of(const Json& value) {
  if (value.is_number_integer()) return value.get<std::int64_t>();
  double d = 0;
  if (value.is_number_float()) {
    d = value.get<double>();
  } else if (value.is_string()) {
    // The whole string must be the number ("12", "1e3"); JS's looser forms (" 12", "0x1f", "")
    // are not worth emulating for a field clients send as a number.
    const auto& s = value.get_ref<const std::string&>();
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (d >= -9.2e18 && d <= 9.2e18) return static_cast<std::int64_t>(d);
  return std::nullopt;
}

std::variant<Json, DecodeError> parse_object(std::string_view text) {
  // No exceptions for bad input: a tracker parses whatever any client sends, and vice versa.
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return DecodeError{"not JSON"};
  if (!j.is_object()) return DecodeError{"not a JSON object"};
  return j;
}

/// Never throws: invalid UTF-8 (only possible in what we were given to send) becomes U+FFFD.
template <class J> std::string to_text(const J& j) {
  return j.dump(-1, ' ', false, J::error_handler_t::replace);
}

#define POSTHORN_TRY_FIELD(var, expr)                                                              \
  auto var##_or_error = (expr);                                                                    \
  if (auto* e = std::get_if<DecodeError>(&var##_or_error)) return *e;                              \
  auto& var = std::get<0>(var##_or_error)

decoded<ClientMessage> decode_announce(const Json& j) {
  POSTHORN_TRY_FIELD(info_hash, id_field(j, "info_hash"));
  POSTHORN_TRY_FIELD(peer_id, id_field(j, "peer_id"));
  if (j.contains("answer")) {
    POSTHORN_TRY_FIELD(to_peer_id, id_field(j, "to_peer_id"));
    POSTHORN_TRY_FIELD(offer_id, offer_id_field(j));
    POSTHORN_TRY_FIELD(sdp, sdp_of(j, "answer"));
    return SendAnswer{std::move(info_hash), std::move(peer_id), std::move(to_peer_id),
                      std::move(offer_id), std::move(sdp)};
  }
  Announce a{.info_hash = std::move(info_hash), .peer_id = std::move(peer_id)};
  if (auto it = j.find("numwant"); it != j.end())
    if (auto n = integer_of(*it); n && *n >= 0)
      a.numwant = static_cast<std::uint32_t>(std::min<std::int64_t>(*n, 1'000'000));
  if (auto it = j.find("left"); it != j.end()) a.left = integer_of(*it);
  if (auto it = j.find("event"); it != j.end() && it->is_string()) a.event = it->get<std::string>();
  if (auto it = j.find("offers"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return DecodeError{"\"offers\" is not an array"};
    if (it->size() > kMaxOffers)
      return DecodeError{"more than " + std::to_string(kMaxOffers) + " offers"};
    a.offers.reserve(it->size());
    for (const auto& entry : *it) {
      if (!entry.is_object()) return DecodeError{"an offer is not an object"};
      POSTHORN_TRY_FIELD(offer_id, offer_id_field(entry));
      POSTHORN_TRY_FIELD(sdp, sdp_of(entry, "offer"));
      a.offers.push_back({std::move(offer_id), std::move(sdp)});
    }
  }
  return a;
}

} // namespace

bool is_valid_id(std::string_view id) noexcept {
  // Count code points, validating the UTF-8 structure on the way (shortest forms are not
  // enforced: nlohmann has already validated whatever came through JSON).
  std::size_t points = 0;
  for (std::size_t i = 0; i < id.size();) {
    const auto lead = static_cast<unsigned char>(id[i]);
    std::size_t len = lead < 0x80           ? 1
                      : (lead >> 5) == 0x6  ? 2
                      : (lead >> 4) == 0xE  ? 3
                      : (lead >> 3) == 0x1E ? 4
                                            : 0;
    if (len == 0 || i + len > id.size()) return false;
    for (std::size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(id[i + k]) >> 6) != 0x2) return false;
    i += len;
    if (++points > kIdLength) return false;
  }
  return points == kIdLength;
}

decoded<ClientMessage> detail::decode_client_message_dom(std::string_view text) {
  auto parsed = parse_object(text);
  if (auto* e = std::get_if<DecodeError>(&parsed)) return *e;
  const Json& j = std::get<Json>(parsed);
  POSTHORN_TRY_FIELD(action, string_field(j, "action"));
  if (action == "announce") return decode_announce(j);
  if (action == "scrape") return DecodeError{"scrape is not supported"};
  return DecodeError{"invalid action \"" + action.substr(0, 32) + "\""};
}

decoded<TrackerMessage> decode_tracker_message(std::string_view text) {
  auto parsed = parse_object(text);
  if (auto* e = std::get_if<DecodeError>(&parsed)) return *e;
  const Json& j = std::get<Json>(parsed);
  if (auto it = j.find("failure reason"); it != j.end()) {
    Failure f{.reason = it->is_string() ? it->get<std::string>() : it->dump()};
    if (auto ih = j.find("info_hash"); ih != j.end() && ih->is_string())
      f.info_hash = ih->get<std::string>();
    return f;
  }
  if (auto it = j.find("action"); it != j.end() && (!it->is_string() || *it != "announce"))
    return DecodeError{"not an announce"};
  POSTHORN_TRY_FIELD(info_hash, id_field(j, "info_hash"));
  const bool offer = j.contains("offer");
  if (offer || j.contains("answer")) {
    POSTHORN_TRY_FIELD(peer_id, id_field(j, "peer_id"));
    POSTHORN_TRY_FIELD(offer_id, offer_id_field(j));
    POSTHORN_TRY_FIELD(sdp, sdp_of(j, offer ? "offer" : "answer"));
    if (offer)
      return PeerOffer{std::move(info_hash), std::move(peer_id), std::move(offer_id),
                       std::move(sdp)};
    return PeerAnswer{std::move(info_hash), std::move(peer_id), std::move(offer_id),
                      std::move(sdp)};
  }
  AnnounceReply r{.info_hash = std::move(info_hash)};
  if (auto it = j.find("interval"); it != j.end()) r.interval = integer_of(*it);
  if (auto it = j.find("complete"); it != j.end()) r.complete = integer_of(*it).value_or(0);
  if (auto it = j.find("incomplete"); it != j.end()) r.incomplete = integer_of(*it).value_or(0);
  if (auto it = j.find("warning message"); it != j.end() && it->is_string())
    r.warning = it->get<std::string>();
  return r;
}

#undef POSTHORN_TRY_FIELD

std::string encode(const ClientMessage& message) {
  return std::visit(
      overloaded{
          [](const Announce& m) {
            OrderedJson j{
                {"action", "announce"}, {"info_hash", m.info_hash}, {"peer_id", m.peer_id}};
            if (m.left) j["left"] = *m.left;
            if (m.numwant) j["numwant"] = *m.numwant;
            if (m.event) j["event"] = *m.event;
            auto offers = OrderedJson::array();
            for (const auto& o : m.offers)
              offers.push_back(
                  {{"offer_id", o.offer_id}, {"offer", {{"type", "offer"}, {"sdp", o.sdp}}}});
            j["offers"] = std::move(offers);
            return to_text(j);
          },
          [](const SendAnswer& m) {
            return to_text(OrderedJson{{"action", "announce"},
                                       {"info_hash", m.info_hash},
                                       {"peer_id", m.peer_id},
                                       {"answer", {{"type", "answer"}, {"sdp", m.sdp}}},
                                       {"offer_id", m.offer_id},
                                       {"to_peer_id", m.to_peer_id}});
          },
      },
      message);
}

namespace {

/// What the relay sends most, written directly: nlohmann's ordered_json costs a DOM per message.
/// The output is byte-identical to the DOM writer's (tracker_codec_fuzz checks it); a string that
/// is not UTF-8 (never from a decoded message) makes it return nullopt, and the DOM writer then
/// replaces the bad bytes.
std::optional<std::string> encode_fast(const TrackerMessage& message) {
  std::string out;
  bool ok = true;
  const auto str = [&](std::string_view s) { ok = ok && json::append_string(out, s); };
  std::visit(overloaded{
                 [&](const AnnounceReply& m) {
    out += "{\"complete\":";
    json::append_integer(out, m.complete);
    out += ",\"incomplete\":";
    json::append_integer(out, m.incomplete);
    out += ",\"action\":\"announce\",\"info_hash\":";
    str(m.info_hash);
    if (m.interval) {
      out += ",\"interval\":";
      json::append_integer(out, *m.interval);
    }
    if (m.warning) {
      out += ",\"warning message\":";
      str(*m.warning);
    }
    out += '}';
                 },
                 [&](const auto& m)
                   requires(std::is_same_v<std::decay_t<decltype(m)>, PeerOffer> ||
                            std::is_same_v<std::decay_t<decltype(m)>, PeerAnswer>)
                 {
                   constexpr bool offer = std::is_same_v<std::decay_t<decltype(m)>, PeerOffer>;
                   out.reserve(m.sdp.size() + 160);
                   out += offer ? "{\"action\":\"announce\",\"offer\":{\"type\":\"offer\",\"sdp\":"
                                : "{\"action\":\"announce\",\"answer\":{\"type\":\"answer\",\"sdp\":";
                   str(m.sdp);
                   out += "},\"offer_id\":";
                   str(m.offer_id);
                   out += ",\"peer_id\":";
                   str(m.peer_id);
                   out += ",\"info_hash\":";
                   str(m.info_hash);
                   out += '}';
}
, [&](const Failure& m) {
  out += "{\"failure reason\":";
  str(m.reason);
  if (m.info_hash) {
    out += ",\"action\":\"announce\",\"info_hash\":";
    str(*m.info_hash);
  }
  out += '}';
},
} // namespace
,
             message);
if (!ok) return std::nullopt;
return out;
} // namespace posthorn::signal::tracker

} // namespace

std::string encode(const TrackerMessage& message) {
  if (auto fast = encode_fast(message)) return std::move(*fast);
  return detail::encode_dom(message);
}

std::string detail::encode_dom(const TrackerMessage& message) {
  return std::visit(overloaded{
                        [](const AnnounceReply& m) {
                          OrderedJson j{{"complete", m.complete},
                                        {"incomplete", m.incomplete},
                                        {"action", "announce"},
                                        {"info_hash", m.info_hash}};
                          if (m.interval) j["interval"] = *m.interval;
                          if (m.warning) j["warning message"] = *m.warning;
                          return to_text(j);
                        },
                        [](const PeerOffer& m) {
                          return to_text(OrderedJson{{"action", "announce"},
                                                     {"offer", {{"type", "offer"}, {"sdp", m.sdp}}},
                                                     {"offer_id", m.offer_id},
                                                     {"peer_id", m.peer_id},
                                                     {"info_hash", m.info_hash}});
                        },
                        [](const PeerAnswer& m) {
                          return to_text(
                              OrderedJson{{"action", "announce"},
                                          {"answer", {{"type", "answer"}, {"sdp", m.sdp}}},
                                          {"offer_id", m.offer_id},
                                          {"peer_id", m.peer_id},
                                          {"info_hash", m.info_hash}});
                        },
                        [](const Failure& m) {
                          OrderedJson j{{"failure reason", m.reason}};
                          if (m.info_hash) {
                            j["action"] = "announce";
                            j["info_hash"] = *m.info_hash;
                          }
                          return to_text(j);
                        },
                    },
                    message);
}

} // namespace posthorn::signal::tracker
