#include "ice/mdns_message.hpp"

#include "core/assert.hpp"
#include "ice/mdns_errc.hpp"

#include <algorithm>

namespace posthorn::ice::mdns {
namespace {

constexpr std::size_t kHeaderSize = 12;
// Legitimate compression follows at least one label per pointer (a name that is only a pointer
// makes one hop), so a name of at most 127 labels needs at most 128 hops. Without this cap a
// chain of pointers, each pointing at the previous one, would cost O(message size) per name and
// O(size^2) per message.
constexpr int kMaxPointerHops = 128;

char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/// Reads a possibly compressed name starting at `pos`; advances `pos` past it (past the first
/// pointer if there is one).
result<Name> read_name(ByteView data, std::size_t& pos) {
  std::string wire;
  std::size_t p = pos;
  // A pointer must target an offset before the start of the segment it continues: the start of
  // this name, then the previous pointer's target. The limit strictly decreases at every hop,
  // so no sequence of pointers can loop.
  std::size_t limit = pos;
  bool jumped = false;
  int hops = 0;
  for (;;) {
    if (p >= data.size()) return Errc::Truncated;
    const std::uint8_t len = data[p];
    if ((len & 0xC0) == 0xC0) {
      if (p + 1 >= data.size()) return Errc::Truncated;
      const std::size_t target = (std::size_t{len & 0x3Fu} << 8) | data[p + 1];
      if (target >= limit || ++hops > kMaxPointerHops) return Errc::BadPointer;
      if (!jumped) pos = p + 2;
      jumped = true;
      limit = target;
      p = target;
      continue;
    }
    // 0x40 (extended label, RFC 6891 §5) and 0x80 are not used by anyone we talk to.
    if ((len & 0xC0) != 0) return Errc::BadLabel;
    if (len == 0) {
      wire.push_back('\0');
      if (!jumped) pos = p + 1;
      break;
    }
    if (data.size() - p - 1 < len) return Errc::Truncated;
    if (wire.size() + 1 + len + 1 > kMaxNameLength) return Errc::NameTooLong;
    wire.append(reinterpret_cast<const char*>(data.data() + p), 1u + len);
    p += 1u + len;
  }
  return Name::from_wire(std::move(wire));
}

result<Record> read_record(ByteView data, std::size_t& pos) {
  auto name = read_name(data, pos);
  if (!name) return name.error();
  ByteReader r(data.subspan(pos));
  const auto type = r.u16();
  const auto cls = r.u16();
  const auto ttl = r.u32();
  const auto rdlength = r.u16();
  if (!r.ok()) return Errc::Truncated;
  const auto rdata = r.bytes(*rdlength);
  if (!rdata) return Errc::Truncated;
  pos += r.position();
  Record rec;
  rec.name = std::move(*name);
  rec.type = *type;
  rec.cls = *cls & 0x7fff;
  rec.cache_flush = (*cls & 0x8000) != 0;
  rec.ttl = *ttl;
  rec.rdata.assign(rdata->begin(), rdata->end());
  return rec;
}

void write_record(ByteWriter& w, const Record& rec) {
  w.bytes(as_bytes(rec.name.wire()));
  w.u16(rec.type);
  w.u16(static_cast<std::uint16_t>(rec.cls | (rec.cache_flush ? 0x8000 : 0)));
  w.u32(rec.ttl);
  POSTHORN_ASSERT(rec.rdata.size() <= 0xffff, "record data longer than RDLENGTH can say");
  w.u16(static_cast<std::uint16_t>(rec.rdata.size()));
  w.bytes(rec.rdata);
}

} // namespace

IpAddress multicast_group_v4() noexcept {
  return IpAddress::v4(std::array<std::uint8_t, 4>{224, 0, 0, 251});
}

IpAddress multicast_group_v6() noexcept {
  return IpAddress::v6(
      std::array<std::uint8_t, 16>{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfb});
}

// --- Name ---

Name::Name() : wire_(1, '\0') {}

result<Name> Name::from_wire(std::string wire) {
  if (wire.size() > kMaxNameLength) return Errc::NameTooLong;
  std::size_t p = 0;
  for (;;) {
    if (p >= wire.size()) return Errc::InvalidName; // no root label
    const auto len = static_cast<std::uint8_t>(wire[p]);
    if (len > kMaxLabelLength) return Errc::InvalidName;
    if (len == 0) break;
    p += 1u + len;
  }
  if (p + 1 != wire.size()) return Errc::InvalidName; // bytes after the root label
  return Name(std::move(wire));
}

result<Name> Name::parse(std::string_view text) {
  if (text.empty()) return Errc::InvalidName;
  if (text == ".") return Name();
  std::string wire;
  std::string label;
  auto end_label = [&]() -> bool {
    if (label.empty() || label.size() > kMaxLabelLength) return false;
    wire.push_back(static_cast<char>(label.size()));
    wire += label;
    label.clear();
    return true;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.') {
      if (!end_label()) return Errc::InvalidName;
      if (i + 1 == text.size()) break; // absolute form "a.local."
      continue;
    }
    if (c != '\\') {
      label.push_back(c);
      continue;
    }
    if (++i == text.size()) return Errc::InvalidName;
    if (text[i] >= '0' && text[i] <= '9') {
      // \DDD: exactly three decimal digits, at most 255.
      if (i + 2 >= text.size()) return Errc::InvalidName;
      int v = 0;
      for (std::size_t k = i; k < i + 3; ++k) {
        if (text[k] < '0' || text[k] > '9') return Errc::InvalidName;
        v = v * 10 + (text[k] - '0');
      }
      if (v > 255) return Errc::InvalidName;
      label.push_back(static_cast<char>(v));
      i += 2;
    } else {
      label.push_back(text[i]);
    }
  }
  if (!label.empty() && !end_label()) return Errc::InvalidName;
  wire.push_back('\0');
  if (wire.size() > kMaxNameLength) return Errc::InvalidName;
  return Name(std::move(wire));
}

std::string Name::to_string() const {
  if (wire_.size() == 1) return ".";
  std::string out;
  std::size_t p = 0;
  while (wire_[p] != 0) {
    const auto len = static_cast<std::uint8_t>(wire_[p]);
    if (!out.empty()) out.push_back('.');
    for (std::size_t i = p + 1; i <= p + len; ++i) {
      const auto c = static_cast<std::uint8_t>(wire_[i]);
      if (c == '.' || c == '\\') {
        out.push_back('\\');
        out.push_back(static_cast<char>(c));
      } else if (c < 0x21 || c > 0x7e) {
        out.push_back('\\');
        out.push_back(static_cast<char>('0' + c / 100));
        out.push_back(static_cast<char>('0' + c / 10 % 10));
        out.push_back(static_cast<char>('0' + c % 10));
      } else {
        out.push_back(static_cast<char>(c));
      }
    }
    p += 1u + len;
  }
  return out;
}

std::string Name::key() const {
  std::string k = wire_;
  // Length octets are at most 63, below 'A', so lowercasing never changes them.
  std::transform(k.begin(), k.end(), k.begin(), ascii_lower);
  return k;
}

bool Name::is_local() const noexcept {
  // The last label sits just before the root: "\x05local\x00".
  constexpr std::string_view kLocal{"\x05local", 6};
  std::size_t p = 0;
  std::size_t last = std::string::npos;
  while (wire_[p] != 0) {
    last = p;
    p += 1u + static_cast<std::uint8_t>(wire_[p]);
  }
  if (last == std::string::npos || p - last != kLocal.size()) return false;
  for (std::size_t i = 0; i < kLocal.size(); ++i)
    if (ascii_lower(wire_[last + i]) != kLocal[i]) return false;
  return true;
}

bool operator==(const Name& a, const Name& b) noexcept {
  return a.wire_.size() == b.wire_.size() &&
         std::equal(a.wire_.begin(), a.wire_.end(), b.wire_.begin(),
                    [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

// --- Record ---

std::optional<IpAddress> Record::address() const {
  if (cls != kClassIn) return std::nullopt;
  if (type == rr_type::kA && rdata.size() == 4) {
    std::array<std::uint8_t, 4> b;
    std::copy(rdata.begin(), rdata.end(), b.begin());
    return IpAddress::v4(b);
  }
  if (type == rr_type::kAaaa && rdata.size() == 16) {
    std::array<std::uint8_t, 16> b;
    std::copy(rdata.begin(), rdata.end(), b.begin());
    return IpAddress::v6(b);
  }
  return std::nullopt;
}

Record Record::address_record(Name name, const IpAddress& address, std::uint32_t ttl,
                              bool cache_flush) {
  Record rec;
  rec.name = std::move(name);
  rec.type = address.is_v4() ? rr_type::kA : rr_type::kAaaa;
  rec.cls = kClassIn;
  rec.cache_flush = cache_flush;
  rec.ttl = ttl;
  rec.rdata.assign(address.bytes().begin(), address.bytes().end());
  return rec;
}

// --- Message ---

result<Message> Message::decode(ByteView data) {
  ByteReader header(data);
  Message m;
  const auto id = header.u16();
  const auto flags = header.u16();
  const auto qdcount = header.u16();
  const auto ancount = header.u16();
  const auto nscount = header.u16();
  const auto arcount = header.u16();
  if (!header.ok()) return Errc::Truncated;
  m.id = *id;
  m.flags = *flags;
  // No reserve() from the counts: they are remote input; every entry consumes input bytes, so
  // the vectors can only grow as far as the message is long.
  std::size_t pos = kHeaderSize;
  for (unsigned i = 0; i < *qdcount; ++i) {
    auto name = read_name(data, pos);
    if (!name) return name.error();
    ByteReader r(data.subspan(pos));
    const auto type = r.u16();
    const auto cls = r.u16();
    if (!r.ok()) return Errc::Truncated;
    pos += 4;
    m.questions.push_back(Question{
        std::move(*name), *type, static_cast<std::uint16_t>(*cls & 0x7fff), (*cls & 0x8000) != 0});
  }
  const std::pair<std::uint16_t, std::vector<Record>*> sections[] = {
      {*ancount, &m.answers}, {*nscount, &m.authorities}, {*arcount, &m.additionals}};
  for (const auto& [count, out] : sections) {
    for (unsigned i = 0; i < count; ++i) {
      auto rec = read_record(data, pos);
      if (!rec) return rec.error();
      out->push_back(std::move(*rec));
    }
  }
  return m;
}

Bytes Message::encode() const {
  ByteWriter w;
  w.u16(id);
  w.u16(flags);
  for (std::size_t n : {questions.size(), answers.size(), authorities.size(), additionals.size()}) {
    POSTHORN_ASSERT(n <= 0xffff, "more entries than a DNS header can count");
    w.u16(static_cast<std::uint16_t>(n));
  }
  for (const auto& q : questions) {
    w.bytes(as_bytes(q.name.wire()));
    w.u16(q.type);
    w.u16(static_cast<std::uint16_t>(q.cls | (q.unicast_response ? 0x8000 : 0)));
  }
  for (const auto* section : {&answers, &authorities, &additionals})
    for (const auto& rec : *section)
      write_record(w, rec);
  return std::move(w).take();
}

Bytes make_query(const Name& name, std::uint16_t type, bool unicast_response) {
  Message m; // RFC 6762 §18.1: the query ID SHOULD be zero in multicast queries; no flags.
  m.questions.push_back(Question{name, type, kClassIn, unicast_response});
  return m.encode();
}

} // namespace posthorn::ice::mdns
