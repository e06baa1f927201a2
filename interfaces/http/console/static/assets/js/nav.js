// The navigation bar: one entry per page, with the roles that may see it. Pages for APIs that do
// not exist yet are not shown.

import { h, replace } from "./dom.js";

export const NAV = [
  { path: "/overview", label: "Overview" },
  { path: "/logs", label: "Logs" },
  { path: "/attackers", label: "Attackers" },
  { path: "/bounty", label: "Bounty" },
  { path: "/fleet", label: "Fleet" },
  { path: "/projections", label: "Projections" },
  { path: "/views", label: "Views", roles: ["auditor", "admin"] },
  { path: "/events", label: "Events", roles: ["auditor", "admin"] },
  { path: "/audit", label: "Audit", roles: ["auditor", "admin"] },
  { path: "/config", label: "Config" },
  // Verification and evidence export slot in here when their APIs exist.
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
