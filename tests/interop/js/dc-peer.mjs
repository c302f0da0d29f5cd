#!/usr/bin/env node
// `posthorn dc` in Node, on another WebRTC stack: the same flags and the same JSON lines
// (docs/cli-dc.md), so that `posthorn bench dc --vs ...`, tests and scripts can put a
// libdatachannel, libwebrtc or werift peer where a `posthorn dc` process would be.
//
//   node dc-peer.mjs --impl node-datachannel|wrtc|werift --role offer|answer [--label data]
//        [--mode echo|sink|source] [--bytes N] [--message-size N] [--bind IP|any]
//        [--stun URL]... [--turn URL]... [--turn-user U --turn-pass P] [--relay-only]
//        [--quiet] [--log-level trace|debug|info|warn|error|off]
//
// --impl node-datachannel  libdatachannel, through node-datachannel's W3C polyfill
// --impl wrtc              libwebrtc (@roamhq/wrtc)
// --impl werift            werift (pure TypeScript)
//
// One deliberate difference: --bind defaults to 127.0.0.1 here (`--bind any` lifts it), because
// this script exists for tests and benchmarks, which must stay on loopback. Where the stack has
// a knob, gathering is held to that address; every candidate that is not UDP on that address is
// dropped before it is printed (libwebrtc has no knob and gathers on every interface).
//
// stdout carries only contract lines; the stacks' own logs and our diagnostics go to stderr.
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { IMPLS, addCandidate, bareSdp, candidateAllowed, loadStack, w3cCandidate } from './dc-stacks.mjs';

const realStdoutWrite = process.stdout.write.bind(process.stdout);
console.log = console.info = console.debug = console.warn = (...a) => console.error(...a);

const LEVELS = { trace: 0, debug: 1, info: 2, warn: 3, error: 4, off: 5 };

const usage = () =>
  'usage: dc-peer.mjs --impl node-datachannel|wrtc|werift --role offer|answer [--label L] ' +
  '[--mode echo|sink|source] [--bytes N] [--message-size N] [--bind IP|any] [--stun URL]... ' +
  '[--turn URL]... [--turn-user U --turn-pass P] [--relay-only] [--quiet] [--log-level L]';

const parseArgs = (argv) => {
  const o = {
    impl: '',
    role: '',
    label: 'data',
    mode: 'echo',
    bytes: 0,
    messageSize: 65536,
    bind: '127.0.0.1',
    stun: [],
    turn: [],
    turnUser: '',
    turnPass: '',
    relayOnly: false,
    quiet: false,
    logLevel: 'warn',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    const count = () => {
      const s = value();
      if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) throw new Error(`${a} needs a count`);
      return Number(s);
    };
    switch (a) {
      case '--impl': o.impl = value(); break;
      case '--role': o.role = value(); break;
      case '--label': o.label = value(); break;
      case '--mode': o.mode = value(); break;
      case '--bytes': o.bytes = count(); break;
      case '--message-size': o.messageSize = count(); break;
      case '--bind': o.bind = value(); break;
      case '--stun': o.stun.push(value()); break;
      case '--turn': o.turn.push(value()); break;
      case '--turn-user': o.turnUser = value(); break;
      case '--turn-pass': o.turnPass = value(); break;
      case '--relay-only': o.relayOnly = true; break;
      case '--quiet': o.quiet = true; break;
      case '--log-level': o.logLevel = value(); break;
      default: throw new Error(`unknown argument ${a}`);
    }
  }
  if (!IMPLS.includes(o.impl))
    throw new Error('--impl node-datachannel|wrtc|werift is required');
  if (!['offer', 'answer'].includes(o.role)) throw new Error('--role offer|answer is required');
  if (!['echo', 'sink', 'source'].includes(o.mode)) throw new Error(`bad --mode ${o.mode}`);
  if (o.messageSize < 1 || o.messageSize > 262144) throw new Error('--message-size is 1 ... 262144');
  if (!(o.logLevel in LEVELS)) throw new Error(`bad --log-level ${o.logLevel}`);
  if (o.turn.length && !(o.turnUser && o.turnPass)) throw new Error('--turn needs --turn-user and --turn-pass');
  if (o.relayOnly && !o.turn.length) throw new Error('--relay-only needs --turn');
  if (o.bind === 'any') o.bind = '';
  return o;
};

const emit = (obj) => realStdoutWrite(JSON.stringify(obj) + '\n');

let opts;
try {
  opts = parseArgs(process.argv.slice(2));
} catch (err) {
  emit({ type: 'error', error: err.message });
  process.stderr.write(usage() + '\n');
  process.exit(2);
}

const log = (level, text) => {
  if (LEVELS[level] >= LEVELS[opts.logLevel])
    process.stderr.write(`${new Date().toISOString()} [dc-peer ${opts.impl} ${opts.role}] ${text}\n`);
};

// --- the source pattern: the byte at stream offset i is i mod 251 (docs/cli-dc.md). One buffer
// of message-size + 251 bytes holds every message: message k starts at offset (k*size) mod 251.
const PATTERN = new Uint8Array(opts.messageSize + 251);
for (let i = 0; i < PATTERN.length; i++) PATTERN[i] = i % 251;
const patternAt = (offset, n) => PATTERN.subarray(offset % 251, (offset % 251) + n);

// Back-pressure marks, as posthorn dc uses them (W3C bufferedAmount / bufferedamountlow).
const HIGH_WATER = 4 << 20;
const LOW_WATER = 1 << 20;

const iceServers = () => {
  const servers = opts.stun.map((url) => ({ urls: url }));
  for (const url of opts.turn) servers.push({ urls: url, username: opts.turnUser, credential: opts.turnPass });
  return servers;
};

// --- the peer --------------------------------------------------------------------------------
const stack = await loadStack({
  impl: opts.impl,
  bind: opts.bind,
  iceServers: iceServers(),
  relayOnly: opts.relayOnly,
}).catch((err) => {
  emit({ type: 'error', error: `cannot load ${opts.impl}: ${err.message}` });
  process.exit(1);
});
const pc = new stack.RTCPeerConnection(stack.config);

let channel = null; // the first channel that opened (the offerer's own, or the one it opened)
let closedReported = false;
let exiting = false;
let sent = 0;
let received = 0;
let done = false;
let sourceStarted = false;
const hash = createHash('sha256');

const exit = (code) => {
  if (exiting) return;
  exiting = true;
  // Give the stack a moment to send its SCTP ABORT / DTLS close_notify, then leave.
  setTimeout(() => {
    try {
      pc.close();
    } catch {
      // already closed
    }
    setTimeout(() => process.exit(code), 20);
  }, 20);
};
const closed = (code = 0) => {
  if (closedReported) return;
  closedReported = true;
  emit({ type: 'closed' });
  exit(code);
};
const error = (why) => emit({ type: 'error', error: why });

// Candidates go out after our description (a remote refuses a candidate before the description),
// and end-of-candidates is printed once, whichever of the stack's signals comes first.
let descriptionSent = false;
let endOfCandidates = false;
const held = [];
const emitSignal = (line) => (descriptionSent ? emit(line) : held.push(line));
// Descriptions leave without candidates: every stack also reports each candidate through
// onicecandidate, so they all trickle (filtered to --bind), and libdatachannel refuses, now and
// then, a remote description carrying candidates ("Got a remote candidate without ICE
// transport").
const emitDescription = (type, sdp) => {
  emit({ type, sdp: bareSdp(sdp) });
  descriptionSent = true;
  for (const line of held.splice(0)) emit(line);
};
const emitEndOfCandidates = () => {
  if (endOfCandidates) return;
  endOfCandidates = true;
  emitSignal({ type: 'candidate', candidate: '' });
};
pc.onicecandidate = (e) => {
  const c = e.candidate;
  if (!c || !c.candidate) return emitEndOfCandidates();
  // libdatachannel prefixes its candidates with "a=": the W3C shape has no prefix.
  const candidate = w3cCandidate(c.candidate);
  const ok = candidateAllowed(candidate, opts.bind);
  log('debug', `local candidate ${ok ? 'signalled' : 'dropped'}: ${candidate}`);
  if (!ok) return;
  emitSignal({ type: 'candidate', candidate, sdpMid: c.sdpMid ?? '0', sdpMLineIndex: c.sdpMLineIndex ?? 0 });
};
pc.onicegatheringstatechange = () => {
  // node-datachannel reports "complete" without a null candidate, and may report it before its
  // last candidate is delivered (separate callback queues): let those arrive first.
  if (pc.iceGatheringState === 'complete') setTimeout(emitEndOfCandidates, 100);
};
pc.onconnectionstatechange = () => {
  const s = pc.connectionState;
  log('info', `connection ${s}`);
  if (s === 'failed') {
    error('connection failed');
    closed(1);
  } else if (s === 'closed') {
    closed();
  }
};
pc.ondatachannel = (e) => setup(e.channel);

const asBytes = (data) => {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return null; // text
};
const utf8 = new TextEncoder();

const onMessage = (ch, data) => {
  if (!channel) onOpen(ch); // a message can overtake a queued open event
  const bytes = asBytes(data);
  const binary = bytes !== null;
  const raw = binary ? bytes : utf8.encode(data);
  if (!opts.quiet || opts.mode === 'echo') {
    const line = { type: 'message', bytes: raw.byteLength, binary };
    if (!binary && raw.byteLength <= 1024) line.data = data;
    emit(line);
  }
  if (opts.mode === 'echo') {
    try {
      ch.send(binary ? stack.binary(bytes.slice()) : data);
    } catch (err) {
      error(`echo: ${err.message}`);
    }
  } else if (opts.mode === 'sink' && ch === channel) {
    received += raw.byteLength;
    hash.update(raw);
    if (!done && received >= opts.bytes) {
      done = true;
      emit({ type: 'done', bytes: received, sha256: hash.digest('hex') });
    }
  }
};

// Sends the pattern while the buffer is below the high-water mark; bufferedamountlow resumes.
const pump = () => {
  if (opts.mode !== 'source' || !channel || done || channel.readyState !== 'open') return;
  try {
    while (sent < opts.bytes && channel.bufferedAmount < HIGH_WATER) {
      const n = Math.min(opts.messageSize, opts.bytes - sent);
      const chunk = patternAt(sent, n);
      channel.send(stack.binary(chunk)); // PATTERN never changes: a stack may keep the view
      hash.update(chunk);
      sent += n;
    }
  } catch (err) {
    error(`send: ${err.message}`);
    return;
  }
  log('trace', `pumped to ${sent}, buffered ${channel.bufferedAmount}`);
  if (sent >= opts.bytes) {
    done = true;
    emit({ type: 'done', bytes: sent, sha256: hash.digest('hex') });
  } else if (!stack.bufferedAmountLowEvent) {
    // No bufferedamountlow event on this stack: look again in a millisecond (at 1 GB/s a
    // millisecond drains 1 MB, so the 3 MiB between the marks keep the pipe full).
    setTimeout(pump, 1);
  } else if (channel.bufferedAmount <= LOW_WATER) {
    // bufferedamountlow fires on a crossing only; do not wait for one that already happened.
    setImmediate(pump);
  }
};

const onOpen = (ch) => {
  if (channel && channel !== ch) return;
  if (channel === ch && ch.__reported) return;
  channel = ch;
  ch.__reported = true;
  emit({ type: 'open', label: ch.label });
  if (opts.mode === 'source' && !sourceStarted) {
    sourceStarted = true;
    pump();
  }
};

const setup = (ch) => {
  try {
    ch.binaryType = 'arraybuffer';
  } catch {
    // werift has no binaryType: it hands out Buffers
  }
  ch.bufferedAmountLowThreshold = LOW_WATER;
  ch.onopen = () => onOpen(ch);
  ch.onmessage = (e) => {
    try {
      onMessage(ch, e.data);
    } catch (err) {
      error(`message: ${err.message}`);
    }
  };
  ch.onbufferedamountlow = () => {
    if (ch === channel) pump();
  };
  ch.onclose = () => {
    log('info', `channel ${ch.label} closed`);
    if (ch === channel) closed();
  };
  // Some stacks hand out remote channels already open, without an open event.
  if (ch.readyState === 'open') queueMicrotask(() => onOpen(ch));
};

// --- stdin: the remote's signaling and our commands, strictly in order ------------------------
const handlers = {
  offer: async (j) => {
    if (typeof j.sdp !== 'string') return error('offer without an sdp string');
    await pc.setRemoteDescription({ type: 'offer', sdp: j.sdp });
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    emitDescription('answer', pc.localDescription?.sdp ?? answer.sdp);
  },
  answer: async (j) => {
    if (typeof j.sdp !== 'string') return error('answer without an sdp string');
    await pc.setRemoteDescription({ type: 'answer', sdp: j.sdp });
  },
  candidate: async (j) => {
    const candidate = typeof j.candidate === 'string' ? j.candidate : '';
    const sdpMid = typeof j.sdpMid === 'string' ? j.sdpMid : '0';
    const sdpMLineIndex = Number.isInteger(j.sdpMLineIndex) ? j.sdpMLineIndex : 0;
    if (!candidate) {
      // End-of-candidates: W3C addIceCandidate with an empty candidate; not every stack takes
      // it, and nothing depends on it.
      await Promise.resolve(pc.addIceCandidate({ candidate: '', sdpMid, sdpMLineIndex })).catch((err) =>
        log('debug', `end-of-candidates not taken: ${err.message}`),
      );
      return;
    }
    await addCandidate(pc, { candidate, sdpMid, sdpMLineIndex });
  },
  send: async (j) => {
    if (!channel || channel.readyState !== 'open' || typeof j.data !== 'string')
      return error('send: no open channel or no data string');
    if (j.binary === true) {
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(j.data) || j.data.length % 4 !== 0)
        return error('send: binary data is not base64');
      channel.send(stack.binary(new Uint8Array(Buffer.from(j.data, 'base64'))));
    } else {
      channel.send(j.data);
    }
  },
  close: async () => {
    if (channel) channel.close();
  },
};

let queue = Promise.resolve();
const onLine = (line) => {
  if (!line.trim()) return;
  queue = queue.then(async () => {
    let j = null;
    try {
      j = JSON.parse(line);
    } catch {
      // reported below
    }
    if (!j || typeof j !== 'object' || Array.isArray(j) || typeof j.type !== 'string')
      return error('ignored a line that is not a JSON signaling object');
    const fn = handlers[j.type];
    if (!fn) return error(`unknown signaling type '${j.type}'`);
    try {
      await fn(j);
    } catch (err) {
      error(`${j.type}: ${err.message}`);
    }
  });
};

try {
  if (opts.role === 'offer') {
    setup(pc.createDataChannel(opts.label));
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    emitDescription('offer', pc.localDescription?.sdp ?? offer.sdp);
  }
} catch (err) {
  error(`offer: ${err.message}`);
  exit(1);
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', onLine);
// End of stdin closes the connection gracefully and exits.
rl.on('close', () => {
  queue = queue.then(() => exit(0));
});
