// @ts-check
/**
 * The host's dashboard: who is in each waiting room, kept up to date without a reload.
 * Every few seconds the page asks /meetings/waiting-now/ for each meeting's part, as the
 * server renders it (meetings/_waiting_now.html), and puts any part that changed in
 * place; the change is said through a polite live region.
 */

const POLL_MS = 4000;
const announcer = document.getElementById("dashboard-announcer");

/** @returns {Map<string, HTMLElement>} */
function parts() {
  /** @type {Map<string, HTMLElement>} */
  const found = new Map();
  for (const part of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll("[data-waiting-for]"))) {
    found.set(part.dataset.waitingFor ?? "", part);
  }
  return found;
}

/**
 * @param {HTMLElement} part
 * @param {string} html  the server's own rendering, escaped there
 */
function replacePart(part, html) {
  const hadFocus = part.contains(document.activeElement);
  part.innerHTML = html;
  if (hadFocus) /** @type {HTMLElement|null} */ (part.querySelector("a") ?? part.closest("section")?.querySelector("h3 a") ?? null)?.focus();
  const title = part.closest("section")?.querySelector("h3")?.textContent?.trim() ?? "";
  const said = part.querySelector("strong")?.textContent ?? part.textContent?.trim() ?? "";
  if (announcer) announcer.textContent = `${title}: ${said}.`;
}

/**
 * What a part says, whitespace aside: the browser writes markup its own way, so parts
 * are compared by their words.
 * @param {string} html
 */
function words(html) {
  const template = document.createElement("template");
  template.innerHTML = html;
  return (template.content.textContent ?? "").replace(/\s+/g, " ").trim();
}

async function refresh() {
  if (document.hidden) return;
  try {
    const response = await fetch("/meetings/waiting-now/", { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok) return;
    /** @type {{meetings: Record<string, string>}} */
    const body = await response.json();
    for (const [id, part] of parts()) {
      const html = body.meetings[id];
      if (html !== undefined && words(html) !== words(part.innerHTML)) replacePart(part, html);
    }
  } catch {
    // Offline for a moment: the next try catches up.
  }
}

setInterval(refresh, POLL_MS);
document.addEventListener("visibilitychange", refresh);
