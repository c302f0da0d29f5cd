// The session description model: lookups and the small helpers an offer/answer builder needs.
// Parsing is in sdp_parse.cpp, writing in sdp_write.cpp.
#include "rtc/sdp.hpp"

#include <algorithm>
#include <utility>

namespace posthorn::rtc {

std::string_view to_string(SetupRole role) noexcept {
  switch (role) {
  case SetupRole::ActPass: return "actpass";
  case SetupRole::Active: return "active";
  case SetupRole::Passive: return "passive";
  case SetupRole::HoldConn: return "holdconn";
  }
  return "actpass";
}

std::optional<SetupRole> parse_setup_role(std::string_view text) noexcept {
  if (text == "actpass") return SetupRole::ActPass;
  if (text == "active") return SetupRole::Active;
  if (text == "passive") return SetupRole::Passive;
  if (text == "holdconn") return SetupRole::HoldConn;
  return std::nullopt;
}

bool MediaSection::is_data_channel() const noexcept {
  // RFC 8841 §4: UDP/DTLS/SCTP and TCP/DTLS/SCTP; "DTLS/SCTP" is the pre-RFC form that old
  // Chrome, Firefox and Pion v2 wrote (with a=sctpmap).
  return kind == "application" &&
         (protocol == "UDP/DTLS/SCTP" || protocol == "TCP/DTLS/SCTP" || protocol == "DTLS/SCTP");
}

std::uint16_t MediaSection::sctp_port_or_default() const noexcept {
  return sctp_port.value_or(kDefaultSctpPort);
}

std::size_t MediaSection::max_message_size_or_default() const noexcept {
  return max_message_size.value_or(kDefaultMaxMessageSize);
}

namespace {

/// Media level, then the BUNDLE tag's media level, then session level.
template <class Field>
const Field& effective(const SessionDescription& d, const MediaSection& m,
                       Field MediaSection::*media_field, const Field& session_value) {
  auto present = [](const Field& f) {
    if constexpr (requires { f.has_value(); }) {
      return f.has_value();
    } else {
      return !f.empty();
    }
  };
  if (present(m.*media_field)) return m.*media_field;
  if (const MediaSection* tag = d.bundle_tag_of(m); tag && present(tag->*media_field)) {
    return tag->*media_field;
  }
  return session_value;
}

} // namespace

std::optional<std::string> SessionDescription::effective_ufrag(const MediaSection& m) const {
  return effective(*this, m, &MediaSection::ice_ufrag, ice_ufrag);
}

std::optional<std::string> SessionDescription::effective_pwd(const MediaSection& m) const {
  return effective(*this, m, &MediaSection::ice_pwd, ice_pwd);
}

std::optional<Fingerprint> SessionDescription::effective_fingerprint(const MediaSection& m) const {
  return effective(*this, m, &MediaSection::fingerprint, fingerprint);
}

std::optional<SetupRole> SessionDescription::effective_setup(const MediaSection& m) const {
  return effective(*this, m, &MediaSection::setup, setup);
}

const std::vector<std::string>&
SessionDescription::effective_ice_options(const MediaSection& m) const {
  return effective(*this, m, &MediaSection::ice_options, ice_options);
}

const MediaSection* SessionDescription::find_media(std::string_view mid) const {
  if (mid.empty()) return nullptr;
  auto it = std::find_if(media.begin(), media.end(), [&](const auto& m) { return m.mid == mid; });
  return it == media.end() ? nullptr : &*it;
}

MediaSection* SessionDescription::find_media(std::string_view mid) {
  return const_cast<MediaSection*>(std::as_const(*this).find_media(mid));
}

const std::vector<std::string>* SessionDescription::bundle_group_of(std::string_view mid) const {
  for (const auto& group : bundle_groups) {
    if (std::find(group.begin(), group.end(), mid) != group.end()) return &group;
  }
  return nullptr;
}

const MediaSection* SessionDescription::bundle_tag_of(const MediaSection& m) const {
  if (m.mid.empty()) return nullptr;
  const auto* group = bundle_group_of(m.mid);
  if (!group || group->empty()) return nullptr;
  return find_media(group->front());
}

MediaSection make_rejected_section(const MediaSection& offered) {
  MediaSection m;
  m.kind = offered.kind;
  m.port = 0;
  m.protocol = offered.protocol;
  // RFC 3264 §6: a rejected stream still lists at least one format; "any media formats listed
  // are ignored", so the first offered one keeps every parser (werift requires one) happy.
  // An offer without formats breaks RFC 8866 already; answer "0" as Pion does.
  m.formats.push_back(offered.formats.empty() ? std::string("0") : offered.formats.front());
  m.mid = offered.mid;
  m.direction = "inactive";
  return m;
}

} // namespace posthorn::rtc
