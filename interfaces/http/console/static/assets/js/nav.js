// The navigation bar. Pages for auditors (event history, audit trail) slot in here as entries
// when their APIs exist; nothing is shown for what does not.

import { h, replace } from "./dom.js";

export const NAV = [
  { path: "/overview", label: "Overview" },
  { path: "/logs", label: "Logs" },
  { path: "/attackers", label: "Attackers" },
  { path: "/bounty", label: "Bounty" },
  { path: "/fleet", label: "Fleet" },
  { path: "/projections", label: "Projections" },
  { path: "/views", label: "Views", roles: ["auditor", "admin"] },
  { path: "/config", label: "Config" },
  // { path: "/events", label: "Events", roles: ["auditor", "admin"] },
  // { path: "/audit", label: "Audit", roles: ["auditor", "admin"] },
];

/** Render the links the user's role may see; mark the current one. */
export function renderNav(container, user, path) {
  const items = NAV.filter((item) => !item.roles || (user && item.roles.includes(user.role)));
  replace(container, items.map((item) => h("a", {
    href: `#${item.path}`,
    class: "nav-link",
    "aria-current": path === item.path || path.startsWith(`${item.path}/`) ? "page" : null,
  }, item.label)));
}
