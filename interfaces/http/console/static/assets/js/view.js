// The as-of view the console reads (auditors and admins): every read of a read model then
// carries `?view=<label>` and live updates stop, since the past does not change.

const KEY = "decnet.view";
export const viewEvents = new EventTarget();
let current = null;

try {
  current = window.sessionStorage.getItem(KEY);
} catch {
  current = null;
}

/** The label of the view being read, or null for the live read models. */
export function activeView() {
  return current;
}

/** Read from `label` (null: back to live). */
export function setView(label) {
  current = label || null;
  try {
    if (current) window.sessionStorage.setItem(KEY, current);
    else window.sessionStorage.removeItem(KEY);
  } catch {
    // this page only
  }
  viewEvents.dispatchEvent(new CustomEvent("change", { detail: current }));
}

const VIEW_ROUTES = ["/logs", "/bounty", "/stats", "/attackers", "/deckies"];

/** Whether a GET of `path` answers from a read model and so takes `?view=`. */
export function readsViews(path) {
  return VIEW_ROUTES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`) || path.startsWith(`${prefix}?`));
}
