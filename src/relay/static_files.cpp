#include "relay/static_files.hpp"

#include "core/log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <optional>
#include <stdexcept>
#include <vector>

namespace posthorn::relay {

namespace fs = std::filesystem;

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// RFC 3986 §2.1 percent-decoding, once; nullopt for a '%' not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return std::nullopt;
    const int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

/// RFC 3986 §2.3: everything but unreserved characters is percent-encoded.
std::string percent_encode(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

bool is_within(const fs::path& root, const fs::path& p) {
  auto [r, q] = std::mismatch(root.begin(), root.end(), p.begin(), p.end());
  return r == root.end();
}

StaticResponse error(unsigned status, std::string_view method, std::string text) {
  StaticResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.content_length = text.size();
  if (method != "HEAD") r.body = std::move(text);
  return r;
}

/// The whole regular file at `path` (opened without following a final symlink, so a link put
/// there after the path was resolved is refused), or nullopt. `too_large` tells why.
std::optional<std::string> read_regular_file(const fs::path& path, std::uint64_t max_bytes,
                                             bool& too_large) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    too_large = true;
    return std::nullopt;
  }
  std::string data(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < data.size()) {
    const auto n = ::read(fd, data.data() + got, data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) break; // the file shrank while we read it: serve what is there
    got += static_cast<std::size_t>(n);
  }
  data.resize(got);
  return data;
}

} // namespace

std::string_view content_type_for(const fs::path& file) {
  struct Type {
    std::string_view ext, type;
  };
  static constexpr Type kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".htm", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},
      {".wasm", "application/wasm"},
  };
  std::string ext = file.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const auto& t : kTypes)
    if (t.ext == ext) return t.type;
  return "application/octet-stream";
}

StaticFiles::StaticFiles(const fs::path& root, StaticFilesLimits limits) : limits_(limits) {
  std::error_code ec;
  root_ = fs::canonical(root, ec);
  if (ec || !fs::is_directory(root_, ec))
    throw std::invalid_argument("web root " + root.string() + " is not a directory");
}

StaticResponse StaticFiles::respond(std::string_view method, std::string_view target) const {
  if (method != "GET" && method != "HEAD") return error(405, method, "405 method not allowed\n");
  if (target.size() > limits_.max_target_bytes) return error(414, method, "414 URI too long\n");
  const auto path = target.substr(0, target.find_first_of("?#"));
  // Origin-form only (RFC 9112 §3.2.1): absolute-form and the like are not file names.
  if (path.empty() || path.front() != '/') return error(400, method, "400 bad request target\n");
  const auto decoded = percent_decode(path);
  if (!decoded) return error(400, method, "400 bad percent-encoding\n");
  if (std::any_of(decoded->begin(), decoded->end(),
                  [](unsigned char c) { return c < 0x20 || c == 0x7f || c == '\\'; }))
    return error(400, method, "400 bad character in path\n");

  // Segments, with empty ones ("//") dropped; a segment starting with '.' is never served: that
  // refuses "." and ".." (also when they were percent-encoded, since this is after decoding) and
  // hidden files such as .git.
  std::vector<std::string_view> segments;
  const std::string_view d = *decoded;
  for (std::size_t start = 0; start <= d.size();) {
    const auto end = std::min(d.find('/', start), d.size());
    const auto segment = d.substr(start, end - start);
    if (!segment.empty()) {
      if (segment.front() == '.') {
        POSTHORN_LOG(Debug, "relay", "web: refused a dot segment");
        return error(404, method, "404 not found\n");
      }
      segments.push_back(segment);
    }
    start = end + 1;
  }
  fs::path candidate = root_;
  for (auto s : segments)
    candidate /= fs::path(std::string(s));
  if (d.back() == '/') candidate /= "index.html";

  std::error_code ec;
  const auto file = fs::canonical(candidate, ec); // resolves every symlink on the way
  if (ec) return error(404, method, "404 not found\n");
  if (!is_within(root_, file)) {
    POSTHORN_LOG(Debug, "relay", "web: refused a path that leaves the web root");
    return error(404, method, "404 not found\n");
  }
  if (fs::is_directory(file, ec)) {
    StaticResponse r = error(301, method, "301 moved permanently\n");
    // Built from the decoded segments, never echoed: "//host" cannot become a redirect off-site.
    for (auto s : segments)
      r.location += "/" + percent_encode(s);
    r.location += "/";
    return r;
  }
  bool too_large = false;
  auto data = read_regular_file(file, limits_.max_file_bytes, too_large);
  if (!data) {
    if (too_large) POSTHORN_LOG(Info, "relay", "web: ", file.string(), " is over the size cap");
    return error(404, method, "404 not found\n");
  }
  StaticResponse r;
  r.content_type = std::string(content_type_for(file));
  r.content_length = data->size();
  if (method != "HEAD") r.body = std::move(*data);
  return r;
}

} // namespace posthorn::relay
