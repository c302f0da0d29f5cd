#!/usr/bin/env node
// A data-channel peer speaking the `posthorn dc` JSON-lines contract (docs/cli-dc.md) on top of
// another WebRTC stack, for the interop cells in tests/interop/dc_interop_test.cpp:
//
//   node dc-interop-peer.mjs --impl chromium|wrtc|node-datachannel|werift --role offer|answer
//        [--label data] [--mode echo|sink|source|manual] [--bytes N] [--message-size N]
//        [--bind IP] [--quiet] [--no-mdns] [--turn URL]... [--turn-user U --turn-pass P]
//        [--relay-only]
//
// --impl chromium           headless /usr/bin/chromium through playwright-core; the page runs
//                           dc-interop-core.mjs on Chromium's RTCPeerConnection. Host addresses
//                           hide behind mDNS names unless --no-mdns (Chromium's
//                           --disable-features=WebRtcHideLocalIpsWithMdns).
// --impl wrtc               @roamhq/wrtc (libwebrtc) in this process.
// --impl node-datachannel   node-datachannel's W3C polyfill (libdatachannel).
// --impl werift             werift (pure TypeScript).
// --bind IP                 gather on IP where the stack allows it, and signal only candidates
//                           on IP (plus mDNS names): the tests keep ICE on 127.0.0.1.
// stdout carries only contract lines; diagnostics go to stderr.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { parseArgs, startDcPeer } from './dc-interop-core.mjs';

// Libraries log with console.log/info/debug: keep stdout for contract lines.
console.log = console.info = console.debug = (...a) => console.error(...a);

const writeLine = (line) => process.stdout.write(line + '\n');
// The reader went away (the test ended or killed us): nothing left to report to.
process.stdout.on('error', () => process.exit(0));
const emit = (obj) => writeLine(JSON.stringify(obj));
const log = (line) => process.stderr.write(`${new Date().toISOString()} [dc-interop] ${line}\n`);

let opts;
try {
  opts = parseArgs(process.argv.slice(2));
  if (!['chromium', 'wrtc', 'node-datachannel', 'werift'].includes(opts.impl))
    throw new Error('--impl chromium|wrtc|node-datachannel|werift is required');
} catch (err) {
  emit({ type: 'error', error: err.message });
  process.exit(2);
}

const stdinLines = (onLine, onEnd) => {
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on('line', onLine);
  rl.on('close', onEnd);
};

const nodeSha256 = () => {
  const h = createHash('sha256');
  return { update: (u8) => h.update(u8), digest: async () => h.digest('hex') };
};

const base64Decode = (s) => {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw new Error('binary data is not base64');
  return new Uint8Array(Buffer.from(s, 'base64'));
};

// The stack's RTCPeerConnection and its configuration, with ICE held to --bind where the stack
// has a knob for it (libwebrtc has none: its host candidates are filtered by the core instead).
const loadStack = async () => {
  const bind = opts.bind;
  switch (opts.impl) {
    case 'wrtc': {
      const wrtc = (await import('@roamhq/wrtc')).default;
      return { RTCPeerConnection: wrtc.RTCPeerConnection, rtcConfig: { iceServers: [] }, toSendable: (u8) => u8 };
    }
    case 'node-datachannel': {
      const { RTCPeerConnection } = await import('node-datachannel/polyfill');
      return {
        RTCPeerConnection,
        rtcConfig: { iceServers: [], ...(bind ? { bindAddress: bind } : {}) },
        toSendable: (u8) => u8,
      };
    }
    case 'werift': {
      // werift reports why a connection failed only through `debug` (kept in the cell's
      // stack.stderr.log).
      process.env.DEBUG ??= 'werift:packages/webrtc/src/peerConnection.ts';
      const { RTCPeerConnection } = await import('werift');
      return {
        RTCPeerConnection,
        rtcConfig: {
          iceServers: [],
          iceUseIpv6: false,
          ...(bind ? { iceInterfaceAddresses: { udp4: bind }, iceAdditionalHostAddresses: [bind] } : {}),
        },
        // werift sends Buffers as binary (a plain Uint8Array would not be recognised).
        toSendable: (u8) => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength),
      };
    }
    default:
      throw new Error(`no stack ${opts.impl}`);
  }
};

const runNode = async () => {
  const stack = await loadStack();
  const peer = startDcPeer({
    RTCPeerConnection: stack.RTCPeerConnection,
    rtcConfig: stack.rtcConfig,
    opts,
    emit,
    platform: { sha256: nodeSha256, base64Decode, toSendable: stack.toSendable, exit: (code) => process.exit(code) },
    log,
  });
  stdinLines(peer.handleLine, peer.end);
  await peer.start();
};

const chromiumArgs = () => [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
  // Chromium leaves the loopback interface out of ICE unless told otherwise; the tests keep ICE
  // on 127.0.0.1.
  '--allow-loopback-in-peer-connection',
  ...(opts.mdns ? [] : ['--disable-features=WebRtcHideLocalIpsWithMdns']),
];

const runChromium = async () => {
  const { bundlePath, bundleIsFresh, buildBundle } = await import('./dc-interop-build.mjs');
  if (!bundleIsFresh()) await buildBundle();
  const bundle = await readFile(bundlePath);
  const { chromium } = await import('playwright-core');
  // http://127.0.0.1 is a secure context (WebCrypto); the page needs nothing else from us.
  const html = '<!doctype html><meta charset="utf-8"><title>dc-interop</title><script src="/page.js"></script>';
  const server = createServer((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(html);
    } else if (req.url === '/page.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      res.end(bundle);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((res) => server.listen(0, '127.0.0.1', res));
  const browser = await chromium.launch({
    executablePath: process.env.POSTHORN_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: chromiumArgs(),
  });
  let exiting = false;
  const shutdown = async (code) => {
    if (exiting) return;
    exiting = true;
    await browser.close().catch(() => {});
    server.close();
    process.exit(code);
  };
  browser.on('disconnected', () => {
    if (!exiting) {
      emit({ type: 'error', error: 'chromium exited' });
      shutdown(1);
    }
  });
  const page = await browser.newPage();
  page.on('console', (m) => process.stderr.write(`${new Date().toISOString()} [chromium ${m.type()}] ${m.text()}\n`));
  page.on('pageerror', (e) => process.stderr.write(`[chromium pageerror] ${e.stack ?? e}\n`));
  await page.exposeFunction('__dcEmit', (line) => writeLine(line));
  await page.exposeFunction('__dcExit', (code) => shutdown(code));
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  log(`chromium ${browser.version()} ready (mDNS host names ${opts.mdns ? 'on' : 'off'})`);
  await page.evaluate((o) => window.dcInterop.start(o), opts);

  let queue = Promise.resolve();
  const enqueue = (fn) => {
    queue = queue.then(fn).catch((err) => {
      if (!exiting) emit({ type: 'error', error: `chromium bridge: ${err.message}` });
    });
  };
  stdinLines(
    (line) => enqueue(() => page.evaluate((l) => window.dcInterop.handleLine(l), line)),
    () => enqueue(() => page.evaluate(() => window.dcInterop.end())),
  );
};

try {
  await (opts.impl === 'chromium' ? runChromium() : runNode());
} catch (err) {
  emit({ type: 'error', error: `startup failed: ${err.message}` });
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
}
