#!/usr/bin/env node
// The anchor of `posthorn bench relay --vs bittorrent-tracker`: the npm bittorrent-tracker 11.2.3
// Server with only its WebSocket tracker (no UDP, no HTTP announce, no /stats), as
// tests/interop/js/tracker.mjs starts it for the interop suite, but quiet: nothing is logged per
// announce, so that the benchmark measures the tracker and not a log. Listens on 127.0.0.1 on a
// free port and prints one JSON line once it does:
//   {"event":"listening","url":"ws://127.0.0.1:PORT","port":PORT}
// On SIGUSR2 it prints what it holds (SIGUSR1 is Node's debugger signal):
//   {"event":"stats","swarms":S,"peers":P,"warnings":W}
// Exits on SIGTERM (Node's default) or when stdin closes (the benchmark went away).
// Warnings (bad requests, unknown answer targets) are counted; the first few go to stderr.
//
//   node bittorrent-tracker-bench.mjs
//
// The server keeps its defaults (10-minute interval, so WebSocket clients are told 120 s, as
// `posthorn relay` tells them; peersCacheLength 1000 per swarm).

// The npm packages are installed once, for the interop harness (tests/interop/js). The package
// only exports an "import" condition, so it is imported by path rather than through require.
const modules = new URL('../../tests/interop/js/node_modules/', import.meta.url);
let Server;
try {
  ({ Server } = await import(new URL('bittorrent-tracker/index.js', modules).href));
} catch (err) {
  process.stdout.write(JSON.stringify({
    event: 'error',
    error: `cannot load bittorrent-tracker from ${modules.pathname} (scripts/setup.sh): ${err.message}`,
  }) + '\n');
  process.exit(2);
}

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

let warnings = 0;
const server = new Server({ udp: false, http: false, ws: true, stats: false });
server.on('error', (err) => {
  process.stderr.write(`[bittorrent-tracker] error: ${err.message}\n`);
  if (!server.listening) {
    emit({ event: 'error', error: err.message });
    process.exit(1);
  }
});
server.on('warning', (err) => {
  if (++warnings <= 5) process.stderr.write(`[bittorrent-tracker] warning: ${err.message}\n`);
});
server.on('listening', () => {
  const { port } = server.ws.address();
  emit({ event: 'listening', url: `ws://127.0.0.1:${port}`, port });
});
server.listen(0, '127.0.0.1');

process.on('SIGUSR2', () => {
  let swarms = 0;
  let peers = 0;
  for (const swarm of Object.values(server.torrents)) {
    swarms += 1;
    peers += swarm.peers.length;
  }
  emit({ event: 'stats', swarms, peers, warnings });
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
