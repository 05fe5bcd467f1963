// @ts-check
/**
 * The host's controls for the meeting: lock and unlock (rule S3); ask one person or
 * everyone to mute or turn their camera off, or mute them on the media server (rule V3);
 * remove and ban (rule S8, through remove-form.js).
 *
 * There is deliberately no control here, or anywhere, that unmutes someone else or turns
 * on someone else's camera: the protocol has no message for it (V3).
 */
import { announce } from "./notices.js";
import { openRemoveForm, setUpRemoveForm } from "./remove-form.js";
import { byId, config, nameOf, room, ui } from "./state.js";
import { renderLockedNote } from "./waiting-list.js";

const LOCKED_STATUS = "The meeting is locked. Nobody new can come in.";
const LOCK_WAIT_MS = 5000;
const UNLOCKED_STATUS = "The meeting is not locked. You can let people in from the waiting room.";

export function setUpHostControls() {
  if (!config.isHost) return;
  byId("lock-button").addEventListener("click", toggleLock);
  byId("ask-all-mute").addEventListener("click", () => ask(null, "mute"));
  byId("ask-all-camera-off").addEventListener("click", () => ask(null, "camera_off"));
  byId("mute-all").addEventListener("click", () => mute(null));
  ui.rosterList.addEventListener("click", onRosterClick);
  setUpRemoveForm();
  renderLock();
}

// ---------------------------------------------------------------------------------------
// Lock (S3)

function toggleLock() {
  const button = byId("lock-button");
  if (button.getAttribute("aria-disabled") === "true") return;
  button.setAttribute("aria-disabled", "true"); // until lock_changed says it happened
  room.connection?.send(room.locked ? "unlock" : "lock");
  // The server says nothing when the lock is already as asked: do not wait forever.
  setTimeout(() => button.removeAttribute("aria-disabled"), LOCK_WAIT_MS);
}

/**
 * Show the lock as it is. The button says what pressing it does, and the status beside
 * it says how things are, so neither relies on a pressed state.
 */
export function renderLock() {
  const button = document.getElementById("lock-button");
  const status = document.getElementById("lock-status");
  if (!button || !status) return;
  button.textContent = room.locked ? "Unlock the meeting" : "Lock the meeting";
  button.removeAttribute("aria-disabled");
  status.textContent = room.locked ? LOCKED_STATUS : UNLOCKED_STATUS;
  status.classList.toggle("is-locked", room.locked);
  if (!room.locked) byId("lock-attempt").hidden = true;
  renderLockedNote();
}

/** `lock_changed`, on the host's page. */
export function onHostLockChanged() {
  renderLock();
  announce(room.locked ? LOCKED_STATUS : "The meeting is unlocked. You can let people in again.");
}

/** A refused lock or unlock: let the host press the button again. */
export function onLockRefused() {
  document.getElementById("lock-button")?.removeAttribute("aria-disabled");
}

/** @param {import("./protocol.js").LockAttemptMessage} message */
export function onLockAttempt(message) {
  const text = `${message.name} tried to join while the meeting is locked.`;
  const note = byId("lock-attempt");
  note.textContent = `${text} They are in the waiting room.`;
  note.hidden = false;
  announce(text);
}

// ---------------------------------------------------------------------------------------
// Requests and mutes (V3), remove and ban (S8)

/** @param {MouseEvent} event */
function onRosterClick(event) {
  const target = /** @type {HTMLElement} */ (event.target);
  const button = /** @type {HTMLElement|null} */ (target.closest("button[data-action]"));
  const participant = button?.dataset.participant;
  if (!button || !participant) return;
  const action = button.dataset.action;
  if (action === "ask-mute") ask(participant, "mute");
  else if (action === "ask-camera-off") ask(participant, "camera_off");
  else if (action === "mute") mute(participant);
  else if (action === "remove" || action === "ban") openRemoveForm(action, button);
}

/**
 * Ask one person (or everyone, `null`) to mute or turn their camera off. A request only:
 * they see it and decide.
 * @param {string|null} participant
 * @param {"mute"|"camera_off"} what
 */
function ask(participant, what) {
  room.connection?.send("ask", { participant, what });
  const whom = participant ? nameOf(participant) : "everyone";
  const doing = what === "mute" ? "to mute" : "to turn their camera off";
  announce(`You asked ${whom} ${doing}.`);
}

/**
 * Mute one person (or everyone but you, `null`) on the media server. Only they can
 * unmute themselves.
 * @param {string|null} participant
 */
function mute(participant) {
  room.connection?.send("mute", { participant });
  const whom = participant ? nameOf(participant) : "everyone";
  const who = participant ? "They" : "Each person";
  announce(`You muted ${whom}. ${who} can unmute themselves when they want to speak.`);
}
