// @ts-check
/**
 * The host's in-page form for removing or banning someone (rule S8). A reason is
 * required: it is recorded in the audit log and never shown to the person.
 */
import { announce } from "./notices.js";
import { byId, room } from "./state.js";

/**
 * @typedef {object} Removal  What the open form is about.
 * @property {"remove"|"ban"} kind
 * @property {string} participant
 * @property {string} name
 * @property {HTMLElement} opener  the roster button that opened the form
 */

const WORDS = {
  remove: {
    heading: (/** @type {string} */ name) => `Remove ${name} from the meeting?`,
    detail: "They will leave the meeting at once and cannot come back to it, with any link or device.",
    confirm: (/** @type {string} */ name) => `Remove ${name}`,
    done: (/** @type {string} */ name) => `You removed ${name} from the meeting.`,
  },
  ban: {
    heading: (/** @type {string} */ name) => `Ban ${name}?`,
    detail:
      "They will leave the meeting at once. They will not be able to join any meeting of our service until a coordinator lifts the ban.",
    confirm: (/** @type {string} */ name) => `Ban ${name}`,
    done: (/** @type {string} */ name) => `You banned ${name}.`,
  },
};

/** @type {Removal|null} */
let open = null;

export function setUpRemoveForm() {
  const form = document.getElementById("remove-form");
  if (!form) return;
  form.addEventListener("submit", onSubmit);
  byId("remove-cancel").addEventListener("click", () => closeRemoveForm(true));
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeRemoveForm(true);
  });
  byId("remove-reason").addEventListener("input", () => {
    if (reasonField().value.trim()) clearReasonError();
  });
}

function reasonField() {
  return /** @type {HTMLTextAreaElement} */ (byId("remove-reason"));
}

/**
 * @param {"remove"|"ban"} kind
 * @param {HTMLElement} opener  the "Remove <name>" or "Ban <name>" button
 */
export function openRemoveForm(kind, opener) {
  const participant = opener.dataset.participant ?? "";
  const person = room.roster.get(participant);
  if (!person) return;
  closeRemoveForm(false);
  open = { kind, participant, name: person.name, opener };
  const words = WORDS[kind];
  byId("remove-heading").textContent = words.heading(person.name);
  byId("remove-detail").textContent = words.detail;
  byId("remove-label").textContent = `Reason (recorded, not shown to ${person.name})`;
  byId("remove-confirm").textContent = words.confirm(person.name);
  reasonField().value = "";
  setUpReviewDate(kind);
  clearReasonError();
  byId("remove-form").hidden = false;
  opener.setAttribute("aria-expanded", "true");
  reasonField().focus();
}

/** @param {boolean} returnFocus  true when the host cancelled: back to their button */
export function closeRemoveForm(returnFocus) {
  const form = byId("remove-form");
  const hadFocus = form.contains(document.activeElement);
  form.hidden = true;
  const opener = open?.opener;
  opener?.setAttribute("aria-expanded", "false");
  open = null;
  if (returnFocus && opener?.isConnected) opener.focus();
  else if (hadFocus) byId("roster-heading").focus();
}

/** The roster changed: if the person the form is about has gone, the form goes too. */
export function onRosterChanged() {
  if (open && !room.roster.has(open.participant)) closeRemoveForm(false);
}

/** @param {SubmitEvent} event */
function onSubmit(event) {
  event.preventDefault();
  if (!open) return;
  const reason = reasonField().value.trim();
  if (!reason) {
    showReasonError(open.name);
    return;
  }
  const { kind, participant, name } = open;
  /** @type {{participant: string, reason: string, review_on?: string}} */
  const body = { participant, reason: reason.slice(0, 500) };
  const reviewOn = reviewField().value;
  if (kind === "ban" && reviewOn) body.review_on = reviewOn;
  room.connection?.send(kind, body);
  closeRemoveForm(false);
  byId("roster-heading").focus();
  announce(WORDS[kind].done(name));
}

/** @param {string} name */
function showReasonError(name) {
  const error = byId("remove-reason-error");
  error.textContent = `Write a reason before you go on. It is recorded, and ${name} will not see it.`;
  error.hidden = false;
  byId("remove-reason-field").classList.add("field-error");
  const field = reasonField();
  field.setAttribute("aria-invalid", "true");
  field.setAttribute("aria-describedby", "remove-reason-error remove-detail remove-hint");
  field.focus();
}

function reviewField() {
  return /** @type {HTMLInputElement} */ (byId("ban-review-on"));
}

/** @param {number} days */
function isoDateIn(days) {
  const day = new Date();
  day.setDate(day.getDate() + days);
  const pad = (/** @type {number} */ n) => String(n).padStart(2, "0");
  return `${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}`;
}

/**
 * A ban is reviewed by a date (rule S8): the policy's default, which the host may change,
 * from tomorrow to two years ahead (the server refuses any other).
 * @param {"remove"|"ban"} kind
 */
function setUpReviewDate(kind) {
  const wrapper = byId("ban-review-field");
  wrapper.hidden = kind !== "ban";
  const field = reviewField();
  field.min = isoDateIn(1);
  field.max = isoDateIn(730);
  field.value = isoDateIn(Number(wrapper.dataset.defaultDays) || 183);
}

function clearReasonError() {
  byId("remove-reason-error").hidden = true;
  byId("remove-reason-field").classList.remove("field-error");
  const field = reasonField();
  field.removeAttribute("aria-invalid");
  field.setAttribute("aria-describedby", "remove-detail remove-hint");
}
