// Bundles a Chromium page script with esbuild into dist/. `pageBundle` serves every page of the
// harness; the exports below are the Trystero page (browser-entry.mjs + peer-core.mjs + Trystero
// with its mqtt, nostr and torrent strategies → dist/browser-peer.js), which `node build.mjs`
// builds. Safe to run concurrently: a bundle is written to a temporary file and renamed into
// place.
import { build } from 'esbuild';
import { mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

const mtime = (p) => {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return -1;
  }
};

// entry: the page's module; out: the bundle's name in dist/; sources: the files whose change
// makes the bundle stale (besides this script and the lock file).
export const pageBundle = ({ entry, out, sources }) => {
  const bundlePath = join(here, 'dist', out);
  const inputs = [entry, ...sources, 'build.mjs', 'package-lock.json'].map((f) => join(here, f));
  const bundleIsFresh = () => {
    const t = mtime(bundlePath);
    return t >= 0 && inputs.every((s) => mtime(s) <= t);
  };
  const buildBundle = async () => {
    const result = await build({
      entryPoints: [join(here, entry)],
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
  return { bundlePath, bundleIsFresh, buildBundle };
};

export const { bundlePath, bundleIsFresh, buildBundle } = pageBundle({
  entry: 'browser-entry.mjs',
  out: 'browser-peer.js',
  sources: ['peer-core.mjs'],
});

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const p = await buildBundle();
  console.log(`bundled ${p} (${statSync(p).size} bytes)`);
}
