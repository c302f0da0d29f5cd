// Prints the ICE candidates headless Chromium gathers for a data-channel offer, so that
// mdns_chromium_test.cpp can resolve the "<uuid>.local" names Chromium hides its host
// addresses behind, using Chromium's own mDNS responder.
//
//   node mdns_chromium.mjs <dir holding node_modules/playwright-core> [chromium path]
//
// Output, one line each: "candidate:..." for every gathered candidate, then "gathered".
// The browser (and with it the responder) stays up until stdin closes, then the script exits.
import {createRequire} from 'node:module';
import path from 'node:path';

const modulesDir = process.argv[2];
const executablePath = process.argv[3] ?? '/usr/bin/chromium';
if (!modulesDir) {
  console.error('usage: node mdns_chromium.mjs <dir with node_modules> [chromium]');
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(modulesDir), 'package.json'));
const {chromium} = require('playwright-core');

const browser = await chromium.launch({
  executablePath,
  headless : true,
  args : [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--no-first-run',
    '--disable-component-update',
    '--disable-sync',
    '--disable-quic',
  ],
});
let closing = false;
async function shutdown(code) {
  if (closing) return;
  closing = true;
  await browser.close().catch(() => {});
  process.exit(code);
}
process.stdin.on('end', () => shutdown(0));
process.stdin.on('close', () => shutdown(0));
process.stdin.resume();

try {
  const page = await browser.newPage();
  const candidates = await page.evaluate(async () => {
    // Kept on window so the connection (and its registered mDNS names) outlives this call.
    const pc = new RTCPeerConnection();
    window.keepAlive = pc;
    pc.createDataChannel('mdns');
    const out = [];
    await new Promise((resolve) => {
      pc.onicecandidate = (e) => (e.candidate ? out.push(e.candidate.candidate) : resolve());
      pc.createOffer().then((offer) => pc.setLocalDescription(offer));
      setTimeout(resolve, 10000); // gathering normally completes in well under a second
    });
    return out;
  });
  for (const c of candidates)
    console.log(c);
  console.log('gathered');
} catch (e) {
  console.error('mdns_chromium.mjs:', e);
  await shutdown(1);
}
