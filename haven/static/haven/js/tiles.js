// @ts-check
/**
 * Video tiles for the feeds we receive: one per person's camera, and a larger one for
 * the host's shared screen. A tile shows the person's name until video arrives.
 */
import { hooks, room, shownName, sleep, ui } from "./state.js";

/**
 * @typedef {import("./state.js").RemoteFeed} RemoteFeed
 * @typedef {import("./protocol.js").FeedInfo} FeedInfo
 */

const FIRST_FRAME_POLL_MS = 50;
const VIDEO_CHECK_MS = 1000;

/**
 * A tile for one feed, showing the person's name until their video arrives. A screen
 * goes first in the grid and spans it, so it is the largest thing on the page.
 * @param {FeedInfo} info
 * @returns {RemoteFeed}
 */
export function createRemoteFeed(info) {
  const source = info.source ?? "camera";
  const tile = document.createElement("li");
  tile.className = source === "screen" ? "tile tile-screen" : "tile";
  tile.dataset.feed = String(info.feed);
  tile.dataset.participant = info.participant;
  tile.dataset.source = source;
  const video = document.createElement("video");
  video.autoplay = true;
  video.playsInline = true;
  const caption = document.createElement("p");
  caption.className = "tile-name";
  tile.append(video, caption);
  if (source === "screen") ui.grid.prepend(tile);
  else ui.grid.append(tile);
  /** @type {RemoteFeed} */
  const remote = { ...info, source, pc: null, tracks: [], tile, video, caption, removed: false };
  room.feeds.set(info.feed, remote);
  renderTileName(remote);
  if ("requestVideoFrameCallback" in video) {
    video.requestVideoFrameCallback(() => noteFirstFrame(remote));
  }
  return remote;
}

/** @param {RemoteFeed} remote */
export function renderTileName(remote) {
  const person = room.roster.get(remote.participant);
  const name = person ? shownName(person) : "Someone in the meeting";
  if (remote.source === "screen") remote.caption.textContent = `${name}'s screen`;
  else remote.caption.textContent = person?.is_host ? `${name} (host)` : name;
}

export function renderAllTileNames() {
  for (const remote of room.feeds.values()) renderTileName(remote);
}

/**
 * @param {RemoteFeed} remote
 * @param {MediaStreamTrack} track
 */
export function attachRemoteTrack(remote, track) {
  if (remote.removed) return;
  remote.tracks.push(track);
  // A new stream each time, so the element reloads with every track (sound included).
  remote.video.srcObject = new MediaStream(remote.tracks);
  playWithSound(remote.video);
}

/** @param {HTMLVideoElement} video */
function playWithSound(video) {
  video.play().catch((error) => {
    if (error instanceof DOMException && error.name === "NotAllowedError") {
      ui.soundButton.hidden = false; // the browser wants a click before it plays sound
    }
  });
}

export function onSoundButton() {
  for (const remote of room.feeds.values()) playWithSound(remote.video);
  ui.soundButton.hidden = true;
}

/** @param {RemoteFeed} remote */
function noteFirstFrame(remote) {
  if (remote.removed) return;
  if (hooks.metrics.firstRemoteFrameAt === null) {
    hooks.metrics.firstRemoteFrameAt = performance.now();
  }
  remote.tile.classList.add("has-video");
}

/**
 * Show the person's name large when no frames arrive (camera off), their video when they
 * do. Quick checks until the first frame, then once a second. A shared screen that does
 * not change sends few frames, so once seen it stays shown.
 * @param {RemoteFeed} remote
 */
export async function watchVideo(remote) {
  let lastFrames = 0;
  let idleChecks = 0;
  let seen = false;
  while (!remote.removed && hooks.state === "in_meeting" && remote.pc) {
    const frames = await framesDecoded(remote.pc);
    idleChecks = frames > lastFrames ? 0 : idleChecks + 1;
    lastFrames = frames;
    if (frames > 0 && !seen) {
      seen = true;
      noteFirstFrame(remote);
    }
    const showing = remote.source === "screen" ? seen : frames > 0 && idleChecks < 3;
    remote.tile.classList.toggle("has-video", showing);
    await sleep(seen ? VIDEO_CHECK_MS : FIRST_FRAME_POLL_MS);
  }
}

/**
 * @param {RTCPeerConnection} pc
 * @returns {Promise<number>}
 */
async function framesDecoded(pc) {
  if (pc.connectionState === "closed") return 0;
  const stats = await pc.getStats().catch(() => null);
  let frames = 0;
  stats?.forEach((report) => {
    if (report.type === "inbound-rtp" && report.kind === "video") frames += report.framesDecoded ?? 0;
  });
  return frames;
}

/**
 * Take a feed's tile off the page and close its connection. Closed connections are
 * forgotten here but stay closed, so tests can see them go.
 * @param {RemoteFeed} remote
 */
export function dropTile(remote) {
  remote.removed = true;
  remote.pc?.close();
  remote.video.srcObject = null;
  remote.tile.remove();
}
