// @ts-check
/**
 * The meeting's group chat (rules S4, S5): everyone in the meeting sees every message,
 * and there is no private chat, host included. Text only: a link is shown as plain text
 * with a warning, never as something to click, and no file can be sent. The host can
 * remove a message for everyone.
 *
 * The panel is on the in-meeting screen only, and messages reach this page only once the
 * person is in the meeting (rule S2). Message text is only ever put in the page as text
 * (textContent), never as HTML.
 */
import { announce, ERROR_WORDS, showError } from "./notices.js";
import { ProtocolError } from "./protocol.js";
import { byId, config, focusLeft, hooks, liveConnection, room } from "./state.js";

/**
 * @typedef {object} ChatItem  One message, as the server sends it.
 * @property {string} id
 * @property {string} author
 * @property {boolean} author_is_host
 * @property {string|null} participant  the author's participant id (null if unknown)
 * @property {string} text
 * @property {string} at  ISO 8601
 * @property {boolean} has_link  looks like it holds a link: shown with a warning (S4)
 *
 * @typedef {import("./protocol.js").ServerMessage & {message: ChatItem}} ChatMessage
 * @typedef {import("./protocol.js").ServerMessage & {message: string}} ChatRemovedMessage
 * @typedef {{chat?: ChatItem[]}} WithChatHistory  `joined` and `admitted` carry the history
 */

const LINK_WARNING =
  "This message contains a link. It is not clickable: only copy it if you trust who sent it.";
const REMOVED_NOTICE = "A message was removed by the host";
/** How much of a new message is read out: enough to know what it is about. */
const ANNOUNCED_WORDS = 12;
/** Within this many pixels of the bottom counts as "reading the newest". */
const NEAR_BOTTOM_PX = 24;

/** @type {Record<string, string>} chat refusals in plain English, where they differ */
const CHAT_ERROR_WORDS = {
  rate_limited: "You are sending messages too fast. Wait a moment.",
  not_allowed: "You can only write in the chat while you are in the meeting.",
  not_found: "That message has already been removed.",
};

const list = byId("chat-list");
const emptyNote = byId("chat-empty");
const form = /** @type {HTMLFormElement} */ (byId("chat-form"));
const field = /** @type {HTMLTextAreaElement} */ (byId("chat-text"));
const errorRegion = byId("chat-error");
const newestButton = byId("chat-newest");

/**
 * The message the host is asked to confirm removing, and the button that asked.
 * @type {{id: string, opener: HTMLElement}|null}
 */
let removing = null;
let sending = false;

/** Wire up the form and the host's remove buttons. */
export function setUpChat() {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sendMessage();
  });
  field.addEventListener("keydown", onFieldKeydown);
  field.addEventListener("input", () => {
    if (field.getAttribute("aria-invalid") === "true") clearChatError();
  });
  list.addEventListener("scroll", () => {
    if (isNearBottom()) newestButton.hidden = true;
  });
  newestButton.addEventListener("click", () => {
    scrollToNewest();
    list.focus();
  });
  if (config.isHost) setUpRemoveConfirm();
  renderEmptyNote();
}

// ---------------------------------------------------------------------------------------
// Writing

/**
 * Enter sends; Shift+Enter makes a new line. Not while an input method is composing a
 * character (Japanese, Chinese...), where Enter chooses the character.
 * @param {KeyboardEvent} event
 */
function onFieldKeydown(event) {
  if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
  event.preventDefault();
  form.requestSubmit();
}

/**
 * Send what is in the box to everyone. The box is cleared only once the server has
 * stored the message (`chat_sent`); if it is refused, the words stay for another try.
 */
async function sendMessage() {
  if (sending) return;
  const text = field.value;
  if (!text.trim()) {
    showChatError("Write a message before you send it.", true);
    field.focus();
    return;
  }
  sending = true;
  try {
    const sent = await liveConnection().request("chat", { text });
    clearSentText(text);
    clearChatError();
    const removed = Array.isArray(sent?.removed) ? sent.removed : [];
    if (removed.length) showChatNote(`Sent. Haven took out characters that cannot be seen: ${removed.join(", ")}.`);
  } catch (error) {
    const problemWithText = error instanceof ProtocolError && error.code === "bad_message";
    showChatError(refusalWords(error), problemWithText);
  } finally {
    sending = false;
  }
}

/**
 * Clear the box, keeping anything typed while the message was on its way.
 * @param {string} sent
 */
function clearSentText(sent) {
  field.value = field.value.startsWith(sent) ? field.value.slice(sent.length).trimStart() : field.value;
}

/**
 * @param {unknown} error  the server's refusal, or a failure on our side
 * @returns {string}
 */
function refusalWords(error) {
  if (!(error instanceof ProtocolError)) return "Your message was not sent. Please try again.";
  // bad_message: the server says what was wrong with it ("The message is empty.").
  if (error.code === "bad_message" && error.message) return error.message;
  return CHAT_ERROR_WORDS[error.code] ?? ERROR_WORDS[error.code] ?? "Your message was not sent. Please try again.";
}

/**
 * Show why the message was not sent, beside the form (#chat-error, role="alert").
 * @param {string} text
 * @param {boolean} problemWithText  the words themselves need changing (not just waiting)
 */
function showChatError(text, problemWithText) {
  const paragraph = document.createElement("p");
  paragraph.className = "error";
  paragraph.textContent = text;
  errorRegion.replaceChildren(paragraph);
  if (problemWithText) field.setAttribute("aria-invalid", "true");
  else field.removeAttribute("aria-invalid");
}

/**
 * Say something about a message that was sent (what the server took out of it).
 * @param {string} text
 */
function showChatNote(text) {
  const paragraph = document.createElement("p");
  paragraph.className = "hint";
  paragraph.id = "chat-removed";
  paragraph.textContent = text;
  errorRegion.replaceChildren(paragraph);
}

function clearChatError() {
  errorRegion.replaceChildren();
  field.removeAttribute("aria-invalid");
}

// ---------------------------------------------------------------------------------------
// Reading

/**
 * On entering the meeting: the messages so far (all of them for the host; since they
 * were first let in for an attendee).
 * @param {ChatItem[]} history
 */
export function showChatHistory(history) {
  list.replaceChildren();
  hooks.chat = [];
  for (const item of history) addMessage(item);
  renderEmptyNote();
  scrollToNewest();
  if (history.length > 0) {
    const count = history.length === 1 ? "There is 1 message" : `There are ${history.length} messages`;
    announce(`${count} in the chat.`);
  }
}

/** @param {ChatMessage} message  `chat`: one new message to everyone */
export function onChat(message) {
  const item = message.message;
  if (findItem(item.id)) return; // already shown with the history
  const mine = item.participant !== null && item.participant === room.me;
  const wasReading = !isNearBottom();
  addMessage(item);
  renderEmptyNote();
  if (mine || !wasReading) scrollToNewest();
  else newestButton.hidden = false;
  if (!mine) announce(`${authorLabel(item)} wrote: ${firstWords(item.text)}`);
}

/** @param {ChatRemovedMessage} message  `chat_removed`: the host took a message away */
export function onChatRemoved(message) {
  const row = findItem(message.message);
  if (!row) return;
  const hadFocus = row.contains(document.activeElement);
  if (removing?.id === message.message) closeRemoveConfirm(false);
  row.remove();
  hooks.chat = hooks.chat.filter((shown) => shown.id !== message.message);
  renderEmptyNote();
  if (hadFocus) byId("chat-heading").focus();
  announce(REMOVED_NOTICE);
}

/** @param {ChatItem} item */
function addMessage(item) {
  list.append(messageRow(item));
  hooks.chat.push({ id: item.id, author: item.author, text: item.text, has_link: item.has_link });
}

/**
 * One message: who wrote it and when, then the words as plain text (rule S4).
 * @param {ChatItem} item
 * @returns {HTMLLIElement}
 */
function messageRow(item) {
  const row = document.createElement("li");
  row.className = "chat-message";
  row.dataset.chatId = item.id;
  const text = document.createElement("p");
  text.className = "chat-text";
  text.id = `chat-text-${item.id}`;
  text.textContent = item.text;
  row.append(messageHeading(item), text);
  if (item.has_link) row.append(linkWarning());
  if (config.isHost) row.append(removeButton(item, text.id));
  return row;
}

/** @param {ChatItem} item */
function messageHeading(item) {
  const line = document.createElement("p");
  line.className = "chat-meta";
  const author = document.createElement("span");
  author.className = "chat-author";
  author.textContent = item.author;
  line.append(author);
  if (item.author_is_host) line.append(mark("(host)"));
  if (item.participant !== null && item.participant === room.me) line.append(mark("(you)"));
  const time = document.createElement("time");
  time.className = "chat-time";
  time.dateTime = item.at;
  time.textContent = clockTime(item.at);
  line.append(" ", time);
  return line;
}

/** @param {string} words */
function mark(words) {
  const span = document.createElement("span");
  span.className = "chat-mark";
  span.textContent = ` ${words}`;
  return span;
}

function linkWarning() {
  const warning = document.createElement("p");
  warning.className = "chat-link-warning";
  warning.textContent = LINK_WARNING;
  return warning;
}

/**
 * The host's "Remove message from <author>" button; the message itself describes it, so
 * a screen reader says which of someone's messages it is.
 * @param {ChatItem} item
 * @param {string} textId
 */
function removeButton(item, textId) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "button button-small button-danger-outline";
  button.dataset.removeChat = item.id;
  button.textContent = `Remove message from ${item.author}`;
  button.setAttribute("aria-describedby", textId);
  button.setAttribute("aria-controls", "chat-remove-confirm");
  button.setAttribute("aria-expanded", "false");
  return button;
}

/** @param {string} iso */
function clockTime(iso) {
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return "";
  return new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(when);
}

/** @param {ChatItem} item */
function authorLabel(item) {
  return item.author_is_host ? `${item.author} (host)` : item.author;
}

/**
 * The start of a message, for the screen-reader announcement.
 * @param {string} text
 */
function firstWords(text) {
  const words = text.trim().split(/\s+/);
  return words.length > ANNOUNCED_WORDS ? `${words.slice(0, ANNOUNCED_WORDS).join(" ")}…` : words.join(" ");
}

/** @param {string} id */
function findItem(id) {
  return [...list.children].find((row) => row instanceof HTMLElement && row.dataset.chatId === id) ?? null;
}

/** An empty list is hidden (and so out of the tab order); a note says so instead. */
function renderEmptyNote() {
  const empty = list.childElementCount === 0;
  emptyNote.hidden = !empty;
  list.hidden = empty;
}

function isNearBottom() {
  return list.scrollHeight - list.scrollTop - list.clientHeight <= NEAR_BOTTOM_PX;
}

function scrollToNewest() {
  list.scrollTop = list.scrollHeight;
  newestButton.hidden = true;
}

// ---------------------------------------------------------------------------------------
// The host removes a message (after an in-page confirmation)

function setUpRemoveConfirm() {
  list.addEventListener("click", (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    const button = /** @type {HTMLElement|null} */ (target.closest("button[data-remove-chat]"));
    if (button) openRemoveConfirm(button);
  });
  byId("chat-remove-yes").addEventListener("click", removeChosenMessage);
  byId("chat-remove-no").addEventListener("click", () => closeRemoveConfirm(true));
  byId("chat-remove-confirm").addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeRemoveConfirm(true);
  });
}

/** @param {HTMLElement} opener  a message's "Remove message from <author>" button */
function openRemoveConfirm(opener) {
  const id = opener.dataset.removeChat ?? "";
  const shown = hooks.chat.find((item) => item.id === id);
  if (!shown) return;
  closeRemoveConfirm(false);
  removing = { id, opener };
  byId("chat-remove-author").textContent = shown.author;
  byId("chat-remove-text").textContent = shown.text;
  byId("chat-remove-confirm").hidden = false;
  opener.setAttribute("aria-expanded", "true");
  byId("chat-remove-heading").focus();
}

/** @param {boolean} returnFocus  true when the host changed their mind */
function closeRemoveConfirm(returnFocus) {
  const panel = byId("chat-remove-confirm");
  const hadFocus = panel.contains(document.activeElement);
  panel.hidden = true;
  const opener = removing?.opener;
  opener?.setAttribute("aria-expanded", "false");
  removing = null;
  if (returnFocus && opener?.isConnected) opener.focus();
  else if (hadFocus && focusLeft(panel)) byId("chat-heading").focus();
}

function removeChosenMessage() {
  if (!removing) return;
  const { id } = removing;
  closeRemoveConfirm(false);
  byId("chat-heading").focus();
  // Nothing comes back when it works: `chat_removed` takes the message away for everyone.
  room.connection?.send("chat_remove", { message: id });
}

/**
 * The server refused the host's `chat_remove` (room.js routes the `error` here).
 * @param {import("./protocol.js").ErrorMessage} message
 */
export function onChatRemoveRefused(message) {
  const words = CHAT_ERROR_WORDS[message.code] ?? ERROR_WORDS[message.code];
  showError(words ?? "The message was not removed. Please try again.");
}
