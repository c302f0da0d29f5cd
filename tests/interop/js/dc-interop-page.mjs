// Page side of `dc-interop-peer.mjs --impl chromium`, bundled by dc-interop-build.mjs into
// dist/dc-interop-page.js: the contract (dc-interop-core.mjs) over Chromium's RTCPeerConnection.
// Lines leave the page through window.__dcEmit, diagnostics through console.log.
import { startDcPeer } from './dc-interop-core.mjs';

let peer = null;

// WebCrypto has no incremental SHA-256: keep the chunks and hash once at the end (16 MiB).
const sha256 = () => {
  const parts = [];
  return {
    update: (u8) => parts.push(u8.slice()),
    digest: async () => {
      const total = parts.reduce((n, p) => n + p.byteLength, 0);
      const all = new Uint8Array(total);
      let at = 0;
      for (const p of parts) {
        all.set(p, at);
        at += p.byteLength;
      }
      const d = new Uint8Array(await crypto.subtle.digest('SHA-256', all));
      return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
    },
  };
};

const base64Decode = (s) => {
  const bin = atob(s);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
};

window.dcInterop = {
  start: async (opts) => {
    peer = startDcPeer({
      RTCPeerConnection: window.RTCPeerConnection,
      rtcConfig: { iceServers: [] },
      opts,
      emit: (obj) => window.__dcEmit(JSON.stringify(obj)),
      platform: {
        sha256,
        base64Decode,
        toSendable: (u8) => u8,
        exit: (code) => window.__dcExit(code),
      },
      log: (line) => console.log(`[dc-interop] ${line}`),
    });
    await peer.start();
  },
  handleLine: (line) => peer.handleLine(line),
  end: () => peer.end(),
};
