// Client-side routing on the URL fragment (#/logs?search=...): the server only ever serves `/`,
// and search terms typed into the console never reach a server log as part of a page URL.

const routes = [];
let current = null; // {route, params, view, path}
let root = null;
let guard = () => null;
let renders = 0;

/** Register a page: `pattern` like "/attackers/:id"; `load` resolves to the page module. */
export function route(pattern, page) {
  const names = [];
  const source = pattern.replace(/:([a-z]+)/g, (_, name) => {
    names.push(name);
    return "([^/]+)";
  });
  routes.push({ pattern, regex: new RegExp(`^${source}$`), names, page });
}

/** A page module for `route`: `make(root, {params, query})` builds the page, whose `mount()`
 * draws it; the page is the view the router keeps (`update`, `unmount`). */
export function pageModule(title, make) {
  return {
    title,
    async mount(root, context) {
      const page = make(root, context);
      await page.mount();
      return page;
    },
  };
}

/** The fragment as `{path, query}`. */
export function location() {
  const raw = window.location.hash.replace(/^#/, "") || "/overview";
  const [path, qs = ""] = raw.split("?");
  return { path: path || "/overview", query: new URLSearchParams(qs) };
}

function href(path, query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const qs = params.toString();
  return `#${path}${qs ? `?${qs}` : ""}`;
}

/** Go to a page (adds a history entry unless `replace`). */
export function navigate(path, query, { replace = false } = {}) {
  const target = href(path, query);
  if (window.location.hash === target) render();
  else if (replace) window.location.replace(target);
  else window.location.hash = target;
}

/** Record a page's own state in the URL without re-rendering it (replaces the entry). */
export function setQuery(query) {
  const { path } = location();
  window.history.replaceState(null, "", href(path, query));
}

/** A link target for an anchor. */
export function link(path, query) {
  return href(path, query);
}

function match(path) {
  for (const r of routes) {
    const m = r.regex.exec(path);
    if (m) {
      const params = Object.fromEntries(r.names.map((n, i) => [n, decodeURIComponent(m[i + 1])]));
      return { route: r, params };
    }
  }
  return null;
}

/** Show the page for the current fragment; same page + `update` = keep it and pass the query. */
export async function render() {
  const seq = ++renders;
  const { path, query } = location();
  const redirect = guard(path);
  if (redirect && redirect !== path) {
    window.location.replace(href(redirect, redirect === "/login" ? { next: window.location.hash.slice(1) } : {}));
    return;
  }
  const found = match(path) || match("/overview");
  if (current && current.path === path && current.view && current.view.update) {
    current.view.update(query);
    return;
  }
  if (current && current.view && current.view.unmount) current.view.unmount();
  current = null;
  const view = await found.route.page.mount(root, { params: found.params, query });
  if (seq !== renders) {
    if (view && view.unmount) view.unmount(); // a newer navigation won the race
    return;
  }
  current = { route: found.route, params: found.params, view, path };
  document.dispatchEvent(new CustomEvent("routed", { detail: { path, page: found.route.page } }));
}

/** Re-mount the current page from scratch (after a sign-in, say). */
export function reload() {
  if (!root) return Promise.resolve(); // not routing yet
  if (current && current.view && current.view.unmount) current.view.unmount();
  current = null;
  return render();
}

/** Start routing into `element`; `check(path)` returns a path to redirect to, or null. */
export function start(element, check) {
  root = element;
  guard = check;
  window.addEventListener("hashchange", () => render());
  return render();
}
