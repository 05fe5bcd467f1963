// @ts-check
/**
 * The host's waiting-room panel (rule S2): who is waiting, with their role and flags in
 * words; let one in, let everyone in, or turn one away with a short message. While the
 * meeting is locked (rule S3) nobody can be let in, and the panel says so.
 */
import { announce } from "./notices.js";
import { supervisorLine } from "./roster.js";
import { byId, config, focusLeft, ROLE_WORDS, room } from "./state.js";

/** @typedef {import("./protocol.js").Person} Person */

/** @type {Record<string, string>} waiting-room flags in plain English */
const FLAG_WORDS = {
  second_device: "Using a second device",
  arrived_while_locked: "Arrived while the meeting was locked",
};

const panel = document.getElementById("waiting-panel");

/** The in-page form for turning someone away, and whom it is for. */
const turnAway = {
  /** @type {string|null} */
  participant: null,
  /** @type {HTMLElement|null} the button that opened the form, for focus on cancel */
  opener: null,
};

export function setUpWaitingList() {
  if (!config.isHost || !panel) return;
  panel.addEventListener("click", onWaitingListClick);
  byId("admit-all").addEventListener("click", admitEveryone);
  byId("turn-away-form").addEventListener("submit", sendAway);
  byId("turn-away-cancel").addEventListener("click", () => closeTurnAwayForm(true));
  byId("turn-away-form").addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeTurnAwayForm(true);
  });
  renderLockedNote();
}

/**
 * The host's list of people waiting. Rows are kept, not redrawn, so a keyboard user's
 * focus stays where it was.
 * @param {Person[]} people
 * @param {boolean} announceChanges
 */
export function renderWaitingList(people, announceChanges) {
  if (!panel) return;
  const before = room.waiting;
  room.waiting = new Map(people.map((person) => [person.participant, person]));
  if (announceChanges) announceArrivals(before);
  const list = byId("waiting-list");
  const hadFocus = panel.contains(document.activeElement);
  for (const row of /** @type {HTMLElement[]} */ ([...list.children])) {
    if (!room.waiting.has(row.dataset.participant ?? "")) row.remove();
  }
  for (const person of people) {
    if (!list.querySelector(`[data-participant="${CSS.escape(person.participant)}"]`)) {
      list.append(waitingItem(person));
    }
  }
  if (turnAway.participant && !room.waiting.has(turnAway.participant)) closeTurnAwayForm(false);
  byId("waiting-empty").hidden = people.length > 0;
  if (people.length === 0) byId("waiting-held-note").hidden = true;
  byId("admit-all").hidden = people.length === 0;
  byId("waiting-panel-heading").textContent = `Waiting room (${people.length})`;
  if (hadFocus && focusLeft(panel)) focusWaitingPanel();
}

/** @param {Map<string, Person>} before */
function announceArrivals(before) {
  for (const [id, person] of room.waiting) {
    if (!before.has(id)) announce(`${person.name} is waiting.`);
  }
}

/** Focus the first thing left to act on in the panel, or its heading. */
function focusWaitingPanel() {
  const next = byId("waiting-list").querySelector("button") ?? byId("waiting-panel-heading");
  /** @type {HTMLElement} */ (next).focus();
}

/**
 * @param {Person} person
 * @returns {HTMLLIElement}
 */
function waitingItem(person) {
  const item = document.createElement("li");
  item.dataset.participant = person.participant;
  const line = document.createElement("p");
  line.className = "person-line";
  const name = document.createElement("span");
  name.className = "person-name";
  name.textContent = person.name;
  line.append(name);
  const role = ROLE_WORDS[person.role];
  if (role) {
    const what = document.createElement("span");
    what.className = "person-role";
    what.textContent = ` (${role})`;
    line.append(what);
  }
  item.append(line);
  if (person.supervised_by) item.append(supervisorLine(person.supervised_by));
  const flags = flagList(person.flags ?? []);
  if (flags) item.append(flags);
  item.append(waitingActions(person));
  return item;
}

/**
 * @param {string[]} flags
 * @returns {HTMLUListElement|null}
 */
function flagList(flags) {
  const words = flags.map((flag) => FLAG_WORDS[flag]).filter(Boolean);
  if (words.length === 0) return null;
  const list = document.createElement("ul");
  list.className = "flag-list";
  for (const text of words) {
    const item = document.createElement("li");
    item.textContent = text;
    list.append(item);
  }
  return list;
}

/**
 * "Let in <name>" and "Turn away <name>": the name is in each button's accessible name,
 * after the visible words, so the visible label starts the accessible one.
 * @param {Person} person
 */
function waitingActions(person) {
  const group = document.createElement("div");
  group.className = "person-actions";
  const letIn = actionButton("Let in", person.name, "button button-small");
  letIn.dataset.admit = person.participant;
  const away = actionButton("Turn away", person.name, "button button-small button-secondary");
  away.dataset.turnAway = person.participant;
  away.setAttribute("aria-controls", "turn-away-form");
  away.setAttribute("aria-expanded", "false");
  group.append(letIn, away);
  return group;
}

/**
 * @param {string} words  what the button does, shown
 * @param {string} name  whom it is for, for screen readers
 * @param {string} className
 */
function actionButton(words, name, className) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = className;
  const who = document.createElement("span");
  who.className = "visually-hidden";
  who.textContent = ` ${name}`;
  button.append(words, who);
  return button;
}

/** @param {MouseEvent} event */
function onWaitingListClick(event) {
  const target = /** @type {HTMLElement} */ (event.target);
  const admit = /** @type {HTMLElement|null} */ (target.closest("button[data-admit]"));
  if (admit) letIn(admit);
  const away = /** @type {HTMLElement|null} */ (target.closest("button[data-turn-away]"));
  if (away) openTurnAwayForm(away);
}

/** @param {HTMLElement} button */
function letIn(button) {
  if (button.dataset.busy) return;
  button.dataset.busy = "yes";
  const participant = button.dataset.admit ?? "";
  room.connection?.send("admit", { participant });
  announce(`Letting ${room.waiting.get(participant)?.name ?? "them"} in.`);
}

function admitEveryone() {
  const button = byId("admit-all");
  if (button.dataset.busy) return;
  button.dataset.busy = "yes";
  room.connection?.send("admit_all");
  announce("Letting everyone in.");
}

/**
 * `admitted_all`: who "Let everyone in" left waiting, in words beside the button. A
 * second device on a link already in use is let in one by one, on purpose (S1); past
 * the meeting type's cap, nobody more (P3).
 * @param {import("./protocol.js").AdmittedAllMessage} message
 */
export function onAdmittedAll(message) {
  byId("admit-all").removeAttribute("data-busy");
  const note = byId("waiting-held-note");
  const names = (/** @type {string} */ because) =>
    message.held_back.filter((each) => each.because === because).map((each) => each.name);
  const seconds = names("second_device");
  const full = names("meeting_full");
  const words = [];
  if (seconds.length) {
    words.push(
      `Still waiting: ${listed(seconds)}, on a second device with a link already in use. ` +
        "Let them in one by one if you mean to.",
    );
  }
  if (full.length) {
    words.push(`The meeting is full, so ${listed(full)} ${full.length === 1 ? "is" : "are"} still waiting.`);
  }
  note.textContent = words.join(" ");
  note.hidden = words.length === 0;
  if (words.length) announce(note.textContent);
}

/** @param {string[]} names */
function listed(names) {
  return names.length < 2 ? names.join("") : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

/** A refused `admit` or `admit_all` (locked, or they left): let the host try again. */
export function onAdmitRefused() {
  panel?.querySelectorAll("[data-busy]").forEach((button) => button.removeAttribute("data-busy"));
}

/** After `admit_all` went through, the button can be used again for later arrivals. */
export function onWaitingListChanged() {
  byId("admit-all").removeAttribute("data-busy");
}

/** Show, beside the "Let in" buttons, that a locked meeting lets nobody in. */
export function renderLockedNote() {
  const note = document.getElementById("waiting-locked-note");
  if (note) note.hidden = !room.locked;
}

// ---------------------------------------------------------------------------------------
// Turning someone away

/** @param {HTMLElement} opener  the "Turn away <name>" button */
function openTurnAwayForm(opener) {
  const participant = opener.dataset.turnAway ?? "";
  const person = room.waiting.get(participant);
  if (!person) return;
  closeTurnAwayForm(false);
  turnAway.participant = participant;
  turnAway.opener = opener;
  byId("turn-away-heading").textContent = `Turn away ${person.name}?`;
  byId("turn-away-label").textContent = `Message to ${person.name} (optional)`;
  const message = /** @type {HTMLTextAreaElement} */ (byId("turn-away-message"));
  message.value = "";
  byId("turn-away-form").hidden = false;
  opener.setAttribute("aria-expanded", "true");
  message.focus();
}

/** @param {boolean} returnFocus  true when the host cancelled: back to their button */
function closeTurnAwayForm(returnFocus) {
  const form = byId("turn-away-form");
  const hadFocus = form.contains(document.activeElement);
  form.hidden = true;
  const opener = turnAway.opener;
  opener?.setAttribute("aria-expanded", "false");
  turnAway.participant = null;
  turnAway.opener = null;
  if (returnFocus && opener?.isConnected) opener.focus();
  else if (hadFocus) focusWaitingPanel();
}

/** @param {SubmitEvent} event */
function sendAway(event) {
  event.preventDefault();
  const participant = turnAway.participant;
  const person = participant ? room.waiting.get(participant) : undefined;
  if (!participant || !person) {
    closeTurnAwayForm(false);
    return;
  }
  const message = /** @type {HTMLTextAreaElement} */ (byId("turn-away-message")).value.trim().slice(0, 200);
  room.connection?.send("turn_away", { participant, message });
  closeTurnAwayForm(false);
  announce(`${person.name} has been sent away from the waiting room.`);
}
