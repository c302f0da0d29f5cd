#!/usr/bin/env bash
# Installs the npm packages of the interop harness (tests/interop/js) and bundles its browser
# page. Idempotent: `npm ci` runs only when node_modules is missing or package-lock.json changed.
#   scripts/setup-node.sh           install if needed, verify, bundle
#   scripts/setup-node.sh --force   reinstall
# Needs node >= 20 and npm (Debian: nodejs npm); Chromium for the browser runtime (chromium).
set -euo pipefail

js_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/interop/js"
cd "$js_dir"

for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "setup-node: $tool is missing (apt-get install nodejs npm)" >&2; exit 1; }
done
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if ((node_major < 20)); then
  echo "setup-node: node $(node --version) is too old; the harness needs node >= 20" >&2
  exit 1
fi

stamp=node_modules/.posthorn-setup-stamp
want="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"
if [[ "${1:-}" == "--force" || ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "setup-node: npm ci in $js_dir"
  # --ignore-scripts: nothing here may download binaries at install time. The native pieces
  # (node-datachannel, @roamhq/wrtc, esbuild) come as prebuilt npm platform packages
  # (optionalDependencies), which need no install script.
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
else
  echo "setup-node: node_modules up to date"
fi

# The native addons must load (they are what --ignore-scripts could have broken).
node --input-type=module -e '
  const { RTCPeerConnection } = await import("node-datachannel/polyfill");
  const pc = new RTCPeerConnection({ iceServers: [] });
  pc.createDataChannel("probe");
  pc.close();
  const { version } = await import("esbuild");
  await import("playwright-core");
  await import("@trystero-p2p/mqtt");
  const wrtc = (await import("@roamhq/wrtc")).default;
  new wrtc.RTCPeerConnection().close();
  await import("werift");
  console.log(`setup-node: trystero, node-datachannel, @roamhq/wrtc, werift, esbuild ${version}, playwright-core load`);
  setTimeout(() => process.exit(0), 0);
'

node build.mjs

if [[ ! -x /usr/bin/chromium ]]; then
  echo "setup-node: note: /usr/bin/chromium is missing (apt-get install chromium); the Chromium runtime will not start" >&2
fi
