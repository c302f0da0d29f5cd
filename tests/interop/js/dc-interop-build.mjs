// Bundles the Chromium page of dc-interop-peer.mjs (dc-interop-page.mjs + dc-interop-core.mjs)
// into dist/dc-interop-page.js. Rebuilt when a source is newer than the bundle; safe to run
// concurrently (written to a temporary file and renamed into place).
import { build } from 'esbuild';
import { mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const bundlePath = join(here, 'dist', 'dc-interop-page.js');
const sources = ['dc-interop-page.mjs', 'dc-interop-core.mjs', 'dc-interop-build.mjs', 'package-lock.json'].map((f) =>
  join(here, f),
);

const mtime = (p) => {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return -1;
  }
};

export const bundleIsFresh = () => {
  const t = mtime(bundlePath);
  return t >= 0 && sources.every((s) => mtime(s) <= t);
};

export const buildBundle = async () => {
  const result = await build({
    entryPoints: [join(here, 'dc-interop-page.mjs')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome110',
    write: false,
    logLevel: 'warning',
    legalComments: 'none',
  });
  mkdirSync(dirname(bundlePath), { recursive: true });
  const tmp = `${bundlePath}.${process.pid}.tmp`;
  writeFileSync(tmp, result.outputFiles[0].contents);
  renameSync(tmp, bundlePath);
  return bundlePath;
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const p = await buildBundle();
  console.log(`bundled ${p} (${statSync(p).size} bytes)`);
}
