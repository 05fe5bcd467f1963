// @ts-check
/**
 * Telling the person what happened: the error region (role="alert"), the polite
 * announcer for screen readers, and the server's error codes in plain English.
 */
import { ProtocolError } from "./protocol.js";
import { byId, ui } from "./state.js";

const RELOAD = "Something went wrong between this page and the server. Reload the page and try again.";

/** @type {Record<string, string>} server error codes in plain English */
export const ERROR_WORDS = {
  bad_json: RELOAD,
  bad_message: RELOAD,
  unknown_type: RELOAD,
  hello_required: RELOAD,
  unsupported_version: "This page is out of date. Reload the page to get the newest version.",
  confirmation_required: "Tick the box to confirm you cannot be overheard or overlooked.",
  not_joined: "You need to join the meeting first.",
  not_allowed: "You are not allowed to do that.",
  not_found: "That person is no longer in the meeting or the waiting room.",
  too_many_streams: "You can only send one camera and one microphone.",
  bad_sdp: "Your browser could not set up sound and video for this meeting. Reload the page and try again.",
  media_unavailable: "The video service did not answer. Wait a moment, then try again.",
  service_unavailable: "The meeting service is briefly unavailable. Wait a moment, then try again.",
  meeting_ended: "The meeting has ended.",
  meeting_locked: "The meeting is locked, so nobody can be let in. Unlock the meeting first, then let them in.",
  access_withdrawn: "You can no longer join this meeting. Your link may have been withdrawn.",
  rate_limited: "Too many things happened too quickly. Wait a moment, then try again.",
  server_error: "Something went wrong on the server. Wait a moment, then try again.",
  timeout: "The server took too long to answer. Check your internet connection, then try again.",
  connection_closed: "The connection to the meeting was lost.",
};

/** @param {string} text  shown in the role="alert" region, in plain English */
export function showError(text) {
  const paragraph = document.createElement("p");
  paragraph.textContent = text;
  ui.error.replaceChildren(paragraph);
}

export function clearError() {
  ui.error.replaceChildren();
}

/** @type {ReturnType<typeof setTimeout> | undefined} */
let statusTimer;

/**
 * Show how the connection is (lost, reconnecting, back; video restarting) in the
 * #connection-status banner: visible to everyone, and read out (role="status"). With
 * `clearAfterMs`, it goes away by itself after that long (for "Reconnected").
 * @param {string} text
 * @param {number} [clearAfterMs]
 */
export function showStatus(text, clearAfterMs) {
  clearTimeout(statusTimer);
  byId("connection-status").textContent = text;
  if (clearAfterMs !== undefined) statusTimer = setTimeout(() => clearStatus(text), clearAfterMs);
}

/**
 * Hide the banner: whatever it shows, or (with `text`) only if it still shows that.
 * @param {string} [text]
 */
export function clearStatus(text) {
  const banner = byId("connection-status");
  if (text !== undefined && banner.textContent !== text) return;
  clearTimeout(statusTimer);
  banner.textContent = "";
}

/**
 * Say something to screen-reader users without moving focus. Kept as separate lines so
 * two quick arrivals are both read.
 * @param {string} text
 */
export function announce(text) {
  const line = document.createElement("p");
  line.textContent = text;
  ui.announcer.append(line);
  while (ui.announcer.childElementCount > 3) ui.announcer.firstElementChild?.remove();
}

/**
 * @param {unknown} error
 * @param {string} what  what failed, e.g. "We could not show Sam's video."
 * @returns {string}
 */
export function describeFailure(error, what) {
  const code = error instanceof ProtocolError ? error.code : "";
  const why = ERROR_WORDS[code];
  return why ? `${what} ${why}` : `${what} Please try again.`;
}
