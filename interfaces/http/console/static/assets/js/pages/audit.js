// The audit trail (auditors and admins): administrative acts and authentication outcomes,
// newest first, filtered by actor, action, target and time.

import { api, reason } from "../api.js";
import { card, chip, dataTable, field, h, notice, replace } from "../dom.js";
import { toApiTime, toLocalInput, ts } from "../format.js";
import { pageModule, setQuery } from "../router.js";
import { loadPage, loading } from "../widgets.js";

const LIMIT = 50;
const HEADERS = ["At (UTC)", "Actor", "Action", "Target", "Outcome", "Detail", "From"];

function row(a) {
  return h("tr", { dataset: { action: a.action, outcome: a.outcome } },
    h("td", { class: "mono nowrap" }, ts(a.at)),
    h("td", {}, a.actor ? a.actor.username || a.actor.uuid : h("span", { class: "muted" }, "–")),
    h("td", {}, chip(a.action)),
    h("td", { class: "mono" }, a.target || "–"),
    h("td", {}, chip(a.outcome, a.outcome === "success" || a.outcome === "ok" ? "ok" : a.outcome === "failure" || a.outcome === "denied" ? "bad" : "")),
    h("td", { class: "msg" }, a.detail),
    h("td", { class: "mono" }, a.client_ip || "–"));
}

class AuditPage {
  constructor(root, query) {
    this.root = root;
    this.state = {
      actor: query.get("actor") || "",
      action: query.get("action") || "",
      target: query.get("target") || "",
      start: query.get("start") || "",
      end: query.get("end") || "",
      offset: Math.max(0, Number(query.get("offset")) || 0),
    };
  }

  mount() {
    const s = this.state;
    const actor = h("input", { type: "text", value: s.actor, placeholder: "username or uuid", dataset: { hotkey: "search" } });
    const action = h("input", { type: "text", value: s.action, placeholder: "e.g. fleet_deployed" });
    const target = h("input", { type: "text", value: s.target });
    const start = h("input", { type: "datetime-local", step: "1", value: toLocalInput(s.start) });
    const end = h("input", { type: "datetime-local", step: "1", value: toLocalInput(s.end) });
    const form = h("form", { class: "stack-form", role: "search" },
      h("div", { class: "inline-fields" }, field("Actor", actor), field("Action", action), field("Target", target),
        field("From (UTC)", start), field("To (UTC)", end)),
      h("button", { type: "submit", class: "button primary" }, "Show"));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.#go({ actor: actor.value.trim(), action: action.value.trim(), target: target.value.trim(),
        start: toApiTime(start.value), end: toApiTime(end.value), offset: 0 });
    });
    this.integrity = h("div", { class: "integrity" });
    const verify = h("button", { type: "button", class: "button", dataset: { command: "verify" } }, "Verify the history");
    verify.addEventListener("click", async () => {
      verify.disabled = true;
      try {
        await this.#verify();
      } finally {
        verify.disabled = false;
      }
    });
    this.status = h("div", { class: "form-status" });
    this.head = h("div", { class: "results-head" });
    this.body = h("div", { class: "results" });
    replace(this.root, h("div", { class: "audit-page" },
      h("h1", { class: "page-title" }, "Audit trail"),
      card("Integrity", verify, this.integrity),
      card("Filter", null, form, this.status),
      card("Entries", null, this.head, this.body)));
    return Promise.all([this.#load(), this.#checkpoints()]);
  }

  /** Recompute the event tree from the store and compare it with every signed checkpoint. */
  async #verify() {
    loading(this.integrity, "Verifying every stored event…");
    let r;
    try {
      r = await api("/audit/verify");
    } catch (e) {
      replace(this.integrity, notice("error", reason(e)));
      return;
    }
    const m = r.first_mismatch;
    replace(this.integrity,
      notice(r.ok ? "info" : "error", r.ok
        ? `Intact: ${r.verified_up_to} of ${r.head} events verified against ${r.checkpoints_checked} signed checkpoints.`
        : `Tampered: ${m.kind} at position ${m.position} — ${m.detail}`),
      h("div", { class: "verify-result", dataset: { ok: String(r.ok) } }));
    await this.#checkpoints(false);
  }

  /** The newest signed checkpoints and the key that signs them. */
  async #checkpoints(clear = true) {
    let list;
    let key;
    try {
      [list, key] = await Promise.all([api("/audit/checkpoints", { query: { limit: 5 } }), api("/audit/public-key")]);
    } catch (e) {
      if (clear) replace(this.integrity, notice("error", reason(e)));
      return;
    }
    const rows = list.data;
    const shown = h("div", {},
      h("p", { class: "muted" }, `Signing key (${key.algorithm}, fingerprint `, h("code", { class: "mono" }, key.fingerprint), `); ${list.total} signed checkpoints.`),
      rows.length
        ? dataTable(["Signed (UTC)", "Tree size", "Root hash"], rows.map((c) => h("tr", {},
          h("td", { class: "mono nowrap" }, ts(c.timestamp)), h("td", {}, String(c.tree_size)), h("td", { class: "mono" }, c.root_hash))))
        : h("p", { class: "muted" }, "No signed checkpoint yet."));
    if (clear) replace(this.integrity, shown);
    else this.integrity.append(shown);
  }

  #go(next) {
    this.state = { ...this.state, ...next };
    const s = this.state;
    setQuery({ actor: s.actor, action: s.action, target: s.target, start: s.start, end: s.end, offset: s.offset || "" });
    return this.#load();
  }

  #load() {
    const s = this.state;
    const query = { actor: s.actor, action: s.action, target: s.target, start_time: s.start, end_time: s.end,
      limit: LIMIT, offset: s.offset };
    return loadPage(this, () => api("/audit", { query }), {
      go: (offset) => this.#go({ offset }),
      empty: "No entry matches.",
      draw: (rows) => dataTable(HEADERS, rows.map(row), { className: "audit-table" }),
    });
  }
}

export default pageModule("Audit", (root, { query }) => new AuditPage(root, query));
