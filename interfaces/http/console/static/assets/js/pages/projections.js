// Projections: each read model's state, position, lag and rebuild progress; admins rebuild one
// (beside the live one, swapped in when caught up: reads never see a gap).

import { api, reason } from "../api.js";
import { card, chip, dataTable, h, replace } from "../dom.js";
import { num, ts } from "../format.js";
import { Poll } from "../poll.js";
import { pageModule } from "../router.js";
import { isAdmin } from "../session.js";
import { toast } from "../widgets.js";

const POLL_MS = 2000;
const STATES = { live: "ok", catching_up: "warn", rebuilding: "warn", failed: "bad" };

function progress(p) {
  if (!p.rebuild) return null;
  const r = p.rebuild;
  const share = r.head > 0 ? Math.min(1, r.position / r.head) : 0;
  return h("div", { class: "rebuild" },
    h("progress", { max: "1", value: String(share), "aria-label": `Rebuild of ${p.name}` }),
    h("span", { class: "muted small" }, `${Math.round(share * 100)} % · ${num(r.position)} of ${num(r.head)}`,
      r.eta_seconds !== null && r.eta_seconds !== undefined ? ` · about ${Math.ceil(r.eta_seconds)} s left` : "",
      ` · since ${ts(r.started_at)}`));
}

class ProjectionsPage {
  constructor(root) {
    this.root = root;
    this.admin = isAdmin();
  }

  async mount() {
    this.status = h("div", { class: "form-status" });
    this.body = h("div", {}, h("p", { class: "muted" }, "Loading…"));
    replace(this.root, h("div", { class: "projections-page" },
      h("h1", { class: "page-title" }, "Projections"),
      card("Read models", h("span", { class: "muted" }, "refreshed every 2 s"), this.status, this.body)));
    this.poll = new Poll("/projections", POLL_MS, this.status, (rows) => this.#draw(rows));
    await this.poll.refresh();
  }

  #draw(rows) {
    const headers = ["Read model", "State", "Position", "Lag", "Rate", "Rebuild"];
    if (this.admin) headers.push("Commands");
    replace(this.body, dataTable(headers, rows.map((p) => this.#row(p)), { className: "projections-table" }));
  }

  #row(p) {
    const cells = [
      h("td", {}, h("strong", {}, p.name), h("span", { class: "muted small" }, ` v${p.version}`)),
      h("td", {}, chip(p.state, STATES[p.state] || ""), p.last_error ? h("div", { class: "muted small wrap" }, p.last_error) : null),
      h("td", { class: "num" }, `${num(p.position)} / ${num(p.head)}`),
      h("td", { class: "num" }, `${num(p.lag_events)} events`, h("div", { class: "muted small" }, `${p.lag_seconds.toFixed(1)} s`)),
      h("td", { class: "num" }, `${num(Math.round(p.events_per_second))}/s`),
      h("td", {}, progress(p) || h("span", { class: "muted" }, "–")),
    ];
    if (this.admin) {
      const button = h("button", { type: "button", class: "button small", dataset: { command: "rebuild" },
        disabled: Boolean(p.rebuild), "aria-label": `Rebuild ${p.name}` }, "Rebuild");
      button.addEventListener("click", () => this.#rebuild(p.name, button));
      cells.push(h("td", {}, button));
    }
    return h("tr", { dataset: { projection: p.name, state: p.state, rebuilding: String(Boolean(p.rebuild)) } }, cells);
  }

  async #rebuild(name, button) {
    button.disabled = true;
    try {
      const result = await api(`/projections/${encodeURIComponent(name)}/rebuild`, { method: "POST" });
      toast(`${result.message}; the live model answers until the new one has caught up.`);
    } catch (e) {
      toast(reason(e), "error");
    }
    await this.poll.refresh();
  }

  unmount() {
    this.poll.stop();
  }
}

export default pageModule("Projections", (root) => new ProjectionsPage(root));
