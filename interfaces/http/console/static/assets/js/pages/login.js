// Sign-in, and the must-change-password step that follows a first login or an admin's reset.

import { ApiError, reason } from "../api.js";
import { changePassword, signIn } from "../auth.js";
import { field, h, notice, replace } from "../dom.js";
import { navigate } from "../router.js";

let pendingMessage = null;

/** A message for the next sign-in form (why the session ended). */
export function explain(message) {
  pendingMessage = message;
}

function destination(query) {
  const next = query.get("next") || "";
  return next.startsWith("/") && !next.startsWith("/login") ? next : "/overview";
}

function go(next) {
  const [path, qs = ""] = next.split("?");
  navigate(path, Object.fromEntries(new URLSearchParams(qs)));
}

function passwordStep(root, username, oldPassword, next) {
  const fresh = h("input", { type: "password", name: "new_password", autocomplete: "new-password", required: true, minlength: "8", maxlength: "128" });
  const again = h("input", { type: "password", name: "confirm_password", autocomplete: "new-password", required: true, minlength: "8", maxlength: "128" });
  const status = h("div", { class: "form-status" });
  const submit = h("button", { type: "submit", class: "button primary wide" }, "Set password and continue");
  const form = h("form", { class: "login-form", "aria-label": "Choose a new password" },
    h("h1", {}, "Choose a new password"),
    h("p", { class: "muted" }, `The password of ${username} must be changed before the console can be used.`),
    field("New password", fresh, "8 to 128 characters"),
    field("Repeat it", again),
    status, submit);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (fresh.value !== again.value) {
      replace(status, notice("error", "The two passwords differ."));
      again.focus();
      return;
    }
    submit.disabled = true;
    replace(status);
    try {
      await changePassword(username, oldPassword, fresh.value);
      go(next);
    } catch (e) {
      replace(status, notice("error", reason(e)));
      submit.disabled = false;
    }
  });
  replace(root, h("div", { class: "login-page" }, h("div", { class: "login-card" }, brand(), form)));
  fresh.focus();
}

function brand() {
  return h("div", { class: "login-brand" }, h("span", { class: "brand-mark", "aria-hidden": "true" }), "decnet-es");
}

export default {
  title: "Sign in",
  mount(root, { query }) {
    const next = destination(query);
    const username = h("input", { type: "text", name: "username", autocomplete: "username", required: true, maxlength: "64" });
    const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
    const status = h("div", { class: "form-status" });
    if (pendingMessage) {
      replace(status, notice("info", pendingMessage));
      pendingMessage = null;
    }
    const submit = h("button", { type: "submit", class: "button primary wide" }, "Sign in");
    const form = h("form", { class: "login-form", "aria-label": "Sign in" },
      h("h1", {}, "Sign in"), field("Username", username), field("Password", password), status, submit);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      submit.disabled = true;
      replace(status);
      try {
        const result = await signIn(username.value, password.value);
        if (result.mustChange) passwordStep(root, username.value, password.value, next);
        else go(next);
      } catch (e) {
        const text = e instanceof ApiError && e.status === 401 ? "Incorrect username or password." : reason(e);
        replace(status, notice("error", text));
        submit.disabled = false;
        password.select();
      }
    });
    replace(root, h("div", { class: "login-page" }, h("div", { class: "login-card" }, brand(), form)));
    document.title = "Sign in · decnet-es";
    username.focus();
    return {};
  },
};
