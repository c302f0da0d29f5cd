#include "signal/nostr_event.hpp"

#include "core/bytes.hpp"
#include "core/crypto.hpp"
#include "signal/trystero_ids.hpp"

#include <nlohmann/json.hpp>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include <algorithm>
#include <stdexcept>

namespace posthorn::signal::nostr {
namespace {

using Json = nlohmann::json;

/// One context for the process: created once, then only read (libsecp256k1 allows concurrent
/// use of a context for signing and verifying). Randomized against side channels.
const secp256k1_context* context() {
  static const secp256k1_context* ctx = [] {
    secp256k1_context* c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    CryptoRng rng;
    std::array<std::uint8_t, 32> seed{};
    rng.fill(seed);
    if (!secp256k1_context_randomize(c, seed.data()))
      throw std::runtime_error("secp256k1: cannot randomize the context");
    return c;
  }();
  return ctx;
}

std::string dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

} // namespace

std::optional<KeyPair> KeyPair::from_secret(const SecretKey& secret) {
  secp256k1_keypair keypair;
  if (!secp256k1_keypair_create(context(), &keypair, secret.data())) return std::nullopt;
  secp256k1_xonly_pubkey xonly;
  std::array<std::uint8_t, 32> pub{};
  if (!secp256k1_keypair_xonly_pub(context(), &xonly, nullptr, &keypair) ||
      !secp256k1_xonly_pubkey_serialize(context(), pub.data(), &xonly))
    return std::nullopt;
  return KeyPair(secret, to_hex(pub));
}

KeyPair KeyPair::generate(Rng& rng) {
  for (;;) { // a random 256-bit number is a valid key with probability 1 - 2^-128
    SecretKey secret{};
    rng.fill(secret);
    if (auto keys = from_secret(secret)) return *keys;
  }
}

Signature KeyPair::sign(const Digest& message, const Digest& aux) const {
  secp256k1_keypair keypair;
  Signature sig{};
  if (!secp256k1_keypair_create(context(), &keypair, secret_.data()) ||
      !secp256k1_schnorrsig_sign32(context(), sig.data(), message.data(), &keypair, aux.data()))
    throw std::runtime_error("secp256k1: signing failed"); // a valid key pair always signs
  return sig;
}

std::string serialize_for_id(const Event& event) {
  return dump(
      Json::array({0, event.pubkey, event.created_at, event.kind, event.tags, event.content}));
}

std::string compute_id(const Event& event) {
  return to_hex(crypto::sha256(as_bytes(serialize_for_id(event))));
}

Event make_topic_event(const KeyPair& keys, std::string_view topic, std::string content,
                       std::int64_t created_at, const Digest& aux) {
  Event e;
  e.pubkey = keys.pubkey_hex();
  e.created_at = created_at;
  e.kind = nostr_kind(topic);
  e.tags = {{"x", std::string(topic)}};
  e.content = std::move(content);
  const auto digest = crypto::sha256(as_bytes(serialize_for_id(e)));
  e.id = to_hex(digest);
  e.sig = to_hex(keys.sign(digest, aux));
  return e;
}

bool verify(const Event& event) {
  if (event.id.size() != 64 || event.pubkey.size() != 64 || event.sig.size() != 128) return false;
  const auto id = from_hex(event.id);
  const auto pub = from_hex(event.pubkey);
  const auto sig = from_hex(event.sig);
  if (!id || !pub || !sig) return false;
  const auto digest = crypto::sha256(as_bytes(serialize_for_id(event)));
  if (!std::equal(digest.begin(), digest.end(), id->begin(), id->end())) return false;
  secp256k1_xonly_pubkey xonly;
  if (!secp256k1_xonly_pubkey_parse(context(), &xonly, pub->data())) return false;
  return secp256k1_schnorrsig_verify(context(), sig->data(), digest.data(), digest.size(),
                                     &xonly) == 1;
}

std::string to_json(const Event& event) {
  // Trystero's order: kind, tags, created_at, content, pubkey, id, sig (§5.1).
  nlohmann::ordered_json o;
  o["kind"] = event.kind;
  o["tags"] = event.tags;
  o["created_at"] = event.created_at;
  o["content"] = event.content;
  o["pubkey"] = event.pubkey;
  o["id"] = event.id;
  o["sig"] = event.sig;
  return o.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::optional<Event> event_from_json(std::string_view text) {
  Json j = Json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  auto str = [&](const char* key) -> const std::string* {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
  };
  const auto* id = str("id");
  const auto* pubkey = str("pubkey");
  const auto* content = str("content");
  const auto* sig = str("sig");
  auto created = j.find("created_at");
  auto kind = j.find("kind");
  auto tags = j.find("tags");
  if (!id || !pubkey || !content || !sig || created == j.end() || !created->is_number_integer() ||
      kind == j.end() || !kind->is_number_unsigned() || tags == j.end() || !tags->is_array())
    return std::nullopt;
  if (kind->get<std::uint64_t>() > 0xFFFFFFFFu) return std::nullopt;
  Event e{*id,      *pubkey, created->get<std::int64_t>(), kind->get<std::uint32_t>(), {},
          *content, *sig};
  for (const auto& tag : *tags) {
    if (!tag.is_array()) return std::nullopt;
    std::vector<std::string> values;
    for (const auto& v : tag) {
      if (!v.is_string()) return std::nullopt;
      values.push_back(v.get<std::string>());
    }
    e.tags.push_back(std::move(values));
  }
  return e;
}

std::optional<std::string> first_tag(const Event& event, std::string_view name) {
  for (const auto& tag : event.tags)
    if (tag.size() >= 2 && tag[0] == name) return tag[1];
  return std::nullopt;
}

} // namespace posthorn::signal::nostr
