// @ts-check
/**
 * Coming back after a reload or a browser crash (issue 21, item 9).
 *
 * The secret that takes our place back (`resume`, from `joined` / `waiting`) is kept in
 * this tab's sessionStorage, one per meeting: another tab or device never has it. When
 * the page loads with one, it joins with the secret at once, without a fresh S9
 * confirmation: if our place is still held (the old page closed without `leave`, within
 * HAVEN_SERVER_GONE_SECONDS, and nobody removed us or locked the meeting meanwhile), the
 * server puts us back where we were and nobody lets us in again. If not, it answers
 * `confirmation_required` and the person joins as anyone does. Leaving, or any end,
 * forgets the secret.
 *
 * Our microphone and camera come back as they were when the page went away; after a
 * crash (nothing saved) the microphone comes back off and the camera off.
 */
import { NO_MICROPHONE, turnCameraOn } from "./devices.js";
import { clearStatus, describeFailure, showError, showStatus } from "./notices.js";
import { setJoining } from "./prejoin.js";
import { ProtocolError } from "./protocol.js";
import { config, hooks, room, ui } from "./state.js";

/**
 * @typedef {object} KeptPlace
 * @property {string} secret
 * @property {"on"|"off"|"none"} [mic]  "none": the person chose "No microphone"
 * @property {boolean} [camera]
 */

const KEY = `haven.place:${config.wsPath}`;
const RETURNING = "Taking you back to the meeting…";
const NOT_KEPT =
  "Your place in the meeting was not kept, so the host will let you in again. " +
  "Confirm that you are in a private place, then join.";

// Refusals after which the server closes the socket: explained then (room.js).
const SOCKET_CLOSES = new Set(["connection_closed", "access_withdrawn", "meeting_ended"]);

/** We came back to a held place on this page load: the microphone starts as it was. */
export const back = { returned: false, micOff: false };

/** @returns {KeptPlace|null} */
function keptPlace() {
  try {
    const kept = JSON.parse(sessionStorage.getItem(KEY) ?? "null");
    return kept && typeof kept.secret === "string" && kept.secret ? kept : null;
  } catch {
    return null; // storage blocked or garbled: join as anyone does
  }
}

/** @param {KeptPlace|null} place */
function write(place) {
  try {
    if (place) sessionStorage.setItem(KEY, JSON.stringify(place));
    else sessionStorage.removeItem(KEY);
  } catch {
    // Storage blocked: a reload then means joining again, as before.
  }
}

/** @param {string} secret  the place we hold now */
export function keepPlace(secret) {
  if (secret && keptPlace()?.secret !== secret) write({ secret });
}

export function forgetPlace() {
  write(null);
}

/** The page is going away (a reload, closing the tab): note the microphone and camera. */
export function noteDevicesAsWeGo() {
  const kept = keptPlace();
  if (!kept || hooks.state === "ended") return;
  // In the waiting room nothing is sent yet: the microphone goes on when let in, as ever.
  const on = hooks.state === "waiting" || Boolean(room.micTrack?.enabled);
  const mic = ui.micSelect.value === NO_MICROPHONE ? "none" : on ? "on" : "off";
  write({ ...kept, mic, camera: room.cameraWanted });
}

/**
 * On load: take a kept place back, if there is one.
 * @param {() => Promise<import("./protocol.js").HavenConnection>} connect
 */
export async function returnToKeptPlace(connect) {
  const kept = keptPlace();
  if (!kept) return;
  room.resume = kept.secret;
  setJoining(true);
  showStatus(RETURNING);
  restoreDevices(kept);
  try {
    const connection = await connect();
    if (hooks.state !== "prejoin") return;
    back.returned = true;
    // The answer (`admitted`, `joined` or `waiting`) also goes to its own handler.
    const reply = await connection.request("join", { private_place_confirmed: false, resume: kept.secret });
    clearStatus(RETURNING);
    // Back in the queue, not the meeting: being let in later is not coming back.
    if (reply.type === "waiting") back.returned = false;
  } catch (error) {
    back.returned = false;
    notReturned(error);
  }
}

/** @param {KeptPlace} kept */
function restoreDevices(kept) {
  back.micOff = kept.mic !== "on";
  if (kept.mic === "none") {
    if (![...ui.micSelect.options].some((option) => option.value === NO_MICROPHONE)) {
      ui.micSelect.append(new Option("No microphone", NO_MICROPHONE));
    }
    ui.micSelect.value = NO_MICROPHONE;
    room.micChosenByPerson = true;
  }
  if (kept.camera) turnCameraOn();
}

/** @param {unknown} error */
function notReturned(error) {
  forgetPlace();
  room.resume = "";
  back.micOff = false;
  setJoining(false);
  clearStatus(RETURNING);
  if (hooks.state !== "prejoin") return;
  const code = error instanceof ProtocolError ? error.code : "";
  if (code === "confirmation_required") showError(NOT_KEPT);
  // A closed socket (refused, the meeting over) is explained when it closes.
  else if (!SOCKET_CLOSES.has(code)) showError(describeFailure(error, "We could not take you back to the meeting."));
}
