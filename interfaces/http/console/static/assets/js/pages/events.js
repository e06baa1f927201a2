// Event history (auditors and admins): the stored events in position order, secrets redacted,
// filtered by type, actor, aggregate and time; each event's data on demand.

import { api, reason } from "../api.js";
import { card, chip, dataTable, field, h, notice, replace } from "../dom.js";
import { num, toApiTime, toLocalInput, ts } from "../format.js";
import { pageModule, setQuery } from "../router.js";
import { loading } from "../widgets.js";

const LIMIT = 100;

class EventsPage {
  constructor(root, query) {
    this.root = root;
    this.state = {
      after: Math.max(0, Number(query.get("after")) || 0),
      type: query.get("type") || "",
      actor: query.get("actor") || "",
      aggregate: query.get("aggregate") || "",
      start: query.get("start") || "",
      end: query.get("end") || "",
    };
    this.trail = []; // the `after` of earlier pages, for Previous
    this.open = new Set();
  }

  mount() {
    const s = this.state;
    const type = h("input", { type: "text", value: s.type, placeholder: "e.g. fleet.decky_deployed, user.registered", dataset: { hotkey: "search" } });
    const actor = h("input", { type: "text", value: s.actor, placeholder: "username or uuid" });
    const aggregate = h("input", { type: "text", value: s.aggregate, placeholder: "uuid" });
    const start = h("input", { type: "datetime-local", step: "1", value: toLocalInput(s.start) });
    const end = h("input", { type: "datetime-local", step: "1", value: toLocalInput(s.end) });
    const form = h("form", { class: "stack-form", role: "search" },
      h("div", { class: "inline-fields" },
        field("Types (comma-separated)", type), field("Actor", actor), field("Aggregate", aggregate),
        field("From (UTC)", start), field("To (UTC)", end)),
      h("button", { type: "submit", class: "button primary" }, "Show"));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.trail = [];
      this.#go({ after: 0, type: type.value.trim(), actor: actor.value.trim(), aggregate: aggregate.value.trim(),
        start: toApiTime(start.value), end: toApiTime(end.value) });
    });
    this.status = h("div", { class: "form-status" });
    this.head = h("div", { class: "results-head" });
    this.body = h("div", { class: "results" });
    replace(this.root, h("div", { class: "events-page" },
      h("h1", { class: "page-title" }, "Event history"),
      card("Filter", null, form, this.status),
      card("Events", null, this.head, this.body)));
    return this.#load();
  }

  #go(next) {
    this.state = { ...this.state, ...next };
    const s = this.state;
    setQuery({ after: s.after || "", type: s.type, actor: s.actor, aggregate: s.aggregate, start: s.start, end: s.end });
    this.open.clear();
    return this.#load();
  }

  async #load() {
    const s = this.state;
    replace(this.status);
    loading(this.body);
    const types = s.type.split(",").map((t) => t.trim()).filter(Boolean);
    let page;
    try {
      page = await api("/events", { query: { after: s.after, limit: LIMIT, type: types, actor: s.actor,
        aggregate_id: s.aggregate, start_time: s.start, end_time: s.end } });
    } catch (e) {
      replace(this.status, notice("error", reason(e)));
      replace(this.body);
      replace(this.head);
      return;
    }
    this.page = page;
    this.#draw();
  }

  #draw() {
    const page = this.page;
    const s = this.state;
    const first = h("button", { type: "button", class: "button ghost small", disabled: s.after === 0 }, "First");
    first.addEventListener("click", () => {
      this.trail = [];
      this.#go({ after: 0 });
    });
    const previous = h("button", { type: "button", class: "button ghost small", disabled: !this.trail.length }, "‹ Earlier");
    previous.addEventListener("click", () => this.#go({ after: this.trail.pop() || 0 }));
    const more = page.data.length === LIMIT;
    const next = h("button", { type: "button", class: "button ghost small", disabled: !more }, "Later ›");
    next.addEventListener("click", () => {
      this.trail.push(s.after);
      this.#go({ after: page.next_after });
    });
    const range = page.data.length
      ? `positions ${num(page.data[0].position)}–${num(page.data[page.data.length - 1].position)} of ${num(page.head)}`
      : `nothing after position ${num(s.after)} (head ${num(page.head)})`;
    replace(this.head, h("div", { class: "pager" }, h("span", { class: "pager-count" }, range), first, previous, next));
    if (!page.data.length) {
      replace(this.body, h("p", { class: "muted" }, "No event matches."));
      return;
    }
    const rows = [];
    for (const e of page.data) {
      const opened = this.open.has(e.position);
      const toggle = h("button", { type: "button", class: "disclose", "aria-expanded": String(opened), "aria-label": `Data of event ${e.position}` }, opened ? "▾" : "▸");
      toggle.addEventListener("click", () => {
        if (opened) this.open.delete(e.position);
        else this.open.add(e.position);
        this.#draw();
      });
      rows.push(h("tr", { dataset: { position: e.position, type: e.type } },
        h("td", {}, toggle),
        h("td", { class: "num" }, num(e.position)),
        h("td", { class: "mono nowrap" }, ts(e.recorded_at)),
        h("td", {}, chip(e.type)),
        h("td", {}, e.actor ? e.actor.username || e.actor.uuid : h("span", { class: "muted" }, "system")),
        h("td", { class: "msg" }, e.summary)));
      if (opened) {
        rows.push(h("tr", { class: "log-detail-row" }, h("td", { colspan: "6" },
          h("dl", { class: "kv" },
            [["aggregate", `${e.aggregate_id} v${e.aggregate_version}`], ["client ip", e.client_ip || "–"], ["request id", e.request_id || "–"]]
              .map(([k, v]) => [h("dt", {}, k), h("dd", { class: "mono" }, v)])),
          h("pre", { class: "raw" }, JSON.stringify(e.data, null, 2)))));
      }
    }
    replace(this.body, dataTable(["", "Position", "Recorded (UTC)", "Type", "Actor", "Summary"], rows, { className: "events-table" }));
  }
}

export default pageModule("Events", (root, { query }) => new EventsPage(root, query));
