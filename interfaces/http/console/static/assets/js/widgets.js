// Shared widgets: toasts, a confirm dialog, a pager and a paged list, status chips and the search
// language help.

import { reason } from "./api.js";
import { h, notice, replace } from "./dom.js";
import { num } from "./format.js";

/** A short message in the corner; errors stay longer. */
export function toast(message, kind = "ok") {
  const box = document.getElementById("toasts");
  const item = h("div", { class: `toast ${kind}` }, message);
  box.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
}

/** A modal <dialog>; resolves to true when confirmed. `body` may hold extra inputs. */
export function confirmDialog({ title, text, confirm = "Confirm", danger = false, body = null }) {
  return new Promise((resolve) => {
    const ok = h("button", { type: "submit", class: ["button", danger ? "danger" : "primary"], value: "ok" }, confirm);
    const cancel = h("button", { type: "button", class: "button ghost" }, "Cancel");
    const form = h("form", { method: "dialog", class: "dialog-form" },
      h("h2", {}, title), text ? h("p", {}, text) : null, body,
      h("div", { class: "dialog-actions" }, cancel, ok));
    const dialog = h("dialog", { class: "dialog" }, form);
    cancel.addEventListener("click", () => dialog.close("cancel"));
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "ok");
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
    const first = dialog.querySelector("input, select, textarea");
    (first || ok).focus();
  });
}

/** "1–50 of 1,234" with first/previous/next buttons; `go(offset)` loads a page. */
export function pager({ total, limit, offset }, go) {
  const last = offset + limit >= total;
  const from = total === 0 ? 0 : offset + 1;
  const to = Math.min(total, offset + limit);
  return h("div", { class: "pager" },
    h("span", { class: "pager-count" }, `${num(from)}–${num(to)} of ${num(total)}`),
    h("button", { type: "button", class: "button ghost small", disabled: offset === 0, on: { click: () => go(0) } }, "First"),
    h("button", { type: "button", class: "button ghost small", disabled: offset === 0, "aria-label": "Previous page",
      on: { click: () => go(Math.max(0, offset - limit)) } }, "‹ Prev"),
    h("button", { type: "button", class: "button ghost small", disabled: last, "aria-label": "Next page",
      on: { click: () => go(offset + limit) } }, "Next ›"));
}

/**
 * One page of a list into a page's `status`, `head` and `body` elements: a failure of
 * `request()` (which answers SPEC's page envelope) into `status`, the pager into `head`
 * (`go(offset)` loads another page), the rows as `draw(rows)` makes them, or `empty`, into `body`.
 */
export async function loadPage({ status, head, body }, request, { go, empty, draw }) {
  replace(status);
  loading(body);
  let page;
  try {
    page = await request();
  } catch (e) {
    replace(status, notice("error", reason(e)));
    replace(body);
    return;
  }
  replace(head, pager(page, go));
  replace(body, page.data.length ? draw(page.data) : h("p", { class: "muted" }, empty));
}

const STATUS_KINDS = { running: "ok", pending: "warn", failed: "bad", stopped: "muted" };

/** A decky status as a coloured chip. */
export function statusChip(status) {
  return h("span", { class: ["chip", "status", STATUS_KINDS[status] || ""], dataset: { status } }, status);
}

/** The search language, as the API implements it (SPEC §3 Logs). */
export function searchHelp() {
  const rows = [
    ["decky:web", "records of that decky (exact)"],
    ["service:ssh", "that service (exact)"],
    ["event:auth", "that event type (exact)"],
    ["attacker:203.0.113.7", "that attacker IP (exact; alias attacker_ip:)"],
    ["username:root", "any other key: that field equals the value"],
    ["wget", "a bare word: case-insensitive substring of the message, raw line, decky, service, IP or fields"],
    ['"uname -a"', "quotes keep spaces inside one token"],
  ];
  return h("details", { class: "search-help" },
    h("summary", {}, "Search language"),
    h("p", {}, "Tokens separated by spaces; every token must match (AND)."),
    h("dl", {}, rows.map(([code, text]) => [h("dt", {}, h("code", {}, code)), h("dd", {}, text)])));
}

/** A busy indicator for a container while it loads. */
export function loading(el, text = "Loading…") {
  replace(el, h("p", { class: "muted loading" }, text));
}
