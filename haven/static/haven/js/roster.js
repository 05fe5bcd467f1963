// @ts-check
/**
 * Who is in the meeting. The host appears with name, job title and a "Staff" mark that
 * links to the organisation's staff page (rule U1); nobody else ever gets that mark.
 * On the host's page each attendee's row carries the host's actions for that person, and
 * who supervises a child or a person the host marked (rule U5).
 *
 * Rows are kept, not redrawn, so a keyboard user's focus stays where it was.
 */
import { announce } from "./notices.js";
import { config, focusLeft, isMe, ROLE_WORDS, room, shownName, shownNames, ui } from "./state.js";
import { renderAllTileNames } from "./tiles.js";

/** @typedef {import("./protocol.js").Person} Person */

/**
 * The host's actions on one attendee: `data-action` names the message the button sends.
 * @type {{action: string, label: (name: string) => string, danger?: boolean}[]}
 */
const HOST_ACTIONS = [
  { action: "ask-mute", label: (name) => `Ask ${name} to mute` },
  { action: "ask-camera-off", label: (name) => `Ask ${name} to turn their camera off` },
  { action: "mute", label: (name) => `Mute ${name}` },
  { action: "remove", label: (name) => `Remove ${name}`, danger: true },
  { action: "ban", label: (name) => `Ban ${name}`, danger: true },
];

/**
 * @param {Person[]} people
 * @param {boolean} announceChanges
 */
export function renderRoster(people, announceChanges) {
  const before = room.roster;
  room.roster = new Map(people.map((person) => [person.participant, person]));
  room.shownNames = shownNames(people);
  if (announceChanges) announceRosterChanges(before, room.roster);
  updateRows(people);
  ui.rosterHeading.textContent = `People in the meeting (${people.length})`;
  renderAllTileNames();
}

/** @param {Person[]} people */
function updateRows(people) {
  const list = ui.rosterList;
  const hadFocus = list.contains(document.activeElement);
  /** @type {Map<string, HTMLElement>} */
  const rows = new Map();
  for (const row of /** @type {HTMLElement[]} */ ([...list.children])) {
    rows.set(row.dataset.participant ?? "", row);
  }
  const wanted = people.map((person) => {
    const row = rows.get(person.participant);
    return row && row.dataset.key === rowKey(person) ? row : rosterItem(person);
  });
  for (const row of rows.values()) if (!wanted.includes(row)) row.remove();
  // Move only what is out of place: moving a row would take the focus out of it.
  wanted.forEach((row, index) => {
    if (list.children[index] !== row) list.insertBefore(row, list.children[index] ?? null);
  });
  if (hadFocus && focusLeft(list)) ui.rosterHeading.focus();
}

/**
 * Everything a row shows, so a row is rebuilt only when something in it changed.
 * @param {Person} person
 */
function rowKey(person) {
  return JSON.stringify([
    shownName(person),
    person.role,
    person.is_host,
    person.job_title,
    person.staff_page,
    person.supervised_by,
    isMe(person),
  ]);
}

/**
 * @param {Map<string, Person>} before
 * @param {Map<string, Person>} after
 */
function announceRosterChanges(before, after) {
  for (const [id, person] of after) {
    if (!before.has(id) && !isMe(person)) announce(`${shownName(person)} has joined the meeting.`);
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
  item.dataset.key = rowKey(person);
  const line = document.createElement("p");
  line.className = "person-line";
  const name = document.createElement("span");
  name.className = "person-name";
  name.textContent = isMe(person) ? `${shownName(person)} (you)` : shownName(person);
  line.append(name);
  if (person.is_host) appendHostIdentity(line, person);
  else if (config.isHost) appendRole(line, person);
  item.append(line);
  if (config.isHost && person.supervised_by) item.append(supervisorLine(person.supervised_by));
  if (config.isHost && !person.is_host && !isMe(person)) item.append(hostActions(person));
  return item;
}

/**
 * The host's job title, a "Host" badge and the "Staff" mark (rule U1).
 * @param {HTMLElement} line
 * @param {Person} person
 */
function appendHostIdentity(line, person) {
  if (person.job_title) {
    const job = document.createElement("span");
    job.className = "person-job";
    job.textContent = `, ${person.job_title}`;
    line.append(job);
  }
  line.append(" ", badge("Host"), " ", staffMark(person));
}

/**
 * @param {HTMLElement} line
 * @param {Person} person
 */
function appendRole(line, person) {
  const role = ROLE_WORDS[person.role];
  if (!role) return;
  const what = document.createElement("span");
  what.className = "person-role";
  what.textContent = ` (${role})`;
  line.append(what);
}

/**
 * Who supervises a child or a person the host marked (rule U5): only the host's roster
 * carries it.
 * @param {string} adult
 */
export function supervisorLine(adult) {
  const line = document.createElement("p");
  line.className = "person-supervisor";
  line.textContent = `Supervised by ${adult}`;
  return line;
}

/** @param {string} text */
function badge(text) {
  const mark = document.createElement("strong");
  mark.className = "badge";
  mark.textContent = text;
  return mark;
}

/**
 * The "Staff" mark, linking to the organisation's staff page (rule U1). Only ever called
 * for the roster's host entry, which only staff can have.
 * @param {Person} person
 */
function staffMark(person) {
  const page = person.staff_page || config.staffPageUrl;
  if (!page) return badge("Staff");
  const link = document.createElement("a");
  link.className = "badge badge-staff";
  link.href = page;
  link.target = "_blank";
  link.rel = "noopener";
  const more = document.createElement("span");
  more.className = "visually-hidden";
  more.textContent = `: check ${person.name} on our staff page (opens in a new tab)`;
  link.append("Staff", more);
  return link;
}

/**
 * The host's buttons for one attendee. The whole action is in each button's words, so
 * it reads the same to everyone and to speech input.
 * @param {Person} person
 * @returns {HTMLElement}
 */
function hostActions(person) {
  const group = document.createElement("div");
  group.className = "person-actions";
  group.setAttribute("role", "group");
  group.setAttribute("aria-label", `What you can do for ${shownName(person)}`);
  for (const { action, label, danger } of HOST_ACTIONS) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = `button button-small ${danger ? "button-danger-outline" : "button-secondary"}`;
    button.dataset.action = action;
    button.dataset.participant = person.participant;
    button.textContent = label(shownName(person));
    if (action === "remove" || action === "ban") {
      button.setAttribute("aria-controls", "remove-form");
      button.setAttribute("aria-expanded", "false");
    }
    group.append(button);
  }
  return group;
}
