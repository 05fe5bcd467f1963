// @ts-check
/**
 * The meeting page: before you join, waiting room, in the meeting, ended.
 *
 * This module starts the page, opens the connection (protocol.js) and hands each server
 * message to the module that owns it:
 *   prejoin.js        camera, microphone and the private-place confirmation (S9)
 *   devices.js        our own camera and microphone, and the host's mute (V3)
 *   media.js          peer connections: publishing, receiving, restarts
 *   tiles.js          the video tiles of what we receive
 *   screen-share.js   the host's shared screen (V2)
 *   roster.js         who is in the meeting, and the host's identity (U1)
 *   waiting-room.js   the attendee's waiting room (S2, S3)
 *   waiting-list.js   the host's waiting-room panel (S2, S3)
 *   host-controls.js  lock, requests, mutes; remove-form.js for remove and ban (S3, V3, S8)
 *   host.js           the host's modules above, loaded on the host's page only
 *   host-requests.js  what the host asks of an attendee (V3)
 *   chat.js           the group chat: to everyone, text only, links inert (S4, S5)
 *   hands.js          raised hands: the button, the list in order, the host lowers one
 *   notices.js        errors and screen-reader announcements in plain English
 *   resume.js         back in our place after a reload or a crash (sessionStorage)
 *   state.js          what they share, and window.haven for the tests
 */
import { onChat, onChatRemoved, onChatRemoveRefused, setUpChat, showChatHistory } from "./chat.js";
import {
  onCameraButton,
  onMicButton,
  onMutedByHost,
  renderCamera,
  renderMicrophone,
  startAsTheMeetingTypeSays,
  stopLocalMedia,
} from "./devices.js";
import { renderHands, setUpHands, showHands } from "./hands.js";
import {
  clearHostRequest,
  onAsked,
  onJoinedMutedNotice,
  onMutedByHostNotice,
  onUnmutedNotice,
  setUpHostRequests,
} from "./host-requests.js";
import {
  closeAllMedia,
  removeFeed,
  republishAfterRestart,
  startPublishing,
  subscribeTo,
  useIceServers,
} from "./media.js";
import { announce, clearError, clearStatus, ERROR_WORDS, showError, showStatus } from "./notices.js";
import { setJoining, setUpPrejoin, showConfirmationError } from "./prejoin.js";
import { HavenConnection } from "./protocol.js";
import { back, forgetPlace, keepPlace, noteDevicesAsWeGo, returnToKeptPlace } from "./resume.js";
import { renderRoster } from "./roster.js";
import { byId, config, hooks, room, sleep, ui } from "./state.js";
import { onSoundButton } from "./tiles.js";
import { onWaitingLockChanged, showWaitingRoom, stopStartTimer } from "./waiting-room.js";

/**
 * @typedef {import("./protocol.js").WelcomeMessage} WelcomeMessage
 * @typedef {import("./protocol.js").JoinedMessage & import("./chat.js").WithChatHistory} JoinedMessage
 * @typedef {import("./protocol.js").AdmittedMessage & import("./chat.js").WithChatHistory} AdmittedMessage
 * @typedef {import("./protocol.js").WaitingMessage} WaitingMessage
 * @typedef {import("./protocol.js").LockChangedMessage} LockChangedMessage
 * @typedef {import("./protocol.js").ErrorMessage} ErrorMessage
 * @typedef {import("./protocol.js").CloseInfo} CloseInfo
 * @typedef {import("./state.js").RoomState} RoomState
 * @typedef {"left"|"ended"|"lost"|"refused"|"removed"|"turned_away"} EndReason
 */

// The host's controls (host.js), loaded on the host's page only: attendees' browsers
// never download them.
const host = config.isHost ? await import("./host.js") : null;

// How long publishing waits for the subscriptions of someone just let in (enterMeeting).
const PUBLISH_WAIT_MS = 1000;
const CLOSE_NORMAL = 4000;
const CLOSE_NOT_ALLOWED = 4403;
const CLOSE_BAD_VERSION = 4400;

/** @type {Record<RoomState, {section: string, label: string}>} */
const SCREENS = {
  prejoin: { section: "screen-prejoin", label: "Before you join" },
  waiting: { section: "screen-waiting", label: "Waiting room" },
  in_meeting: { section: "screen-meeting", label: "In the meeting" },
  ended: { section: "screen-ended", label: "Meeting ended" },
};

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
  const handlers = {
    waiting: onWaiting,
    joined: onJoined,
    admitted: enterMeeting,
    admitted_all: (/** @type {any} */ message) => host?.onAdmittedAll(message),
    waiting_list: onWaitingList,
    roster: onRoster,
    feed_added: (/** @type {any} */ message) => subscribeTo(message.feed),
    feed_removed: (/** @type {any} */ message) => removeFeed(message.feed),
    media_restarted: onMediaRestarted,
    lock_changed: onLockChanged,
    lock_attempt: (/** @type {any} */ message) => host?.onLockAttempt(message),
    asked: onAsked,
    muted_by_host: () => {
      onMutedByHost();
      onMutedByHostNotice();
    },
    unmuted: onUnmutedNotice,
    chat: onChat,
    chat_removed: onChatRemoved,
    hands: (/** @type {object} */ message) => showHands(message, true),
    error: onServerError,
  };
  for (const [type, handler] of Object.entries(handlers)) {
    connection.on(type, whileLive(/** @type {(message: any) => void} */ (handler)));
  }
  connection.on("left", () => finish("left"));
  connection.on("meeting_ended", () => finish("ended"));
  connection.on("removed", () => finish("removed"));
  connection.on("turned_away", (message) => finish("turned_away", message.message));
  connection.onClose((info) => onConnectionClosed(connection, info));
}

/** @param {WelcomeMessage} welcome */
function onWelcome(welcome) {
  room.me = welcome.you.participant ?? room.me;
  if (welcome.meeting.state === "ended") finish("ended");
}

/** @param {WaitingMessage} message */
function onWaiting(message) {
  if (hooks.state === "waiting" && room.resume) showStatus(RECONNECTED, RECONNECTED_SHOWN_MS);
  room.resume = message.resume || room.resume;
  keepPlace(room.resume);
  setJoining(false);
  showScreen("waiting");
  showWaitingRoom(message);
}

/** @param {JoinedMessage} message */
function onJoined(message) {
  room.resume = message.resume || room.resume;
  keepPlace(room.resume);
  enterMeeting(message);
  host?.renderWaitingList(message.waiting ?? [], true);
}

/** @param {JoinedMessage|AdmittedMessage} message */
function enterMeeting(message) {
  useIceServers(message);
  if (hooks.state === "in_meeting") {
    backInMeeting(message);
    return;
  }
  hooks.metrics.admittedAt = performance.now();
  room.me = message.you;
  // This kind of meeting may start attendees with microphone and camera off (P3).
  startAsTheMeetingTypeSays(message);
  const heldOnEntry = room.startMuted || room.cameraHeld;
  // Back after a reload: the microphone as it was (off if not known, after a crash).
  if (back.returned && back.micOff) room.startMuted = true;
  // Ask for the others' video before drawing anything: the server and the media server
  // work on it while this page lays itself out (bench/, issue 8). The tiles get their
  // names when the roster is drawn, just below.
  hooks.state = "in_meeting";
  // See the others first, then send our own media: the server handles one message at a
  // time per person, so a publish sent at once held up the answers that start the
  // others' video, and setting it up while their connections came up slowed those too
  // (bench/, issue 8). Publishing waits until they are up, at most a second.
  const subscribing = Promise.allSettled((message.feeds ?? []).map(subscribeTo));
  stopStartTimer();
  setJoining(false);
  showScreen("in_meeting");
  renderRoster(message.roster ?? [], false);
  showHands(message, false);
  Promise.race([subscribing, sleep(PUBLISH_WAIT_MS)]).then(() => {
    if (hooks.state === "in_meeting") startPublishing();
  });
  renderMicrophone();
  renderCamera();
  const inWords = back.returned ? "You are back in the meeting." : "You are in the meeting.";
  announce(config.isHost ? `${inWords} You are the host.` : inWords);
  if (heldOnEntry) onJoinedMutedNotice();
  showChatHistory(message.chat ?? []);
}

/**
 * Our connection was lost and resumed (perhaps on another Haven process): still in the
 * meeting. Our media went with the old connection: send it again, and see the others.
 * @param {JoinedMessage|AdmittedMessage} message
 */
function backInMeeting(message) {
  renderRoster(message.roster ?? [], true);
  showHands(message, true);
  showChatHistory(message.chat ?? []);
  host?.screenLostInRestart();
  republishAfterRestart(RECONNECTED).then(() => Promise.allSettled((message.feeds ?? []).map(subscribeTo)));
}

/** @param {import("./protocol.js").WaitingListMessage} message */
function onWaitingList(message) {
  host?.renderWaitingList(message.waiting, true);
  host?.onWaitingListChanged();
}

/** @param {import("./protocol.js").RosterMessage} message */
function onRoster(message) {
  renderRoster(message.roster, hooks.state === "in_meeting");
  renderHands();
  host?.onRosterChanged();
}

/** @param {LockChangedMessage} message */
function onLockChanged(message) {
  room.locked = message.locked;
  if (host) host.onHostLockChanged();
  else if (hooks.state === "waiting") onWaitingLockChanged();
  else if (hooks.state === "in_meeting") {
    announce(message.locked ? "The host has locked the meeting. Nobody new can come in." : "The host has unlocked the meeting.");
  }
}

/**
 * The media server restarted: every media connection is gone, the shared screen too.
 * Publish the camera and microphone again; the host can share the screen again.
 */
function onMediaRestarted() {
  if (hooks.state !== "in_meeting") return;
  host?.screenLostInRestart();
  republishAfterRestart();
}

/** @param {ErrorMessage} message */
function onServerError(message) {
  const refused = room.connection?.sentTypeOf(message.re);
  if (refused === "trickle" || refused === "unpublish") {
    // A candidate for a feed that has just gone, or a screen the server had already
    // dropped: harmless, nothing to tell the person.
    console.warn(`Haven: ${refused} refused`, message.code);
    return;
  }
  if (refused === "admit" || refused === "admit_all") host?.onAdmitRefused();
  if (refused === "lock" || refused === "unlock") host?.onLockRefused();
  if (refused === "chat_remove") {
    onChatRemoveRefused(message);
    return;
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
  if (connection !== room.connection || hooks.state === "ended" || room.reconnecting) return;
  if (hooks.state === "prejoin") {
    setJoining(false);
    showError(closedBeforeJoining(info.code));
    return;
  }
  if (info.code === CLOSE_NORMAL) finish("ended");
  else if (info.code === CLOSE_NOT_ALLOWED) finish("refused");
  else if (room.resume) reconnect();
  else finish("lost");
}

const CONNECTION_LOST = "Connection lost. Reconnecting…";
const RECONNECTED = "Reconnected";
// How long "Reconnected" stays in the banner (in the meeting: media.js's own time).
const RECONNECTED_SHOWN_MS = 4000;

// Waits between tries to connect again after the connection was lost: about 20 s in all.
const RECONNECT_DELAYS_MS = [200, 500, 1000, 2000, 4000, 4000, 4000, 4000];

/**
 * The connection was lost (our network, or the Haven process we spoke to stopped): open
 * a new one and take our place back with the secret from `joined` / `waiting`. The
 * server answers as if we had just joined: `joined` or `admitted` (still in the meeting:
 * backInMeeting) or `waiting` (still waiting). No one has to let us in again.
 */
async function reconnect() {
  room.reconnecting = true;
  hooks.reconnects += 1;
  showStatus(CONNECTION_LOST);
  for (const delay of RECONNECT_DELAYS_MS) {
    await sleep(delay);
    if (hooks.state === "ended") return;
    const connection = new HavenConnection(config.wsPath);
    room.connection = connection;
    listenToServer(connection);
    try {
      onWelcome(await connection.connect());
    } catch {
      continue;
    }
    room.reconnecting = false;
    connection.send("join", { private_place_confirmed: true, resume: room.resume });
    return;
  }
  room.reconnecting = false;
  clearStatus();
  finish("lost");
}

/** @param {number} code */
function closedBeforeJoining(code) {
  if (code === CLOSE_BAD_VERSION) return ERROR_WORDS.unsupported_version;
  if (code === CLOSE_NORMAL) return "The meeting has ended.";
  if (code === CLOSE_NOT_ALLOWED) {
    return `You cannot take part in this meeting. Your link may have expired or been withdrawn. ${CONTACT_US}`;
  }
  return (
    "We could not connect you to the meeting. Your link may have expired, or your internet " +
    "connection may have dropped. Reload the page to try again. If it still does not work, " +
    "contact us using the details at the bottom of this page."
  );
}

// ---------------------------------------------------------------------------------------
// Leaving and ending

function onLeave() {
  const connection = room.connection;
  if (connection?.isOpen) connection.send("leave");
  finish("left");
}

function askToEndMeeting() {
  byId("end-confirm").hidden = false;
  byId("end-meeting").setAttribute("aria-expanded", "true");
  byId("end-confirm-heading").focus();
}

function cancelEndMeeting() {
  byId("end-confirm").hidden = true;
  byId("end-meeting").setAttribute("aria-expanded", "false");
  byId("end-meeting").focus();
}

/** @type {"keep"|"destroy"|null} what this host chose for the transcript, once they end */
let endedTranscript = null;

/**
 * End the meeting with the host's choice for the chat transcript (rule S6): kept,
 * encrypted, until the meeting type's retention date (the default), or destroyed now.
 */
function endMeeting() {
  const yes = byId("end-confirm-yes");
  if (yes.dataset.busy) return;
  yes.dataset.busy = "yes";
  yes.textContent = "Ending the meeting…";
  endedTranscript = chosenTranscript();
  room.connection?.send("end_meeting", { transcript: endedTranscript });
  announce("Ending the meeting for everyone…");
  // meeting_ended (or the socket closing) takes us to the last screen.
}

/** @returns {"keep"|"destroy"} */
function chosenTranscript() {
  return /** @type {HTMLInputElement} */ (byId("transcript-destroy")).checked ? "destroy" : "keep";
}

/**
 * Stop everything live and show the last screen. Peer connections are closed but kept
 * in window.haven so tests can see that they were closed.
 * @param {EndReason} reason
 * @param {string} [hostMessage]  the host's words to someone they turned away
 */
function finish(reason, hostMessage = "") {
  if (hooks.state === "ended") return;
  clearStatus();
  stopStartTimer();
  host?.stopSharing({ tellServer: false, quietly: true });
  stopLocalMedia();
  closeAllMedia();
  clearHostRequest();
  clearError();
  forgetPlace();
  showEndedMessage(reason, hostMessage);
  showScreen("ended");
  // The server closes the socket after `left` / `meeting_ended`; make sure it goes.
  const connection = room.connection;
  setTimeout(() => connection?.close(), 5000);
}

const CONTACT_US = "If you think this is wrong, contact us using the details at the bottom of this page.";

/** @type {Record<EndReason, [string, string]>} the heading and the words under it */
const ENDED_WORDS = {
  left: ["You have left the meeting", "You can close this page."],
  ended: ["The meeting has ended", "You can close this page."],
  lost: ["You are no longer connected", "The connection to the meeting was lost."],
  refused: [
    "You cannot take part in this meeting",
    `Your link may have expired or been withdrawn. ${CONTACT_US}`,
  ],
  removed: ["You are no longer in the meeting", `The host removed you from the meeting. ${CONTACT_US}`],
  turned_away: ["You were not let in", "The host could not let you in."],
};

/**
 * @param {EndReason} reason
 * @param {string} hostMessage
 */
function showEndedMessage(reason, hostMessage) {
  byId("ended-heading").textContent = ENDED_WORDS[reason][0];
  byId("ended-detail").textContent = ENDED_WORDS[reason][1];
  byId("ended-host-message-text").textContent = hostMessage;
  byId("ended-host-message").hidden = !hostMessage;
  byId("rejoin").hidden = reason !== "lost" && reason !== "turned_away";
  byId("rejoin-link").textContent = reason === "turned_away" ? "Go back to the waiting room" : "Try to join again";
  /** @type {HTMLAnchorElement} */ (byId("rejoin-link")).href = window.location.href;
  showTranscriptOutcome(reason);
}

/**
 * The host who ended the meeting: what became of the chat transcript, and where to read
 * it if it was kept (S6).
 * @param {EndReason} reason
 */
function showTranscriptOutcome(reason) {
  if (!config.isHost || reason !== "ended" || endedTranscript === null) return;
  byId("transcript-kept").hidden = endedTranscript !== "keep";
  byId("transcript-destroyed").hidden = endedTranscript !== "destroy";
}

// ---------------------------------------------------------------------------------------
// Start

function setUpMeetingControls() {
  ui.micButton.addEventListener("click", onMicButton);
  ui.cameraButton.addEventListener("click", onCameraButton);
  ui.soundButton.addEventListener("click", onSoundButton);
  byId("meeting-leave").addEventListener("click", onLeave);
  byId("waiting-leave").addEventListener("click", onLeave);
  if (config.isHost) {
    byId("end-meeting").addEventListener("click", askToEndMeeting);
    byId("end-confirm-yes").addEventListener("click", endMeeting);
    byId("end-confirm-no").addEventListener("click", cancelEndMeeting);
    byId("end-confirm").addEventListener("keydown", (event) => {
      if (event.key === "Escape") cancelEndMeeting();
    });
  }
  window.addEventListener("pagehide", () => {
    noteDevicesAsWeGo();
    room.connection?.close();
  });
}

setUpPrejoin(openConnection);
setUpMeetingControls();
host?.setUpWaitingList();
host?.setUpHostControls();
host?.setUpScreenShare();
setUpHostRequests();
setUpChat();
setUpHands();
renderCamera();
renderMicrophone();
document.title = `${SCREENS.prejoin.label}: ${config.meetingTitle} – Haven`;
hooks.ready = true;
returnToKeptPlace(openConnection);
