// Page side of the Chromium runtime, bundled by esbuild (build.mjs) into dist/browser-peer.js.
// trystero-peer.mjs loads it into headless Chromium and drives it through window.posthornPeer;
// events leave the page through the function it exposes as window.__posthornEmit.
import { joinRoom as joinMqtt, selfId } from '@trystero-p2p/mqtt';
import { joinRoom as joinNostr } from '@trystero-p2p/nostr';
import { joinRoom as joinTorrent } from '@trystero-p2p/torrent';
import { startPeer } from './peer-core.mjs';

const joinRooms = { mqtt: joinMqtt, nostr: joinNostr, torrent: joinTorrent };

let peer = null;

const emitLine = (obj) => window.__posthornEmit(JSON.stringify(obj));

window.posthornPeer = {
  start: (opts) => {
    peer = startPeer({
      joinRoom: joinRooms[opts.strategy],
      selfId,
      RTCPeerConnection: window.RTCPeerConnection,
      opts,
      emit: emitLine,
      onLeft: () => window.__posthornEmit(JSON.stringify({ __left: true })),
      log: (line) => console.log(`[trystero-peer] ${line}`),
    });
    return selfId;
  },
  handleLine: (line) => {
    peer.handleLine(line, async (path) => {
      // The bridge serves exactly the files named by send-file commands.
      const res = await fetch(`/file?${new URLSearchParams({ path })}`);
      if (!res.ok) throw new Error(`cannot read ${path}: ${(await res.text()) || res.status}`);
      return new Uint8Array(await res.arrayBuffer());
    });
  },
};
