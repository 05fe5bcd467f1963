// @ts-check
/**
 * Before you join: camera, microphone, and the private-place confirmation (rule S9).
 */
import { deviceProblem, NO_MICROPHONE, turnCameraOff, turnCameraOn } from "./devices.js";
import { announce, clearError, describeFailure, showError } from "./notices.js";
import { ProtocolError } from "./protocol.js";
import { byId, hooks, room, ui } from "./state.js";

const privatePlace = /** @type {HTMLInputElement} */ (byId("private-place"));
const privatePlaceError = byId("private-place-error");
const errorSummary = byId("prejoin-error-summary");
const joinButton = byId("join-button");

/**
 * @param {() => Promise<import("./protocol.js").HavenConnection>} connect
 *   opens the meeting socket and says hello
 */
export function setUpPrejoin(connect) {
  byId("prejoin-form").addEventListener("submit", (event) => onJoinSubmit(event, connect));
  ui.cameraSwitch.addEventListener("change", () => {
    if (ui.cameraSwitch.checked) turnCameraOn();
    else turnCameraOff();
  });
  ui.micSelect.addEventListener("change", () => {
    room.micChosenByPerson = true;
  });
  privatePlace.addEventListener("change", () => {
    if (privatePlace.checked) clearConfirmationError();
  });
  errorSummary.querySelector("a")?.addEventListener("click", (event) => {
    event.preventDefault();
    privatePlace.focus();
  });
  findMicrophones();
}

/** Ask once for the microphone so the browser will tell us the microphones' names. */
async function findMicrophones() {
  const devices = navigator.mediaDevices;
  if (!devices?.getUserMedia) {
    ui.micHelp.textContent =
      "This browser cannot use a microphone or camera on this page. You can still join to see and hear the meeting.";
    return;
  }
  ui.micHelp.textContent =
    "Your browser may ask if Haven can use your microphone. Choose Allow if you want others to hear you.";
  try {
    const probe = await devices.getUserMedia({ audio: true });
    const usedId = probe.getAudioTracks()[0]?.getSettings().deviceId ?? null;
    probe.getTracks().forEach((track) => track.stop());
    await listMicrophones(usedId);
    devices.addEventListener("devicechange", () => listMicrophones(null));
  } catch (error) {
    ui.micHelp.textContent = deviceProblem("microphone", error);
  }
}

/** @param {string|null} preferredId  the microphone the browser picked for us */
async function listMicrophones(preferredId) {
  const all = await navigator.mediaDevices.enumerateDevices();
  const mics = all.filter((device) => device.kind === "audioinput" && device.deviceId);
  const previous = ui.micSelect.value;
  ui.micSelect.replaceChildren(
    ...mics.map((mic, index) => new Option(mic.label || `Microphone ${index + 1}`, mic.deviceId)),
    new Option("No microphone", NO_MICROPHONE),
  );
  ui.micSelect.value = chooseMicrophone(mics, previous, preferredId);
  ui.micHelp.textContent = mics.length
    ? "Choose the microphone you want to use, or “No microphone” if you only want to listen."
    : "We could not find a microphone. You can still join: you will see and hear the meeting, but others will not hear you.";
}

/**
 * Keep what the person chose; otherwise the browser's own choice; otherwise the first.
 * @param {MediaDeviceInfo[]} mics
 * @param {string} previous
 * @param {string|null} preferredId
 * @returns {string}
 */
function chooseMicrophone(mics, previous, preferredId) {
  const has = (/** @type {string|null} */ id) => mics.some((mic) => mic.deviceId === id);
  if (room.micChosenByPerson && (previous === NO_MICROPHONE || has(previous))) return previous;
  if (has(preferredId)) return /** @type {string} */ (preferredId);
  return mics[0]?.deviceId ?? NO_MICROPHONE;
}

export function showConfirmationError() {
  privatePlaceError.hidden = false;
  errorSummary.hidden = false;
  privatePlace.setAttribute("aria-invalid", "true");
  privatePlace.setAttribute("aria-describedby", "private-place-error private-place-hint");
  byId("private-place-field").classList.add("field-error");
  errorSummary.focus();
}

function clearConfirmationError() {
  privatePlaceError.hidden = true;
  errorSummary.hidden = true;
  privatePlace.removeAttribute("aria-invalid");
  privatePlace.setAttribute("aria-describedby", "private-place-hint");
  byId("private-place-field").classList.remove("field-error");
}

/** @param {boolean} busy */
export function setJoining(busy) {
  room.joining = busy;
  joinButton.textContent = busy ? "Joining…" : "Join";
}

/**
 * @param {SubmitEvent} event
 * @param {() => Promise<import("./protocol.js").HavenConnection>} connect
 */
async function onJoinSubmit(event, connect) {
  event.preventDefault();
  if (!privatePlace.checked) {
    showConfirmationError();
    return;
  }
  clearConfirmationError();
  if (room.joining) return;
  setJoining(true);
  clearError();
  announce("Joining the meeting…");
  try {
    const connection = await connect();
    if (hooks.state === "prejoin") connection.send("join", { private_place_confirmed: true });
  } catch (error) {
    setJoining(false);
    // A closed socket is explained when it closes, with its close code.
    if (!(error instanceof ProtocolError && error.code === "connection_closed")) {
      showError(describeFailure(error, "We could not connect you to the meeting."));
    }
  }
}
