// @ts-check
/**
 * Peer connections: one that publishes our camera and microphone, and one per feed we
 * receive. The browser never talks to the media server itself: Haven relays the SDP and
 * the ICE candidates, and decides whether we may send or receive at all.
 */
import { getMicrophoneTrack, renderMicrophone } from "./devices.js";
import { clearStatus, describeFailure, showError, showStatus } from "./notices.js";
import { ProtocolError } from "./protocol.js";
import { hooks, liveConnection, nameOf, room } from "./state.js";
import { attachRemoteTrack, createRemoteFeed, dropTile, watchVideo } from "./tiles.js";

/**
 * @typedef {import("./protocol.js").FeedInfo} FeedInfo
 * @typedef {import("./protocol.js").Jsep} Jsep
 * @typedef {import("./protocol.js").Candidate} Candidate
 * @typedef {import("./state.js").RemoteFeed} RemoteFeed
 */

// No STUN: media goes only between this browser and our own media server, or through our
// own TURN server when the deployment has one (its time-limited credential comes in
// `joined` / `admitted`, see useIceServers). max-bundle: one set of ICE candidates per
// connection (Janus bundles anyway), so fewer trickle messages against the server's rate
// limit.
/** @type {RTCConfiguration} */
export const PEER_CONFIG = { iceServers: [], bundlePolicy: "max-bundle" };

/**
 * Use the TURN servers the server sent with `joined` / `admitted` for every connection
 * made from now on. `relay_only` is set by the tests alone (HAVEN_TURN_FORCE_RELAY).
 * @param {{ice_servers?: RTCIceServer[], relay_only?: boolean}} message
 */
export function useIceServers(message) {
  PEER_CONFIG.iceServers = (message.ice_servers ?? []).map((server) => ({
    urls: server.urls,
    username: server.username,
    credential: server.credential,
  }));
  PEER_CONFIG.iceTransportPolicy = message.relay_only ? "relay" : "all";
}

/**
 * @param {RTCSessionDescription|null} description
 * @returns {Jsep}
 */
export function jsepOf(description) {
  if (!description) throw new Error("No local description");
  return { type: /** @type {"offer"|"answer"} */ (description.type), sdp: description.sdp };
}

/** @param {FeedInfo} feed */
function isOwnFeed(feed) {
  return feed.feed === room.ownFeed || (room.me !== null && feed.participant === room.me);
}

/**
 * Send our ICE candidates as `trickle`, holding them until the server knows the
 * connection they belong to (after `published`, or after our `subscribe_answer`).
 * @param {number|null} feed  null for the publishing connection
 */
function candidateSender(feed) {
  /** @type {(Candidate|null)[]} */
  let held = [];
  let started = false;
  /** @param {Candidate|null} candidate */
  const sendOne = (candidate) => room.connection?.send("trickle", { feed, candidate });
  return {
    /** @param {RTCPeerConnectionIceEvent} event */
    onCandidate(event) {
      const candidate = candidateFields(event.candidate);
      if (candidate === undefined) return;
      if (started) sendOne(candidate);
      else held.push(candidate);
    },
    start() {
      started = true;
      held.forEach(sendOne);
      held = [];
    },
  };
}

/**
 * Only the fields the protocol names; null means gathering is complete.
 * @param {RTCIceCandidate|null} candidate
 * @returns {Candidate|null|undefined} undefined for nothing to send
 */
function candidateFields(candidate) {
  if (candidate === null) return null;
  if (!candidate.candidate) return undefined; // end of one generation; the null follows
  return {
    candidate: candidate.candidate,
    sdpMid: candidate.sdpMid,
    sdpMLineIndex: candidate.sdpMLineIndex,
  };
}

// ---------------------------------------------------------------------------------------
// Publishing our camera and microphone

/** One publishing connection: audio then video, both send-only, tracks attached later. */
function createPublisher() {
  const pc = new RTCPeerConnection(PEER_CONFIG);
  const audio = pc.addTransceiver("audio", { direction: "sendonly" });
  const video = pc.addTransceiver("video", { direction: "sendonly" });
  room.senders = { audio: audio.sender, video: video.sender };
  hooks.peerConnections.publisher = pc;
  return pc;
}

export async function startPublishing() {
  const pc = createPublisher();
  try {
    const mic = await getMicrophoneTrack();
    if (hooks.state !== "in_meeting") {
      mic?.stop();
      return;
    }
    // Joined muted (P3): off before it is sent, as the server keeps it until we turn it
    // on ourselves with `unmute_self` (devices.js).
    if (mic && room.startMuted) mic.enabled = false;
    room.micTrack = mic;
    renderMicrophone();
    await room.senders?.audio.replaceTrack(mic);
    await room.senders?.video.replaceTrack(room.cameraTrack);
    await negotiatePublisher(pc);
  } catch (error) {
    if (hooks.state !== "in_meeting") return;
    console.error("Haven: publishing failed", error);
    showError(
      describeFailure(error, "We could not send your camera and microphone to the meeting. You can still see and hear the others."),
    );
  }
}

/** @param {RTCPeerConnection} pc */
async function negotiatePublisher(pc) {
  const trickle = candidateSender(null);
  pc.addEventListener("icecandidate", trickle.onCandidate);
  await pc.setLocalDescription(await pc.createOffer());
  const reply = await liveConnection().request("publish", { jsep: jsepOf(pc.localDescription) });
  room.ownFeed = reply.feed;
  removeFeed(reply.feed); // in case the server listed our own feed to us
  await pc.setRemoteDescription(reply.jsep);
  trickle.start();
}

const VIDEO_RESTARTING = "Video is restarting…";
const VIDEO_BACK = "Video is back";
const VIDEO_BACK_SHOWN_MS = 4000;

/**
 * The media server restarted: every media connection is gone. Close ours, then send the
 * same microphone and camera again; the others' feeds come back as `feed_added`.
 * @param {string} [backText]  shown in the banner once it is sent again
 */
export async function republishAfterRestart(backText = VIDEO_BACK) {
  for (const feedId of [...room.feeds.keys()]) removeFeed(feedId);
  hooks.peerConnections.publisher?.close();
  room.ownFeed = null;
  // A host's mute stays (V3): the server mutes the new feed too and says muted_by_host.
  showStatus(VIDEO_RESTARTING);
  const pc = createPublisher();
  try {
    await room.senders?.audio.replaceTrack(room.micTrack);
    await room.senders?.video.replaceTrack(room.cameraTrack);
    await negotiatePublisher(pc);
    showStatus(backText, VIDEO_BACK_SHOWN_MS);
  } catch (error) {
    clearStatus(VIDEO_RESTARTING);
    console.error("Haven: publishing again failed", error);
    showError(describeFailure(error, "We could not reconnect your camera and microphone. Please reload the page."));
  }
}

// ---------------------------------------------------------------------------------------
// Receiving others' feeds

/** @param {FeedInfo} info */
export async function subscribeTo(info) {
  if (hooks.state !== "in_meeting" || isOwnFeed(info) || room.feeds.has(info.feed)) return;
  const remote = createRemoteFeed(info);
  try {
    const offer = await liveConnection().request("subscribe", { feed: info.feed });
    if (!remote.removed) await answerSubscription(remote, offer.jsep);
  } catch (error) {
    if (remote.removed || hooks.state !== "in_meeting") return;
    if (error instanceof ProtocolError && error.code === "not_found") {
      removeFeed(info.feed); // they left while we were asking
      return;
    }
    console.error("Haven: subscribing failed", error);
    const what = remote.source === "screen" ? "screen" : "video";
    showError(describeFailure(error, `We could not show ${nameOf(info.participant)}’s ${what}.`));
  }
}

/**
 * @param {RemoteFeed} remote
 * @param {Jsep} offer  from the media server, through Haven
 */
async function answerSubscription(remote, offer) {
  const pc = new RTCPeerConnection(PEER_CONFIG);
  remote.pc = pc;
  hooks.peerConnections.subscribers.set(remote.feed, pc);
  const trickle = candidateSender(remote.feed);
  pc.addEventListener("icecandidate", trickle.onCandidate);
  pc.addEventListener("track", (event) => attachRemoteTrack(remote, event.track));
  await pc.setRemoteDescription(offer);
  await pc.setLocalDescription(await pc.createAnswer());
  if (remote.removed) return;
  liveConnection().send("subscribe_answer", { feed: remote.feed, jsep: jsepOf(pc.localDescription) });
  trickle.start();
  watchVideo(remote);
  await connectionSettled(pc);
}

/**
 * Resolves once the connection is up, or has failed or closed: someone just let in waits
 * for this before sending their own media, so that setting that up does not compete with
 * the others' first video (bench/, issue 8).
 * @param {RTCPeerConnection} pc
 * @returns {Promise<void>}
 */
function connectionSettled(pc) {
  return new Promise((resolve) => {
    const check = () => {
      if (!["connected", "failed", "closed"].includes(pc.connectionState)) return;
      pc.removeEventListener("connectionstatechange", check);
      resolve();
    };
    pc.addEventListener("connectionstatechange", check);
    check();
  });
}

/** @param {number} feedId */
export function removeFeed(feedId) {
  const remote = room.feeds.get(feedId);
  if (!remote) return;
  room.feeds.delete(feedId);
  hooks.peerConnections.subscribers.delete(feedId);
  dropTile(remote);
}

/**
 * Close every peer connection of ours. They stay in window.haven, closed, so tests can
 * see that they were closed.
 */
export function closeAllMedia() {
  hooks.peerConnections.publisher?.close();
  for (const remote of room.feeds.values()) dropTile(remote);
  room.feeds.clear();
  room.senders = null;
}
