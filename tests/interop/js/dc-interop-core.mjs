// The `posthorn dc` JSON-lines contract (docs/cli-dc.md) over any W3C-shaped RTCPeerConnection:
// Chromium's own (in a page, bundled by dc-interop-build.mjs), @roamhq/wrtc (libwebrtc),
// node-datachannel's polyfill (libdatachannel) and werift. dc-interop-peer.mjs wires it to
// stdin/stdout (Node) or to a page (Chromium); this module never touches Node or DOM APIs
// directly: everything platform-specific arrives in `platform`.
//
//   platform.sha256()            -> { update(Uint8Array), digest(): Promise<hex string> }
//   platform.base64Decode(s)     -> Uint8Array (throws on bad input)
//   platform.toSendable(u8)      -> what channel.send() takes for binary on this stack
//   platform.exit(code)          -> the process (or page bridge) ends
//
// Every line written is one JSON object; diagnostics go to `log`.

export const parseArgs = (argv) => {
  const o = {
    role: '',
    label: 'data',
    mode: 'echo',
    bytes: 0,
    messageSize: 65536,
    bind: '',
    quiet: false,
    impl: '',
    mdns: true,
    logLevel: 'warn',
    turn: [],
    turnUser: '',
    turnPass: '',
    relayOnly: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--role') o.role = value();
    else if (a === '--label') o.label = value();
    else if (a === '--mode') o.mode = value();
    else if (a === '--bytes') o.bytes = Number(value());
    else if (a === '--message-size') o.messageSize = Number(value());
    else if (a === '--bind') o.bind = value();
    else if (a === '--quiet') o.quiet = true;
    else if (a === '--impl') o.impl = value();
    else if (a === '--no-mdns') o.mdns = false;
    else if (a === '--log-level') o.logLevel = value();
    else if (a === '--turn') o.turn.push(value());
    else if (a === '--turn-user') o.turnUser = value();
    else if (a === '--turn-pass') o.turnPass = value();
    else if (a === '--relay-only') o.relayOnly = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!['offer', 'answer'].includes(o.role)) throw new Error('--role offer|answer is required');
  if (o.relayOnly && o.turn.length === 0) throw new Error('--relay-only needs a --turn server');
  if (!['echo', 'sink', 'source', 'manual'].includes(o.mode)) throw new Error(`bad --mode ${o.mode}`);
  if (!Number.isSafeInteger(o.bytes) || o.bytes < 0) throw new Error('--bytes needs a count');
  if (!Number.isInteger(o.messageSize) || o.messageSize < 1 || o.messageSize > 262144)
    throw new Error('--message-size is 1 ... 262144');
  return o;
};

// One period of the source pattern: the byte at stream offset i is i mod 251 (docs/cli-dc.md).
const PERIOD = Uint8Array.from({ length: 251 }, (_, i) => i);
export const pattern = (offset, n) => {
  const out = new Uint8Array(n);
  let phase = offset % 251;
  for (let i = 0; i < n; ) {
    const k = Math.min(n - i, 251 - phase);
    out.set(PERIOD.subarray(phase, phase + k), i);
    i += k;
    phase = 0;
  }
  return out;
};

const utf8 = new TextEncoder();

// The candidate-attribute's connection address (RFC 8839 §5.1): "candidate:f c transport prio
// ADDRESS port typ ...".
const candidateAddress = (c) => (c || '').split(' ')[4] ?? '';

// Back-pressure marks, as posthorn dc uses them.
const HIGH_WATER = 4 << 20;
const LOW_WATER = 1 << 20;

export const startDcPeer = ({ RTCPeerConnection, rtcConfig, opts, emit, platform, log }) => {
  const impl = opts.impl;
  // --turn/--relay-only as `posthorn dc` takes them, in W3C RTCConfiguration terms.
  const turnServers = opts.turn.map((urls) => ({ urls, username: opts.turnUser, credential: opts.turnPass }));
  const pc = new RTCPeerConnection({
    ...rtcConfig,
    iceServers: [...(rtcConfig.iceServers ?? []), ...turnServers],
    ...(opts.relayOnly ? { iceTransportPolicy: 'relay' } : {}),
  });
  const channels = new Set(); // every RTCDataChannel we know, with its state in `state`
  const state = new Map(); // channel -> { open, source, sink, reportedOpen }
  let primary = null;
  let primaryStarted = false;
  let closed = false;
  let queue = Promise.resolve(); // stdin lines are handled strictly in order

  const error = (why) => emit({ type: 'error', error: why });

  const finish = (code) => {
    if (closed) return;
    closed = true;
    setTimeout(() => {
      try {
        pc.close();
      } catch {
        // already closed
      }
      platform.exit(code);
    }, 50);
  };
  const closedLine = (code, label) => {
    if (closed) return;
    emit(label === undefined ? { type: 'closed' } : { type: 'closed', label });
    finish(code);
  };

  // --- ICE: only candidates on the --bind address leave (and mDNS names, which hide host
  // addresses in browsers: resolving them is the remote's job).
  // Candidates go out after our description: some stacks fire them while setLocalDescription
  // is still pending, and a remote that gets a candidate before the description refuses it.
  let descriptionSent = false;
  const heldCandidates = [];
  const emitCandidate = (line) => (descriptionSent ? emit(line) : heldCandidates.push(line));
  const emitDescription = (type, sdp) => {
    emit({ type, sdp });
    descriptionSent = true;
    for (const line of heldCandidates.splice(0)) emit(line);
  };
  pc.onicecandidate = (e) => {
    const c = e.candidate;
    if (!c || !c.candidate) {
      emitCandidate({ type: 'candidate', candidate: '' });
      return;
    }
    const addr = candidateAddress(c.candidate);
    const allowed = !opts.bind || addr === opts.bind || addr.endsWith('.local');
    log(`local candidate ${allowed ? 'sent' : 'filtered'}: ${c.candidate}`);
    if (!allowed) return;
    emitCandidate({ type: 'candidate', candidate: c.candidate, sdpMid: c.sdpMid ?? '0', sdpMLineIndex: c.sdpMLineIndex ?? 0 });
  };
  // W3C icecandidateerror: a TURN/STUN server that could not be used (wrong credentials,
  // unreachable); the contract reports it as `posthorn dc` does. libwebrtc also fires it for
  // each local socket of the other address family ("address is incompatible"): that is noise.
  pc.onicecandidateerror = (e) => {
    log(`ice candidate error ${e.errorCode} ${e.errorText} (${e.url})`);
    if (/incompatible/i.test(e.errorText ?? '')) return;
    emit({ type: 'error', error: `ICE server ${e.url}: ${e.errorCode} ${e.errorText}`, url: e.url, errorCode: e.errorCode });
  };
  pc.onconnectionstatechange = () => {
    const s = pc.connectionState;
    log(`connection state ${s}`);
    emit({ type: 'state', state: s });
    if (s === 'failed') {
      error('connection failed');
      closedLine(1);
    } else if (s === 'closed') {
      closedLine(0);
    }
  };
  pc.oniceconnectionstatechange = () => log(`ice connection state ${pc.iceConnectionState}`);
  pc.ondatachannel = (e) => setup(e.channel, true);

  const labelled = (cmd) => {
    if (!('label' in cmd)) return primary;
    let pending = null;
    for (const ch of channels) {
      if (ch.label !== cmd.label) continue;
      if (ch.readyState === 'open') return ch;
      pending ??= ch;
    }
    return pending;
  };

  const remoteMaxMessageSize = () => {
    const m = pc.sctp?.maxMessageSize;
    return typeof m === 'number' && m > 0 ? m : Infinity;
  };

  const toBytes = (data) => {
    if (typeof data === 'string') return null;
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    throw new Error(`unexpected message data ${Object.prototype.toString.call(data)}`);
  };

  const send = (ch, payload) => ch.send(typeof payload === 'string' ? payload : platform.toSendable(payload));

  const onOpen = (ch) => {
    const st = state.get(ch);
    if (st.reportedOpen) return;
    st.reportedOpen = true;
    st.open = true;
    primary ??= ch;
    // @roamhq/wrtc reports an unset maxRetransmits/maxPacketLifeTime as 65535.
    const unset = impl === 'wrtc' ? 65535 : undefined;
    const num = (v) => (typeof v === 'number' && v !== unset ? v : null);
    emit({
      type: 'open',
      label: ch.label,
      id: num(ch.id),
      ordered: ch.ordered,
      maxRetransmits: num(ch.maxRetransmits),
      maxPacketLifeTime: num(ch.maxPacketLifeTime),
      protocol: ch.protocol ?? '',
      negotiated: !!ch.negotiated,
      remote: st.remote,
    });
    if (ch === primary && !primaryStarted) {
      primaryStarted = true;
      if (opts.mode === 'source') startSource(ch, opts.bytes, opts.messageSize);
      if (opts.mode === 'sink') st.sink = { bytes: opts.bytes, done: 0, hash: platform.sha256() };
    }
    if (st.source) pump(ch);
  };

  const onMessage = (ch, data) => {
    const st = state.get(ch);
    const bytes = toBytes(data);
    const binary = bytes !== null;
    const raw = binary ? bytes : utf8.encode(data);
    if (st.sink) {
      const job = st.sink;
      job.done += raw.byteLength;
      job.hash.update(raw);
      if (job.done >= job.bytes) {
        st.sink = null;
        job.hash.digest().then((sha256) => emit({ type: 'done', label: ch.label, bytes: job.done, sha256 }));
      }
      return;
    }
    if (!opts.quiet || opts.mode === 'echo' || opts.mode === 'manual' || ch !== primary) {
      const line = { type: 'message', label: ch.label, bytes: raw.byteLength, binary };
      if (!binary && raw.byteLength <= 1024) line.data = data;
      emit(line);
    }
    if (opts.mode === 'echo') {
      try {
        send(ch, binary ? bytes.slice() : data);
      } catch (err) {
        error(`echo: ${err.message}`);
      }
    }
  };

  const setup = (ch, remote) => {
    channels.add(ch);
    state.set(ch, { open: false, source: null, sink: null, reportedOpen: false, remote });
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
    ch.onclose = () => {
      if (!channels.has(ch)) return;
      channels.delete(ch);
      log(`channel ${ch.label} closed`);
      emit({ type: 'channel-closed', label: ch.label });
      if (ch === primary) closedLine(0, ch.label);
    };
    ch.addEventListener('bufferedamountlow', () => pump(ch));
    ch.onbufferedamountlow = () => pump(ch);
    // Some stacks hand out remote channels already open and fire no open event.
    if (ch.readyState === 'open') queueMicrotask(() => onOpen(ch));
  };

  const startSource = (ch, bytes, messageSize) => {
    const st = state.get(ch);
    st.source = { bytes, done: 0, messageSize, hash: platform.sha256() };
    if (st.open) pump(ch);
  };

  // Sends the pattern while the buffer is below the high-water mark; bufferedamountlow resumes.
  const pump = (ch) => {
    const st = state.get(ch);
    const job = st?.source;
    if (!job || !st.open) return;
    const size = Math.min(job.messageSize, remoteMaxMessageSize());
    try {
      while (job.done < job.bytes && ch.bufferedAmount < HIGH_WATER) {
        const n = Math.min(size, job.bytes - job.done);
        const chunk = pattern(job.done, n);
        send(ch, chunk);
        job.hash.update(chunk);
        job.done += n;
      }
    } catch (err) {
      st.source = null;
      error(`send: ${err.message}`);
      return;
    }
    if (job.done >= job.bytes) {
      st.source = null;
      job.hash.digest().then((sha256) => emit({ type: 'done', label: ch.label, bytes: job.done, sha256 }));
    } else {
      // bufferedamountlow resumes us where the stack fires it; a slow poll covers stacks that do
      // not (@roamhq/wrtc never did here) and a crossing that happened before we looked.
      clearTimeout(st.poll);
      st.poll = setTimeout(() => pump(ch), 20);
    }
  };

  const commands = {
    offer: async (cmd) => {
      await pc.setRemoteDescription({ type: 'offer', sdp: cmd.sdp });
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      emitDescription('answer', pc.localDescription?.sdp ?? answer.sdp);
    },
    answer: async (cmd) => {
      await pc.setRemoteDescription({ type: 'answer', sdp: cmd.sdp });
    },
    candidate: async (cmd) => {
      // End-of-candidates: not every stack takes the empty candidate; nothing depends on it.
      if (!cmd.candidate) return;
      await pc.addIceCandidate({ candidate: cmd.candidate, sdpMid: cmd.sdpMid ?? '0', sdpMLineIndex: cmd.sdpMLineIndex ?? 0 });
    },
    send: async (cmd) => {
      const ch = labelled(cmd);
      if (!ch || typeof cmd.data !== 'string') return error('send: no open channel or no data string');
      send(ch, cmd.binary ? platform.base64Decode(cmd.data) : cmd.data);
    },
    close: async (cmd) => {
      const ch = labelled(cmd);
      if (!ch) return error(`close: no channel labelled ${JSON.stringify(cmd.label)}`);
      ch.close();
    },
    'open-channel': async (cmd) => {
      const init = { ordered: cmd.ordered ?? true, protocol: cmd.protocol ?? '' };
      if (cmd.maxRetransmits != null) init.maxRetransmits = cmd.maxRetransmits;
      if (cmd.maxPacketLifeTime != null) init.maxPacketLifeTime = cmd.maxPacketLifeTime;
      setup(pc.createDataChannel(cmd.label ?? '', init), false);
    },
    'send-pattern': async (cmd) => {
      const ch = labelled(cmd);
      if (!ch || !Number.isSafeInteger(cmd.bytes)) return error('send-pattern: no such channel or no byte count');
      startSource(ch, cmd.bytes, cmd.messageSize ?? opts.messageSize);
    },
    expect: async (cmd) => {
      const ch = labelled(cmd);
      if (!ch || !Number.isSafeInteger(cmd.bytes)) return error('expect: no such channel or no byte count');
      state.get(ch).sink = { bytes: cmd.bytes, done: 0, hash: platform.sha256() };
    },
  };

  const handleLine = (line) => {
    queue = queue.then(async () => {
      let cmd;
      try {
        cmd = JSON.parse(line);
      } catch {
        cmd = null;
      }
      if (!cmd || typeof cmd !== 'object' || typeof cmd.type !== 'string')
        return error('ignored a line that is not a JSON signaling object');
      const fn = commands[cmd.type];
      if (!fn) return error(`unknown signaling type '${cmd.type}'`);
      try {
        await fn(cmd);
      } catch (err) {
        error(`${cmd.type}: ${err.message}`);
      }
    });
  };

  const start = async () => {
    if (opts.role !== 'offer') return;
    setup(pc.createDataChannel(opts.label), false);
    primary = [...channels][0];
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    emitDescription('offer', pc.localDescription?.sdp ?? offer.sdp);
  };

  // End of input: close gracefully and exit, as posthorn dc does.
  const end = () => {
    queue = queue.then(() => finish(0));
  };

  return { start, handleLine, end, pc };
};
