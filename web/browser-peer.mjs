#!/usr/bin/env node
// A browser peer with `posthorn peer`'s JSON-lines contract (docs/cli-peer.md), for `posthorn
// demo --browser`: headless Chromium (playwright-core, the system's /usr/bin/chromium) opens the
// demo page (web/dist, served by a `posthorn relay --web`) and this script relays the page's
// events to stdout and stdin's commands to the page, through the page's automation hook
// (window.posthornDemo, src/app.mjs). No DOM scripting: what the page does for a person, it does
// here for the hook.
//
//   node browser-peer.mjs --app A --room R --relay ws://HOST:PORT [--strategy nostr|torrent]
//        [--password P] [--name N] [--progress] [--page URL] [--chromium PATH]
//
// --page is the page's address (default: the relay's, over http: the relay serves the page).
// Commands: send (action chat: text/json; action file: binary), ping, leave; end of stdin, SIGINT
// and SIGTERM leave too. Events: ready, join, leave, message, progress (with --progress), sent,
// pong, join-error, error, and name (a peer announced its display name).
// Exit status: 0 after leaving, 1 if the browser or the page failed, 2 for bad flags.
import { createInterface } from 'node:readline';

// Libraries may log with console.*: stdout carries nothing but event lines.
console.log = console.info = console.debug = (...a) => console.error(...a);

const writeEvent = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const log = (line) => process.stderr.write(`${new Date().toISOString()} [browser-peer] ${line}\n`);

const parseArgs = (argv) => {
  const o = { strategy: 'nostr', relays: [], progress: false, chromium: process.env.POSTHORN_CHROMIUM ?? '/usr/bin/chromium' };
  const value = (i, flag) => {
    if (i + 1 >= argv.length) throw new Error(`${flag} needs a value`);
    return argv[i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const withValue = { '--app': 'app', '--room': 'room', '--password': 'password', '--strategy': 'strategy', '--name': 'name', '--page': 'page', '--chromium': 'chromium' };
    if (flag in withValue) o[withValue[flag]] = value(i++, flag);
    else if (flag === '--relay') o.relays.push(value(i++, flag));
    else if (flag === '--progress') o.progress = true;
    else if (flag === '--log-level') value(i++, flag); // accepted for compatibility
    else throw new Error(`unknown argument ${flag}`);
  }
  if (!o.app) throw new Error('--app is required');
  if (!o.room) throw new Error('--room is required');
  if (o.relays.length !== 1) throw new Error('exactly one --relay is required (the page joins through one relay)');
  if (!['nostr', 'torrent'].includes(o.strategy)) throw new Error(`--strategy ${o.strategy}: nostr or torrent`);
  return o;
};

let opts;
try {
  opts = parseArgs(process.argv.slice(2));
} catch (err) {
  writeEvent({ event: 'error', error: err.message });
  process.exit(2);
}

const pageUrl = () => {
  const url = new URL(opts.page ?? `${opts.relays[0].replace(/^ws/, 'http')}/`);
  const q = { relay: opts.relays[0], strategy: opts.strategy, app: opts.app, room: opts.room, name: opts.name, password: opts.password };
  for (const [k, v] of Object.entries(q)) if (v !== undefined) url.searchParams.set(k, v);
  return url.href;
};

const { chromium } = await import('playwright-core');
let browser;
try {
  // A fresh temporary profile, deleted on close. Real host addresses in ICE candidates instead
  // of mDNS names: this peer talks to native peers on loopback, with nothing to hide.
  browser = await chromium.launch({
    executablePath: opts.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-component-update', '--disable-sync', '--disable-features=WebRtcHideLocalIpsWithMdns'],
  });
} catch (err) {
  writeEvent({ event: 'error', error: `cannot start Chromium at ${opts.chromium}: ${err.message.split('\n')[0]} (scripts/setup.sh installs it)` });
  process.exit(1);
}

let exiting = false;
const shutdown = async (code) => {
  if (exiting) return;
  exiting = true;
  await browser.close().catch(() => {});
  process.exit(code);
};
browser.on('disconnected', () => {
  if (exiting) return;
  writeEvent({ event: 'error', error: 'chromium exited' });
  shutdown(1);
});

const page = await browser.newPage();
page.on('console', (m) => log(`[page ${m.type()}] ${m.text()}`));
page.on('pageerror', (e) => log(`[page error] ${e.stack ?? e}`));
await page.exposeFunction('__posthornDemoEvent', (line) => {
  if (exiting) return;
  if (!opts.progress && line.startsWith('{"event":"progress"')) return;
  process.stdout.write(`${line}\n`);
});

try {
  const url = pageUrl();
  log(`opening ${url.replace(/password=[^&]*/, 'password=…')}`);
  const response = await page.goto(url);
  if (!response?.ok()) throw new Error(`HTTP ${response?.status()} (is the relay serving web/dist with --web?)`);
  await page.waitForFunction(() => window.posthornDemo, null, { timeout: 15000 });
  await page.evaluate(() => window.posthornDemo.on((e) => window.__posthornDemoEvent(JSON.stringify(e))));
} catch (err) {
  writeEvent({ event: 'error', error: `cannot open the demo page: ${err.message.split('\n')[0]}` });
  await shutdown(1);
}

// Commands enter the page one at a time, in order.
let queue = Promise.resolve();
let leaving = false;
const LEAVE_TIMEOUT_MS = 5000; // a page that cannot say goodbye does not keep the process alive
const leave = () => {
  if (leaving) return;
  leaving = true;
  setTimeout(() => shutdown(0), LEAVE_TIMEOUT_MS).unref();
  queue = queue
    .then(() => page.evaluate(() => window.posthornDemo.command({ cmd: 'leave' })))
    .catch((err) => log(`leave: ${err.message}`))
    .then(() => shutdown(0));
};
const deliver = (line) => {
  if (!line.trim()) return;
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch (err) {
    writeEvent({ event: 'error', error: `malformed command: ${err.message}` });
    return;
  }
  if (cmd?.cmd === 'leave') return leave();
  if (leaving) return writeEvent({ event: 'error', error: 'the room is being left' });
  queue = queue
    .then(() => page.evaluate((c) => void window.posthornDemo.command(c), cmd))
    .catch((err) => {
      if (!exiting) writeEvent({ event: 'error', error: `browser bridge: ${err.message.split('\n')[0]}` });
    });
};
createInterface({ input: process.stdin, crlfDelay: Infinity }).on('line', deliver).on('close', leave);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, leave);
