// @ts-check
/**
 * Haven meeting protocol, version 1 (docs/protocol.md): the WebSocket and nothing else.
 *
 * No DOM here. The UI modules (room.js and the modules it loads) decide what to show;
 * this module only opens the socket, says hello, numbers requests, matches replies and
 * hands out messages by type.
 */

export const PROTOCOL_VERSION = 1;

/** How long a request waits for its reply before giving up. */
const REQUEST_TIMEOUT_MS = 20000;

/** How many sent ids to remember, so an `error` can be matched to what it refuses. */
const REMEMBERED_IDS = 500;

/**
 * @typedef {object} Person  Someone in the roster or the waiting room.
 * @property {string} participant
 * @property {string} name
 * @property {string} role  "host" or the invitee's role
 * @property {boolean} is_host  only ever true for staff (rule U1)
 * @property {string} [job_title]  the host's entry only
 * @property {string} [staff_page]  the host's entry only
 * @property {string[]} [flags]  waiting-room entries: "second_device", "arrived_while_locked"
 * @property {string} [supervised_by]  the host's roster only: the supervising adult (rule U5)
 * @typedef {"camera"|"screen"} Source
 * @typedef {{feed: number, participant: string, source?: Source}} FeedInfo
 *   A published feed: a camera and microphone, or (the host only) a shared screen.
 * @typedef {{type: "offer"|"answer", sdp: string}} Jsep
 * @typedef {{candidate: string, sdpMid: string|null, sdpMLineIndex: number|null}} Candidate
 * @typedef {{name: string, job_title: string, staff_page: string}} HostIdentity
 *
 * @typedef {{type: string, re?: number|string}} ServerMessage  Any frame from the server.
 * @typedef {ServerMessage & {protocol: number,
 *   you: {participant: string|null, name: string, role: string, is_host: boolean},
 *   meeting: {title: string, starts_at: string, state: string, recorded: boolean,
 *             host: HostIdentity}}} WelcomeMessage
 * @typedef {ServerMessage & {you: string, roster: Person[], feeds: FeedInfo[], waiting: Person[],
 *   resume: string, ice_servers?: RTCIceServer[], relay_only?: boolean}} JoinedMessage
 * @typedef {ServerMessage & {meeting: {title: string, starts_at: string}, locked: boolean,
 *   message: string, resume: string}} WaitingMessage
 * @typedef {ServerMessage & {waiting: Person[]}} WaitingListMessage
 * @typedef {ServerMessage & {you: string, roster: Person[], feeds: FeedInfo[],
 *   ice_servers?: RTCIceServer[], relay_only?: boolean, muted_on_entry?: boolean,
 *   camera_off_on_entry?: boolean}} AdmittedMessage
 * @typedef {{participant: string, name: string, because: "second_device"|"meeting_full"}} HeldBack
 * @typedef {ServerMessage & {admitted: number, held_back: HeldBack[]}} AdmittedAllMessage
 * @typedef {ServerMessage & {roster: Person[]}} RosterMessage
 * @typedef {ServerMessage & {feed: number, jsep: Jsep}} PublishedMessage
 * @typedef {ServerMessage & {feed: FeedInfo}} FeedAddedMessage
 * @typedef {ServerMessage & {feed: number}} FeedRemovedMessage
 * @typedef {ServerMessage & {feed: number, jsep: Jsep}} SubscribeOfferMessage
 * @typedef {ServerMessage & {feed: number}} SubscribedMessage
 * @typedef {ServerMessage & {locked: boolean}} LockChangedMessage
 * @typedef {ServerMessage & {name: string}} LockAttemptMessage
 * @typedef {ServerMessage & {message: string}} TurnedAwayMessage
 * @typedef {ServerMessage & {what: "mute"|"camera_off"}} AskedMessage
 * @typedef {ServerMessage & {code: string, message: string}} ErrorMessage
 *
 * @typedef {{code: number, reason: string, wasClean: boolean}} CloseInfo
 * @typedef {(message: any) => void} MessageHandler
 * @typedef {(info: CloseInfo) => void} CloseHandler
 */

/** A refusal from the server (`error`), or a failure on our side with a code of our own. */
export class ProtocolError extends Error {
  /**
   * @param {string} code  The server's stable code, or "timeout" / "connection_closed".
   * @param {string} message  Human text, for logs; the UI has its own plain words.
   */
  constructor(code, message) {
    super(message);
    this.name = "ProtocolError";
    /** @type {string} */
    this.code = code;
  }
}

/**
 * The URL of the meeting socket: same host as the page, wss: when the page is https:.
 * @param {string} wsPath  e.g. "/ws/meetings/7b1c.../"
 * @param {{protocol: string, host: string}} [where]  defaults to the page's location
 * @returns {string}
 */
export function socketUrl(wsPath, where = globalThis.location) {
  const scheme = where.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${where.host}${wsPath}`;
}

/**
 * @typedef {object} PendingRequest
 * @property {(message: any) => void} resolve
 * @property {(error: ProtocolError) => void} reject
 * @property {ReturnType<typeof setTimeout>} timer
 */

/** One person's connection to one meeting. */
export class HavenConnection {
  /**
   * @param {string} wsPath  the socket path the page was given (data-ws-path)
   * @param {{WebSocketImpl?: typeof WebSocket, url?: string}} [options]  for tests
   */
  constructor(wsPath, options = {}) {
    /** @type {string} */
    this.url = options.url ?? socketUrl(wsPath);
    /** @type {typeof WebSocket} */
    this.WebSocketImpl = options.WebSocketImpl ?? WebSocket;
    /** @type {WebSocket|null} */
    this.socket = null;
    /** @type {number} the last `id` used; every client message gets the next one */
    this.lastId = 0;
    /** @type {Map<number, PendingRequest>} */
    this.pending = new Map();
    /** @type {Map<number, string>} the type of each recently sent id */
    this.sentTypes = new Map();
    /** @type {Map<string, Set<MessageHandler>>} "*" receives every message */
    this.handlers = new Map();
    /** @type {Set<CloseHandler>} */
    this.closeHandlers = new Set();
    /** @type {CloseInfo|null} set once the socket has closed */
    this.closed = null;
  }

  /** @returns {boolean} true while messages can be sent */
  get isOpen() {
    return this.socket !== null && this.socket.readyState === this.WebSocketImpl.OPEN;
  }

  /**
   * Open the socket and say hello. Resolves with `welcome`; rejects with a ProtocolError
   * (the server's `error`, or "connection_closed" with the close code in the message).
   * @returns {Promise<WelcomeMessage>}
   */
  connect() {
    return new Promise((resolve, reject) => {
      const socket = new this.WebSocketImpl(this.url);
      this.socket = socket;
      socket.addEventListener("open", () => {
        this.request("hello", { protocol: PROTOCOL_VERSION }).then(resolve, reject);
      });
      socket.addEventListener("message", (event) => this.receive(event.data));
      socket.addEventListener("close", (event) => this.onSocketClosed(event, reject));
    });
  }

  /**
   * Listen for one type of server message ("*" for all of them).
   * @param {string} type
   * @param {MessageHandler} handler
   * @returns {() => void} call it to stop listening
   */
  on(type, handler) {
    const set = this.handlers.get(type) ?? new Set();
    set.add(handler);
    this.handlers.set(type, set);
    return () => set.delete(handler);
  }

  /**
   * Listen for the socket closing, whoever closed it.
   * @param {CloseHandler} handler
   * @returns {() => void}
   */
  onClose(handler) {
    this.closeHandlers.add(handler);
    return () => this.closeHandlers.delete(handler);
  }

  /**
   * Send one message and forget it. Dropped quietly if the socket is not open:
   * late ICE candidates after leaving are expected and harmless.
   * @param {string} type
   * @param {Record<string, unknown>} [fields]
   * @returns {void}
   */
  send(type, fields = {}) {
    this.sendWithId(type, fields);
  }

  /**
   * Send one message and wait for the reply that echoes its id as `re`.
   * Rejects with the server's `error` (as a ProtocolError), on timeout, or on close.
   * @param {string} type
   * @param {Record<string, unknown>} [fields]
   * @param {number} [timeoutMs]
   * @returns {Promise<any>}
   */
  request(type, fields = {}, timeoutMs = REQUEST_TIMEOUT_MS) {
    return new Promise((resolve, reject) => {
      const id = this.sendWithId(type, fields);
      if (id === null) {
        reject(new ProtocolError("connection_closed", `Not connected: ${type} not sent.`));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ProtocolError("timeout", `No reply to ${type} within ${timeoutMs} ms.`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
    });
  }

  /**
   * What kind of message an id was sent with: lets the UI tell which message an
   * `error` refuses even when it was sent with send() rather than request().
   * @param {number|string|undefined} id  an `re` from the server
   * @returns {string|undefined}
   */
  sentTypeOf(id) {
    return typeof id === "number" ? this.sentTypes.get(id) : undefined;
  }

  /** Close the socket from our side (normal closure). */
  close() {
    if (this.socket && this.socket.readyState < this.WebSocketImpl.CLOSING) {
      this.socket.close(1000);
    }
  }

  /**
   * @param {string} type
   * @param {Record<string, unknown>} fields
   * @returns {number|null} the id used, or null if nothing was sent
   */
  sendWithId(type, fields) {
    if (!this.isOpen || !this.socket) return null;
    this.lastId = (this.lastId % 2147483647) + 1;
    this.socket.send(JSON.stringify({ ...fields, type, id: this.lastId }));
    this.rememberId(this.lastId, type);
    return this.lastId;
  }

  /**
   * @param {number} id
   * @param {string} type
   */
  rememberId(id, type) {
    this.sentTypes.set(id, type);
    if (this.sentTypes.size > REMEMBERED_IDS) {
      const oldest = this.sentTypes.keys().next().value;
      if (oldest !== undefined) this.sentTypes.delete(oldest);
    }
  }

  /** @param {unknown} data  one text frame */
  receive(data) {
    const message = parseFrame(data);
    if (message === null) return;
    this.dispatch("*", message);
    if (this.settlePending(message)) return;
    this.dispatch(message.type, message);
  }

  /**
   * Hand a reply to the request waiting for it. An error that answers a request goes
   * only to that request; any other reply is also dispatched by type.
   * @param {ServerMessage} message
   * @returns {boolean} true if the message was an error consumed by a request
   */
  settlePending(message) {
    if (typeof message.re !== "number") return false;
    const waiting = this.pending.get(message.re);
    if (!waiting) return false;
    this.pending.delete(message.re);
    clearTimeout(waiting.timer);
    if (message.type !== "error") {
      waiting.resolve(message);
      return false;
    }
    const error = /** @type {ErrorMessage} */ (message);
    waiting.reject(new ProtocolError(error.code, error.message));
    return true;
  }

  /**
   * @param {string} type
   * @param {ServerMessage} message
   */
  dispatch(type, message) {
    for (const handler of [...(this.handlers.get(type) ?? [])]) {
      try {
        handler(message);
      } catch (error) {
        console.error(`Haven: handler for ${type} failed`, error);
      }
    }
  }

  /**
   * @param {CloseEvent} event
   * @param {(error: ProtocolError) => void} rejectConnect  no-op once connect() settled
   */
  onSocketClosed(event, rejectConnect) {
    this.closed = { code: event.code, reason: event.reason, wasClean: event.wasClean };
    const error = new ProtocolError("connection_closed", `Socket closed (${event.code}).`);
    for (const waiting of this.pending.values()) {
      clearTimeout(waiting.timer);
      waiting.reject(error);
    }
    this.pending.clear();
    rejectConnect(error);
    for (const handler of [...this.closeHandlers]) handler(this.closed);
  }
}

/**
 * @param {unknown} data
 * @returns {ServerMessage|null} null for anything that is not a JSON object with a type
 */
function parseFrame(data) {
  if (typeof data !== "string") return null;
  try {
    const message = JSON.parse(data);
    if (message && typeof message === "object" && typeof message.type === "string") {
      return message;
    }
  } catch {
    // The server only sends JSON; a broken frame is ignored, not fatal.
  }
  console.warn("Haven: ignored a frame that is not a protocol message");
  return null;
}
