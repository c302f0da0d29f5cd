#!/usr/bin/env node
// Memory per connection of a WebRTC stack in Node, measured the way `posthorn bench dc` measures
// posthorn's (src/cli/bench_rss.cpp): one process opens `--connections` peer connections
// (connections/2 loopback pairs wired in-process, data channel open on each) and reports the
// resident memory they added, per connection.
//
//   node [--expose-gc] dc-rss.mjs --impl node-datachannel|wrtc|werift [--connections 100]
//
// Node's own baseline (the runtime, the stack's module and its threads, one warm-up pair) is
// subtracted: RSS is read after the warm-up pair is open and again when every channel is open.
// With --expose-gc the JS heap is collected before each reading, so short-lived garbage does
// not count. Prints one JSON line:
//   {"type":"rss","impl":...,"connections":N,"rss_kib_per_conn":X,"baseline_rss_kib":B,"rss_kib":A}
import { addCandidate, bareSdp, candidateAllowed, loadStack, w3cCandidate } from './dc-stacks.mjs';

const realStdoutWrite = process.stdout.write.bind(process.stdout);
console.log = console.info = console.debug = console.warn = (...a) => console.error(...a);
const emit = (obj) => realStdoutWrite(JSON.stringify(obj) + '\n');

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const impl = arg('--impl', '');
const connections = Number(arg('--connections', '100'));
const BIND = '127.0.0.1';
const BATCH = Number(arg('--batch', '5'));

const log = (text) => process.stderr.write(`${new Date().toISOString()} [dc-rss ${impl}] ${text}\n`);
const fail = (why) => {
  emit({ type: 'error', error: why });
  process.exit(1);
};
if (!Number.isInteger(connections) || connections < 2) fail('--connections needs a count >= 2');

const stack = await loadStack({ impl, bind: BIND }).catch((err) => fail(err.message));
const peers = []; // kept referenced until the end

const withTimeout = (promise, ms, what) =>
  Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: timed out`)), ms))]);

// One loopback pair, wired in-process, resolved when both ends see the channel open.
const tryPair = async (a, b) => {
  // Candidates wait until the receiving end has the remote description (as over signaling,
  // where the description is always relayed first).
  const pending = new Map([
    [a, []],
    [b, []],
  ]);
  const ready = new Set();
  const add = (to, init) =>
    addCandidate(to, init).catch((err) => log(`candidate refused (connection ${to.connectionState}): ${err.message}`));
  const trickle = (from, to) => {
    from.onicecandidate = (e) => {
      const c = e.candidate;
      if (!c || !c.candidate || !candidateAllowed(c.candidate, BIND)) return;
      const init = { candidate: w3cCandidate(c.candidate), sdpMid: c.sdpMid ?? '0', sdpMLineIndex: 0 };
      if (ready.has(to)) add(to, init);
      else pending.get(to).push(init);
    };
  };
  const described = (pc) => {
    ready.add(pc);
    for (const init of pending.get(pc).splice(0)) add(pc, init);
  };
  trickle(a, b);
  trickle(b, a);
  const channelA = a.createDataChannel('rss');
  a.__channels = [channelA];
  const openA = new Promise((resolve) => {
    channelA.onopen = resolve;
  });
  const openB = new Promise((resolve) => {
    b.ondatachannel = (e) => {
      b.__channels = [e.channel];
      if (e.channel.readyState === 'open') resolve();
      else e.channel.onopen = resolve;
    };
  });
  const offer = await a.createOffer();
  await a.setLocalDescription(offer);
  await b.setRemoteDescription({ type: 'offer', sdp: bareSdp(a.localDescription?.sdp ?? offer.sdp) });
  described(b);
  const answer = await b.createAnswer();
  await b.setLocalDescription(answer);
  await a.setRemoteDescription({ type: 'answer', sdp: bareSdp(b.localDescription?.sdp ?? answer.sdp) });
  described(a);
  await withTimeout(Promise.all([openA, openB]), 5000, 'channel open');
};

// Now and then libdatachannel closes a fresh connection of a busy process before it connects
// (connectionState "closed", the remote's candidates then refused): such a pair is closed, not
// counted, and replaced by a new one; the JSON line reports how many were replaced.
let replaced = 0;
const openPair = async () => {
  for (;;) {
    const a = new stack.RTCPeerConnection(stack.config);
    const b = new stack.RTCPeerConnection(stack.config);
    try {
      await tryPair(a, b);
      peers.push(a, b, ...(a.__channels ?? []), ...(b.__channels ?? []));
      return;
    } catch (err) {
      log(`a pair did not open (${err.message}); replacing it`);
      for (const pc of [a, b]) {
        try {
          pc.close();
        } catch {
          // already closed
        }
      }
      if (++replaced > 20) throw new Error('more than 20 pairs did not open');
    }
  }
};

const rssKib = async () => {
  if (global.gc) global.gc();
  // Let the stacks' threads settle (buffers of the handshakes freed) before reading.
  await new Promise((r) => setTimeout(r, 300));
  return Math.round(process.memoryUsage().rss / 1024);
};

try {
  await openPair(); // warm-up: allocators, the stack's threads and one-time state
  const before = await rssKib();
  const pairs = Math.max(1, Math.floor(connections / 2));
  // A few pairs at a time, as a server accepting connections would see them.
  for (let i = 0; i < pairs; i += BATCH) {
    const batch = [];
    for (let k = i; k < Math.min(pairs, i + BATCH); k++) batch.push(openPair());
    await Promise.all(batch);
  }
  const after = await rssKib();
  emit({
    type: 'rss',
    impl,
    connections: 2 * pairs,
    rss_kib_per_conn: (after - before) / (2 * pairs),
    baseline_rss_kib: before,
    rss_kib: after,
    replaced_pairs: replaced,
  });
  for (const p of peers) {
    try {
      p.close();
    } catch {
      // already closed
    }
  }
  setTimeout(() => process.exit(0), 200);
} catch (err) {
  fail(`${impl}: ${err.message}`);
}
