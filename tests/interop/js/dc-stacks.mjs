// The WebRTC stacks dc-peer.mjs and dc-rss.mjs run on, with ICE held to one local address.
//
//   loadStack({ impl, bind, iceServers, relayOnly }) -> {
//     RTCPeerConnection,        the stack's W3C-shaped class
//     config,                   the RTCConfiguration to construct it with
//     binary(u8),               what channel.send() takes as a binary message on this stack
//     bufferedAmountLowEvent,   false where the channel never fires bufferedamountlow
//   }
//   candidateAllowed(candidate, bind)  the W3C candidate string (RFC 8839 §5.1) is UDP on bind
//   bareSdp(sdp)                       the description without its candidates (they trickle)
//   w3cCandidate(candidate)            without libdatachannel's "a=" prefix

export const IMPLS = ['node-datachannel', 'wrtc', 'werift'];

export const loadStack = async ({ impl, bind = '', iceServers = [], relayOnly = false }) => {
  const base = { iceServers, iceTransportPolicy: relayOnly ? 'relay' : 'all' };
  switch (impl) {
    case 'node-datachannel': {
      const { RTCPeerConnection } = await import('node-datachannel/polyfill');
      // The polyfill hands its configuration to libdatachannel: bindAddress holds gathering to
      // one local address (rtc::Configuration::bindAddress).
      return {
        RTCPeerConnection,
        config: { ...base, ...(bind ? { bindAddress: bind } : {}) },
        binary: (u8) => u8,
        bufferedAmountLowEvent: true,
      };
    }
    case 'wrtc': {
      const wrtc = (await import('@roamhq/wrtc')).default;
      // libwebrtc has no knob for the gathering address here (it gathers on every interface,
      // loopback included): candidates are filtered instead. node-webrtc's RTCDataChannel has
      // bufferedAmount but never fires bufferedamountlow.
      return {
        RTCPeerConnection: wrtc.RTCPeerConnection,
        config: base,
        binary: (u8) => u8,
        bufferedAmountLowEvent: false,
      };
    }
    case 'werift': {
      const { RTCPeerConnection } = await import('werift');
      return {
        RTCPeerConnection,
        config: {
          ...base,
          iceUseIpv6: false,
          ...(bind ? { iceInterfaceAddresses: { udp4: bind }, iceAdditionalHostAddresses: [bind] } : {}),
        },
        // werift recognises Buffers as binary, not plain Uint8Arrays.
        binary: (u8) => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength),
        bufferedAmountLowEvent: true,
      };
    }
  }
  throw new Error(`no stack ${impl} (known: ${IMPLS.join(', ')})`);
};

export const w3cCandidate = (candidate) => candidate.replace(/^a=/, '');

// RFC 8839 §5.1: "candidate:<foundation> <component> <transport> <priority> <address> <port> typ ..."
export const candidateAllowed = (candidate, bind) => {
  if (!bind) return true;
  const f = w3cCandidate(candidate).split(' ');
  return (f[2] || '').toLowerCase() === 'udp' && f[4] === bind;
};

export const bareSdp = (sdp) =>
  sdp
    .split('\r\n')
    .filter((l) => !l.startsWith('a=candidate:') && l !== 'a=end-of-candidates')
    .join('\r\n');

// addIceCandidate, retried for a moment where libdatachannel has not created its ICE transport
// yet (it does so on its own thread after the descriptions are set: "Got a remote candidate
// without ICE transport").
export const addCandidate = async (pc, init) => {
  for (let attempt = 0; ; attempt++) {
    try {
      return await pc.addIceCandidate(init);
    } catch (err) {
      if (attempt >= 50 || !/without ICE transport/.test(err.message)) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
};
