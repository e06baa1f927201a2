// Attackers: every profile, in each of the API's orders, searchable by IP and service.

import { api } from "../api.js";
import { card, chip, dataTable, h, replace } from "../dom.js";
import { ago, num, ts } from "../format.js";
import { link, pageModule, setQuery } from "../router.js";
import { loadPage } from "../widgets.js";

const LIMIT = 50;
const SORTS = [["recent", "Most recent"], ["active", "Most active"], ["traversals", "Traversals first"]];
const SERVICES = ["", "ssh", "telnet", "http", "https", "ftp", "smtp", "mysql", "postgres", "redis", "smb", "rdp", "ldap",
  "snmp", "sip", "mqtt", "imap", "pop3", "docker_api", "k8s", "llmnr", "sniffer"];
const HEADERS = ["Attacker", "Last seen", "First seen", "Events", "Services", "Deckies", "Path", "Bounty", "Credentials", "Commands", "Behaviour"];

function row(a) {
  return h("tr", { dataset: { uuid: a.uuid } },
    h("td", {}, h("a", { href: link(`/attackers/${a.uuid}`), class: "mono" }, a.ip)),
    h("td", { class: "nowrap", title: ts(a.last_seen) }, ago(a.last_seen)),
    h("td", { class: "nowrap mono" }, ts(a.first_seen)),
    h("td", { class: "num" }, num(a.event_count)),
    h("td", {}, h("span", { class: "chips" }, a.services.map((x) => chip(x)))),
    h("td", { class: "num" }, num(a.decky_count)),
    h("td", {}, a.traversal_path ? h("span", { class: "path" }, a.traversal_path) : h("span", { class: "muted" }, "–")),
    h("td", { class: "num" }, num(a.bounty_count)),
    h("td", { class: "num" }, num(a.credential_count)),
    h("td", { class: "num" }, num(a.command_count)),
    h("td", {}, chip(a.behavior ? a.behavior.behavior_class : "unknown", "class")));
}

class AttackersPage {
  constructor(root, query) {
    this.root = root;
    this.state = {
      search: query.get("search") || "",
      service: query.get("service") || "",
      sort: query.get("sort") || "recent",
      offset: Math.max(0, Number(query.get("offset")) || 0),
    };
  }

  mount() {
    const s = this.state;
    const search = h("input", { type: "search", value: s.search, placeholder: "IP or part of one", "aria-label": "Search attackers by IP", class: "grow", dataset: { hotkey: "search" } });
    const service = h("select", { "aria-label": "Service touched" },
      SERVICES.map((name) => h("option", { value: name, selected: name === s.service }, name || "Any service")));
    const sort = h("select", { "aria-label": "Order" },
      SORTS.map(([value, label]) => h("option", { value, selected: value === s.sort }, label)));
    const form = h("form", { class: "filters inline-form", role: "search" }, search, service, sort,
      h("button", { type: "submit", class: "button primary" }, "Apply"));
    const apply = () => this.#go({ search: search.value.trim(), service: service.value, sort: sort.value, offset: 0 });
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      apply();
    });
    sort.addEventListener("change", apply);
    service.addEventListener("change", apply);
    this.status = h("div", { class: "form-status" });
    this.head = h("div", { class: "results-head" });
    this.body = h("div", { class: "results" });
    replace(this.root, h("div", { class: "attackers-page" },
      h("h1", { class: "page-title" }, "Attackers"),
      card("Find", null, form, this.status),
      card("Profiles", null, this.head, this.body)));
    return this.#load();
  }

  #go(next) {
    this.state = { ...this.state, ...next };
    const s = this.state;
    setQuery({ search: s.search, service: s.service, sort: s.sort === "recent" ? "" : s.sort, offset: s.offset || "" });
    return this.#load();
  }

  #load() {
    const s = this.state;
    const query = { limit: LIMIT, offset: s.offset, search: s.search, service: s.service, sort_by: s.sort };
    return loadPage(this, () => api("/attackers", { query }), {
      go: (offset) => this.#go({ offset }),
      empty: "No attacker matches.",
      draw: (rows) => dataTable(HEADERS, rows.map(row), { className: "attackers-table" }),
    });
  }
}

export default pageModule("Attackers", (root, { query }) => new AttackersPage(root, query));
