// @ts-check
/**
 * What the meeting page's modules share: the page's own elements and settings, the
 * meeting as this browser knows it, and window.haven (read by the browser tests).
 *
 * No behaviour here beyond small lookups, so every other module can import it.
 */
import { ProtocolError } from "./protocol.js";

/**
 * @typedef {import("./protocol.js").Person} Person
 * @typedef {import("./protocol.js").FeedInfo} FeedInfo
 * @typedef {import("./protocol.js").HavenConnection} HavenConnection
 *
 * @typedef {"prejoin"|"waiting"|"in_meeting"|"ended"} RoomState
 *
 * @typedef {object} RemoteFeed  One feed we receive: a camera and microphone, or a screen.
 * @property {number} feed
 * @property {string} participant
 * @property {import("./protocol.js").Source} source
 * @property {RTCPeerConnection|null} pc
 * @property {MediaStreamTrack[]} tracks
 * @property {HTMLLIElement} tile
 * @property {HTMLVideoElement} video
 * @property {HTMLElement} caption
 * @property {boolean} removed
 *
 * @typedef {object} ScreenShare  The host's shared screen, while it is being shared.
 * @property {RTCPeerConnection} pc
 * @property {MediaStreamTrack} track
 * @property {boolean} published  the server has answered our `publish`
 *
 * @typedef {object} TestHooks  window.haven: read by the browser tests; plain, no secrets.
 * @property {RoomState} state
 * @property {{publisher: RTCPeerConnection|null,
 *             subscribers: Map<number, RTCPeerConnection>,
 *             screen: RTCPeerConnection|null}} peerConnections
 * @property {{admittedAt: number|null, firstRemoteFrameAt: number|null}} metrics
 * @property {string[]} received  the type of every server message, in order
 * @property {{enabled: boolean, hostMuted: boolean}} mic  our own microphone
 * @property {boolean} ready  the page's controls are wired up and may be used
 * @property {{id: string, author: string, text: string, has_link: boolean}[]} chat
 *   the chat messages shown, in order (chat.js)
 * @property {number} reconnects  how many times the connection was lost and opened again
 */

/**
 * @param {string} id
 * @returns {HTMLElement}
 */
export function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`Haven: the page has no #${id}`);
  return element;
}

const root = byId("room");

export const config = {
  wsPath: root.dataset.wsPath ?? "",
  isHost: root.dataset.role === "host",
  participantName: root.dataset.participantName ?? "",
  meetingTitle: root.dataset.meetingTitle ?? "",
  startsAt: root.dataset.startsAt ?? "",
  staffPageUrl: root.dataset.staffPageUrl ?? "",
  /** The meeting's type, in lower case ("training session"). */
  meetingKind: root.dataset.meetingKind ?? "",
  /** Whether the meeting was locked when the page was made (`joined` does not say). */
  lockedAtLoad: root.dataset.locked === "true",
};

/** Elements on every meeting page, whoever is looking at it. */
export const ui = {
  error: byId("room-error"),
  announcer: byId("room-announcer"),
  cameraSwitch: /** @type {HTMLInputElement} */ (byId("camera-on")),
  cameraHelp: byId("camera-help"),
  micSelect: /** @type {HTMLSelectElement} */ (byId("microphone")),
  micHelp: byId("microphone-help"),
  ownTile: byId("own-tile"),
  micButton: byId("mic-button"),
  cameraButton: byId("camera-button"),
  soundButton: byId("sound-button"),
  mediaStatus: byId("media-status"),
  grid: byId("video-grid"),
  rosterList: byId("roster-list"),
  rosterHeading: byId("roster-heading"),
};

/** The self-view video elements, one per screen that shows one. */
export const selfViews = ["prejoin-video", "waiting-video", "own-video"].map(
  (id) => /** @type {HTMLVideoElement} */ (byId(id)),
);

export const room = {
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
  /** The host muted us on the media server; only our own `unmute_self` lifts it (V3). */
  hostMuted: false,
  /** We sent `unmute_self` and wait for `unmuted` before the microphone goes live. */
  unmuteRequested: false,
  /** The meeting's type has attendees start muted (P3): our microphone stays off on the
   * server until our own `unmute_self` is answered. */
  startMuted: false,
  /** The meeting's type started our camera off (P3): the server holds our video back
   * until our own `camera_on_self` is answered. */
  cameraHeld: false,
  /** @type {{audio: RTCRtpSender, video: RTCRtpSender}|null} */
  senders: null,
  /** @type {number|null} */
  ownFeed: null,
  /** @type {ScreenShare|null} */
  screen: null,
  /** @type {Map<number, RemoteFeed>} */
  feeds: new Map(),
  /** @type {Map<string, Person>} */
  roster: new Map(),
  /** How each person's name is shown: two people with one name are told apart. */
  /** @type {Map<string, string>} */
  shownNames: new Map(),
  /** @type {Map<string, Person>} */
  waiting: new Map(),
  locked: config.lockedAtLoad,
  /** The secret from `joined` / `waiting` that resumes our place on a new connection. */
  resume: "",
  /** Opening a new connection after losing one; its closing is handled there. */
  reconnecting: false,
};

/** @type {TestHooks} */
export const hooks = {
  state: "prejoin",
  peerConnections: { publisher: null, subscribers: new Map(), screen: null },
  metrics: { admittedAt: null, firstRemoteFrameAt: null },
  received: [],
  mic: { enabled: false, hostMuted: false },
  ready: false,
  chat: [],
  reconnects: 0,
};
/** @type {any} */ (window).haven = hooks;

/** @type {Record<string, string>} invitee roles as people say them */
export const ROLE_WORDS = {
  parent_carer: "parent or carer",
  professional: "professional",
  young_person: "young person",
  child: "child",
};

/** @param {string} participant */
export function nameOf(participant) {
  return room.roster.get(participant)?.name ?? "Someone";
}

/** @param {Person} person */
export function isMe(person) {
  return person.participant === room.me;
}

/** @returns {HavenConnection} */
export function liveConnection() {
  if (!room.connection) throw new ProtocolError("connection_closed", "No connection.");
  return room.connection;
}

/**
 * Has the keyboard focus left this part of the page, or gone with a control that was
 * just hidden or removed? Then the caller puts it somewhere sensible.
 * @param {HTMLElement} container
 * @returns {boolean}
 */
export function focusLeft(container) {
  const focused = document.activeElement;
  if (!(focused instanceof HTMLElement) || !container.contains(focused)) return true;
  return focused.getClientRects().length === 0;
}

/** @param {number} ms */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Each person's name as shown. When two or more people share a name, everyone but the
 * host gets a number ("Sam Carter (2)"), so nobody can pass for someone else; the host
 * keeps the name, with the Host and Staff marks (rule U1).
 * @param {Person[]} people  in roster order
 * @returns {Map<string, string>}
 */
export function shownNames(people) {
  /** @param {string} name */
  const key = (name) => name.trim().replace(/\s+/g, " ").toLocaleLowerCase();
  /** @type {Map<string, Person[]>} */
  const byName = new Map();
  for (const person of people) byName.set(key(person.name), [...(byName.get(key(person.name)) ?? []), person]);
  /** @type {Map<string, string>} */
  const shown = new Map();
  for (const group of byName.values()) {
    let number = group.some((person) => person.is_host) ? 2 : 1;
    for (const person of group) {
      if (group.length === 1 || person.is_host) shown.set(person.participant, person.name);
      else shown.set(person.participant, `${person.name} (${number++})`);
    }
  }
  return shown;
}

/**
 * @param {Person} person
 * @returns {string}
 */
export function shownName(person) {
  return room.shownNames.get(person.participant) ?? person.name;
}
