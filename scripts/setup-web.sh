#!/usr/bin/env bash
# Installs the browser demo page's npm packages (web/: Trystero, esbuild, playwright-core) and
# builds the page into web/dist (served by `posthorn relay --web web/dist`; `posthorn demo
# --browser` opens it in headless Chromium). Idempotent: `npm ci` runs only when node_modules is
# missing or package.json/package-lock.json changed; the page is always rebuilt (~1 s).
#   scripts/setup-web.sh           install if needed, build
#   scripts/setup-web.sh --force   reinstall
# Needs node >= 20 and npm (Debian: nodejs npm); Chromium only for `posthorn demo --browser`.
set -euo pipefail

web_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/web"
cd "$web_dir"

for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "setup-web: $tool is missing (apt-get install nodejs npm)" >&2; exit 1; }
done

stamp=node_modules/.posthorn-setup-stamp
want="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"
if [[ "${1:-}" == "--force" || ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "setup-web: npm ci in $web_dir"
  # --ignore-scripts: nothing may download at install time (playwright-core would not anyway:
  # it drives the system's /usr/bin/chromium). esbuild's binary is its npm platform package.
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
else
  echo "setup-web: node_modules up to date"
fi

node build.mjs
