// The page's DOM: renders room events (room.mjs) and turns clicks into commands. Every text that
// came from a peer is set with textContent (never as markup), and received files are offered as
// application/octet-stream downloads, so a peer can neither inject markup nor make the page open
// a document of its choosing. File names from peers go through cleanFileName (no paths, no
// control or bidi-override characters), and peer texts are bidi-isolated (style.css).
import { cleanFileName } from './room.mjs';

const $ = (id) => document.getElementById(id);

const el = (tag, props = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e[k] = v;
  }
  for (const c of children) e.append(c);
  return e;
};

export const formatBytes = (n) => {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
};

const shortId = (id) => (id.length > 8 ? `${id.slice(0, 8)}…` : id);
const clock = () => new Date().toLocaleTimeString([], { hour12: false });

// handlers: chat(text), sendFile(file, target), ping(peerId).
export const makeView = (handlers) => {
  const peers = new Map(); // id -> {row, name, ping}
  const names = new Map();
  const transfers = new Map();
  const who = (id) => names.get(id) ?? shortId(id);

  const log = (whoText, body, cls = '') => {
    const list = $('chat');
    list.append(el('li', { class: cls }, el('time', { text: clock() }), el('b', { text: whoText }), body));
    list.scrollTop = list.scrollHeight;
  };
  const note = (text) => log('', el('span', { class: 'note', text }), 'note');

  const refreshTargets = () => {
    const select = $('file-target');
    const keep = select.value;
    select.replaceChildren(el('option', { value: '', text: 'everyone' }));
    for (const id of peers.keys()) select.append(el('option', { value: id, text: who(id) }));
    select.value = peers.has(keep) ? keep : '';
    $('peers-empty').hidden = peers.size > 0;
  };

  const addPeer = (id) => {
    if (peers.has(id)) return;
    const name = el('span', { class: 'name', text: names.get(id) ?? '' });
    const ping = el('span', { class: 'ping' });
    const button = el('button', { type: 'button', text: 'ping' });
    button.addEventListener('click', () => {
      ping.textContent = '…';
      handlers.ping(id);
    });
    const row = el('li', {}, name, el('code', { class: 'id', text: id, title: id }), button, ping);
    $('peers').append(row);
    peers.set(id, { row, name, ping });
    refreshTargets();
    note(`${who(id)} joined`);
  };

  const removePeer = (id) => {
    const p = peers.get(id);
    if (!p) return;
    p.row.remove();
    peers.delete(id);
    refreshTargets();
    note(`${who(id)} left`);
  };

  const showProgress = ({ action, peer, direction, fraction, metadata }) => {
    if (action !== 'file') return;
    const fileName = cleanFileName(metadata?.name);
    const key = `${direction}\0${peer}\0${fileName}`;
    let t = transfers.get(key);
    if (!t) {
      const label = direction === 'out' ? `↑ ${fileName} → ${who(peer)}` : `↓ ${fileName} ← ${who(peer)}`;
      t = { bar: el('progress', { max: 1, value: 0 }), pct: el('span', { class: 'pct' }) };
      t.row = el('li', {}, el('span', { class: 'label', text: label }), t.bar, t.pct);
      $('transfers').append(t.row);
      transfers.set(key, t);
    }
    t.bar.value = fraction;
    t.pct.textContent = `${Math.round(fraction * 100)}%`;
    if (fraction >= 1) transfers.delete(key); // a later transfer of the same name gets a new row
  };

  const showFile = (e, raw) => {
    const fileName = cleanFileName(e.metadata?.name);
    // octet-stream: the browser downloads it whatever the peer claims it is.
    const url = URL.createObjectURL(new Blob([raw], { type: 'application/octet-stream' }));
    const link = el('a', { href: url, download: fileName, text: fileName });
    $('received').append(
      el('li', {}, link, el('span', { text: ` ${formatBytes(e.bytes)} from ${who(e.peer)}` }), el('code', { class: 'hash', text: `sha256 ${e.sha256.slice(0, 16)}…`, title: e.sha256 })),
    );
    $('received-empty').hidden = true;
  };

  $('chat-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const input = $('chat-input');
    if (!input.value) return;
    handlers.chat(input.value);
    log('you', el('span', { text: input.value }), 'mine');
    input.value = '';
  });
  $('file-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const file = $('file-input').files[0];
    if (file) handlers.sendFile(file, $('file-target').value || null);
  });

  return {
    setStatus: (text, state) => {
      const s = $('status');
      s.textContent = text;
      s.dataset.state = state;
    },
    setIdentity: ({ app, room, self, name, strategy, relay }) => {
      $('room-name').textContent = room;
      $('app-name').textContent = app;
      $('strategy').textContent = `${strategy} via ${relay}`;
      $('self').textContent = name ? `${name} (${self})` : self;
    },
    error: (text) => note(`⚠ ${text}`),
    // One room event (room.mjs), with a binary payload's bytes in extra.raw.
    handle: (e, extra = {}) => {
      switch (e.event) {
        case 'join': return addPeer(e.peer);
        case 'leave': return removePeer(e.peer);
        case 'name': {
          names.set(e.peer, e.name);
          const p = peers.get(e.peer);
          if (p) p.name.textContent = e.name;
          return refreshTargets();
        }
        case 'message':
          if (e.action === 'file' && extra.raw) return showFile(e, extra.raw);
          if (e.kind === 'text') return log(who(e.peer), el('span', { text: e.data }));
          if (e.kind === 'json') return log(who(e.peer), el('code', { text: JSON.stringify(e.data) }));
          return log(who(e.peer), el('span', { class: 'note', text: `(${formatBytes(e.bytes)} of binary on "${e.action}")` }));
        case 'progress': return showProgress(e);
        case 'pong': {
          const p = peers.get(e.peer);
          if (p) p.ping.textContent = `${e.ms.toFixed(1)} ms`;
          return undefined;
        }
        case 'sent': return e.ok ? undefined : note(`not sent: ${e.error}`);
        case 'join-error': return note(`could not join${e.peer ? ` ${shortId(e.peer)}` : ''}: ${e.error}`);
        case 'error': {
          const p = e.peer && peers.get(e.peer);
          if (p) p.ping.textContent = 'no answer';
          return note(e.error);
        }
        default: return undefined;
      }
    },
  };
};
