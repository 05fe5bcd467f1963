// @ts-check
/**
 * The attendee's waiting room (rule S2): when the meeting starts, and whether it is
 * locked (rule S3). Nothing of the meeting itself reaches this screen.
 */
import { announce } from "./notices.js";
import { byId, config, room } from "./state.js";

const WAITING_TEXT = "The host will let you in.";
const LOCKED_TEXT =
  "The meeting is locked, so nobody new can come in at the moment. Please wait: the host knows you are here.";

/** @type {ReturnType<typeof setInterval>|undefined} */
let startTimer;

/** @param {import("./protocol.js").WaitingMessage} message */
export function showWaitingRoom(message) {
  room.locked = Boolean(message.locked);
  renderWaitingMessage();
  showStartTime(message.meeting?.starts_at || config.startsAt);
  announce(
    room.locked
      ? `You are in the waiting room. ${LOCKED_TEXT}`
      : "You are in the waiting room. The host will let you in.",
  );
}

function renderWaitingMessage() {
  const line = byId("waiting-message");
  line.textContent = room.locked ? LOCKED_TEXT : WAITING_TEXT;
  line.classList.toggle("is-locked", room.locked);
}

/** `lock_changed` while we wait. */
export function onWaitingLockChanged() {
  renderWaitingMessage();
  announce(room.locked ? LOCKED_TEXT : "The meeting is no longer locked. The host will let you in.");
}

export function stopStartTimer() {
  clearInterval(startTimer);
}

/** @param {string} iso */
function showStartTime(iso) {
  const line = byId("waiting-start");
  const update = () => {
    const text = describeStart(iso);
    line.textContent = text ?? "";
    line.hidden = text === null;
  };
  update();
  clearInterval(startTimer);
  startTimer = setInterval(update, 30000);
}

/**
 * "The meeting starts at 10:00 on Tuesday 1 December.", or null once it has started.
 * @param {string} iso
 * @returns {string|null}
 */
function describeStart(iso) {
  const start = new Date(iso);
  if (!iso || Number.isNaN(start.getTime()) || start.getTime() <= Date.now()) return null;
  const time = new Intl.DateTimeFormat("en-GB", {
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).format(start);
  const parts = new Intl.DateTimeFormat("en-GB", {
    weekday: "long",
    day: "numeric",
    month: "long",
  }).formatToParts(start);
  const part = (/** @type {string} */ type) => parts.find((p) => p.type === type)?.value ?? "";
  return `The meeting starts at ${time} on ${part("weekday")} ${part("day")} ${part("month")}.`;
}
