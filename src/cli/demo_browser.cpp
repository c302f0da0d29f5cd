#include "cli/demo_browser.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#ifndef POSTHORN_SOURCE_DIR
#define POSTHORN_SOURCE_DIR "."
#endif

namespace posthorn::cli {

namespace fs = std::filesystem;

namespace {

std::string on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const auto candidate = fs::path(dir.empty() ? "." : dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return {};
}

[[noreturn]] void missing(const std::string& what) {
  throw std::runtime_error("--browser: " + what +
                           ". Set it up with scripts/setup.sh (Chromium, node, and in web/: npm ci "
                           "and node build.mjs)");
}

} // namespace

std::string default_web_dir() {
  return std::string(POSTHORN_SOURCE_DIR) + "/web";
}

BrowserPeer find_browser_peer(const std::string& web_dir, std::string chromium) {
  if (chromium.empty()) {
    const char* env = std::getenv("POSTHORN_CHROMIUM");
    chromium = env && *env ? env : "/usr/bin/chromium";
  }
  if (::access(chromium.c_str(), X_OK) != 0) missing("Chromium is not installed at " + chromium);
  const std::string node = on_path("node");
  if (node.empty()) missing("node is not on PATH");
  const fs::path web(web_dir);
  for (const char* built : {"index.html", "app.js"})
    if (!fs::is_regular_file(web / "dist" / built))
      missing("the demo page is not built (" + (web / "dist" / built).string() + " is missing)");
  const auto script = web / "browser-peer.mjs";
  if (!fs::is_regular_file(script)) missing(script.string() + " is missing");
  if (!fs::is_directory(web / "node_modules" / "playwright-core"))
    missing("the page's npm packages are not installed in " + web.string());
  return {(web / "dist").string(), {node, script.string(), "--chromium", chromium}};
}

} // namespace posthorn::cli
