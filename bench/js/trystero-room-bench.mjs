#!/usr/bin/env node
// The Trystero side of `posthorn bench room`: real Trystero 0.25.4 (@trystero-p2p/mqtt) in Node
// with node-datachannel as its RTCPeerConnection, driven by JSON-lines commands so that the
// benchmark runs the same workloads on Trystero↔Trystero, posthorn↔Trystero and posthorn↔posthorn.
//
//   node trystero-room-bench.mjs --relay ws://127.0.0.1:PORT
//
// stdin commands (one JSON object per line) and what they print on stdout:
//   {"cmd":"join","app":A,"room":R}        → {"event":"ready","room":R,"self":ID,"t":T}
//                                            then {"event":"join","room":R,"peer":ID,"t":T}
//   {"cmd":"leave","room":R}               → {"event":"left","room":R}
//   {"cmd":"expect","room":R,"action":A,"count":N,"bytes":B}
//        count messages on A; once N arrived (B bytes in all) →
//        {"event":"received","room":R,"action":A,"count":N,"bytes":B,"t_first":T,"t_last":T}
//   {"cmd":"flood","room":R,"action":A,"count":N,"size":S}
//        N binary messages of S bytes to every peer, as fast as Trystero takes them →
//        {"event":"flooded","room":R,"t_start":T,"t_end":T}
// Times T are wall-clock milliseconds since the Unix epoch (fractional), comparable across the
// processes of one machine. Diagnostics go to stderr.
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

console.log = console.info = console.debug = (...a) => console.error(...a);

// The npm packages are installed once, for the interop harness (tests/interop/js).
const require = createRequire(new URL('../../tests/interop/js/package.json', import.meta.url));
const load = (name) => import(pathToFileURL(require.resolve(name)).href);

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const relay = flag('--relay');
if (!relay) {
  process.stderr.write('usage: trystero-room-bench.mjs --relay ws://HOST:PORT\n');
  process.exit(2);
}

const now = () => performance.timeOrigin + performance.now();
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

const [{ joinRoom, selfId }, { RTCPeerConnection }] = await Promise.all([
  load('@trystero-p2p/mqtt'),
  load('node-datachannel/polyfill'),
]);

const rooms = new Map(); // room id -> { room, actions: Map, expects: Map }

const actionOf = (entry, name) => {
  let a = entry.actions.get(name);
  if (a) return a;
  a = entry.room.makeAction(name, {
    onMessage: (data) => {
      const e = entry.expects.get(name);
      if (!e) return;
      const t = now();
      if (e.count === 0) e.tFirst = t;
      e.count += 1;
      e.bytes += data.byteLength ?? data.length ?? 0;
      if (e.count === e.want) {
        entry.expects.delete(name);
        emit({ event: 'received', room: entry.id, action: name, count: e.count, bytes: e.bytes,
               t_first: e.tFirst, t_last: t });
      }
    },
  });
  entry.actions.set(name, a);
  return a;
};

const handle = async (cmd) => {
  const entry = rooms.get(cmd.room);
  switch (cmd.cmd) {
    case 'join': {
      const t = now();
      const room = joinRoom({ appId: cmd.app, relayConfig: { urls: [relay] }, rtcPolyfill: RTCPeerConnection },
                            cmd.room);
      const e = { id: cmd.room, room, actions: new Map(), expects: new Map() };
      rooms.set(cmd.room, e);
      room.onPeerJoin = (peer) => emit({ event: 'join', room: cmd.room, peer, t: now() });
      emit({ event: 'ready', room: cmd.room, self: selfId, t });
      return;
    }
    case 'leave':
      if (entry) {
        rooms.delete(cmd.room);
        await entry.room.leave();
      }
      emit({ event: 'left', room: cmd.room });
      return;
    case 'expect':
      // Registered before the sender starts, so nothing is missed (spec §8.6 keeps early ones).
      actionOf(entry, cmd.action);
      entry.expects.set(cmd.action, { want: cmd.count, count: 0, bytes: 0, tFirst: 0 });
      emit({ event: 'expecting', room: cmd.room, action: cmd.action });
      return;
    case 'flood': {
      const send = actionOf(entry, cmd.action).send;
      const payload = new Uint8Array(cmd.size);
      for (let i = 0; i < payload.length; ++i) payload[i] = i % 251;
      const tStart = now();
      // Trystero queues behind the data channel's bufferedAmount itself; keep a window of sends
      // in flight so that its queue never holds the whole flood at once.
      const window = [];
      for (let i = 0; i < cmd.count; ++i) {
        window.push(send(payload));
        if (window.length >= 256) await window.shift();
      }
      await Promise.all(window);
      emit({ event: 'flooded', room: cmd.room, t_start: tStart, t_end: now() });
      return;
    }
    default:
      emit({ event: 'error', error: `unknown command ${cmd.cmd}` });
  }
};

let queue = Promise.resolve();
createInterface({ input: process.stdin, crlfDelay: Infinity })
  .on('line', (line) => {
    let cmd;
    try {
      cmd = JSON.parse(line);
    } catch {
      emit({ event: 'error', error: 'not JSON' });
      return;
    }
    // Commands run one after another, in order (a flood holds the next command back).
    queue = queue.then(() => handle(cmd)).catch((err) => emit({ event: 'error', error: String(err?.message ?? err) }));
  })
  .on('close', async () => {
    await queue;
    for (const e of rooms.values()) await e.room.leave();
    process.exit(0);
  });
