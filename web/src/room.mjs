// The page's room, without any DOM: joins a Trystero room (the real @trystero-p2p packages) and
// reports what happens as the events of `posthorn peer`'s JSON-lines contract (docs/cli-peer.md:
// ready, join, leave, message, progress, sent, pong, join-error, error), plus `name` when a peer
// announces one. The view renders them and the automation hook (app.mjs) passes them on.
//
// Actions: "chat" (text or JSON), "file" (binary with metadata {name}) and "name" (a peer's
// display name, text). Everything a peer sends is untrusted: names and file names are cleaned
// here, and the view only ever sets text, never markup.
import { getRelaySockets as nostrSockets, joinRoom as joinNostr, selfId } from '@trystero-p2p/nostr';
import { getRelaySockets as torrentSockets, joinRoom as joinTorrent } from '@trystero-p2p/torrent';

export { selfId };

const strategies = {
  nostr: { joinRoom: joinNostr, sockets: nostrSockets },
  torrent: { joinRoom: joinTorrent, sockets: torrentSockets },
};
export const strategyNames = Object.keys(strategies);

// As `posthorn peer`: binary payloads above this are reported with data null (bytes and sha256
// still say what arrived).
const MAX_REPORTED_BINARY = 64 * 1024;
// Trystero reports progress per 16 KiB chunk; one event per transfer per 50 ms is plenty for a
// bar and keeps the automation bridge (one CDP round trip per event) cheap.
const PROGRESS_INTERVAL_MS = 50;
const MAX_NAME = 32;
const MAX_FILE_NAME = 120;

const encoder = new TextEncoder();
const toHex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
export const sha256Hex = async (bytes) => toHex(await crypto.subtle.digest('SHA-256', bytes));

const isBytes = (v) => v instanceof ArrayBuffer || ArrayBuffer.isView(v);
const asUint8 = (v) => (v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength));

const bytesToBase64 = (bytes) => {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
};
const base64ToBytes = (b64) => {
  if (typeof b64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw new Error('binary data must be base64');
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
};

// Control characters and bidirectional overrides could disguise a name; the rest is kept.
const cleanText = (value, max) =>
  typeof value === 'string'
    ? Array.from(value.replace(/[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu, '').trim()).slice(0, max).join('')
    : '';
export const cleanName = (value) => cleanText(value, MAX_NAME);
export const cleanFileName = (value) => cleanText(value, MAX_FILE_NAME).replace(/[/\\]/g, '_').replace(/^\.+/, '') || 'file';

// A received payload as the contract describes it; `bytes` also carries binary data to the view.
const describe = async (value) => {
  if (typeof value === 'string') {
    const b = encoder.encode(value);
    return { kind: 'text', data: value, bytes: b.byteLength, sha256: await sha256Hex(b) };
  }
  if (isBytes(value)) {
    const b = asUint8(value);
    return { kind: 'binary', data: b.byteLength > MAX_REPORTED_BINARY ? null : bytesToBase64(b), bytes: b.byteLength, sha256: await sha256Hex(b), raw: b };
  }
  const b = encoder.encode(JSON.stringify(value));
  return { kind: 'json', data: value, bytes: b.byteLength, sha256: await sha256Hex(b) };
};

const payloadOf = (cmd) => {
  const kind = cmd.kind ?? (typeof cmd.data === 'string' ? 'text' : 'json');
  if (kind === 'text') {
    if (typeof cmd.data !== 'string') throw new Error('text data must be a string');
    return cmd.data;
  }
  if (kind === 'json') {
    if (!('data' in cmd) || typeof cmd.data === 'string') throw new Error('json data must be a JSON value other than a string');
    return cmd.data;
  }
  if (kind === 'binary') return base64ToBytes(cmd.data);
  throw new Error(`unknown kind ${JSON.stringify(kind)}`);
};

const targetOf = (target) => {
  if (target === undefined || target === null) return null;
  if (typeof target === 'string' || (Array.isArray(target) && target.every((t) => typeof t === 'string'))) return target;
  throw new Error('target must be a peer id, an array of peer ids or null');
};

const errorText = (err) => String(err instanceof Error ? err.message : err).replace(/^(Trystero: )+/, '');

// Joins the room. `emit(event, extra)` gets every event in order; `extra.raw` holds a binary
// payload's bytes. Returns the commands: send(cmd), sendFile(file, target), ping(cmd),
// command(cmd) (the contract's send/ping/leave), leave(), peers(), relayStates().
export const joinDemoRoom = ({ strategy, relay, app, room: roomId, password, name }, emit) => {
  const chosen = strategies[strategy];
  if (!chosen) throw new Error(`unknown strategy ${JSON.stringify(strategy)} (${strategyNames.join(' or ')})`);

  // Events leave in the order they happened although hashing is asynchronous.
  let chain = Promise.resolve();
  const out = (eventOrPromise) => {
    chain = chain
      .then(() => eventOrPromise)
      .then(
        (e) => e && emit(...(Array.isArray(e) ? e : [e])),
        (err) => emit({ event: 'error', error: errorText(err) }),
      );
  };

  const lastProgress = new Map();
  const progress = (action, direction) => (fraction, { peerId, metadata }) => {
    const key = `${direction}\0${action}\0${peerId}`;
    const now = performance.now();
    if (fraction >= 1) lastProgress.delete(key);
    else if (now - (lastProgress.get(key) ?? -Infinity) < PROGRESS_INTERVAL_MS) return;
    else lastProgress.set(key, now);
    const e = { event: 'progress', action, peer: peerId, direction, fraction };
    if (metadata !== undefined) e.metadata = metadata;
    out(e);
  };

  const onMessage = (action) => (data, { peerId, metadata }) =>
    out(
      describe(data).then(({ raw, ...d }) => {
        const e = { event: 'message', action, peer: peerId, kind: d.kind, data: d.data };
        if (metadata !== undefined) e.metadata = metadata;
        e.bytes = d.bytes;
        e.sha256 = d.sha256;
        return [e, { raw }];
      }),
    );

  const room = chosen.joinRoom(
    { appId: app, relayConfig: { urls: [relay] }, ...(password ? { password } : {}) },
    roomId,
    { onJoinError: ({ peerId, error }) => out({ event: 'join-error', peer: peerId ?? '', error: errorText(error) }) },
  );
  const actions = {
    chat: room.makeAction('chat', { onMessage: onMessage('chat'), onReceiveProgress: progress('chat', 'in') }),
    file: room.makeAction('file', { onMessage: onMessage('file'), onReceiveProgress: progress('file', 'in') }),
    name: room.makeAction('name', {
      onMessage: (data, { peerId }) => {
        const clean = cleanName(data);
        if (clean) out({ event: 'name', peer: peerId, name: clean });
      },
    }),
  };
  const myName = cleanName(name);
  room.onPeerJoin = (peer) => {
    out({ event: 'join', peer });
    if (myName) actions.name.send(myName, { target: peer }).catch(() => {}); // best effort
  };
  room.onPeerLeave = (peer) => out({ event: 'leave', peer });
  out({ event: 'ready', self: selfId });

  let left = false;
  const send = (cmd, data) => {
    const action = actions[cmd.action];
    if (!action || cmd.action === 'name') throw new Error(`this page sends on "chat" and "file", not ${JSON.stringify(cmd.action)}`);
    const target = targetOf(cmd.target);
    const id = cmd.id ?? null;
    action
      .send(data, { target, ...(cmd.metadata !== undefined ? { metadata: cmd.metadata } : {}), onProgress: progress(cmd.action, 'out') })
      .then(
        () => out({ event: 'sent', id, ok: true }),
        (err) => out({ event: 'sent', id, ok: false, error: errorText(err) }),
      );
  };
  const ping = (cmd) => {
    if (typeof cmd.peer !== 'string') throw new Error('ping needs a peer');
    room.ping(cmd.peer).then(
      (ms) => out({ event: 'pong', id: cmd.id ?? null, peer: cmd.peer, ms }),
      (err) => out({ event: 'error', id: cmd.id ?? null, peer: cmd.peer, error: `ping: ${errorText(err)}` }),
    );
  };
  const leave = async () => {
    if (left) return;
    left = true;
    await room.leave();
    await chain; // every event before the leave is out
  };

  return {
    send: (cmd) => send(cmd, payloadOf(cmd)),
    sendFile: (file, target, id) => file.arrayBuffer().then((b) => send({ id, action: 'file', target, metadata: { name: cleanFileName(file.name) } }, new Uint8Array(b))),
    ping,
    leave,
    // The contract's commands; failures are `error` events, as `posthorn peer` reports them.
    command: (cmd) => {
      try {
        if (!cmd || typeof cmd !== 'object' || Array.isArray(cmd)) throw new Error('command must be a JSON object');
        if (left && cmd.cmd !== 'leave') throw new Error('the room was left');
        switch (cmd.cmd) {
          case 'send': return void send(cmd, payloadOf(cmd));
          case 'ping': return void ping(cmd);
          case 'leave': return leave();
          case 'send-file': throw new Error('send-file: a page cannot read paths (use the file picker, or send with kind binary)');
          default: throw new Error(`unknown command ${JSON.stringify(cmd.cmd)}`);
        }
      } catch (err) {
        out({ event: 'error', ...(cmd && typeof cmd === 'object' && 'id' in cmd ? { id: cmd.id } : {}), error: errorText(err) });
      }
      return undefined;
    },
    peers: () => Object.keys(room.getPeers()),
    // WebSocket readyState per relay URL (0 connecting, 1 open, 2 closing, 3 closed).
    relayStates: () => Object.entries(chosen.sockets() ?? {}).map(([url, socket]) => ({ url, state: socket?.readyState ?? 3 })),
  };
};
