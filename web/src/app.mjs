// posthorn's browser demo page: joins a Trystero room through a posthorn relay (by default the
// one that served the page: `posthorn relay --web web/dist`) next to native posthorn peers.
//
// Query parameters: relay (ws://host:port, default this page's host), strategy (nostr | torrent,
// default nostr), app (default posthorn-demo), room (default lobby), name (announced to the
// other peers), password (the room's).
//
// Automation hook, for scripts driving the page (web/browser-peer.mjs, `posthorn demo
// --browser`): window.posthornDemo = {
//   selfId,            this peer's id
//   on(listener),      listener(event) for every room event (docs/cli-peer.md's event objects,
//                      plus {event:"name",peer,name}); the events from before the first listener
//                      are replayed to it
//   command(cmd),      a contract command: send (chat: text/json, file: binary), ping, leave
//                      (returns a promise that settles once the room is left); failures come as
//                      error events
// }
import { joinDemoRoom, selfId, strategyNames } from './room.mjs';
import { makeView } from './view.mjs';

const MAX_BACKLOG = 2000; // events kept for a listener that has not attached yet

const settingsFromUrl = (search, location) => {
  const q = new URLSearchParams(search);
  const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
  return {
    relay: q.get('relay') || `${scheme}${location.host}`,
    strategy: q.get('strategy') || 'nostr',
    app: q.get('app') || 'posthorn-demo',
    room: q.get('room') || 'lobby',
    name: q.get('name') || '',
    password: q.get('password') || '',
  };
};

const makeHook = () => {
  const listeners = [];
  let backlog = [];
  return {
    publish: (event) => {
      if (listeners.length) {
        for (const l of listeners) l(event);
        return;
      }
      backlog.push(event);
      if (backlog.length > MAX_BACKLOG) backlog.shift();
    },
    on: (listener) => {
      if (typeof listener !== 'function') throw new TypeError('posthornDemo.on needs a function');
      listeners.push(listener);
      const replay = backlog;
      backlog = [];
      for (const e of replay) listener(e);
    },
  };
};

const RELAY_STATES = ['connecting to', 'connected to', 'closing', 'cannot reach (retrying)'];

const start = () => {
  const settings = settingsFromUrl(location.search, location);
  const hook = makeHook();
  let room = null;
  const view = makeView({
    chat: (text) => room?.send({ action: 'chat', kind: 'text', data: text }),
    sendFile: (file, target) => room?.sendFile(file, target).catch((err) => view.error(`cannot read ${file.name}: ${err.message}`)),
    ping: (peer) => room?.ping({ peer }),
  });
  view.setIdentity({ ...settings, self: selfId });
  let timer;
  const leave = async () => {
    if (!room) return;
    const leaving = room;
    room = null;
    clearInterval(timer);
    await leaving.leave();
    view.setStatus('left the room', 'left');
  };
  window.posthornDemo = {
    selfId,
    settings,
    on: hook.on,
    command: (cmd) => {
      if (cmd?.cmd === 'leave') return leave();
      if (room) return room.command(cmd);
      hook.publish({ event: 'error', error: 'not in a room' });
      return undefined;
    },
  };

  // Trystero needs WebCrypto, which browsers only give secure contexts (https, or localhost).
  if (!window.isSecureContext || !crypto.subtle) {
    view.setStatus('this page needs https or localhost (WebCrypto is unavailable here)', 'error');
    hook.publish({ event: 'error', error: 'not a secure context: WebCrypto is unavailable' });
    return;
  }
  if (!strategyNames.includes(settings.strategy)) {
    view.setStatus(`unknown strategy "${settings.strategy}" (${strategyNames.join(' or ')})`, 'error');
    hook.publish({ event: 'error', error: `unknown strategy ${settings.strategy}` });
    return;
  }
  try {
    room = joinDemoRoom(settings, (event, extra) => {
      view.handle(event, extra);
      hook.publish(event);
    });
  } catch (err) {
    view.setStatus(`cannot join: ${err.message}`, 'error');
    hook.publish({ event: 'error', error: `cannot join: ${err.message}` });
    return;
  }

  const showRelay = () => {
    if (!room) return;
    const states = room.relayStates();
    const s = states.find((x) => x.state === 1) ?? states[0];
    if (!s) view.setStatus(`connecting to ${settings.relay}`, 'connecting');
    else view.setStatus(`${RELAY_STATES[s.state] ?? 'unknown'} ${s.url}`, ['connecting', 'ok', 'error', 'error'][s.state]);
  };
  showRelay();
  timer = setInterval(showRelay, 1000);
  window.addEventListener('pagehide', () => leave());
};

start();
