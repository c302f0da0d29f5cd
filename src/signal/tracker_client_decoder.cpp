// decode_client_message without a DOM: one validating pass over the message records where the
// members the tracker protocol uses are, then only those are decoded. On `posthorn relay`'s hot
// path this is several times cheaper than building an nlohmann object per message; it accepts
// and refuses exactly what detail::decode_client_message_dom does (fuzz/tracker_codec_fuzz.cpp).
#include "signal/json_scan.hpp"
#include "signal/tracker_codec.hpp"

#include <algorithm>
#include <charconv>

namespace posthorn::signal::tracker {
namespace {

using json::Span;

/// Where the members of interest are (as nlohmann keeps them: the last of duplicate keys wins).
struct Members {
  std::optional<Span> action, info_hash, peer_id, to_peer_id, offer_id, answer, numwant, left,
      event, offers;

  void take(std::string_view key, Span value) {
    if (key == "action")
      action = value;
    else if (key == "info_hash")
      info_hash = value;
    else if (key == "peer_id")
      peer_id = value;
    else if (key == "to_peer_id")
      to_peer_id = value;
    else if (key == "offer_id")
      offer_id = value;
    else if (key == "answer")
      answer = value;
    else if (key == "numwant")
      numwant = value;
    else if (key == "left")
      left = value;
    else if (key == "event")
      event = value;
    else if (key == "offers")
      offers = value;
  }
};

std::variant<std::string, DecodeError> string_member(const std::optional<Span>& span,
                                                     const char* name) {
  if (!span) return DecodeError{std::string("missing \"") + name + "\""};
  auto s = json::string_of(*span);
  if (!s) return DecodeError{std::string("\"") + name + "\" is not a string"};
  return std::move(*s);
}

std::variant<std::string, DecodeError> id_member(const std::optional<Span>& span,
                                                 const char* name) {
  auto value = string_member(span, name);
  if (auto* s = std::get_if<std::string>(&value); s && !is_valid_id(*s))
    return DecodeError{std::string("invalid \"") + name + "\" (not 20 characters)"};
  return value;
}

std::variant<std::string, DecodeError> offer_id_member(const std::optional<Span>& span) {
  auto value = string_member(span, "offer_id");
  if (auto* s = std::get_if<std::string>(&value)) {
    if (s->empty()) return DecodeError{"empty \"offer_id\""};
    if (s->size() > kMaxOfferIdBytes) return DecodeError{"\"offer_id\" too long"};
  }
  return value;
}

/// {"type":…,"sdp":S} → S.
std::variant<std::string, DecodeError> sdp_member(const std::optional<Span>& span,
                                                  const char* name) {
  if (!span) return DecodeError{std::string("missing \"") + name + "\""};
  std::optional<Span> sdp;
  if (span->empty() || span->front() != '{' ||
      !json::for_each_member(*span, [&](std::string_view key, Span value) {
        if (key == "sdp") sdp = value;
      }))
    return DecodeError{std::string("\"") + name + "\" is not an object"};
  auto value = string_member(sdp, "sdp");
  if (auto* s = std::get_if<std::string>(&value); s && s->empty())
    return DecodeError{std::string("empty \"") + name + ".sdp\""};
  return value;
}

/// A number or numeric string as an integer; the same rules as the DOM decoder's integer_of.
std::optional<std::int64_t> integer_member(Span span, bool numeric_string_too) {
  double d = 0;
  if (auto n = json::number_of(span)) {
    switch (n->kind) {
    case json::Number::Kind::Signed: return n->i;
    case json::Number::Kind::Unsigned: return static_cast<std::int64_t>(n->u);
    case json::Number::Kind::Float: d = n->d; break;
    }
  } else if (numeric_string_too && !span.empty() && span.front() == '"') {
    auto s = json::string_of(span);
    if (!s) return std::nullopt;
    const auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), d);
    if (ec != std::errc{} || end != s->data() + s->size()) return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (d >= -9.2e18 && d <= 9.2e18) return static_cast<std::int64_t>(d);
  return std::nullopt;
}

#define POSTHORN_TRY_MEMBER(var, expr)                                                             \
  auto var##_or_error = (expr);                                                                    \
  if (auto* e = std::get_if<DecodeError>(&var##_or_error)) return *e;                              \
  auto& var = std::get<0>(var##_or_error)

decoded<ClientMessage> decode_announce(const Members& m) {
  POSTHORN_TRY_MEMBER(info_hash, id_member(m.info_hash, "info_hash"));
  POSTHORN_TRY_MEMBER(peer_id, id_member(m.peer_id, "peer_id"));
  if (m.answer) {
    POSTHORN_TRY_MEMBER(to_peer_id, id_member(m.to_peer_id, "to_peer_id"));
    POSTHORN_TRY_MEMBER(offer_id, offer_id_member(m.offer_id));
    POSTHORN_TRY_MEMBER(sdp, sdp_member(m.answer, "answer"));
    return SendAnswer{std::move(info_hash), std::move(peer_id), std::move(to_peer_id),
                      std::move(offer_id), std::move(sdp)};
  }
  Announce a{.info_hash = std::move(info_hash), .peer_id = std::move(peer_id)};
  if (m.numwant)
    if (auto n = integer_member(*m.numwant, true); n && *n >= 0)
      a.numwant = static_cast<std::uint32_t>(std::min<std::int64_t>(*n, 1'000'000));
  if (m.left) a.left = integer_member(*m.left, true);
  if (m.event) a.event = json::string_of(*m.event);
  if (m.offers && *m.offers != "null") {
    if (m.offers->front() != '[') return DecodeError{"\"offers\" is not an array"};
    std::optional<DecodeError> error;
    std::size_t count = 0;
    json::for_each_element(*m.offers, [&](Span entry) {
      if (error) return;
      if (++count > kMaxOffers) {
        error = DecodeError{"more than " + std::to_string(kMaxOffers) + " offers"};
        return;
      }
      Members fields;
      std::optional<Span> offer;
      if (entry.front() != '{' || !json::for_each_member(entry, [&](std::string_view k, Span v) {
            if (k == "offer_id")
              fields.offer_id = v;
            else if (k == "offer")
              offer = v;
          })) {
        error = DecodeError{"an offer is not an object"};
        return;
      }
      auto offer_id = offer_id_member(fields.offer_id);
      if (auto* e = std::get_if<DecodeError>(&offer_id)) {
        error = *e;
        return;
      }
      auto sdp = sdp_member(offer, "offer");
      if (auto* e = std::get_if<DecodeError>(&sdp)) {
        error = *e;
        return;
      }
      a.offers.push_back(
          {std::move(std::get<std::string>(offer_id)), std::move(std::get<std::string>(sdp))});
    });
    if (error) return *error;
  }
  return a;
}

#undef POSTHORN_TRY_MEMBER

} // namespace

decoded<ClientMessage> decode_client_message(std::string_view text) {
  // One pass validates the whole text, as nlohmann's parse would, and indexes the members.
  json::Scanner s(text);
  if (!s.consume('{')) {
    if (!json::is_valid(text)) return DecodeError{"not JSON"};
    return DecodeError{"not a JSON object"};
  }
  Members m;
  if (!s.consume('}')) {
    std::string key;
    do {
      if (s.peek() != '"' || !s.read_string(key) || !s.consume(':')) return DecodeError{"not JSON"};
      s.skip_ws();
      const std::size_t start = s.pos();
      if (!s.skip_value(1)) return DecodeError{"not JSON"};
      m.take(key, text.substr(start, s.pos() - start));
    } while (s.consume(','));
    if (!s.consume('}')) return DecodeError{"not JSON"};
  }
  if (!s.at_end()) return DecodeError{"not JSON"};
  auto action = string_member(m.action, "action");
  if (auto* e = std::get_if<DecodeError>(&action)) return *e;
  const auto& kind = std::get<std::string>(action);
  if (kind == "announce") return decode_announce(m);
  if (kind == "scrape") return DecodeError{"scrape is not supported"};
  return DecodeError{"invalid action \"" + kind.substr(0, 32) + "\""};
}

} // namespace posthorn::signal::tracker
