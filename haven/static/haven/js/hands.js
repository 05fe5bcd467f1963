// @ts-check
/**
 * Raised hands: the "Raise hand" / "Lower hand" button, the hands in the order raised,
 * a mark beside each name in the roster, and what screen readers hear. The host lowers
 * someone's hand from the list.
 *
 * The server decides (`raise_hand`, `lower_hand`: nobody waiting, nobody else's hand but
 * by the host) and tells everyone in the meeting (`hands`); this page shows what it says,
 * so the button's words change only once the server has said so.
 */
import { announce } from "./notices.js";
import { byId, config, focusLeft, room, shownName } from "./state.js";

/** @typedef {{participant: string, raised_at: string}} Hand */

/** @type {string[]} whose hands are up, in the order raised */
let raised = [];
/** Hands this page asked to lower: its own, or (the host) someone's. */
const lowering = new Set();

export function setUpHands() {
  byId("hand-button").addEventListener("click", toggleOwnHand);
  byId("hands-list").addEventListener("click", onListClick);
  renderHands();
}

function toggleOwnHand() {
  if (!room.me || !raised.includes(room.me)) {
    room.connection?.send("raise_hand");
    return;
  }
  lowering.add(room.me);
  room.connection?.send("lower_hand");
}

/** @param {MouseEvent} event */
function onListClick(event) {
  const target = /** @type {HTMLElement} */ (event.target);
  const button = /** @type {HTMLElement|null} */ (target.closest("button[data-lower-hand]"));
  const participant = button?.dataset.lowerHand;
  if (!participant) return;
  lowering.add(participant);
  room.connection?.send("lower_hand", { participant });
}

/**
 * The hands in `hands`, `joined` or `admitted`.
 * @param {object} message
 * @param {boolean} announceChanges  false when first coming in: the list shows them
 */
export function showHands(message, announceChanges) {
  const hands = /** @type {{hands?: Hand[]}} */ (message).hands ?? [];
  const before = raised;
  raised = hands.map((hand) => hand.participant);
  if (announceChanges) announceHandChanges(before, raised);
  renderHands();
}

/**
 * @param {string[]} before
 * @param {string[]} after
 */
function announceHandChanges(before, after) {
  for (const id of after) {
    if (!before.includes(id)) announce(id === room.me ? "You raised your hand." : `${nameOf(id)} raised their hand.`);
  }
  for (const id of before) {
    // Someone who left is not in the roster any more: the roster says they left.
    if (after.includes(id) || !room.roster.has(id)) continue;
    announce(loweredWords(id));
    lowering.delete(id);
  }
}

/** @param {string} id */
function loweredWords(id) {
  const ours = lowering.has(id);
  if (id === room.me) return ours ? "You lowered your hand." : "The host lowered your hand.";
  // Whether they lowered it or the host did, only the host's page knows: say what is so.
  return ours ? `You lowered ${nameOf(id)}'s hand.` : `${nameOf(id)}'s hand is down.`;
}

/** @param {string} id */
function nameOf(id) {
  const person = room.roster.get(id);
  return person ? shownName(person) : "Someone";
}

/**
 * Draw the hands as they are: the button, the list, the marks in the roster. Called again
 * whenever the roster changes (its rows may have been rebuilt, someone may have left).
 */
export function renderHands() {
  raised = raised.filter((id) => room.roster.size === 0 || room.roster.has(id));
  const mine = room.me !== null && raised.includes(room.me);
  const button = byId("hand-button");
  button.textContent = mine ? "Lower hand" : "Raise hand";
  button.classList.toggle("is-raised", mine);
  byId("hands-heading").textContent = `Raised hands (${raised.length})`;
  byId("hands-empty").hidden = raised.length > 0;
  renderList();
  for (const row of document.querySelectorAll("#roster-list > li[data-participant]")) {
    markRosterRow(/** @type {HTMLElement} */ (row));
  }
}

function renderList() {
  const list = byId("hands-list");
  const focused = /** @type {HTMLElement|null} */ (list.querySelector(":focus"));
  const hadFocus = focused?.dataset.lowerHand;
  list.replaceChildren(...raised.map(handItem));
  list.hidden = raised.length === 0;
  if (hadFocus === undefined) return;
  const again = /** @type {HTMLElement|null} */ (list.querySelector(`[data-lower-hand="${hadFocus}"]`));
  const next = again ?? /** @type {HTMLElement|null} */ (list.querySelector("button"));
  if (next) next.focus();
  else if (focusLeft(list)) byId("hands-heading").focus();
}

/**
 * @param {string} id
 * @returns {HTMLLIElement}
 */
function handItem(id) {
  const item = document.createElement("li");
  item.dataset.participant = id;
  const name = document.createElement("span");
  name.className = "person-name";
  name.textContent = id === room.me ? `${nameOf(id)} (you)` : nameOf(id);
  item.append(name);
  if (config.isHost && id !== room.me) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button button-small button-secondary";
    button.dataset.lowerHand = id;
    button.textContent = `Lower ${nameOf(id)}'s hand`;
    item.append(" ", button);
  }
  return item;
}

/** @param {HTMLElement} row */
function markRosterRow(row) {
  const up = raised.includes(row.dataset.participant ?? "");
  let mark = row.querySelector(".hand-mark");
  if (!up) {
    mark?.remove();
    return;
  }
  if (mark) return;
  mark = document.createElement("span");
  mark.className = "hand-mark";
  const badge = document.createElement("strong");
  badge.className = "badge";
  badge.textContent = "Hand raised";
  mark.append(" ", badge);
  (row.querySelector(".person-line") ?? row).append(mark);
}
