// Builds the browser demo page into dist/: app.js (src/app.mjs and the Trystero packages bundled
// by esbuild), index.html and style.css. `posthorn relay --web web/dist` serves it. Each file is
// written to a temporary name and renamed into place, so a relay serving dist/ meanwhile never
// sends half a file.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');

const place = (name, write) => {
  const target = join(dist, name);
  const tmp = `${target}.${process.pid}.tmp`;
  write(tmp);
  renameSync(tmp, target);
  return `${name} (${statSync(target).size} bytes)`;
};

const result = await build({
  entryPoints: [join(here, 'src', 'app.mjs')],
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'chrome110',
  write: false,
  logLevel: 'warning',
  legalComments: 'none',
});
mkdirSync(dist, { recursive: true });
const built = [
  place('app.js', (tmp) => writeFileSync(tmp, result.outputFiles[0].contents)),
  ...['index.html', 'style.css'].map((f) => place(f, (tmp) => copyFileSync(join(here, 'src', f), tmp))),
];
console.log(`web: built ${dist}: ${built.join(', ')}`);
