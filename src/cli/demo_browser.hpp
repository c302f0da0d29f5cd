#pragma once
// `posthorn demo --browser`: the pieces of its fourth peer, dave — the demo page (web/dist,
// served by the demo's embedded relay through `--web`) in headless Chromium, driven by
// web/browser-peer.mjs, which speaks `posthorn peer`'s JSON-lines contract (docs/cli-peer.md).

#include <string>
#include <vector>

namespace posthorn::cli {

struct BrowserPeer {
  std::string web_root;          ///< web/dist: what the embedded relay serves
  std::vector<std::string> argv; ///< node …/browser-peer.mjs --chromium …; room flags follow
};

/// The default web directory: web/ of the source tree posthorn was built from.
[[nodiscard]] std::string default_web_dir();

/// Finds node, Chromium (`chromium`, default /usr/bin/chromium or $POSTHORN_CHROMIUM), the built
/// page (`web_dir`/dist) and the driver with its npm packages. Throws std::runtime_error saying
/// what is missing and how to set it up (scripts/setup.sh).
[[nodiscard]] BrowserPeer find_browser_peer(const std::string& web_dir, std::string chromium);

} // namespace posthorn::cli
