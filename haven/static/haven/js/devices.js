// @ts-check
/**
 * Our own camera and microphone: turning them on and off, the buttons that show them,
 * and the host's mute (rule V3: only we can unmute ourselves, through `unmute_self`).
 */
import { announce, describeFailure, showError } from "./notices.js";
import { byId, hooks, liveConnection, room, selfViews, ui } from "./state.js";

export const NO_MICROPHONE = "none";
const VIDEO_CONSTRAINTS = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 20 } };

/**
 * Plain words for why a camera or microphone would not start.
 * @param {"camera"|"microphone"} device
 * @param {unknown} error
 * @returns {string}
 */
export function deviceProblem(device, error) {
  const name = error instanceof DOMException ? error.name : "";
  const still = `You can still take part without a ${device}.`;
  if (name === "NotAllowedError" || name === "SecurityError") {
    return `Your browser is not letting Haven use your ${device}. ${still} To use it, allow the ${device} in your browser settings, then reload this page.`;
  }
  if (name === "NotFoundError" || name === "OverconstrainedError") {
    return `We could not find a ${device}. ${still}`;
  }
  if (name === "NotReadableError" || name === "AbortError") {
    return `Your ${device} may be in use by another app. Close the other app and try again. ${still}`;
  }
  return `We could not turn on your ${device}. ${still}`;
}

/**
 * Tell the person a device failed: beside the control before joining, as an alert after.
 * @param {"camera"|"microphone"} device
 * @param {unknown} error
 */
function reportDeviceProblem(device, error) {
  const text = deviceProblem(device, error);
  if (hooks.state === "prejoin" && device === "camera") {
    ui.cameraHelp.textContent = text;
    announce(text);
  } else {
    showError(text);
  }
}

/** @returns {Promise<MediaStreamTrack|null>} */
async function getCameraTrack() {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ video: VIDEO_CONSTRAINTS });
    return stream.getVideoTracks()[0] ?? null;
  } catch (error) {
    reportDeviceProblem("camera", error);
    return null;
  }
}

/**
 * The microphone chosen before joining; `anyMicrophone` when the person asks for one later.
 * @param {boolean} [anyMicrophone]
 * @returns {Promise<MediaStreamTrack|null>}
 */
export async function getMicrophoneTrack(anyMicrophone = false) {
  const choice = ui.micSelect.value;
  if (!navigator.mediaDevices?.getUserMedia) return null;
  if (choice === NO_MICROPHONE && !anyMicrophone) return null;
  const exact = choice !== NO_MICROPHONE ? { deviceId: { exact: choice } } : true;
  try {
    const stream = await navigator.mediaDevices
      .getUserMedia({ audio: exact })
      .catch(() => navigator.mediaDevices.getUserMedia({ audio: true }));
    return stream.getAudioTracks()[0] ?? null;
  } catch (error) {
    reportDeviceProblem("microphone", error);
    return null;
  }
}

// ---------------------------------------------------------------------------------------
// Camera

export async function turnCameraOn() {
  room.cameraWanted = true;
  ui.cameraHelp.textContent = "Turning your camera on…";
  if (room.cameraHeld && !(await askToShowCamera())) {
    room.cameraWanted = false;
    renderCamera(false);
    return;
  }
  const track = await getCameraTrack();
  if (!room.cameraWanted || hooks.state === "ended") {
    track?.stop(); // turned off again (or the meeting ended) while the camera was starting
    return;
  }
  if (!track) {
    room.cameraWanted = false;
    renderCamera(false);
    return;
  }
  room.cameraTrack = track;
  track.addEventListener("ended", () => {
    if (room.cameraTrack === track) turnCameraOff();
  });
  await room.senders?.video.replaceTrack(track);
  renderCamera();
}

export function turnCameraOff() {
  room.cameraWanted = false;
  const track = room.cameraTrack;
  room.cameraTrack = null;
  room.senders?.video.replaceTrack(null).catch(() => {});
  track?.stop();
  renderCamera();
}

/**
 * Our meeting's type started our camera off (P3): the server holds our video back until
 * we ask, ourselves, for it to go through (`camera_on_self`, V3).
 * @returns {Promise<boolean>} whether it goes through now
 */
async function askToShowCamera() {
  try {
    await liveConnection().request("camera_on_self");
    room.cameraHeld = false;
    return true;
  } catch (error) {
    showError(describeFailure(error, "We could not turn your camera on."));
    return false;
  }
}

/**
 * `admitted`: a meeting whose type starts attendees with microphone and camera off (P3)
 * says so. The server keeps each off until we turn it on ourselves (V3); the page shows
 * them off from the start, a camera turned on before joining included.
 * The host's `joined` never holds them (it has neither field).
 * @param {import("./protocol.js").JoinedMessage | import("./protocol.js").AdmittedMessage} message
 */
export function startAsTheMeetingTypeSays(message) {
  const holds = /** @type {Partial<import("./protocol.js").AdmittedMessage>} */ (message);
  room.startMuted = holds.muted_on_entry === true;
  room.cameraHeld = holds.camera_off_on_entry === true;
  if (room.startMuted && room.micTrack) room.micTrack.enabled = false;
  if (room.cameraHeld && (room.cameraWanted || room.cameraTrack)) turnCameraOff();
}

/** @param {boolean} [updateHelp]  false keeps a problem message beside the switch */
export function renderCamera(updateHelp = true) {
  const track = room.cameraTrack;
  ui.cameraSwitch.checked = room.cameraWanted;
  if (room.cameraStream?.getVideoTracks()[0] !== track) {
    room.cameraStream = track ? new MediaStream([track]) : null;
    for (const video of selfViews) video.srcObject = room.cameraStream;
  }
  byId("prejoin-preview").hidden = !track;
  byId("waiting-camera").hidden = !track;
  ui.ownTile.classList.toggle("has-video", Boolean(track));
  ui.cameraButton.setAttribute("aria-pressed", String(Boolean(track)));
  if (updateHelp) {
    ui.cameraHelp.textContent = track
      ? "Your camera is on. You can turn it off at any time."
      : "Your camera is off. You can turn it on now or later, or keep it off.";
  }
  renderMediaStatus();
}

export function onCameraButton() {
  if (room.cameraWanted) turnCameraOff();
  else turnCameraOn();
}

// ---------------------------------------------------------------------------------------
// Microphone

export function renderMicrophone() {
  const live = Boolean(room.micTrack?.enabled);
  hooks.mic.enabled = live;
  hooks.mic.hostMuted = room.hostMuted;
  ui.micButton.setAttribute("aria-pressed", String(!live));
  ui.ownTile.classList.toggle("is-muted", !live);
  renderMediaStatus();
}

function renderMediaStatus() {
  let mic = "Your microphone is off.";
  if (room.unmuteRequested) mic = "Unmuting your microphone…";
  else if (room.hostMuted) mic = "The host muted you. You can unmute yourself when you want to speak.";
  else if (room.micTrack) mic = room.micTrack.enabled ? "Your microphone is on." : "You are muted.";
  const camera = room.cameraTrack ? "Your camera is on." : "Your camera is off.";
  ui.mediaStatus.textContent = `${mic} ${camera}`;
}

/** Mute our own microphone (our choice, or acting on the host's request). */
export function muteMicrophone() {
  if (room.micTrack) room.micTrack.enabled = false;
  renderMicrophone();
}

export async function onMicButton() {
  if (room.hostMuted || room.startMuted) {
    askToUnmute();
    return;
  }
  if (room.micTrack) {
    room.micTrack.enabled = !room.micTrack.enabled;
    renderMicrophone();
    return;
  }
  await startMicrophone();
}

/** Joined with no microphone (or muted with none): try to turn one on now. */
async function startMicrophone() {
  const track = await getMicrophoneTrack(true);
  if (!track || hooks.state !== "in_meeting") {
    track?.stop();
    return;
  }
  room.micTrack = track;
  await room.senders?.audio.replaceTrack(track);
  renderMicrophone();
}

/**
 * The host muted us on the media server. The track goes quiet here too, so the button
 * tells the truth; it comes back only after our own `unmute_self` is answered.
 */
export function onMutedByHost() {
  room.hostMuted = true;
  room.unmuteRequested = false;
  if (room.micTrack) room.micTrack.enabled = false;
  renderMicrophone();
}

/** The person pressed unmute after the host muted them: ask the server first. */
function askToUnmute() {
  if (room.unmuteRequested) return;
  room.unmuteRequested = true;
  renderMicrophone();
  liveConnection()
    .request("unmute_self")
    .catch((error) => {
      room.unmuteRequested = false;
      renderMicrophone();
      showError(describeFailure(error, "We could not unmute your microphone."));
    });
}

/**
 * `unmuted`: the server lifted the host's mute from our own microphone. Only now does
 * the microphone go live again.
 * @returns {Promise<boolean>} true if the microphone went live
 */
export async function onUnmuted() {
  const wanted = room.unmuteRequested;
  room.hostMuted = false;
  room.startMuted = false;
  room.unmuteRequested = false;
  if (!wanted) {
    renderMicrophone();
    return false;
  }
  if (room.micTrack) room.micTrack.enabled = true;
  else await startMicrophone();
  renderMicrophone();
  return Boolean(room.micTrack?.enabled);
}

export function stopLocalMedia() {
  room.cameraWanted = false;
  for (const track of [room.micTrack, room.cameraTrack]) track?.stop();
  room.micTrack = null;
  room.cameraTrack = null;
  room.cameraStream = null;
  for (const video of selfViews) video.srcObject = null;
  renderMicrophone();
}
