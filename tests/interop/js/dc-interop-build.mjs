// The Chromium page of dc-interop-peer.mjs (dc-interop-page.mjs + dc-interop-core.mjs), bundled
// into dist/dc-interop-page.js by build.mjs's pageBundle; rebuilt when a source is newer.
import { pageBundle } from './build.mjs';

export const { bundlePath, bundleIsFresh, buildBundle } = pageBundle({
  entry: 'dc-interop-page.mjs',
  out: 'dc-interop-page.js',
  sources: ['dc-interop-core.mjs', 'dc-interop-build.mjs'],
});
