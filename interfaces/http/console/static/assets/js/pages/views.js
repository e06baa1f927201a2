// As-of views (auditors and admins): every read model rebuilt as of a past position or time.
// "Read" switches the whole console to that view; the banner leads back to live.

import { api, reason } from "../api.js";
import { card, chip, dataTable, field, h, notice, replace } from "../dom.js";
import { num, toApiTime, ts } from "../format.js";
import { Poll } from "../poll.js";
import { pageModule } from "../router.js";
import { activeView, setView } from "../view.js";
import { confirmDialog, toast } from "../widgets.js";

const POLL_MS = 2000;
const STATES = { ready: "ok", building: "warn", failed: "bad" };

class ViewsPage {
  constructor(root) {
    this.root = root;
  }

  async mount() {
    this.status = h("div", { class: "form-status" });
    this.body = h("div", {}, h("p", { class: "muted" }, "Loading…"));
    replace(this.root, h("div", { class: "views-page" },
      h("h1", { class: "page-title" }, "As-of views"),
      card("Views", null, this.status, this.body),
      card("New view", null, this.#form())));
    this.poll = new Poll("/views", POLL_MS, this.status, (views) => this.#draw(views));
    await this.poll.refresh();
  }

  #form() {
    const label = h("input", { type: "text", name: "label", required: true, pattern: "[a-z0-9][a-z0-9\\-]{0,39}", placeholder: "e.g. before-incident" });
    const time = h("input", { type: "datetime-local", step: "1", name: "until_time" });
    const position = h("input", { type: "number", min: "0", name: "until_position", placeholder: "or a store position" });
    const status = h("div", { class: "form-status" });
    const submit = h("button", { type: "submit", class: "button primary", dataset: { command: "create-view" } }, "Create view");
    const form = h("form", { class: "stack-form" },
      h("div", { class: "inline-fields" }, field("Label", label, "a-z, 0-9 and -"), field("As of (UTC)", time), field("Or store position", position)),
      submit, status);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const until = position.value !== "" ? Number(position.value) : toApiTime(time.value);
      if (until === "") {
        replace(status, notice("error", "Give a time or a store position."));
        return;
      }
      submit.disabled = true;
      replace(status);
      try {
        const result = await api("/views", { method: "POST", body: { label: label.value.trim(), until } });
        replace(status, notice("ok", `${result.message} (as of position ${num(result.until_position)}); it is being built.`));
        await this.poll.refresh();
      } catch (e) {
        replace(status, notice("error", reason(e)));
      } finally {
        submit.disabled = false;
      }
    });
    return form;
  }

  #draw(views) {
    if (!views.length) {
      replace(this.body, h("p", { class: "muted" }, "No view yet."));
      return;
    }
    replace(this.body, dataTable(["Label", "State", "As of", "Rows", "Created", ""], views.map((v) => this.#row(v)),
      { className: "views-table" }));
  }

  #row(v) {
    const reading = activeView() === v.label;
    const use = h("button", { type: "button", class: "button small", disabled: v.state !== "ready" || reading,
      "aria-label": `Read the view ${v.label}` }, reading ? "Reading" : "Read");
    use.addEventListener("click", () => {
      setView(v.label);
      toast(`Reading the view ${v.label}`);
    });
    const drop = h("button", { type: "button", class: "button small danger", "aria-label": `Drop the view ${v.label}` }, "Drop");
    drop.addEventListener("click", () => this.#drop(v.label));
    return h("tr", { dataset: { view: v.label, state: v.state } },
      h("td", {}, h("strong", { class: "mono" }, v.label)),
      h("td", {}, chip(v.state, STATES[v.state] || ""), v.state === "building" ? h("progress", { max: "1", value: String(v.progress || 0) }) : null),
      h("td", {}, `position ${num(v.until_position)}`, v.until_time ? h("div", { class: "muted small" }, ts(v.until_time)) : null),
      h("td", { class: "num" }, num(v.rows)),
      h("td", {}, ts(v.created_at), v.created_by ? h("div", { class: "muted small", title: v.created_by }, v.created_by_username || v.created_by) : null),
      h("td", {}, h("div", { class: "row-actions" }, use, drop)));
  }

  async #drop(label) {
    if (!(await confirmDialog({ title: `Drop the view ${label}?`, text: "Its tables are deleted; it can be built again.", confirm: "Drop", danger: true }))) return;
    try {
      await api(`/views/${encodeURIComponent(label)}`, { method: "DELETE" });
      if (activeView() === label) setView(null);
      toast(`View ${label} dropped`);
    } catch (e) {
      toast(reason(e), "error");
    }
    await this.poll.refresh();
  }

  unmount() {
    this.poll.stop();
  }
}

export default pageModule("Views", (root) => new ViewsPage(root));
