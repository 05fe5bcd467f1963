// The join-speed baseline: subscribe to a feed of a Janus VideoRoom straight over Janus's
// WebSocket API, with no Haven in between. The bench calls window.subscribeOnce(options)
// and gets back how long each part took (performance.now() differences, in ms).
//
// Same peer connection settings as Haven's client (media.js: no STUN or TURN, max-bundle)
// and the same first-frame test (tiles.js: framesDecoded from getStats, every 50 ms).
"use strict";

const FIRST_FRAME_POLL_MS = 50;
const PEER_CONFIG = { iceServers: [], bundlePolicy: "max-bundle" };

class Janus {
  constructor(url, apiSecret) {
    this.url = url;
    this.apiSecret = apiSecret;
    this.pending = new Map();
    this.next = 1;
  }

  open() {
    return new Promise((resolve, reject) => {
      this.ws = new WebSocket(this.url, "janus-protocol");
      this.ws.onopen = () => resolve();
      this.ws.onerror = () => reject(new Error("cannot reach Janus"));
      this.ws.onmessage = (event) => this.onMessage(JSON.parse(event.data));
    });
  }

  onMessage(message) {
    const waiting = this.pending.get(message.transaction);
    if (!waiting || message.janus === "ack") return;
    this.pending.delete(message.transaction);
    if (message.janus === "error") waiting.reject(new Error(JSON.stringify(message.error)));
    else if (message.plugindata && message.plugindata.data && message.plugindata.data.error) {
      waiting.reject(new Error(message.plugindata.data.error));
    } else waiting.resolve(message);
  }

  // One request; resolves with the answer to it (the event, for plugin messages).
  request(body) {
    const transaction = `t${this.next++}`;
    return new Promise((resolve, reject) => {
      this.pending.set(transaction, { resolve, reject });
      this.ws.send(JSON.stringify({ ...body, transaction, apisecret: this.apiSecret }));
    });
  }

  async session() {
    return (await this.request({ janus: "create" })).data.id;
  }

  async attach(session) {
    const reply = await this.request({ janus: "attach", session_id: session, plugin: "janus.plugin.videoroom" });
    return reply.data.id;
  }

  message(session, handle, body, jsep) {
    return this.request({ janus: "message", session_id: session, handle_id: handle, body, ...(jsep ? { jsep } : {}) });
  }

  trickle(session, handle, candidate) {
    this.ws.send(JSON.stringify({
      janus: "trickle", session_id: session, handle_id: handle, transaction: `t${this.next++}`,
      apisecret: this.apiSecret, candidate: candidate ?? { completed: true },
    }));
  }

  close() {
    this.ws.close();
  }
}

async function framesDecoded(pc) {
  let frames = 0;
  (await pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") frames += s.framesDecoded || 0;
  });
  return frames;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// options: {url, apiSecret, room, roomSecret, feed}
window.subscribeOnce = async function subscribeOnce(options) {
  const janus = new Janus(options.url, options.apiSecret);
  const t = { start: performance.now() };
  await janus.open();
  const session = await janus.session();
  // Join the room as a participant that publishes nothing: the room lets only tokens on
  // its allowed list in (added with the room's secret), and subscriptions must carry the
  // private id of a participant in the room, as Haven's own subscriptions do.
  const token = `baseline-${Math.random().toString(36).slice(2)}`;
  const member = await janus.attach(session);
  await janus.message(session, member, {
    request: "allowed", secret: options.roomSecret, action: "add", room: options.room, allowed: [token],
  });
  const joined = await janus.message(session, member, {
    request: "join", ptype: "publisher", room: options.room, display: "baseline", token,
  });
  const privateId = joined.plugindata.data.private_id;

  // Start subscribing: from here on the clock runs for the baseline.
  t.subscribe = performance.now();
  const handle = await janus.attach(session);
  const offer = await janus.message(session, handle, {
    request: "join", ptype: "subscriber", room: options.room, streams: [{ feed: options.feed }],
    private_id: privateId, token,
  });
  const pc = new RTCPeerConnection(PEER_CONFIG);
  // Candidates are held until the answer is sent, as Haven's client holds them.
  let held = [];
  const sendCandidate = (c) => janus.trickle(session, handle, c);
  pc.addEventListener("icecandidate", (event) => {
    if (event.candidate && !event.candidate.candidate) return;
    const candidate = event.candidate && {
      candidate: event.candidate.candidate, sdpMid: event.candidate.sdpMid, sdpMLineIndex: event.candidate.sdpMLineIndex,
    };
    if (held === null) sendCandidate(candidate);
    else held.push(candidate);
  });
  const video = document.getElementById("remote");
  pc.addEventListener("track", (event) => {
    video.srcObject = new MediaStream([event.track]);
    video.play().catch(() => {});
  });
  await pc.setRemoteDescription(offer.jsep);
  await pc.setLocalDescription(await pc.createAnswer());
  const started = janus.message(session, handle, { request: "start" }, { type: "answer", sdp: pc.localDescription.sdp });
  held.forEach(sendCandidate);
  held = null;
  while ((await framesDecoded(pc)) === 0) {
    if (performance.now() - t.subscribe > 20000) throw new Error("no frame within 20 s");
    await sleep(FIRST_FRAME_POLL_MS);
  }
  t.firstFrame = performance.now();
  await started;
  pc.close();
  await janus.request({ janus: "destroy", session_id: session }).catch(() => {});
  janus.close();
  return { subscribeToFirstFrameMs: t.firstFrame - t.subscribe, connectToFirstFrameMs: t.firstFrame - t.start };
};
