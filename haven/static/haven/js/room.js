// @ts-check
/**
 * The meeting page: before you join, waiting room, in the meeting, ended.
 *
 * All talk with the server goes through protocol.js. This module owns the screens, the
 * camera and microphone, and the peer connections: one that publishes, and one per
 * person we receive. The browser never talks to the media server itself; Haven relays.
 */
import { HavenConnection, ProtocolError } from "./protocol.js";

/**
 * @typedef {import("./protocol.js").Person} Person
 * @typedef {import("./protocol.js").FeedInfo} FeedInfo
 * @typedef {import("./protocol.js").Jsep} Jsep
 * @typedef {import("./protocol.js").Candidate} Candidate
 * @typedef {import("./protocol.js").WelcomeMessage} WelcomeMessage
 * @typedef {import("./protocol.js").JoinedMessage} JoinedMessage
 * @typedef {import("./protocol.js").AdmittedMessage} AdmittedMessage
 * @typedef {import("./protocol.js").WaitingMessage} WaitingMessage
 * @typedef {import("./protocol.js").ErrorMessage} ErrorMessage
 * @typedef {import("./protocol.js").CloseInfo} CloseInfo
 *
 * @typedef {"prejoin"|"waiting"|"in_meeting"|"ended"} RoomState
 * @typedef {"left"|"ended"|"lost"|"refused"} EndReason
 *
 * @typedef {object} RemoteFeed  One person's camera and microphone, as we receive them.
 * @property {number} feed
 * @property {string} participant
 * @property {RTCPeerConnection|null} pc
 * @property {MediaStreamTrack[]} tracks
 * @property {HTMLLIElement} tile
 * @property {HTMLVideoElement} video
 * @property {HTMLElement} caption
 * @property {boolean} removed
 *
 * @typedef {object} TestHooks  window.haven: read by the browser tests; plain, no secrets.
 * @property {RoomState} state
 * @property {{publisher: RTCPeerConnection|null,
 *             subscribers: Map<number, RTCPeerConnection>}} peerConnections
 * @property {{admittedAt: number|null, firstRemoteFrameAt: number|null}} metrics
 * @property {string[]} received  the type of every server message, in order
 */

// No STUN or TURN: media goes only between this browser and our own media server.
// max-bundle: one set of ICE candidates per connection (Janus bundles anyway), so fewer
// trickle messages against the server's rate limit.
/** @type {RTCConfiguration} */
const PEER_CONFIG = { iceServers: [], bundlePolicy: "max-bundle" };
const VIDEO_CONSTRAINTS = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 20 } };
const NO_MICROPHONE = "none";
const FIRST_FRAME_POLL_MS = 50;
const VIDEO_CHECK_MS = 1000;
const CLOSE_NORMAL = 4000;
const CLOSE_NOT_ALLOWED = 4403;
const CLOSE_BAD_VERSION = 4400;

/** @type {Record<string, string>} invitee roles as people say them */
const ROLE_WORDS = {
  parent_carer: "parent or carer",
  professional: "professional",
  young_person: "young person",
  child: "child",
};

/** @type {Record<string, string>} server error codes in plain English */
const ERROR_WORDS = {
  bad_json: "Something went wrong between this page and the server. Reload the page and try again.",
  bad_message: "Something went wrong between this page and the server. Reload the page and try again.",
  unknown_type: "Something went wrong between this page and the server. Reload the page and try again.",
  hello_required: "Something went wrong between this page and the server. Reload the page and try again.",
  unsupported_version: "This page is out of date. Reload the page to get the newest version.",
  confirmation_required: "Tick the box to confirm you cannot be overheard or overlooked.",
  not_joined: "You need to join the meeting first.",
  not_allowed: "You are not allowed to do that.",
  not_found: "That person is no longer in the meeting or the waiting room.",
  too_many_streams: "You can only send one camera and one microphone.",
  bad_sdp: "Your browser could not set up sound and video for this meeting. Reload the page and try again.",
  media_unavailable: "The video service did not answer. Wait a moment, then try again.",
  meeting_ended: "The meeting has ended.",
  rate_limited: "Too many things happened too quickly. Wait a moment, then try again.",
  timeout: "The server took too long to answer. Check your internet connection, then try again.",
  connection_closed: "The connection to the meeting was lost.",
};

/** @type {Record<RoomState, {section: string, label: string}>} */
const SCREENS = {
  prejoin: { section: "screen-prejoin", label: "Before you join" },
  waiting: { section: "screen-waiting", label: "Waiting room" },
  in_meeting: { section: "screen-meeting", label: "In the meeting" },
  ended: { section: "screen-ended", label: "Meeting ended" },
};

// ---------------------------------------------------------------------------------------
// Page elements and state

/**
 * @param {string} id
 * @returns {HTMLElement}
 */
function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`Haven: the page has no #${id}`);
  return element;
}

const root = byId("room");
const ui = {
  error: byId("room-error"),
  announcer: byId("room-announcer"),
  cameraSwitch: /** @type {HTMLInputElement} */ (byId("camera-on")),
  cameraHelp: byId("camera-help"),
  micSelect: /** @type {HTMLSelectElement} */ (byId("microphone")),
  micHelp: byId("microphone-help"),
  privatePlace: /** @type {HTMLInputElement} */ (byId("private-place")),
  privatePlaceError: byId("private-place-error"),
  errorSummary: byId("prejoin-error-summary"),
  joinButton: /** @type {HTMLButtonElement} */ (byId("join-button")),
  ownTile: byId("own-tile"),
  micButton: byId("mic-button"),
  cameraButton: byId("camera-button"),
  soundButton: byId("sound-button"),
  mediaStatus: byId("media-status"),
  grid: byId("video-grid"),
  rosterList: byId("roster-list"),
  rosterHeading: byId("roster-heading"),
  // Only on the host's page:
  waitingPanel: document.getElementById("waiting-panel"),
  endButton: document.getElementById("end-meeting"),
  endConfirm: document.getElementById("end-confirm"),
};
/** The self-view video elements, one per screen that shows one. */
const selfViews = ["prejoin-video", "waiting-video", "own-video"].map(
  (id) => /** @type {HTMLVideoElement} */ (byId(id)),
);

const config = {
  wsPath: root.dataset.wsPath ?? "",
  isHost: root.dataset.role === "host",
  participantName: root.dataset.participantName ?? "",
  meetingTitle: root.dataset.meetingTitle ?? "",
  startsAt: root.dataset.startsAt ?? "",
  staffPageUrl: root.dataset.staffPageUrl ?? "",
};

const room = {
  /** @type {HavenConnection|null} */
  connection: null,
  /** @type {string|null} our participant id, once known */
  me: null,
  joining: false,
  micChosenByPerson: false,
  /** @type {MediaStreamTrack|null} */
  micTrack: null,
  /** @type {MediaStreamTrack|null} */
  cameraTrack: null,
  /** @type {MediaStream|null} */
  cameraStream: null,
  cameraWanted: false,
  /** @type {{audio: RTCRtpSender, video: RTCRtpSender}|null} */
  senders: null,
  /** @type {number|null} */
  ownFeed: null,
  /** @type {Map<number, RemoteFeed>} */
  feeds: new Map(),
  /** @type {Map<string, Person>} */
  roster: new Map(),
  /** @type {Map<string, Person>} */
  waiting: new Map(),
  /** @type {ReturnType<typeof setInterval>|undefined} */
  startTimer: undefined,
};

/** @type {TestHooks} */
const hooks = {
  state: "prejoin",
  peerConnections: { publisher: null, subscribers: new Map() },
  metrics: { admittedAt: null, firstRemoteFrameAt: null },
  received: [],
};
/** @type {any} */ (window).haven = hooks;

// ---------------------------------------------------------------------------------------
// Screens, messages and announcements

/** @param {RoomState} state */
function showScreen(state) {
  hooks.state = state;
  for (const [name, screen] of Object.entries(SCREENS)) {
    byId(screen.section).hidden = name !== state;
  }
  byId("recording-notice").hidden = state === "ended";
  document.title = `${SCREENS[state].label}: ${config.meetingTitle} – Haven`;
  byId(SCREENS[state].section).querySelector("h2")?.focus();
}

/** @param {string} text  shown in the role="alert" region, in plain English */
function showError(text) {
  const paragraph = document.createElement("p");
  paragraph.textContent = text;
  ui.error.replaceChildren(paragraph);
}

function clearError() {
  ui.error.replaceChildren();
}

/**
 * Say something to screen-reader users without moving focus. Kept as separate lines so
 * two quick arrivals are both read.
 * @param {string} text
 */
function announce(text) {
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
function describeFailure(error, what) {
  const code = error instanceof ProtocolError ? error.code : "";
  const why = ERROR_WORDS[code];
  return why ? `${what} ${why}` : `${what} Please try again.`;
}

/** @param {string} participant */
function nameOf(participant) {
  return room.roster.get(participant)?.name ?? "Someone";
}

/** @param {Person} person */
function isMe(person) {
  return person.participant === room.me;
}

// ---------------------------------------------------------------------------------------
// Before you join: camera, microphone, the private-place confirmation

function setUpPrejoin() {
  byId("prejoin-form").addEventListener("submit", onJoinSubmit);
  ui.cameraSwitch.addEventListener("change", () => {
    if (ui.cameraSwitch.checked) turnCameraOn();
    else turnCameraOff();
  });
  ui.micSelect.addEventListener("change", () => {
    room.micChosenByPerson = true;
  });
  ui.privatePlace.addEventListener("change", () => {
    if (ui.privatePlace.checked) clearConfirmationError();
  });
  ui.errorSummary.querySelector("a")?.addEventListener("click", (event) => {
    event.preventDefault();
    ui.privatePlace.focus();
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

/**
 * Plain words for why a camera or microphone would not start.
 * @param {"camera"|"microphone"} device
 * @param {unknown} error
 * @returns {string}
 */
function deviceProblem(device, error) {
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

function showConfirmationError() {
  ui.privatePlaceError.hidden = false;
  ui.errorSummary.hidden = false;
  ui.privatePlace.setAttribute("aria-invalid", "true");
  ui.privatePlace.setAttribute("aria-describedby", "private-place-error private-place-hint");
  byId("private-place-field").classList.add("field-error");
  ui.errorSummary.focus();
}

function clearConfirmationError() {
  ui.privatePlaceError.hidden = true;
  ui.errorSummary.hidden = true;
  ui.privatePlace.removeAttribute("aria-invalid");
  ui.privatePlace.setAttribute("aria-describedby", "private-place-hint");
  byId("private-place-field").classList.remove("field-error");
}

/** @param {boolean} busy */
function setJoining(busy) {
  room.joining = busy;
  ui.joinButton.textContent = busy ? "Joining…" : "Join";
}

/** @param {SubmitEvent} event */
async function onJoinSubmit(event) {
  event.preventDefault();
  if (!ui.privatePlace.checked) {
    showConfirmationError();
    return;
  }
  clearConfirmationError();
  if (room.joining) return;
  setJoining(true);
  clearError();
  announce("Joining the meeting…");
  try {
    const connection = await openConnection();
    if (hooks.state === "prejoin") connection.send("join", { private_place_confirmed: true });
  } catch (error) {
    setJoining(false);
    // A closed socket is explained by onConnectionClosed, with its close code.
    if (!(error instanceof ProtocolError && error.code === "connection_closed")) {
      showError(describeFailure(error, "We could not connect you to the meeting."));
    }
  }
}

// ---------------------------------------------------------------------------------------
// Camera and microphone

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
async function getMicrophoneTrack(anyMicrophone = false) {
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

async function turnCameraOn() {
  room.cameraWanted = true;
  ui.cameraHelp.textContent = "Turning your camera on…";
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

function turnCameraOff() {
  room.cameraWanted = false;
  const track = room.cameraTrack;
  room.cameraTrack = null;
  room.senders?.video.replaceTrack(null).catch(() => {});
  track?.stop();
  renderCamera();
}

/** @param {boolean} [updateHelp]  false keeps a problem message beside the switch */
function renderCamera(updateHelp = true) {
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

function renderMicrophone() {
  const live = Boolean(room.micTrack?.enabled);
  ui.micButton.setAttribute("aria-pressed", String(!live));
  ui.ownTile.classList.toggle("is-muted", !live);
  renderMediaStatus();
}

function renderMediaStatus() {
  const mic = room.micTrack
    ? room.micTrack.enabled
      ? "Your microphone is on."
      : "You are muted."
    : "Your microphone is off.";
  const camera = room.cameraTrack ? "Your camera is on." : "Your camera is off.";
  ui.mediaStatus.textContent = `${mic} ${camera}`;
}

async function onMicButton() {
  if (room.micTrack) {
    room.micTrack.enabled = !room.micTrack.enabled;
    renderMicrophone();
    return;
  }
  // Joined with no microphone: try to turn one on now.
  const track = await getMicrophoneTrack(true);
  if (!track || hooks.state !== "in_meeting") {
    track?.stop();
    return;
  }
  room.micTrack = track;
  await room.senders?.audio.replaceTrack(track);
  renderMicrophone();
}

function onCameraButton() {
  if (room.cameraWanted) turnCameraOff();
  else turnCameraOn();
}

function stopLocalMedia() {
  room.cameraWanted = false;
  for (const track of [room.micTrack, room.cameraTrack]) track?.stop();
  room.micTrack = null;
  room.cameraTrack = null;
  room.cameraStream = null;
  for (const video of selfViews) video.srcObject = null;
}

// ---------------------------------------------------------------------------------------
// Connection to the server

/** @returns {Promise<HavenConnection>} an open connection that has said hello */
async function openConnection() {
  if (room.connection?.isOpen) return room.connection;
  const connection = new HavenConnection(config.wsPath);
  room.connection = connection;
  listenToServer(connection);
  const welcome = await connection.connect();
  onWelcome(welcome);
  return connection;
}

/**
 * Wrap a handler so that nothing happens once the meeting is over for us.
 * @template T
 * @param {(message: T) => void} handler
 * @returns {(message: T) => void}
 */
function whileLive(handler) {
  return (message) => {
    if (hooks.state !== "ended") handler(message);
  };
}

/** @param {HavenConnection} connection */
function listenToServer(connection) {
  connection.on("*", (message) => hooks.received.push(message.type));
  connection.on("waiting", whileLive(onWaiting));
  connection.on("joined", whileLive(onJoined));
  connection.on("admitted", whileLive(onAdmitted));
  connection.on("waiting_list", whileLive((message) => renderWaitingList(message.waiting, true)));
  connection.on(
    "roster",
    whileLive((message) => renderRoster(message.roster, hooks.state === "in_meeting")),
  );
  connection.on("feed_added", whileLive((message) => subscribeTo(message.feed)));
  connection.on("feed_removed", whileLive((message) => removeFeed(message.feed)));
  connection.on("media_restarted", whileLive(onMediaRestarted));
  connection.on("left", () => finish("left"));
  connection.on("meeting_ended", () => finish("ended"));
  connection.on("error", whileLive(onServerError));
  connection.onClose((info) => onConnectionClosed(connection, info));
}

/** @param {WelcomeMessage} welcome */
function onWelcome(welcome) {
  room.me = welcome.you.participant ?? room.me;
  if (welcome.meeting.state === "ended") finish("ended");
}

/** @param {WaitingMessage} message */
function onWaiting(message) {
  setJoining(false);
  showScreen("waiting");
  showStartTime(message.meeting?.starts_at || config.startsAt);
  announce("You are in the waiting room. The host will let you in.");
}

/** @param {JoinedMessage} message */
function onJoined(message) {
  enterMeeting(message);
  renderWaitingList(message.waiting ?? [], true);
}

/** @param {AdmittedMessage} message */
function onAdmitted(message) {
  enterMeeting(message);
}

/** @param {ErrorMessage} message */
function onServerError(message) {
  const refused = room.connection?.sentTypeOf(message.re);
  if (refused === "trickle") {
    // A candidate for a feed that has just gone: harmless, nothing to tell the person.
    console.warn("Haven: trickle refused", message.code);
    return;
  }
  if (refused === "admit") {
    // Let the host press "Let in" again; a stale row goes with the next waiting_list.
    ui.waitingPanel?.querySelectorAll("[data-busy]").forEach((button) => button.removeAttribute("data-busy"));
  }
  if (message.code === "already_joined") return;
  if (message.code === "meeting_ended") {
    finish("ended");
    return;
  }
  if (hooks.state === "prejoin") setJoining(false);
  if (message.code === "confirmation_required") {
    showConfirmationError();
    return;
  }
  showError(ERROR_WORDS[message.code] ?? message.message ?? "Something went wrong. Please try again.");
}

/**
 * @param {HavenConnection} connection
 * @param {CloseInfo} info
 */
function onConnectionClosed(connection, info) {
  if (connection !== room.connection || hooks.state === "ended") return;
  if (hooks.state === "prejoin") {
    setJoining(false);
    showError(closedBeforeJoining(info.code));
    return;
  }
  if (info.code === CLOSE_NORMAL) finish("ended");
  else if (info.code === CLOSE_NOT_ALLOWED) finish("refused");
  else finish("lost");
}

/** @param {number} code */
function closedBeforeJoining(code) {
  if (code === CLOSE_BAD_VERSION) return ERROR_WORDS.unsupported_version;
  if (code === CLOSE_NORMAL) return "The meeting has ended.";
  return (
    "We could not connect you to the meeting. Your link may have expired, or your internet " +
    "connection may have dropped. Reload the page to try again. If it still does not work, " +
    "contact us using the details at the bottom of this page."
  );
}

// ---------------------------------------------------------------------------------------
// Waiting room (attendee)

/** @param {string} iso */
function showStartTime(iso) {
  const line = byId("waiting-start");
  const update = () => {
    const text = describeStart(iso);
    line.textContent = text ?? "";
    line.hidden = text === null;
  };
  update();
  clearInterval(room.startTimer);
  room.startTimer = setInterval(update, 30000);
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

// ---------------------------------------------------------------------------------------
// In the meeting

/** @param {JoinedMessage|AdmittedMessage} message */
function enterMeeting(message) {
  if (hooks.state === "in_meeting") return;
  hooks.metrics.admittedAt = performance.now();
  clearInterval(room.startTimer);
  setJoining(false);
  room.me = message.you;
  showScreen("in_meeting");
  renderRoster(message.roster ?? [], false);
  for (const feed of message.feeds ?? []) subscribeTo(feed);
  startPublishing();
  renderMicrophone();
  renderCamera();
  announce(config.isHost ? "You are in the meeting. You are the host." : "You are in the meeting.");
}

/** @param {FeedInfo} feed */
function isOwnFeed(feed) {
  return feed.feed === room.ownFeed || (room.me !== null && feed.participant === room.me);
}

/** @returns {HavenConnection} */
function liveConnection() {
  if (!room.connection) throw new ProtocolError("connection_closed", "No connection.");
  return room.connection;
}

/**
 * @param {RTCSessionDescription|null} description
 * @returns {Jsep}
 */
function jsepOf(description) {
  if (!description) throw new Error("No local description");
  return { type: /** @type {"offer"|"answer"} */ (description.type), sdp: description.sdp };
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

/** One publishing connection: audio then video, both send-only, tracks attached later. */
function createPublisher() {
  const pc = new RTCPeerConnection(PEER_CONFIG);
  const audio = pc.addTransceiver("audio", { direction: "sendonly" });
  const video = pc.addTransceiver("video", { direction: "sendonly" });
  room.senders = { audio: audio.sender, video: video.sender };
  hooks.peerConnections.publisher = pc;
  return pc;
}

async function startPublishing() {
  const pc = createPublisher();
  try {
    const mic = await getMicrophoneTrack();
    if (hooks.state !== "in_meeting") {
      mic?.stop();
      return;
    }
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

/**
 * The media server restarted: every media connection is gone. Close ours, then send the
 * same microphone and camera again; the others' feeds come back as `feed_added`.
 */
async function onMediaRestarted() {
  if (hooks.state !== "in_meeting") return;
  for (const feedId of [...room.feeds.keys()]) removeFeed(feedId);
  hooks.peerConnections.publisher?.close();
  room.ownFeed = null;
  announce("The video connection was interrupted. Reconnecting…");
  const pc = createPublisher();
  try {
    await room.senders?.audio.replaceTrack(room.micTrack);
    await room.senders?.video.replaceTrack(room.cameraTrack);
    await negotiatePublisher(pc);
    announce("The video connection is back.");
  } catch (error) {
    console.error("Haven: publishing again failed", error);
    showError(describeFailure(error, "We could not reconnect your camera and microphone. Please reload the page."));
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

/** @param {FeedInfo} info */
async function subscribeTo(info) {
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
    showError(describeFailure(error, `We could not show ${nameOf(info.participant)}’s video.`));
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
}

// ---------------------------------------------------------------------------------------
// Video tiles

/**
 * A tile for one person's feed, showing their name until their video arrives.
 * @param {FeedInfo} info
 * @returns {RemoteFeed}
 */
function createRemoteFeed(info) {
  const tile = document.createElement("li");
  tile.className = "tile";
  tile.dataset.feed = String(info.feed);
  tile.dataset.participant = info.participant;
  const video = document.createElement("video");
  video.autoplay = true;
  video.playsInline = true;
  const caption = document.createElement("p");
  caption.className = "tile-name";
  tile.append(video, caption);
  ui.grid.append(tile);
  /** @type {RemoteFeed} */
  const remote = { ...info, pc: null, tracks: [], tile, video, caption, removed: false };
  room.feeds.set(info.feed, remote);
  renderTileName(remote);
  if ("requestVideoFrameCallback" in video) {
    video.requestVideoFrameCallback(() => noteFirstFrame(remote));
  }
  return remote;
}

/** @param {RemoteFeed} remote */
function renderTileName(remote) {
  const person = room.roster.get(remote.participant);
  const name = person?.name ?? "Someone in the meeting";
  remote.caption.textContent = person?.is_host ? `${name} (host)` : name;
}

/**
 * @param {RemoteFeed} remote
 * @param {MediaStreamTrack} track
 */
function attachRemoteTrack(remote, track) {
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

function onSoundButton() {
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
 * do. Quick checks until the first frame, then once a second.
 * @param {RemoteFeed} remote
 */
async function watchVideo(remote) {
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
    remote.tile.classList.toggle("has-video", frames > 0 && idleChecks < 3);
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

/** @param {number} ms */
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** @param {number} feedId */
function removeFeed(feedId) {
  const remote = room.feeds.get(feedId);
  if (!remote) return;
  remote.removed = true;
  room.feeds.delete(feedId);
  hooks.peerConnections.subscribers.delete(feedId);
  remote.pc?.close();
  remote.video.srcObject = null;
  remote.tile.remove();
}

// ---------------------------------------------------------------------------------------
// Roster and waiting list

/**
 * @param {Person[]} people
 * @param {boolean} announceChanges
 */
function renderRoster(people, announceChanges) {
  const before = room.roster;
  room.roster = new Map(people.map((person) => [person.participant, person]));
  if (announceChanges) announceRosterChanges(before, room.roster);
  ui.rosterList.replaceChildren(...people.map(rosterItem));
  ui.rosterHeading.textContent = `People in the meeting (${people.length})`;
  for (const remote of room.feeds.values()) renderTileName(remote);
}

/**
 * @param {Map<string, Person>} before
 * @param {Map<string, Person>} after
 */
function announceRosterChanges(before, after) {
  for (const [id, person] of after) {
    if (!before.has(id) && !isMe(person)) announce(`${person.name} has joined the meeting.`);
  }
  for (const [id, person] of before) {
    if (!after.has(id) && !isMe(person)) announce(`${person.name} has left the meeting.`);
  }
}

/**
 * @param {Person} person
 * @returns {HTMLLIElement}
 */
function rosterItem(person) {
  const item = document.createElement("li");
  item.dataset.participant = person.participant;
  const name = document.createElement("span");
  name.className = "person-name";
  name.textContent = isMe(person) ? `${person.name} (you)` : person.name;
  item.append(name);
  if (person.is_host) item.append(" ", badge("Host"), " ", staffMark());
  return item;
}

/** @param {string} text */
function badge(text) {
  const mark = document.createElement("strong");
  mark.className = "badge";
  mark.textContent = text;
  return mark;
}

/** The "Staff" mark, linking to the organisation's staff page (rule U1). */
function staffMark() {
  if (!config.staffPageUrl) return badge("Staff");
  const link = document.createElement("a");
  link.className = "badge badge-staff";
  link.href = config.staffPageUrl;
  link.target = "_blank";
  link.rel = "noopener";
  const more = document.createElement("span");
  more.className = "visually-hidden";
  more.textContent = ": check on our staff page (opens in a new tab)";
  link.append("Staff", more);
  return link;
}

/**
 * The host's list of people waiting, each with a "Let in" button. Rows are kept, not
 * redrawn, so a keyboard user's focus stays where it was.
 * @param {Person[]} people
 * @param {boolean} announceChanges
 */
function renderWaitingList(people, announceChanges) {
  const panel = ui.waitingPanel;
  if (!panel) return;
  const before = room.waiting;
  room.waiting = new Map(people.map((person) => [person.participant, person]));
  if (announceChanges) {
    for (const [id, person] of room.waiting) {
      if (!before.has(id)) announce(`${person.name} is waiting.`);
    }
  }
  const list = byId("waiting-list");
  const hadFocus = panel.contains(document.activeElement);
  for (const row of [...list.children]) {
    const id = /** @type {HTMLElement} */ (row).dataset.participant ?? "";
    if (!room.waiting.has(id)) row.remove();
  }
  for (const person of people) {
    if (!list.querySelector(`[data-participant="${CSS.escape(person.participant)}"]`)) {
      list.append(waitingItem(person));
    }
  }
  byId("waiting-empty").hidden = people.length > 0;
  byId("waiting-panel-heading").textContent = `Waiting room (${people.length})`;
  if (hadFocus && !panel.contains(document.activeElement)) {
    const next = list.querySelector("button") ?? byId("waiting-panel-heading");
    /** @type {HTMLElement} */ (next).focus();
  }
}

/**
 * @param {Person} person
 * @returns {HTMLLIElement}
 */
function waitingItem(person) {
  const item = document.createElement("li");
  item.dataset.participant = person.participant;
  const name = document.createElement("span");
  name.className = "person-name";
  name.textContent = person.name;
  item.append(name);
  const role = ROLE_WORDS[person.role];
  if (role) {
    const what = document.createElement("span");
    what.className = "person-role";
    what.textContent = ` (${role})`;
    item.append(what);
  }
  const button = document.createElement("button");
  button.type = "button";
  button.className = "button button-small";
  button.dataset.admit = person.participant;
  const who = document.createElement("span");
  who.className = "visually-hidden";
  who.textContent = ` ${person.name}`;
  button.append("Let in", who);
  item.append(" ", button);
  return item;
}

/** @param {MouseEvent} event */
function onWaitingListClick(event) {
  const target = /** @type {HTMLElement} */ (event.target);
  const button = /** @type {HTMLButtonElement|null} */ (target.closest("button[data-admit]"));
  if (!button || button.dataset.busy) return;
  button.dataset.busy = "yes";
  const participant = button.dataset.admit ?? "";
  room.connection?.send("admit", { participant });
  announce(`Letting ${room.waiting.get(participant)?.name ?? "them"} in.`);
}

// ---------------------------------------------------------------------------------------
// Leaving and ending

function onLeave() {
  const connection = room.connection;
  if (connection?.isOpen) connection.send("leave");
  finish("left");
}

function askToEndMeeting() {
  if (!ui.endConfirm || !ui.endButton) return;
  ui.endConfirm.hidden = false;
  ui.endButton.setAttribute("aria-expanded", "true");
  byId("end-confirm-heading").focus();
}

function cancelEndMeeting() {
  if (!ui.endConfirm || !ui.endButton) return;
  ui.endConfirm.hidden = true;
  ui.endButton.setAttribute("aria-expanded", "false");
  ui.endButton.focus();
}

function endMeeting() {
  const yes = byId("end-confirm-yes");
  if (yes.dataset.busy) return;
  yes.dataset.busy = "yes";
  yes.textContent = "Ending the meeting…";
  room.connection?.send("end_meeting");
  announce("Ending the meeting for everyone…");
  // meeting_ended (or the socket closing) takes us to the last screen.
}

/**
 * Stop everything live and show the last screen. Peer connections are closed but kept
 * in window.haven so tests can see that they were closed.
 * @param {EndReason} reason
 */
function finish(reason) {
  if (hooks.state === "ended") return;
  clearInterval(room.startTimer);
  stopLocalMedia();
  hooks.peerConnections.publisher?.close();
  for (const remote of room.feeds.values()) {
    remote.removed = true;
    remote.pc?.close();
    remote.video.srcObject = null;
    remote.tile.remove();
  }
  room.feeds.clear();
  room.senders = null;
  clearError();
  showEndedMessage(reason);
  showScreen("ended");
  // The server closes the socket after `left` / `meeting_ended`; make sure it goes.
  const connection = room.connection;
  setTimeout(() => connection?.close(), 5000);
}

/** @param {EndReason} reason */
function showEndedMessage(reason) {
  /** @type {Record<EndReason, [string, string]>} */
  const words = {
    left: ["You have left the meeting", "You can close this page."],
    ended: ["The meeting has ended", "You can close this page."],
    lost: ["You are no longer connected", "The connection to the meeting was lost."],
    refused: [
      "You cannot take part in this meeting",
      "Your link may have expired or been withdrawn. If you think this is wrong, contact us using the details at the bottom of this page.",
    ],
  };
  byId("ended-heading").textContent = words[reason][0];
  byId("ended-detail").textContent = words[reason][1];
  byId("rejoin").hidden = reason !== "lost";
  /** @type {HTMLAnchorElement} */ (byId("rejoin-link")).href = window.location.href;
}

// ---------------------------------------------------------------------------------------
// Start

function setUpMeetingControls() {
  ui.micButton.addEventListener("click", onMicButton);
  ui.cameraButton.addEventListener("click", onCameraButton);
  ui.soundButton.addEventListener("click", onSoundButton);
  byId("meeting-leave").addEventListener("click", onLeave);
  byId("waiting-leave").addEventListener("click", onLeave);
  ui.waitingPanel?.addEventListener("click", onWaitingListClick);
  ui.endButton?.addEventListener("click", askToEndMeeting);
  document.getElementById("end-confirm-yes")?.addEventListener("click", endMeeting);
  document.getElementById("end-confirm-no")?.addEventListener("click", cancelEndMeeting);
  ui.endConfirm?.addEventListener("keydown", (event) => {
    if (event.key === "Escape") cancelEndMeeting();
  });
  window.addEventListener("pagehide", () => room.connection?.close());
}

setUpPrejoin();
setUpMeetingControls();
renderCamera();
renderMicrophone();
document.title = `${SCREENS.prejoin.label}: ${config.meetingTitle} – Haven`;
