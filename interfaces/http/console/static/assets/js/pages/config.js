// Config: the deployment limit and the global mutation interval (admins change them), the
// users (admins create, change roles, reset passwords, delete), and one's own password.

import { api, reason } from "../api.js";
import { changePassword } from "../auth.js";
import { card, chip, dataTable, field, h, notice, replace } from "../dom.js";
import { pageModule } from "../router.js";
import { currentUser, isAdmin } from "../session.js";
import { confirmDialog, toast } from "../widgets.js";

const ROLES = ["viewer", "auditor", "admin"];

function form(onSubmit, ...children) {
  const status = h("div", { class: "form-status" });
  const el = h("form", { class: "stack-form" }, ...children, status);
  el.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const button = el.querySelector("button[type=submit]");
    button.disabled = true;
    replace(status);
    try {
      const message = await onSubmit();
      if (message) replace(status, notice("ok", message));
    } catch (e) {
      replace(status, notice("error", reason(e)));
    } finally {
      button.disabled = false;
    }
  });
  return el;
}

class ConfigPage {
  constructor(root) {
    this.root = root;
    this.admin = isAdmin();
  }

  async mount() {
    this.settings = h("div", {});
    this.users = h("div", {});
    const parts = [h("h1", { class: "page-title" }, "Configuration"),
      h("div", { class: "two-col" }, card("Fleet settings", null, this.settings), card("Your password", null, this.#ownPassword()))];
    if (this.admin) parts.push(card("Users", null, this.users));
    replace(this.root, h("div", { class: "config-page" }, parts));
    await this.#load();
  }

  async #load() {
    let config;
    try {
      config = await api("/config");
    } catch (e) {
      replace(this.settings, notice("error", reason(e)));
      return;
    }
    this.#drawSettings(config);
    if (this.admin) this.#drawUsers(config.users || []);
  }

  #drawSettings(config) {
    if (!this.admin) {
      replace(this.settings, h("dl", { class: "kv" },
        h("dt", {}, "Deployment limit"), h("dd", { dataset: { setting: "deployment_limit" } }, String(config.deployment_limit)),
        h("dt", {}, "Global mutation interval"), h("dd", { dataset: { setting: "global_mutation_interval" } }, config.global_mutation_interval)),
      h("p", { class: "muted" }, "Only admins change these."));
      return;
    }
    const limit = h("input", { type: "number", min: "1", max: "500", required: true, value: String(config.deployment_limit), name: "deployment_limit" });
    const every = h("input", { type: "text", required: true, pattern: "[1-9][0-9]*[mdMyY]", value: config.global_mutation_interval, name: "global_mutation_interval" });
    replace(this.settings,
      form(async () => {
        await api("/config/deployment-limit", { method: "PUT", body: { deployment_limit: Number(limit.value) } });
        return `Deployment limit set to ${limit.value}.`;
      }, field("Deployment limit", limit, "Most deckies the fleet may hold (1–500)"),
      h("button", { type: "submit", class: "button primary", dataset: { command: "set-limit" } }, "Save limit")),
      form(async () => {
        await api("/config/global-mutation-interval", { method: "PUT", body: { global_mutation_interval: every.value.trim() } });
        return `Deckies without their own interval now mutate every ${every.value.trim()}.`;
      }, field("Global mutation interval", every, "m minutes, d days, M 30 days, y 365 days — e.g. 30m"),
      h("button", { type: "submit", class: "button primary", dataset: { command: "set-interval" } }, "Save interval")));
  }

  #ownPassword() {
    const old = h("input", { type: "password", autocomplete: "current-password", required: true });
    const fresh = h("input", { type: "password", autocomplete: "new-password", required: true, minlength: "8", maxlength: "128" });
    return form(async () => {
      await changePassword(currentUser().username, old.value, fresh.value);
      old.value = "";
      fresh.value = "";
      return "Password changed; your other sessions have ended.";
    }, field("Current password", old), field("New password", fresh, "8 to 128 characters"),
    h("button", { type: "submit", class: "button" }, "Change password"));
  }

  #drawUsers(users) {
    const me = currentUser();
    const name = h("input", { type: "text", required: true, maxlength: "64", pattern: "[A-Za-z0-9._\\-]+", name: "username", autocomplete: "off" });
    const password = h("input", { type: "password", required: true, minlength: "8", maxlength: "128", name: "password", autocomplete: "new-password" });
    const role = h("select", { name: "role" }, ROLES.map((r) => h("option", { value: r }, r)));
    const create = form(async () => {
      const user = await api("/config/users", { method: "POST", body: { username: name.value.trim(), password: password.value, role: role.value } });
      toast(`${user.username} created; they choose their own password at first sign-in.`);
      await this.#load();
      return null;
    }, h("div", { class: "inline-fields" }, field("Username", name), field("Initial password", password), field("Role", role)),
    h("button", { type: "submit", class: "button primary", dataset: { command: "create-user" } }, "Create user"));
    const rows = users.map((u) => {
      const self = me && u.uuid === me.uuid;
      const roleSelect = h("select", { "aria-label": `Role of ${u.username}`, disabled: self, dataset: { command: "role" } },
        ROLES.map((r) => h("option", { value: r, selected: r === u.role }, r)));
      roleSelect.addEventListener("change", () => this.#act(() => api(`/config/users/${u.uuid}/role`, { method: "PUT", body: { role: roleSelect.value } }), `${u.username} is now ${roleSelect.value}`));
      const reset = h("button", { type: "button", class: "button small ghost", disabled: self, dataset: { command: "reset" }, "aria-label": `Reset the password of ${u.username}` }, "Reset password");
      reset.addEventListener("click", () => this.#reset(u));
      const remove = h("button", { type: "button", class: "button small danger", disabled: self, dataset: { command: "delete" }, "aria-label": `Delete ${u.username}` }, "Delete");
      remove.addEventListener("click", () => this.#delete(u));
      return h("tr", { dataset: { user: u.username } },
        h("td", {}, h("strong", {}, u.username), self ? h("span", { class: "muted" }, " (you)") : null),
        h("td", {}, roleSelect),
        h("td", {}, u.must_change_password ? chip("must change password", "warn") : chip("active", "ok")),
        h("td", {}, h("div", { class: "row-actions" }, reset, remove)));
    });
    replace(this.users,
      dataTable(["User", "Role", "State", "Commands"], rows, { className: "users-table" }),
      h("h3", {}, "New user"), create);
  }

  async #act(work, message) {
    try {
      await work();
      toast(message);
    } catch (e) {
      toast(reason(e), "error");
    }
    await this.#load();
  }

  async #reset(u) {
    const input = h("input", { type: "password", minlength: "8", maxlength: "128", required: true, autocomplete: "new-password" });
    const ok = await confirmDialog({ title: `Reset the password of ${u.username}`, text: "They must change it at their next sign-in; their sessions end now.",
      confirm: "Reset", body: field("New password", input) });
    if (!ok) return;
    await this.#act(() => api(`/config/users/${u.uuid}/reset-password`, { method: "PUT", body: { new_password: input.value } }),
      `Password of ${u.username} reset.`);
  }

  async #delete(u) {
    const ok = await confirmDialog({ title: `Delete ${u.username}?`, text: "Their sessions end at once.", confirm: "Delete", danger: true });
    if (!ok) return;
    await this.#act(() => api(`/config/users/${u.uuid}`, { method: "DELETE" }), `${u.username} deleted.`);
  }
}

export default pageModule("Config", (root) => new ConfigPage(root));
