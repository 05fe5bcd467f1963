// @ts-check
/**
 * What the host asks of an attendee (rule V3), shown in #host-request (role="alert"):
 * a request to mute or to turn the camera off, which the person acts on themselves, or
 * the news that the host muted them, which only they can undo.
 */
import { muteMicrophone, onUnmuted, turnCameraOff } from "./devices.js";
import { announce } from "./notices.js";
import { config, room, ui } from "./state.js";

/** @typedef {"mute"|"camera_off"} Request */

const region = document.getElementById("host-request");
const actions = document.getElementById("host-request-actions");
const actButton = document.getElementById("host-request-act");
const dismissButton = document.getElementById("host-request-dismiss");

/** @type {{what: Request|"muted"}|null} the notice on screen */
let showing = null;

const WORDS = {
  mute: {
    ask: "The host asks you to mute your microphone.",
    act: "Mute my microphone",
    already: "The host asked people to mute. Your microphone is already off.",
    done: "Your microphone is muted.",
  },
  camera_off: {
    ask: "The host asks you to turn your camera off.",
    act: "Turn my camera off",
    already: "The host asked people to turn their camera off. Your camera is already off.",
    done: "Your camera is off.",
  },
};
const MUTED_BY_HOST = "The host muted your microphone. You can unmute yourself when you want to speak.";

export function setUpHostRequests() {
  actButton?.addEventListener("click", actOnRequest);
  dismissButton?.addEventListener("click", () => {
    const what = showing?.what;
    clearHostRequest();
    focusControlFor(what);
  });
}

/** @param {import("./protocol.js").AskedMessage} message */
export function onAsked(message) {
  const what = message.what;
  const done = what === "mute" ? !room.micTrack?.enabled : !room.cameraTrack;
  if (done) {
    // Nothing to do: say so quietly rather than raise an alert.
    announce(WORDS[what].already);
    return;
  }
  showNotice(WORDS[what].ask, WORDS[what].act, "Not now");
  showing = { what };
}

/** `muted_by_host`: the microphone is already off; tell the person, and how to undo it. */
export function onMutedByHostNotice() {
  showNotice(MUTED_BY_HOST, null, "OK");
  showing = { what: "muted" };
}

/** `admitted` with `muted_on_entry` (P3): this kind of meeting starts with microphones and
 * cameras off. */
export function onJoinedMutedNotice() {
  const off = [room.startMuted && "your microphone off", room.cameraHeld && "camera off"];
  const what = off.filter(Boolean).join(" and ").replace(/^camera/, "your camera");
  const them = room.startMuted && room.cameraHeld ? "them" : "it";
  const text = `You start with ${what} in this ${config.meetingKind || "meeting"}. Turn ${them} on when you want to speak.`;
  showNotice(text, null, "OK");
  showing = { what: "muted" };
}

/** `unmuted`: our own `unmute_self` went through. */
export async function onUnmutedNotice() {
  const live = await onUnmuted();
  if (showing?.what === "muted") clearHostRequest();
  if (live) announce("Your microphone is on. Others can hear you.");
}

/**
 * @param {string} text
 * @param {string|null} act  the button that does what was asked, if any
 * @param {string} dismiss
 */
function showNotice(text, act, dismiss) {
  if (!region || !actions || !actButton || !dismissButton) return;
  const paragraph = document.createElement("p");
  paragraph.textContent = text;
  region.replaceChildren(paragraph);
  actButton.textContent = act ?? "";
  actButton.hidden = act === null;
  dismissButton.textContent = dismiss;
  actions.hidden = false;
  region.parentElement?.classList.add("is-showing");
}

export function clearHostRequest() {
  if (!region || !actions) return;
  region.replaceChildren();
  actions.hidden = true;
  region.parentElement?.classList.remove("is-showing");
  showing = null;
}

function actOnRequest() {
  const what = showing?.what;
  if (what === "mute") muteMicrophone();
  else if (what === "camera_off") turnCameraOff();
  else return;
  clearHostRequest();
  announce(WORDS[what].done);
  focusControlFor(what);
}

/**
 * The notice's buttons have gone: put focus on the control the request was about,
 * which now shows the result.
 * @param {Request|"muted"|undefined} what
 */
function focusControlFor(what) {
  if (what === "camera_off") ui.cameraButton.focus();
  else ui.micButton.focus();
}
