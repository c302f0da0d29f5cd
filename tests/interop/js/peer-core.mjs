// Runtime-neutral core of the Trystero interop peer: the JSON-lines contract of `posthorn peer`
// (docs/interop.md, DESIGN.md §7) mapped onto the real Trystero room API. Used as is by the Node
// runtime (trystero-peer.mjs) and bundled by esbuild for headless Chromium (browser-entry.mjs).
// It only needs what both runtimes have: WebCrypto, TextEncoder/TextDecoder, btoa/atob.

export const MAX_PRINTED_BINARY = 64 * 1024; // larger binary payloads print "data":null
export const PROGRESS_INTERVAL_MS = 25;
const SLOW_GATHERING_MS = 1000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const bytesToBase64 = (bytes) => {
  if (typeof Buffer !== 'undefined') return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
};

export const base64ToBytes = (b64) => {
  if (typeof b64 !== 'string') throw new Error('binary data must be a base64 string');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 === 1) throw new Error('invalid base64');
  if (typeof Buffer !== 'undefined') return new Uint8Array(Buffer.from(b64, 'base64'));
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
};

const toHex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
export const sha256Hex = async (bytes) => toHex(await crypto.subtle.digest('SHA-256', bytes));

const isBytes = (v) => v instanceof Uint8Array || v instanceof ArrayBuffer || ArrayBuffer.isView(v);
const asUint8 = (v) =>
  v instanceof Uint8Array ? v : v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);

// Describes a received (or returned) payload the way the contract prints it: kind, data, bytes,
// sha256. bytes/sha256 are over the UTF-8 of text, the compact JSON text for json (what
// JSON.stringify writes, i.e. what Trystero put on the wire), the raw bytes for binary.
export const describePayload = async (value) => {
  if (typeof value === 'string') {
    const b = encoder.encode(value);
    return { kind: 'text', data: value, bytes: b.byteLength, sha256: await sha256Hex(b) };
  }
  if (isBytes(value)) {
    const b = asUint8(value);
    return {
      kind: 'binary',
      data: b.byteLength > MAX_PRINTED_BINARY ? null : bytesToBase64(b),
      bytes: b.byteLength,
      sha256: await sha256Hex(b),
    };
  }
  const b = encoder.encode(JSON.stringify(value));
  return { kind: 'json', data: value, bytes: b.byteLength, sha256: await sha256Hex(b) };
};

// Turns a command's {kind, data} into the JS value Trystero should send.
export const payloadFromCommand = (cmd) => {
  const kind = cmd.kind ?? (typeof cmd.data === 'string' ? 'text' : 'json');
  if (kind === 'text') {
    if (typeof cmd.data !== 'string') throw new Error('text data must be a string');
    return cmd.data;
  }
  if (kind === 'json') {
    if (!('data' in cmd)) throw new Error('json data missing');
    // A JS string would go out as text; JSON-encoded strings are not representable in Trystero
    // (a string is always sent raw), so refuse them rather than silently change the kind.
    if (typeof cmd.data === 'string') throw new Error('a json payload cannot be a string (use kind text)');
    return cmd.data;
  }
  if (kind === 'binary') return base64ToBytes(cmd.data);
  throw new Error(`unknown kind ${JSON.stringify(kind)}`);
};

const normalizeTargets = (target) => {
  if (target === undefined || target === null) return null;
  if (typeof target === 'string') return [target];
  if (Array.isArray(target) && target.every((t) => typeof t === 'string')) return target;
  throw new Error('target must be a peer id, an array of peer ids or null');
};

// Error texts as the contract reports them: Trystero prefixes the messages of the errors it makes
// with "Trystero: " (twice when it wraps another of its errors); strip it so the texts compare
// across implementations.
const stripLib = (text) => text.replace(/^(Trystero: )+/, '');
const errText = (err) => stripLib(err instanceof Error ? err.message : String(err));

// Peeks at incoming data-channel frames (before Trystero sees them) to learn the action types the
// remote uses, so that every user action gets a handler without being declared up front. Trystero
// itself only delivers actions the application registered with makeAction().
const hookHandlerProp = (obj, name, wrap) => {
  let desc;
  for (let o = obj; o && !desc; o = Object.getPrototypeOf(o)) desc = Object.getOwnPropertyDescriptor(o, name);
  if (desc && (desc.get || desc.set)) {
    // Browser: an IDL event-handler attribute on the prototype.
    let current = null;
    Object.defineProperty(obj, name, {
      configurable: true,
      enumerable: true,
      get: () => current,
      set: (h) => {
        current = h;
        desc.set.call(obj, typeof h === 'function' ? wrap(h) : h);
      },
    });
    return;
  }
  // node-datachannel polyfill: a plain field that its own listener calls as this[name](e).
  let wrapped = desc && typeof desc.value === 'function' ? wrap(desc.value) : null;
  Object.defineProperty(obj, name, {
    configurable: true,
    enumerable: true,
    get: () => wrapped,
    set: (h) => {
      wrapped = typeof h === 'function' ? wrap(h) : h;
    },
  });
};

const actionTypeOfFrame = (data) => {
  if (!(data instanceof ArrayBuffer) && !ArrayBuffer.isView(data)) return null;
  const b = asUint8(data);
  if (b.length < 3 || b[0] !== 1) return null; // only room frames carry actions (spec §7.1)
  const start = 3 + ((b[1] << 8) | b[2]);
  if (b.length < start + 36) return null;
  return decoder.decode(b.subarray(start, start + 32)).replaceAll('\0', '');
};

let pcCount = 0;

// One line describing a data-channel message as the wire spec reads it (§7.1, §8.1): frame kind,
// size, and for a room frame the chunk header (action, nonce, tag bits, progress, body length).
export const describeFrame = (data) => {
  if (typeof data === 'string') return `text message (${data.length} chars): Trystero drops it`;
  if (!(data instanceof ArrayBuffer) && !ArrayBuffer.isView(data)) return `non-binary message ${typeof data}`;
  const b = asUint8(data);
  if (b.length < 3) return `${b.length} bytes: too short for a frame`;
  const tokenLen = (b[1] << 8) | b[2];
  if (b[0] === 2) return `${b.length} bytes presence present=${b[1]}`;
  if (b[0] !== 1) return `${b.length} bytes: unknown frame type ${b[0]}`;
  const start = 3 + tokenLen;
  if (b.length < start + 36) return `${b.length} bytes room frame: chunk shorter than its header`;
  const type = decoder.decode(b.subarray(start, start + 32)).replaceAll('\0', '');
  const nonce = (b[start + 32] << 8) | b[start + 33];
  const tag = b[start + 34];
  return `${b.length} bytes room frame ${JSON.stringify(type)} nonce=${nonce} tag=0x${tag.toString(16).padStart(2, '0')} progress=${b[start + 35]} body=${b.length - start - 36}`;
};

// sniff: log every incoming data-channel message (describeFrame) and the channel's lifecycle.
export const makePeekingPeerConnection = (Base, onActionType, log = () => {}, sniff = false) => {
  const peek = (e, n) => {
    try {
      if (sniff) log(`sniff pc#${n} in: ${describeFrame(e?.data)}`);
      const type = actionTypeOfFrame(e?.data);
      if (type && !type.startsWith('@_')) onActionType(type);
    } catch {
      // never let the harness break Trystero's own handler
    }
  };
  const instrument = (channel, n) => {
    if (sniff) {
      for (const ev of ['open', 'close', 'error', 'bufferedamountlow'])
        channel.addEventListener?.(ev, (e) =>
          log(`sniff pc#${n} channel ${channel.label} ${ev}${e?.error ? ` ${e.error}` : ''} buffered=${channel.bufferedAmount}`));
    }
    hookHandlerProp(channel, 'onmessage', (h) =>
      function (e) {
        peek(e, n);
        return h.call(this, e);
      });
  };
  return class PeekingRTCPeerConnection extends Base {
    constructor(...args) {
      super(...args);
      // Connection progress goes to stderr: it is what explains a join that never comes.
      const n = ++pcCount;
      this.n = n;
      const state = () => `pc#${n} signaling=${this.signalingState} ice=${this.iceConnectionState} connection=${this.connectionState}`;
      // Pooled offers (20 per peer) sit in have-local-offer; only report those that got an
      // answer, or ended.
      const report = () => {
        let answered = false;
        try {
          answered = Boolean(this.remoteDescription?.sdp);
        } catch {
          // node-datachannel may throw before a remote description exists
        }
        if (answered || /failed|closed|disconnected/.test(state())) log(state());
      };
      // Non-trickle strategies (torrent) send an SDP only once gathering completes: a slow
      // gathering (e.g. STUN servers that cannot be resolved or reached) delays every offer and
      // answer, so it is worth a line.
      const created = Date.now();
      this.addEventListener('icegatheringstatechange', () => {
        const ms = Date.now() - created;
        if (this.iceGatheringState === 'complete' && ms >= SLOW_GATHERING_MS) log(`pc#${n} ICE gathering took ${ms} ms`);
      });
      this.addEventListener('iceconnectionstatechange', report);
      this.addEventListener('connectionstatechange', report);
      hookHandlerProp(this, 'ondatachannel', (h) =>
        function (e) {
          if (e?.channel) instrument(e.channel, n);
          return h.call(this, e);
        });
    }
    setRemoteDescription(description, ...rest) {
      log(`pc#${this.n} remote ${description?.type} (${(description?.sdp?.match(/a=candidate/g) ?? []).length} candidates in the SDP)`);
      return super.setRemoteDescription(description, ...rest);
    }
    createDataChannel(...args) {
      const channel = super.createDataChannel(...args);
      instrument(channel, this.n);
      return channel;
    }
  };
};

// Parses the shared command line. Unknown flags are errors; --bind is accepted and ignored.
export const parseArgs = (argv) => {
  const o = { relays: [], serve: {}, actions: [], stun: [], passive: false, progress: false, runtime: 'node', mdns: true, turn: [], sniff: false, noDefaultStun: false };
  const need = (i, flag) => {
    if (i + 1 >= argv.length) throw new Error(`${flag} needs a value`);
    return argv[i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--app': o.app = need(i, a); i++; break;
      case '--room': o.room = need(i, a); i++; break;
      case '--password': o.password = need(i, a); i++; break;
      case '--handshake': o.handshake = need(i, a); i++; break; // docs/cli-peer.md, --handshake
      case '--strategy': o.strategy = need(i, a); i++; break;
      case '--relay': o.relays.push(need(i, a)); i++; break;
      case '--passive': o.passive = true; break;
      case '--progress': o.progress = true; break;
      case '--runtime': o.runtime = need(i, a); i++; break;
      case '--no-mdns': o.mdns = false; break;
      case '--sniff': o.sniff = true; break; // log every incoming data-channel message to stderr
      case '--action': o.actions.push(need(i, a)); i++; break;
      case '--stun': o.stun.push(need(i, a)); i++; break;
      case '--bind': need(i, a); i++; break; // accepted for compatibility; the browser/libdatachannel choose
      case '--log-level': need(i, a); i++; break; // accepted for compatibility
      case '--turn': o.turn.push({ urls: need(i, a) }); i++; break;
      case '--turn-user': o.turnUser = need(i, a); i++; break;
      case '--turn-pass': o.turnPass = need(i, a); i++; break;
      case '--relay-only': o.relayOnly = true; break; // W3C iceTransportPolicy 'relay'
      case '--serve': {
        const v = need(i, a);
        i++;
        const m = /^(.+)=(echo|error)$/.exec(v);
        if (!m) throw new Error(`--serve expects ACTION=echo|error, got ${v}`);
        o.serve[m[1]] = m[2];
        break;
      }
      default:
        throw new Error(`unknown argument ${a}`);
    }
  }
  if (!o.app) throw new Error('--app is required');
  if (!o.room) throw new Error('--room is required');
  if (!['mqtt', 'nostr', 'torrent'].includes(o.strategy))
    throw new Error(`--strategy ${o.strategy ?? '(missing)'}: mqtt, nostr or torrent`);
  if (!o.relays.length) throw new Error('at least one --relay is required');
  if (o.runtime !== 'node' && o.runtime !== 'chromium') throw new Error(`unknown runtime ${o.runtime}`);
  if (o.relayOnly && !o.turn.length) throw new Error('--relay-only needs a --turn server');
  for (const t of o.turn) {
    if (o.turnUser !== undefined) t.username = o.turnUser;
    if (o.turnPass !== undefined) t.credential = o.turnPass;
  }
  return o;
};

// Starts the peer. `emit(obj)` writes one event line; `onLeft()` is called once the room is left.
// Returns {handle(cmd, readFile), handleLine(line, readFile)}; readFile(path) resolves to the
// bytes of a send-file path (the runtimes read files differently).
export const startPeer = ({ joinRoom, selfId, RTCPeerConnection: BasePC, opts, emit, onLeft, log = () => {} }) => {
  // Events go out strictly in the order they happened even though hashing is asynchronous. Only
  // events and quick hashing promises go into this chain, never a pending network operation.
  let chain = Promise.resolve();
  const out = (evOrPromise) => {
    chain = chain.then(() => evOrPromise).then(
      (ev) => ev && emit(ev),
      (err) => emit({ event: 'error', error: errText(err) }),
    );
  };

  const actions = new Map(); // type -> {kind, action}
  let room = null;
  let leaving = false;

  // Progress is reported per chunk by Trystero (16 KiB); printing every one of them costs more
  // than the transfer in Chromium (each crosses CDP), so intermediate values are thinned to one
  // per PROGRESS_INTERVAL_MS per transfer. The first value and the final 1.0 are always printed.
  const lastProgress = new Map();
  const progressOut = (action, direction) => (fraction, ctx) => {
    if (!opts.progress) return;
    const key = `${direction}\0${action}\0${ctx.peerId}`;
    const now = Date.now();
    const last = lastProgress.get(key);
    if (fraction >= 1) lastProgress.delete(key);
    else if (last !== undefined && now - last < PROGRESS_INTERVAL_MS) return;
    else lastProgress.set(key, now);
    const ev = { event: 'progress', action, peer: ctx.peerId, direction, fraction };
    if (ctx.metadata !== undefined) ev.metadata = ctx.metadata;
    out(ev);
  };

  const ensureAction = (type, kind) => {
    const known = actions.get(type);
    if (known) {
      if (known.kind !== kind) throw new Error(`action ${type} is already a ${known.kind} action`);
      return known.action;
    }
    let action;
    if (kind === 'request') {
      const mode = opts.serve[type];
      action = room.makeAction(type, {
        kind: 'request',
        onReceiveProgress: progressOut(type, 'in'),
        ...(mode
          ? {
              onRequest: (data) => {
                if (mode === 'error') throw new Error('handler error');
                return data;
              },
            }
          : {}),
      });
    } else {
      action = room.makeAction(type, {
        onReceiveProgress: progressOut(type, 'in'),
        onMessage: (data, ctx) =>
          out(
            describePayload(data).then((d) => {
              const ev = { event: 'message', action: type, peer: ctx.peerId, kind: d.kind, data: d.data };
              if (ctx.metadata !== undefined) ev.metadata = ctx.metadata;
              ev.bytes = d.bytes;
              ev.sha256 = d.sha256;
              return ev;
            }),
          ),
      });
    }
    actions.set(type, { kind, action });
    return action;
  };

  const rtcPolyfill = makePeekingPeerConnection(
    BasePC,
    (type) => {
      if (room && !actions.has(type)) ensureAction(type, 'message');
    },
    log,
    opts.sniff,
  );

  const config = {
    appId: opts.app,
    relayConfig: { urls: opts.relays },
    rtcPolyfill,
    ...(opts.password !== undefined ? { password: opts.password } : {}),
    ...(opts.passive ? { passive: true } : {}),
    ...(opts.turn.length ? { turnConfig: opts.turn } : {}),
    // --stun replaces Trystero's default STUN list (public servers, unreachable offline);
    // noDefaultStun (POSTHORN_INTEROP_NO_DEFAULT_STUN=1) drops it without a replacement.
    // rtcConfig.iceServers would replace turnConfig too, so the TURN entries go in again.
    ...(opts.stun.length || opts.relayOnly || opts.noDefaultStun
      ? {
          rtcConfig: {
            iceServers: [...opts.stun.map((s) => ({ urls: `stun:${s}` })), ...opts.turn],
            ...(opts.relayOnly ? { iceTransportPolicy: 'relay' } : {}),
          },
        }
      : {}),
  };
  // --handshake SECRET: the application step of `posthorn peer --handshake` (Trystero's README
  // example): the initiator challenges, the other side answers with the secret.
  const onPeerHandshake =
    opts.handshake === undefined
      ? undefined
      : async (_peer, send, receive, isInitiator) => {
          if (isInitiator) {
            await send({ challenge: 'posthorn-peer' });
            const { data } = await receive();
            if (data?.response !== opts.handshake) throw new Error('handshake rejected');
          } else {
            const { data } = await receive();
            if (data?.challenge !== 'posthorn-peer') throw new Error('handshake rejected');
            await send({ response: opts.handshake });
          }
        };
  room = joinRoom(config, opts.room, {
    onJoinError: ({ peerId, error }) => out({ event: 'join-error', peer: peerId ?? '', error: stripLib(String(error)) }),
    ...(onPeerHandshake ? { onPeerHandshake } : {}),
  });
  for (const type of Object.keys(opts.serve)) ensureAction(type, 'request');
  for (const type of opts.actions) if (!actions.has(type)) ensureAction(type, 'message');
  room.onPeerJoin = (peer) => {
    log(`join ${peer}`);
    out({ event: 'join', peer });
  };
  room.onPeerLeave = (peer) => {
    log(`leave ${peer}`);
    out({ event: 'leave', peer });
  };
  log(`self ${selfId}, app ${opts.app}, room ${opts.room}, relays ${opts.relays.join(' ')}`);
  out({ event: 'ready', self: selfId });

  const checkTargets = (targets) => {
    const peers = room.getPeers();
    for (const t of targets ?? []) if (!peers[t]) throw new Error(`no active peer with id ${t}`);
  };

  const doSend = async (cmd, data) => {
    if (typeof cmd.action !== 'string' || !cmd.action) throw new Error('action must be a non-empty string');
    const targets = normalizeTargets(cmd.target);
    const action = ensureAction(cmd.action, 'message');
    checkTargets(targets);
    await action.send(data, {
      target: targets,
      ...('metadata' in cmd ? { metadata: cmd.metadata } : {}),
      onProgress: progressOut(cmd.action, 'out'),
    });
  };

  const sendCommand = (cmd, dataFn) => {
    // Long operations report when they finish: they must not hold back the events queued meanwhile.
    const run = async () => doSend(cmd, await dataFn());
    run().then(
      () => out({ event: 'sent', id: cmd.id ?? null, ok: true }),
      (err) => out({ event: 'sent', id: cmd.id ?? null, ok: false, error: errText(err) }),
    );
  };

  const handle = (cmd, readFile) => {
    try {
      if (!cmd || typeof cmd !== 'object' || Array.isArray(cmd)) throw new Error('command must be a JSON object');
      if (leaving && cmd.cmd !== 'leave') throw new Error('room is being left');
      switch (cmd.cmd) {
        case 'send': {
          const data = payloadFromCommand(cmd); // validate synchronously: a bad command is an error event
          sendCommand(cmd, () => data);
          return;
        }
        case 'send-file': {
          if (typeof cmd.path !== 'string') throw new Error('send-file needs a path');
          sendCommand(cmd, () => readFile(cmd.path));
          return;
        }
        case 'ping': {
          if (typeof cmd.peer !== 'string') throw new Error('ping needs a peer');
          room.ping(cmd.peer).then(
            (ms) => out({ event: 'pong', id: cmd.id ?? null, peer: cmd.peer, ms }),
            (err) => out({ event: 'error', id: cmd.id ?? null, peer: cmd.peer, error: errText(err) }),
          );
          return;
        }
        case 'request': {
          if (typeof cmd.action !== 'string' || !cmd.action) throw new Error('action must be a non-empty string');
          const targets = normalizeTargets(cmd.target);
          if (!targets || !targets.length) throw new Error('request needs a target');
          const data = payloadFromCommand(cmd);
          const action = ensureAction(cmd.action, 'request');
          const timeoutMs = typeof cmd.timeout_ms === 'number' ? cmd.timeout_ms : undefined;
          for (const target of targets) {
            action
              .request(data, {
                target,
                ...(timeoutMs !== undefined ? { timeoutMs } : {}),
                ...('metadata' in cmd ? { metadata: cmd.metadata } : {}),
              })
              .then(
                (value) =>
                  out(
                    describePayload(value).then((d) => ({
                      event: 'response',
                      id: cmd.id ?? null,
                      peer: target,
                      ok: true,
                      ...d,
                    })),
                  ),
                (err) =>
                  out({
                    event: 'response',
                    id: cmd.id ?? null,
                    peer: target,
                    ok: false,
                    error: errText(err),
                    ...(err?.kind ? { reason: err.kind } : {}),
                  }),
              );
          }
          return;
        }
        case 'leave': {
          if (leaving) return;
          leaving = true;
          const left = room.leave().catch((err) => emit({ event: 'error', error: errText(err) }));
          // Let every event queued before the leave reach stdout first.
          chain = chain.then(() => left).then(() => onLeft());
          return;
        }
        default:
          throw new Error(`unknown command ${JSON.stringify(cmd.cmd)}`);
      }
    } catch (err) {
      out({ event: 'error', ...(cmd && typeof cmd === 'object' && 'id' in cmd ? { id: cmd.id } : {}), error: errText(err) });
    }
  };

  return {
    handle,
    handleLine: (line, readFile) => {
      if (!line.trim()) return;
      let cmd;
      try {
        cmd = JSON.parse(line);
      } catch (err) {
        out({ event: 'error', error: `malformed command: ${errText(err)}` });
        return;
      }
      handle(cmd, readFile);
    },
  };
};
