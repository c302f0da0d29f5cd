#!/usr/bin/env node
// A Trystero 0.25.4 peer with the command line and JSON-lines contract of `posthorn peer`
// (docs/interop.md). One JSON event per line on stdout, one JSON command per line on stdin.
//
//   node trystero-peer.mjs --app A --room R [--password P] --strategy mqtt|nostr|torrent --relay URL...
//        [--passive] [--progress] [--serve ACTION=echo|error]... [--runtime node|chromium]
//        [--no-mdns] [--bind IP] [--turn URL --turn-user U --turn-pass P]
//
// --runtime node     Trystero runs in this process with node-datachannel as rtcPolyfill.
// --runtime chromium Trystero runs in headless /usr/bin/chromium (playwright-core); this process
//                    serves the page, relays stdin commands into it and its events to stdout.
// Diagnostics go to stderr; stdout carries nothing but event lines.
import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { parseArgs, startPeer } from './peer-core.mjs';

// Libraries log with console.log/info/debug; keep stdout for events only.
console.log = console.info = console.debug = (...a) => console.error(...a);

const writeEvent = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const writeLine = (line) => process.stdout.write(line + '\n');

let opts;
try {
  opts = parseArgs(process.argv.slice(2));
  // The test harness passes the same flags to every implementation, so the sniffer is also
  // switched on from the environment (docs/interop.md).
  if (process.env.POSTHORN_INTEROP_SNIFF === '1') opts.sniff = true;
  // Test-only: POSTHORN_INTEROP_NO_DEFAULT_STUN=1 leaves out Trystero's default STUN servers
  // (public Google/Cloudflare hosts) when no --stun replaces them. With a non-trickle strategy
  // (torrent) every SDP waits for ICE gathering, which waits for those servers: offline their
  // name lookups fail, and a peer's burst of them (20 pooled connections × 4 servers) can stall
  // on the resolver for seconds (docs/interop.md). posthorn has no default STUN servers.
  if (process.env.POSTHORN_INTEROP_NO_DEFAULT_STUN === '1') opts.noDefaultStun = true;
} catch (err) {
  writeEvent({ event: 'error', error: err.message });
  process.exit(2);
}

const stdinLines = (onLine, onEnd) => {
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on('line', onLine);
  rl.on('close', onEnd);
};

const readFileBytes = async (path) => new Uint8Array(await readFile(path));

// Test-only: POSTHORN_INTEROP_ID_HINT=low|high makes Trystero's random selfId start with '0' or
// 'z', so a test can decide which of two peers has the lower id, i.e. offers and initiates the
// handshake (spec §4.2, §10). Trystero draws the id from Math.random when it is first imported;
// the first draw picks the first character.
const idHint = process.env.POSTHORN_INTEROP_ID_HINT;
const idHintValue = idHint === 'low' ? 0 : idHint === 'high' ? 0.9999 : undefined;
const idHintScript = (v) => {
  const random = Math.random;
  let first = true;
  Math.random = () => {
    if (!first) return random();
    first = false;
    Math.random = random;
    return v;
  };
};

const runNode = async () => {
  if (idHintValue !== undefined) idHintScript(idHintValue);
  // Trystero's Nostr and torrent strategies open their relay/tracker sockets with the global
  // WebSocket (core's makeSocket), which Node 20 lacks (Node 22 has it): the ws package stands in.
  // Unlike a browser's, a ws socket throws its 'error' event (e.g. ECONNREFUSED) when nobody
  // listens for it, and Trystero only sets onclose/onmessage/onopen: the no-op listener keeps
  // a refused connection what it is in a browser, a close that Trystero retries.
  if (opts.strategy !== 'mqtt' && !globalThis.WebSocket) {
    const { WebSocket } = await import('ws');
    globalThis.WebSocket = class extends WebSocket {
      constructor(...args) {
        super(...args);
        this.on('error', () => {});
      }
    };
  }
  const [{ joinRoom, selfId }, { RTCPeerConnection }] = await Promise.all([
    import(`@trystero-p2p/${opts.strategy}`),
    import('node-datachannel/polyfill'),
  ]);
  const peer = startPeer({
    joinRoom,
    selfId,
    RTCPeerConnection,
    opts,
    emit: writeEvent,
    onLeft: () => process.exit(0),
    log: (line) => process.stderr.write(`${new Date().toISOString()} [trystero-peer] ${line}\n`),
  });
  stdinLines(
    (line) => peer.handleLine(line, readFileBytes),
    () => peer.handle({ cmd: 'leave' }),
  );
};

const chromiumArgs = () => [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  // Chromium hides host addresses behind mDNS names by default; posthorn must cope with that, so
  // real addresses are only shown on request.
  ...(opts.mdns ? [] : ['--disable-features=WebRtcHideLocalIpsWithMdns']),
];

const serveBundle = async (bundle, allowedFiles) => {
  const html = '<!doctype html><meta charset="utf-8"><title>trystero-peer</title><script src="/peer.js"></script>';
  const server = createServer((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(html);
    } else if (req.url === '/peer.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      res.end(bundle);
    } else if (req.url.startsWith('/file?')) {
      const path = new URLSearchParams(req.url.slice(6)).get('path');
      const allowed = allowedFiles.get(path) ?? 0;
      if (!allowed) {
        res.writeHead(403);
        res.end();
        return;
      }
      if (allowed > 1) allowedFiles.set(path, allowed - 1);
      else allowedFiles.delete(path);
      const stream = createReadStream(path);
      stream.on('error', (err) => {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end(err.message);
      });
      stream.on('open', () => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        stream.pipe(res);
      });
    } else if (req.url === '/favicon.ico') {
      res.writeHead(204);
      res.end();
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((res) => server.listen(0, '127.0.0.1', res));
  return server;
};

const runChromium = async () => {
  const { bundlePath, bundleIsFresh, buildBundle } = await import('./build.mjs');
  if (!bundleIsFresh()) await buildBundle();
  const bundle = await readFile(bundlePath);
  const { chromium } = await import('playwright-core');
  const allowedFiles = new Map(); // path -> how many send-file commands may still fetch it
  const server = await serveBundle(bundle, allowedFiles);
  // chromium.launch() starts from a fresh temporary profile and deletes it on close.
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
      writeEvent({ event: 'error', error: 'chromium exited' });
      shutdown(1);
    }
  });
  const page = await browser.newPage();
  if (idHintValue !== undefined) await page.addInitScript(idHintScript, idHintValue);
  page.on('console', (m) => process.stderr.write(`${new Date().toISOString()} [chromium ${m.type()}] ${m.text()}\n`));
  page.on('pageerror', (e) => process.stderr.write(`[chromium pageerror] ${e.stack ?? e}\n`));
  await page.exposeFunction('__posthornEmit', (line) => {
    if (line === '{"__left":true}') shutdown(0);
    else writeLine(line);
  });
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  await page.evaluate((o) => window.posthornPeer.start(o), opts);

  // Commands enter the page strictly in order. A send-file path is first allowed on the local
  // server, and the page fetches the file from there (far faster than copying it through CDP).
  let queue = Promise.resolve();
  const deliver = async (line) => {
    try {
      const cmd = JSON.parse(line);
      if (cmd && cmd.cmd === 'send-file' && typeof cmd.path === 'string') allowedFiles.set(cmd.path, (allowedFiles.get(cmd.path) ?? 0) + 1);
    } catch {
      // the page reports malformed lines itself
    }
    await page.evaluate((l) => window.posthornPeer.handleLine(l), line);
  };
  const enqueue = (line) => {
    queue = queue.then(() => deliver(line)).catch((err) => {
      if (!exiting) writeEvent({ event: 'error', error: `chromium bridge: ${err.message}` });
    });
  };
  stdinLines(enqueue, () => enqueue('{"cmd":"leave"}'));
};

try {
  await (opts.runtime === 'chromium' ? runChromium() : runNode());
} catch (err) {
  writeEvent({ event: 'error', error: `startup failed: ${err.message}` });
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
}
