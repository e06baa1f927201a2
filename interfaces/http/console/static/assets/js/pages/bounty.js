// The bounty vault: harvested credentials, fingerprints and captured files, by type.

import { api } from "../api.js";
import { card, chip, dataTable, h, replace } from "../dom.js";
import { bytes, ts } from "../format.js";
import { link, pageModule, setQuery } from "../router.js";
import { loadPage } from "../widgets.js";
import { artifactButton } from "./attacker.js";

const LIMIT = 50;
const TYPES = [["", "All"], ["credential", "Credentials"], ["fingerprint", "Fingerprints"], ["artifact", "Artifacts"]];
const HEADERS = ["Time (UTC)", "Type", "Decky", "Service", "Attacker", "Payload"];

function payloadCell(b) {
  const p = b.payload || {};
  if (b.bounty_type === "credential") {
    return h("span", {}, h("code", {}, p.username), h("span", { class: "muted" }, " : "), h("code", {}, p.password));
  }
  if (b.bounty_type === "artifact") {
    return h("span", { class: "artifact-cell" }, h("code", {}, p.orig_path || p.stored_as), " ",
      h("span", { class: "muted" }, `${bytes(p.size)} · sha256 ${(p.sha256 || "").slice(0, 12)}…`), " ",
      p.stored_as ? artifactButton(b.decky, b.service, p.stored_as) : null);
  }
  const rest = Object.entries(p).filter(([k]) => k !== "fingerprint_type")
    .map(([k, v]) => (k === "value" ? String(v) : `${k}=${v}`)).join(" · ");
  return h("span", {}, chip(p.fingerprint_type || "fingerprint"), " ", h("code", { class: "wrap" }, rest));
}

function row(b) {
  return h("tr", { dataset: { type: b.bounty_type } },
    h("td", { class: "mono nowrap" }, ts(b.timestamp)),
    h("td", {}, chip(b.bounty_type, b.bounty_type)),
    h("td", {}, b.decky), h("td", {}, b.service),
    h("td", {}, b.attacker_ip ? h("a", { class: "mono", href: link(`/attackers/${b.attacker_ip}`) }, b.attacker_ip) : "–"),
    h("td", {}, payloadCell(b)));
}

class BountyPage {
  constructor(root, query) {
    this.root = root;
    this.state = { type: query.get("type") || "", search: query.get("search") || "", offset: Math.max(0, Number(query.get("offset")) || 0) };
  }

  mount() {
    this.typeButtons = TYPES.map(([value, label]) => h("button", {
      type: "button", class: "segment", "aria-pressed": String(value === this.state.type), dataset: { type: value },
      on: { click: () => this.#go({ type: value, offset: 0 }) },
    }, label));
    const search = h("input", { type: "search", value: this.state.search, class: "grow", placeholder: "IP, decky, service or value", "aria-label": "Search the vault", dataset: { hotkey: "search" } });
    const form = h("form", { class: "inline-form grow", role: "search" }, search, h("button", { type: "submit", class: "button primary" }, "Search"));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.#go({ search: search.value.trim(), offset: 0 });
    });
    this.status = h("div", { class: "form-status" });
    this.head = h("div", { class: "results-head" });
    this.body = h("div", { class: "results" });
    replace(this.root, h("div", { class: "bounty-page" },
      h("h1", { class: "page-title" }, "Bounty vault"),
      card("Filter", null, h("div", { class: "filters" }, h("div", { class: "segments", role: "group", "aria-label": "Bounty type" }, this.typeButtons), form), this.status),
      card("Harvest", null, this.head, this.body)));
    return this.#load();
  }

  #go(next) {
    this.state = { ...this.state, ...next };
    setQuery({ type: this.state.type, search: this.state.search, offset: this.state.offset || "" });
    for (const b of this.typeButtons) b.setAttribute("aria-pressed", String(b.dataset.type === this.state.type));
    return this.#load();
  }

  #load() {
    const s = this.state;
    const query = { bounty_type: s.type, search: s.search, limit: LIMIT, offset: s.offset };
    return loadPage(this, () => api("/bounty", { query }), {
      go: (offset) => this.#go({ offset }),
      empty: "Nothing harvested matches.",
      draw: (rows) => dataTable(HEADERS, rows.map(row), { className: "bounty-table" }),
    });
  }
}

export default pageModule("Bounty", (root, { query }) => new BountyPage(root, query));
