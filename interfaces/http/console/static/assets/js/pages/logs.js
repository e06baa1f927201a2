// Logs: search (the search language), a time range, pages, and each row's fields and raw line.
// On the first page of an open-ended range, matching records arrive live at the top.

import { api, reason } from "../api.js";
import { card, dataTable, h, notice, replace } from "../dom.js";
import { fieldsOf, minutesAgo, num, toApiTime, toLocalInput, ts } from "../format.js";
import { LiveStream } from "../live.js";
import { link, pageModule, setQuery } from "../router.js";
import { loading, pager, searchHelp } from "../widgets.js";

const LIMIT = 50;
const QUICK = [[15, "15 min"], [60, "1 h"], [1440, "24 h"], [10080, "7 days"], [0, "Any time"]];

function detail(row) {
  const fields = fieldsOf(row);
  const keys = Object.keys(fields).sort();
  return h("div", { class: "log-detail" },
    h("div", { class: "detail-grid" },
      h("dl", { class: "kv" },
        [["id", row.id], ["timestamp", row.timestamp], ["decky", row.decky], ["service", row.service],
          ["event_type", row.event_type], ["attacker_ip", row.attacker_ip || "–"]]
          .map(([k, v]) => [h("dt", {}, k), h("dd", { class: "mono" }, String(v))])),
      h("div", {},
        h("h3", {}, "Fields"),
        keys.length
          ? h("dl", { class: "kv" }, keys.map((k) => [h("dt", {}, k), h("dd", { class: "mono" }, String(fields[k]))]))
          : h("p", { class: "muted" }, "No fields."))),
    h("h3", {}, "Raw line"),
    h("pre", { class: "raw" }, row.raw_line),
    h("div", { class: "row-actions" },
      row.attacker_ip ? h("a", { class: "button ghost small", href: link("/logs", { search: `attacker:${row.attacker_ip}` }) }, "Logs of this attacker") : null,
      row.attacker_ip ? h("a", { class: "button ghost small", href: link(`/attackers/${row.attacker_ip}`) }, "Attacker profile") : null,
      h("a", { class: "button ghost small", href: link("/logs", { search: `decky:${row.decky}` }) }, "Logs of this decky")));
}

class LogsPage {
  constructor(root, query) {
    this.root = root;
    this.state = {
      search: query.get("search") || "",
      start: query.get("start") || "",
      end: query.get("end") || "",
      offset: Math.max(0, Number(query.get("offset")) || 0),
    };
    this.result = null;
    this.inflight = null;
    this.stream = null;
    this.fresh = 0;
    this.frame = 0;
    this.open = new Set();
  }

  mount() {
    const s = this.state;
    this.searchInput = h("input", { type: "search", name: "search", value: s.search, class: "grow", "aria-label": "Search logs", placeholder: "e.g. service:ssh event:auth root", dataset: { hotkey: "search" } });
    this.startInput = h("input", { type: "datetime-local", step: "1", value: toLocalInput(s.start), "aria-label": "From (UTC)" });
    this.endInput = h("input", { type: "datetime-local", step: "1", value: toLocalInput(s.end), "aria-label": "To (UTC)" });
    const form = h("form", { class: "filters", role: "search" },
      h("div", { class: "inline-form grow" }, this.searchInput, h("button", { type: "submit", class: "button primary" }, "Search")),
      h("div", { class: "range" },
        h("label", {}, "From ", this.startInput), h("label", {}, "To ", this.endInput), h("span", { class: "muted" }, "UTC"),
        h("span", { class: "quick" }, QUICK.map(([minutes, label]) => h("button", {
          type: "button", class: "button ghost small", on: { click: () => this.#quick(minutes) } }, label)))));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.#go({ search: this.searchInput.value.trim(), start: toApiTime(this.startInput.value), end: toApiTime(this.endInput.value), offset: 0 });
    });
    this.status = h("div", { class: "form-status" });
    this.head = h("div", { class: "results-head" });
    this.body = h("div", { class: "results" });
    this.page = h("div", { class: "logs-page" },
      h("h1", { class: "page-title" }, "Logs"),
      card("Search", null, form, searchHelp(), this.status),
      card("Records", null, this.head, this.body));
    replace(this.root, this.page);
    return this.#load();
  }

  #quick(minutes) {
    this.startInput.value = minutes ? toLocalInput(minutesAgo(minutes)) : "";
    this.endInput.value = "";
    this.#go({ search: this.searchInput.value.trim(), start: minutes ? minutesAgo(minutes) : "", end: "", offset: 0 });
  }

  #go(next) {
    this.state = { ...this.state, ...next };
    setQuery({ search: this.state.search, start: this.state.start, end: this.state.end, offset: this.state.offset || "" });
    this.open.clear();
    return this.#load();
  }

  async #load() {
    if (this.gone) return;
    const s = this.state;
    replace(this.status);
    loading(this.body);
    if (this.stream) this.stream.stop();
    // A new search aborts the one still in flight: its answer would overwrite this one's, and
    // the server cancels an abandoned search on PostgreSQL (a broad one can take seconds).
    if (this.inflight) this.inflight.abort();
    const inflight = (this.inflight = new AbortController());
    try {
      this.result = await api("/logs", { signal: inflight.signal, query: { limit: LIMIT, offset: s.offset, search: s.search, start_time: s.start, end_time: s.end } });
    } catch (e) {
      if (e.name === "AbortError") return;
      replace(this.status, notice("error", reason(e)));
      replace(this.body, h("p", { class: "muted" }, "No results."));
      replace(this.head);
      return;
    }
    this.fresh = 0;
    this.#draw();
    this.#follow();
  }

  #follow() {
    const s = this.state;
    if (s.end || this.gone) return; // a closed range gets nothing new; a left page neither // a closed range gets nothing new
    const newest = this.result.data.length ? this.result.data[0].id : 0;
    this.stream = new LiveStream({
      search: s.search,
      startTime: s.start,
      onFrame: (type, data) => {
        if (type === "logs") this.#arrived(data);
      },
      onState: (state) => {
        this.page.dataset.live = state;
      },
    });
    this.stream.start(newest);
  }

  #arrived(rows) {
    this.result.total += rows.length;
    if (this.state.offset === 0) {
      const fresh = [...rows].reverse();
      this.result.data = [...fresh, ...this.result.data].slice(0, LIMIT);
      this.fresh += rows.length;
    } else {
      this.fresh += rows.length;
    }
    if (!this.frame) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.#draw();
      });
    }
  }

  #draw() {
    const r = this.result;
    const newer = this.state.offset > 0 && this.fresh
      ? h("button", { type: "button", class: "button small", on: { click: () => this.#go({ offset: 0 }) } }, `${num(this.fresh)} new — show`)
      : null;
    replace(this.head, pager(r, (offset) => this.#go({ offset })), newer,
      this.state.end ? null : h("span", { class: "muted live-note" }, this.state.offset === 0 ? "new records appear live" : ""));
    if (!r.data.length) {
      replace(this.body, h("p", { class: "muted" }, "No record matches."));
      return;
    }
    const rows = [];
    for (const row of r.data) {
      const opened = this.open.has(row.id);
      const toggle = h("button", { type: "button", class: "disclose", "aria-expanded": String(opened), "aria-label": `Details of record ${row.id}` }, opened ? "▾" : "▸");
      const tr = h("tr", { class: ["log-row", opened ? "open" : ""], dataset: { id: row.id } },
        h("td", {}, toggle),
        h("td", { class: "mono nowrap" }, ts(row.timestamp)),
        h("td", {}, row.decky), h("td", {}, row.service), h("td", {}, row.event_type),
        h("td", { class: "mono" }, row.attacker_ip || "–"),
        h("td", { class: "msg" }, row.msg));
      const flip = () => {
        if (this.open.has(row.id)) this.open.delete(row.id);
        else this.open.add(row.id);
        this.#draw();
        const again = this.body.querySelector(`tr.log-row[data-id="${row.id}"] .disclose`);
        if (again) again.focus();
      };
      toggle.addEventListener("click", (ev) => {
        ev.stopPropagation();
        flip();
      });
      tr.addEventListener("click", (ev) => {
        if (!ev.target.closest("a, button") && !window.getSelection().toString()) flip();
      });
      rows.push(tr);
      if (opened) rows.push(h("tr", { class: "log-detail-row" }, h("td", { colspan: "7" }, detail(row))));
    }
    replace(this.body, dataTable(["", "Time (UTC)", "Decky", "Service", "Event", "Attacker", "Message"], rows, { className: "logs-table" }));
  }

  unmount() {
    this.gone = true;
    if (this.inflight) this.inflight.abort();
    if (this.stream) this.stream.stop();
    cancelAnimationFrame(this.frame);
  }
}

export default pageModule("Logs", (root, { query }) => new LogsPage(root, query));
