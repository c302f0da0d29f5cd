#!/usr/bin/env node
// A WebTorrent tracker for the interop suite: the npm bittorrent-tracker Server with only its
// WebSocket tracker (no UDP, no HTTP announce, no /stats), listening on 127.0.0.1 on a free port.
// Prints one JSON line once it listens, then nothing more on stdout:
//   {"event":"listening","url":"ws://127.0.0.1:PORT","port":PORT}
// Exits on SIGTERM (Node's default) or when stdin closes (the test process went away).
// Diagnostics (tracker warnings and errors) go to stderr.
//
//   node tracker.mjs [--interval-ms N]
//
// --interval-ms is the Server's `interval` option (default here 50000). The WebSocket tracker
// replies with interval = ceil(N / 5000) s and Trystero re-announces after clamp(interval,
// 10 s, 120 s), so 50000 gives Trystero's floor of 10 s. With the Server's own default (10 min)
// Trystero re-announces every 120 s, and a peer that joins after the other's warm-up announces
// (the first ~2 s) and has the higher id waits up to 2 minutes for an offer (docs/interop.md).
import { Server } from 'bittorrent-tracker';

const args = process.argv.slice(2);
let intervalMs = 50000;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--interval-ms' && i + 1 < args.length) intervalMs = Number(args[++i]);
  else {
    process.stdout.write(JSON.stringify({ event: 'error', error: `unknown argument ${args[i]}` }) + '\n');
    process.exit(2);
  }
}

const log = (line) => process.stderr.write(`${new Date().toISOString()} [tracker] ${line}\n`);
const server = new Server({ udp: false, http: false, ws: true, stats: false, interval: intervalMs });
server.on('error', (err) => {
  log(`error: ${err.message}`);
  if (!server.listening) {
    process.stdout.write(JSON.stringify({ event: 'error', error: err.message }) + '\n');
    process.exit(1);
  }
});
server.on('warning', (err) => log(`warning: ${err.message}`));
// One line per announce (Trystero sends no `event`, so each is an 'update'): who, how many
// offers, or whom an answer is for. Peer ids arrive hex-encoded; Trystero's are ASCII.
const id = (hex) => Buffer.from(hex, 'hex').toString();
server.on('update', (peerId, p) =>
  log(`announce ${id(peerId)} ${p.answer ? `answer to ${id(p.to_peer_id)}` : `offers ${p.offers?.length ?? 0} left ${p.left}`}`));
server.on('listening', () => {
  const { port } = server.ws.address();
  log(`listening on 127.0.0.1:${port}, interval ${intervalMs} ms`);
  process.stdout.write(JSON.stringify({ event: 'listening', url: `ws://127.0.0.1:${port}`, port }) + '\n');
});
server.listen(0, '127.0.0.1');

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
