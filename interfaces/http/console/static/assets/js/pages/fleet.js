// Fleet: every decky with its live status (polled: the stream has no fleet frames yet), IP,
// services and ports; admins deploy from an INI, mutate, set intervals and tear down.

import { api, reason } from "../api.js";
import { card, chip, dataTable, h, notice, replace } from "../dom.js";
import { ts } from "../format.js";
import { EXAMPLE, IniEditor } from "../ini.js";
import { pageModule } from "../router.js";
import { isAdmin } from "../session.js";
import { activeView } from "../view.js";
import { confirmDialog, statusChip, toast } from "../widgets.js";

const POLL_MS = 3000;
const INTERVAL = /^[1-9]\d*[mdMyY]$/;

function ports(d) {
  return h("span", { class: "chips" }, d.services.map((s) => chip(d.ports && d.ports[s] ? `${s}:${d.ports[s]}` : s)));
}

function interval(d) {
  if (d.mutate_interval === null || d.mutate_interval === undefined) return h("span", { class: "muted" }, `global (${d.effective_mutate_interval})`);
  return typeof d.mutate_interval === "number" ? `${d.mutate_interval}m` : String(d.mutate_interval);
}

class FleetPage {
  constructor(root) {
    this.root = root;
    this.admin = isAdmin() && !activeView(); // commands act on the live fleet
    this.timer = null;
    this.busy = new Set();
    this.deckies = [];
  }

  async mount() {
    this.status = h("div", { class: "form-status" });
    this.list = h("div", { class: "fleet-list" }, h("p", { class: "muted" }, "Loading…"));
    this.summary = h("span", { class: "muted" });
    const parts = [h("h1", { class: "page-title" }, "Fleet"),
      card("Deckies", this.summary, this.status, this.list)];
    if (this.admin) parts.push(this.#deployCard());
    replace(this.root, h("div", { class: "fleet-page" }, parts));
    await this.#refresh();
    this.#schedule();
  }

  #schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(async () => {
      if (!document.hidden) await this.#refresh();
      this.#schedule();
    }, POLL_MS);
  }

  async #refresh() {
    try {
      this.deckies = await api("/deckies");
      replace(this.status);
    } catch (e) {
      replace(this.status, notice("error", reason(e)));
      return;
    }
    this.#draw();
  }

  #draw() {
    const running = this.deckies.filter((d) => d.status === "running").length;
    this.summary.textContent = `${running} of ${this.deckies.length} running`;
    if (!this.deckies.length) {
      replace(this.list, h("p", { class: "muted" }, this.admin ? "No decky yet: deploy an INI below." : "No decky deployed yet."));
      return;
    }
    const focused = document.activeElement && document.activeElement.closest("[data-decky]");
    const keep = focused ? [focused.dataset.decky, document.activeElement.dataset.command] : null;
    const headers = ["Decky", "Status", "IP", "Host", "Services and ports", "Mutation", "Deployed"];
    if (this.admin) headers.push("Commands");
    replace(this.list, dataTable(headers, this.deckies.map((d) => this.#row(d)), { className: "fleet-table" }));
    if (keep) {
      const again = this.list.querySelector(`[data-decky="${CSS.escape(keep[0])}"] [data-command="${keep[1]}"]`);
      if (again) again.focus();
    }
  }

  #row(d) {
    const cells = [
      h("td", {}, h("strong", {}, d.name), h("div", { class: "muted small" }, [d.archetype, d.distro].filter(Boolean).join(" · "))),
      h("td", {}, statusChip(d.status), d.status_detail ? h("div", { class: "muted small wrap" }, d.status_detail) : null),
      h("td", { class: "mono" }, d.ip),
      h("td", {}, h("span", { class: "mono" }, d.hostname), h("div", { class: "muted small" }, d.nmap_os || "")),
      h("td", {}, ports(d)),
      h("td", {}, interval(d), h("div", { class: "muted small" }, d.next_mutation_at ? `next ${ts(d.next_mutation_at)}` : ""),
        d.last_mutated ? h("div", { class: "muted small" }, `last ${ts(d.last_mutated)}`) : null),
      h("td", { class: "mono nowrap" }, ts(d.deployed_at)),
    ];
    if (this.admin) cells.push(h("td", {}, this.#commands(d)));
    return h("tr", { dataset: { decky: d.name, status: d.status } }, cells);
  }

  #commands(d) {
    const busy = this.busy.has(d.name);
    const button = (label, command, fn, kind = "") => h("button", {
      type: "button", class: ["button", "small", kind], disabled: busy, dataset: { command },
      "aria-label": `${label} ${d.name}`, on: { click: fn },
    }, label);
    return h("div", { class: "row-actions" },
      button("Mutate", "mutate", () => this.#mutate(d)),
      button("Interval", "interval", () => this.#interval(d), "ghost"),
      button("Tear down", "teardown", () => this.#teardown(d), "danger"));
  }

  async #run(name, work) {
    this.busy.add(name);
    this.#draw();
    try {
      await work();
    } catch (e) {
      toast(`${name}: ${reason(e)}`, "error");
    } finally {
      this.busy.delete(name);
      await this.#refresh();
    }
  }

  #mutate(d) {
    return this.#run(d.name, async () => {
      const result = await api(`/deckies/${encodeURIComponent(d.name)}/mutate`, { method: "POST" });
      toast(`${result.message}: ${result.services.join(", ")}`);
    });
  }

  async #interval(d) {
    const input = h("input", { type: "text", name: "interval", pattern: "[1-9][0-9]*[mdMyY]", placeholder: "e.g. 30m, 2d",
      value: typeof d.mutate_interval === "number" ? `${d.mutate_interval}m` : d.mutate_interval || "" });
    const clear = h("input", { type: "checkbox", name: "clear" });
    const body = h("div", { class: "dialog-body" },
      h("label", { class: "field" }, "Interval (m minutes, d days, M 30 days, y 365 days)", input),
      h("label", { class: "check" }, clear, " Follow the global interval instead"));
    if (!(await confirmDialog({ title: `Mutation interval of ${d.name}`, confirm: "Save", body }))) return;
    const value = clear.checked ? null : input.value.trim();
    if (value !== null && !INTERVAL.test(value)) {
      toast(`${value || "(empty)"} is not an interval like 30m or 2d`, "error");
      return;
    }
    await this.#run(d.name, async () => {
      await api(`/deckies/${encodeURIComponent(d.name)}/mutate-interval`, { method: "PUT", body: { mutate_interval: value } });
      toast(`${d.name}: interval ${value === null ? "follows the global one" : `set to ${value}`}`);
    });
  }

  async #teardown(d) {
    const sure = await confirmDialog({ title: `Tear down ${d.name}?`, text: `Its services on ${d.ip} stop and it leaves the fleet.`, confirm: "Tear down", danger: true });
    if (!sure) return;
    await this.#run(d.name, async () => {
      await api(`/deckies/${encodeURIComponent(d.name)}`, { method: "DELETE" });
      toast(`${d.name} torn down`);
    });
  }

  #deployCard() {
    this.editor = new IniEditor();
    const deploy = h("button", { type: "button", class: "button primary", dataset: { command: "deploy" } }, "Deploy");
    const example = h("button", { type: "button", class: "button ghost" }, "Example");
    this.deployStatus = h("div", { class: "form-status", "aria-live": "polite" });
    example.addEventListener("click", () => {
      this.editor.value = EXAMPLE;
    });
    deploy.addEventListener("click", () => this.#deploy(deploy));
    return card("Deploy from an INI", null,
      h("p", { class: "muted" }, "Sections [name] define deckies (services, archetype, ip, amount, …); [name.service] holds service settings; [general] the network."),
      this.editor.element,
      h("div", { class: "form-actions" }, deploy, example),
      this.deployStatus);
  }

  async #deploy(button) {
    button.disabled = true;
    this.editor.clearProblem();
    replace(this.deployStatus, h("p", { class: "muted" }, "Deploying… (waits until the runtime reports the deckies)"));
    try {
      const response = await api("/deckies/deploy", { method: "POST", body: { ini_content: this.editor.value }, raw: true });
      const body = await response.json();
      const still = response.status === 202;
      replace(this.deployStatus, notice(still ? "info" : "ok", `${body.message}: ${body.deckies.join(", ")}`));
      toast(body.message);
    } catch (e) {
      if (e.status === 422 || e.status === 409) {
        this.editor.showProblem(e.detail, e.status);
        replace(this.deployStatus, notice("error", e.status === 409 ? "The INI conflicts with the fleet (see above)." : "The INI is not valid (see above)."));
      } else {
        replace(this.deployStatus, notice("error", reason(e)));
      }
    } finally {
      button.disabled = false;
      await this.#refresh();
    }
  }

  unmount() {
    clearTimeout(this.timer);
  }
}

export default pageModule("Fleet", (root) => new FleetPage(root));
