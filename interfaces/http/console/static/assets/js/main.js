// Boot: restore the session, draw the top bar, route. Every page lives in ./pages/.

import { signOut, restore } from "./auth.js";
import { h, replace } from "./dom.js";
import { renderNav } from "./nav.js";
import { location, reload, render, route, start } from "./router.js";
import { canAudit, currentUser, events } from "./session.js";
import { activeView, setView, viewEvents } from "./view.js";
import attacker from "./pages/attacker.js";
import attackers from "./pages/attackers.js";
import audit from "./pages/audit.js";
import bounty from "./pages/bounty.js";
import config from "./pages/config.js";
import eventsPage from "./pages/events.js";
import fleet from "./pages/fleet.js";
import login, { explain } from "./pages/login.js";
import logs from "./pages/logs.js";
import overview from "./pages/overview.js";
import projections from "./pages/projections.js";
import views from "./pages/views.js";

route("/login", login);
route("/overview", overview);
route("/logs", logs);
route("/attackers", attackers);
route("/attackers/:id", attacker);
route("/bounty", bounty);
route("/fleet", fleet);
route("/projections", projections);
route("/views", views);
route("/events", eventsPage);
route("/audit", audit);
route("/config", config);

const main = document.getElementById("main");
const topbar = document.getElementById("topbar");
const nav = document.getElementById("nav");
const who = document.getElementById("who");
const themeButton = document.getElementById("theme-toggle");
const banner = document.getElementById("view-banner");

function drawBanner() {
  const label = currentUser() ? activeView() : null;
  banner.hidden = !label;
  if (!label) return;
  const back = h("button", { type: "button", class: "button small" }, "Back to live");
  back.addEventListener("click", () => setView(null));
  replace(banner, h("span", {}, "Reading the as-of view ", h("strong", { class: "mono" }, label),
    ": every page shows the read models as they were; live updates are off. "), back);
}

viewEvents.addEventListener("change", () => {
  drawBanner();
  reload();
});

function drawTopbar() {
  const user = currentUser();
  topbar.hidden = !user;
  if (activeView() && !canAudit()) setView(null); // signed out, or not allowed to read views
  drawBanner();
  if (!user) return;
  renderNav(nav, user, location().path);
  replace(who, h("span", { class: "who-name" }, user.username), " ", h("span", { class: ["chip", `role-${user.role}`] }, user.role));
}

function drawThemeButton() {
  const dark = document.documentElement.dataset.theme === "dark";
  themeButton.textContent = dark ? "☀" : "☾";
  themeButton.setAttribute("aria-label", dark ? "Switch to the light theme" : "Switch to the dark theme");
  themeButton.title = themeButton.getAttribute("aria-label");
}

themeButton.addEventListener("click", () => {
  const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
  document.documentElement.dataset.theme = next;
  try {
    window.localStorage.setItem("decnet.theme", next);
  } catch {
    // not persisted: fine
  }
  drawThemeButton();
  document.dispatchEvent(new Event("themechange"));
});

document.getElementById("logout").addEventListener("click", async () => {
  await signOut();
  explain("You signed out.");
  window.location.hash = "#/login";
});

document.getElementById("skip-link").addEventListener("click", () => main.focus());

document.addEventListener("keydown", (ev) => {
  const typing = ev.target.closest && ev.target.closest("input, textarea, select, [contenteditable]");
  if (ev.key === "/" && !typing && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
    const search = main.querySelector("[data-hotkey='search']");
    if (search) {
      ev.preventDefault();
      search.focus();
      search.select();
    }
  }
});

events.addEventListener("changed", drawTopbar);
events.addEventListener("expired", (ev) => {
  explain(ev.detail || "Your session ended; please sign in again.");
  render();
});
document.addEventListener("routed", (ev) => {
  drawTopbar();
  const title = ev.detail.page.title;
  if (title) document.title = `${title} · decnet-es`;
});

function guard(path) {
  if (!currentUser()) return path === "/login" ? null : "/login";
  return path === "/login" ? "/overview" : null;
}

async function boot() {
  document.documentElement.dataset.booted = "true";
  drawThemeButton();
  try {
    await restore();
  } catch {
    explain("The server cannot be reached right now.");
  }
  drawTopbar();
  await start(main, guard);
}

boot();
