// @ts-check
/**
 * The host's shared screen (rule V2): its own peer connection with one send-only video
 * stream, published with `"source": "screen"`. Attendees' pages have no button for it,
 * and the server refuses a screen from anyone but the host.
 *
 * The protocol's `trickle` can only name the camera's publishing connection or a
 * subscription, not the screen's. So this connection gathers all its ICE candidates
 * before it offers, and they travel inside the offer.
 */
import { announce, describeFailure, showError } from "./notices.js";
import { jsepOf, PEER_CONFIG, removeFeed } from "./media.js";
import { config, hooks, liveConnection, room } from "./state.js";

/** @typedef {import("./state.js").ScreenShare} ScreenShare */

const GATHERING_TIMEOUT_MS = 5000;
const button = document.getElementById("share-screen");
const status = document.getElementById("share-status");

export function setUpScreenShare() {
  if (!config.isHost || !button) return;
  if (!navigator.mediaDevices?.getDisplayMedia) {
    button.hidden = true; // this browser cannot share a screen (most phones)
    return;
  }
  button.addEventListener("click", () => {
    if (room.screen) stopSharing();
    else startSharing();
  });
}

/** @param {"idle"|"starting"|"sharing"} state */
function renderShareButton(state) {
  if (!button || !status) return;
  button.textContent = { idle: "Share my screen", starting: "Starting to share…", sharing: "Stop sharing" }[state];
  if (state === "starting") button.setAttribute("aria-disabled", "true");
  else button.removeAttribute("aria-disabled");
  status.hidden = state !== "sharing";
}

async function startSharing() {
  if (button?.getAttribute("aria-disabled") === "true") return;
  renderShareButton("starting");
  const track = await chooseScreen();
  if (!track || hooks.state !== "in_meeting") {
    track?.stop();
    renderShareButton("idle");
    return;
  }
  const share = openScreenConnection(track);
  try {
    await publishScreen(share);
    if (room.screen === share) {
      renderShareButton("sharing");
      announce("You are sharing your screen. Everyone in the meeting can see it.");
    }
  } catch (error) {
    if (room.screen !== share) return;
    stopSharing({ tellServer: false });
    console.error("Haven: sharing the screen failed", error);
    showError(describeFailure(error, "We could not share your screen."));
  }
}

/** @returns {Promise<MediaStreamTrack|null>} null if the person chose not to share */
async function chooseScreen() {
  try {
    /** @type {any} Chrome's option: do not offer this tab, which would show itself. */
    const options = { video: true, audio: false, selfBrowserSurface: "exclude" };
    const stream = await navigator.mediaDevices.getDisplayMedia(options);
    return stream.getVideoTracks()[0] ?? null;
  } catch (error) {
    if (error instanceof DOMException && error.name === "NotAllowedError") {
      announce("Your screen is not being shared.");
    } else {
      showError("We could not share your screen. Please try again.");
    }
    return null;
  }
}

/**
 * @param {MediaStreamTrack} track
 * @returns {ScreenShare}
 */
function openScreenConnection(track) {
  track.contentHint = "detail"; // text on a screen should stay sharp
  const pc = new RTCPeerConnection(PEER_CONFIG);
  pc.addTransceiver(track, { direction: "sendonly" });
  /** @type {ScreenShare} */
  const share = { pc, track, published: false };
  room.screen = share;
  hooks.peerConnections.screen = pc;
  // The browser's own "Stop sharing" bar ends the track.
  track.addEventListener("ended", () => {
    if (room.screen === share) stopSharing();
  });
  return share;
}

/** @param {ScreenShare} share */
async function publishScreen(share) {
  const { pc } = share;
  await pc.setLocalDescription(await pc.createOffer());
  await gatheringComplete(pc);
  const offer = jsepOf(pc.localDescription);
  const reply = await liveConnection().request("publish", { source: "screen", jsep: offer });
  share.published = true;
  if (room.screen !== share) {
    // Stopped while the server was answering: take it down there too.
    liveConnection().send("unpublish", { source: "screen" });
    return;
  }
  removeFeed(reply.feed); // in case the server listed our own feed to us
  await pc.setRemoteDescription(reply.jsep);
}

/**
 * @param {RTCPeerConnection} pc
 * @returns {Promise<void>} once every candidate is in the local description (or timed out)
 */
function gatheringComplete(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== "complete") return;
      pc.removeEventListener("icegatheringstatechange", done);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(resolve, GATHERING_TIMEOUT_MS);
    pc.addEventListener("icegatheringstatechange", done);
  });
}

/**
 * Stop sharing: end the capture, close the connection, and (unless the server already
 * lost it) `unpublish` so everyone's screen tile goes.
 * @param {{tellServer?: boolean, quietly?: boolean}} options
 */
export function stopSharing({ tellServer = true, quietly = false } = {}) {
  const share = room.screen;
  if (!share) return;
  room.screen = null;
  hooks.peerConnections.screen = null;
  share.track.stop();
  share.pc.close();
  if (tellServer && share.published) room.connection?.send("unpublish", { source: "screen" });
  renderShareButton("idle");
  if (!quietly) announce("You have stopped sharing your screen.");
}

/** The media server restarted and the shared screen went with it; the host can share again. */
export function screenLostInRestart() {
  if (!room.screen) return;
  stopSharing({ tellServer: false, quietly: true });
  announce("Your screen sharing stopped because the video connection was interrupted. You can share it again.");
}
