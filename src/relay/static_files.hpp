#pragma once
// The static files of `posthorn relay --web DIR` (the browser demo page, web/dist): maps an HTTP
// request's method and target to a response built from the files strictly inside DIR. No
// sockets and no Beast: ws_server.cpp reads the request and writes what respond() returns.
//
// A target names a file inside DIR or nothing: it is percent-decoded once, then refused when it
// holds a NUL, another control byte or a backslash (400), or a segment starting with '.' — "..",
// "." and hidden files alike, however they were encoded (404). The file is resolved through its
// symlinks and must still lie inside DIR's own canonical path, and be a regular file no larger
// than max_file_bytes (404 otherwise). "/" and any "dir/" mean their index.html; a directory
// named without its slash is redirected to it (301). Methods other than GET and HEAD get 405.
//
// Files are read whole on the caller's thread: they are the few small files of a page (the
// bundle is ~100 KiB), read from the page cache; the cap bounds the cost of a large one.
// Thread safety: const after construction; respond() may run on any thread.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace posthorn::relay {

struct StaticFilesLimits {
  std::uint64_t max_file_bytes = 16u << 20; ///< larger files are not served (404)
  std::size_t max_target_bytes = 2048;      ///< longer request targets are refused (414)
};

struct StaticResponse {
  unsigned status = 200;            ///< 200, 301, 400, 404, 405 or 414
  std::string content_type;         ///< of the body (text/plain for errors)
  std::string body;                 ///< empty for HEAD
  std::uint64_t content_length = 0; ///< of the body GET would get (HEAD's Content-Length)
  std::string location;             ///< 301 only: the target with its trailing slash
};

class StaticFiles {
public:
  /// Throws std::invalid_argument when `root` is not an existing directory.
  explicit StaticFiles(const std::filesystem::path& root, StaticFilesLimits limits = {});

  /// The response to `method` `target` (the request line's target, e.g. "/app.js?v=1").
  [[nodiscard]] StaticResponse respond(std::string_view method, std::string_view target) const;

  /// The canonical path of the served directory.
  [[nodiscard]] const std::filesystem::path& root() const noexcept { return root_; }

private:
  std::filesystem::path root_;
  StaticFilesLimits limits_;
};

/// The Content-Type of a file by its extension: html, js/mjs, css, json, map, svg, png, ico, txt,
/// wasm; application/octet-stream for the rest.
[[nodiscard]] std::string_view content_type_for(const std::filesystem::path& file);

} // namespace posthorn::relay
