#pragma once
// Request/response envelopes (spec/trystero-wire.md §11): the metadata JSON that turns a plain
// action message into a request and `@_response` into its answer.
//
//   request metadata:  {"r":REQ_ID}            or {"r":REQ_ID,"m":USER_METADATA}
//   response metadata: {"r":REQ_ID}            or {"r":REQ_ID,"e":"error message"}
//
// JSON texts go in and out as std::string. User metadata is carried as raw JSON text in both
// directions (never re-serialized), so what the caller wrote is what the peer parses.

#include <optional>
#include <string>
#include <string_view>

namespace posthorn::room {

struct RequestEnvelope {
  std::string id;                           ///< REQ_ID (JS: genId(20))
  std::optional<std::string> user_metadata; ///< JSON text of "m", if the request had metadata
};

struct ResponseEnvelope {
  std::string id;
  std::optional<std::string> error; ///< "e": the handler's error message (payload is JSON null)
};

/// {"r":id} or {"r":id,"m":<user_metadata_json>}. `user_metadata_json` must be valid JSON text
/// (it is embedded as is).
std::string make_request_metadata(std::string_view id,
                                  const std::optional<std::string>& user_metadata_json);

/// The envelope of a request-kind action's metadata. nullopt (JS drops the message) unless the
/// metadata is a JSON object with a string "r". "m" is kept if present, whatever its value
/// (JSON `null` included), like JS's Object.hasOwn(metadata, "m").
std::optional<RequestEnvelope> parse_request_metadata(std::string_view metadata_json);

/// {"r":id} for a success, {"r":id,"e":error} for a failure.
std::string make_response_metadata(std::string_view id, const std::optional<std::string>& error);

/// nullopt unless a JSON object with a string "r". "e" counts only if it is a string (JS:
/// `typeof metadata.e === "string"`); otherwise the response is a success.
std::optional<ResponseEnvelope> parse_response_metadata(std::string_view metadata_json);

} // namespace posthorn::room
