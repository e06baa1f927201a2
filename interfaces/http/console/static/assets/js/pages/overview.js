// Overview: stats tiles, the histogram, the live log tail and the most recent attackers, all
// kept current by one live stream (stats and histogram frames, log frames).

import { api, reason } from "../api.js";
import { HistogramChart } from "../chart.js";
import { card, chip, h, notice, replace } from "../dom.js";
import { ago, num, ts } from "../format.js";
import { LiveStream } from "../live.js";
import { link, pageModule, setQuery } from "../router.js";
import { LiveTail } from "../tail.js";
import { searchHelp } from "../widgets.js";

const INTERVALS = [[1, "1 min"], [5, "5 min"], [15, "15 min"], [60, "1 h"], [360, "6 h"], [1440, "1 day"]];
const WINDOWS = [[60, "Last hour"], [360, "Last 6 h"], [1440, "Last 24 h"], [10080, "Last 7 days"], [0, "All time"]];
const TILES = [
  ["total_logs", "Logs"], ["unique_attackers", "Attackers"], ["active_deckies", "Active deckies"], ["deployed_deckies", "Deployed deckies"],
];
const STREAM_INTERVAL = 15; // the stream's histogram frames use 15-minute buckets over all time
const REFRESH_MS = 2000;

function select(options, value, label) {
  return h("select", { "aria-label": label },
    options.map(([v, text]) => h("option", { value: String(v), selected: String(v) === String(value) }, text)));
}

class Overview {
  constructor(root, query) {
    this.root = root;
    this.interval = Number(query.get("interval")) || STREAM_INTERVAL;
    this.window = query.has("window") ? Number(query.get("window")) : 1440;
    this.filter = query.get("filter") || "";
    this.tiles = {};
    this.timers = {};
    this.chart = new HistogramChart({ height: 200 });
    this.tail = new LiveTail({ maxRows: 200 });
    this.attackers = h("div", { class: "recent-attackers" });
    this.liveState = h("span", { class: "live-state", dataset: { state: "idle" } }, "offline");
    this.filterStatus = h("div", { class: "form-status" });
    this.health = h("div", { class: "health-notice" });
    this.stream = null;
  }

  async mount() {
    replace(this.root, this.#layout());
    const [stats, histogram, latest, attackers, health] = await Promise.allSettled([
      api("/stats"), this.#histogram(), api("/logs", { query: { limit: 50, search: this.filter } }), api("/attackers", { query: { limit: 8 } }),
      api("/health", { answers: [503] }),
    ]);
    if (health.status === "fulfilled") this.#health(health.value);
    if (stats.status === "fulfilled") this.#stats(stats.value);
    if (histogram.status === "fulfilled") this.#drawHistogram(histogram.value);
    if (attackers.status === "fulfilled") this.#attackers(attackers.value.data);
    let lastId = 0;
    if (latest.status === "fulfilled") {
      this.tail.push([...latest.value.data].reverse());
      lastId = latest.value.data.length ? latest.value.data[0].id : 0;
    } else {
      replace(this.filterStatus, notice("error", reason(latest.reason)));
    }
    if (this.gone) return;
    this.page.dataset.ready = "true";
    performance.mark("decnet:overview-ready");
    this.#connect(lastId);
  }

  #layout() {
    const tiles = h("div", { class: "tiles" }, TILES.map(([key, label]) => {
      const value = h("div", { class: "tile-value", dataset: { stat: key } }, "–");
      this.tiles[key] = value;
      return h("div", { class: "tile" }, h("div", { class: "tile-label" }, label), value);
    }));
    const interval = select(INTERVALS, this.interval, "Bucket size");
    interval.addEventListener("change", () => {
      this.interval = Number(interval.value);
      this.#remember();
      this.#refreshHistogram(true);
    });
    const windowPick = select(WINDOWS, this.window, "Time window");
    windowPick.addEventListener("change", () => {
      this.window = Number(windowPick.value);
      this.#remember();
      this.#refreshHistogram(true);
    });
    const pause = h("button", { type: "button", class: "button small", "aria-pressed": "false" }, "Pause");
    pause.addEventListener("click", () => {
      const paused = pause.getAttribute("aria-pressed") !== "true";
      pause.setAttribute("aria-pressed", String(paused));
      pause.textContent = paused ? "Resume" : "Pause";
      if (paused) this.tail.pause();
      else this.tail.resume();
    });
    const filter = h("input", { type: "search", value: this.filter, placeholder: "Filter, e.g. service:ssh event:auth", "aria-label": "Filter the live tail", class: "grow" });
    const filterForm = h("form", { class: "inline-form", role: "search" }, filter,
      h("button", { type: "submit", class: "button small" }, "Apply"));
    filterForm.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.#applyFilter(filter.value.trim());
    });
    this.page = h("div", { class: "overview", dataset: { ready: "false" } },
      h("h1", { class: "page-title" }, "Overview"),
      this.health,
      tiles,
      card("Records over time", [windowPick, interval], this.chart.wrap),
      h("div", { class: "overview-grid" },
        card("Live log tail", [this.liveState, pause],
          h("div", { class: "tail-tools" }, filterForm, searchHelp()), this.filterStatus, this.tail.element),
        card("Recent attackers", h("a", { href: link("/attackers"), class: "button ghost small" }, "All attackers"), this.attackers)));
    return this.page;
  }

  // A server not healthy says which components fail and why (a Redis outage, a process holding
  // another signing key, the database); a healthy one shows nothing.
  #health(report) {
    if (!report || report.status === "healthy") return;
    const failing = Object.entries(report.components || {}).filter(([, c]) => c.status === "failing");
    replace(this.health, h("div", { class: `notice ${report.status === "unhealthy" ? "error" : "warn"}`, role: "status" },
      `The server is ${report.status}:`,
      h("ul", {}, failing.map(([name, c]) => h("li", { dataset: { component: name } }, h("strong", {}, name), ` — ${c.detail}`)))));
  }

  #remember() {
    setQuery({ interval: this.interval === STREAM_INTERVAL ? "" : this.interval, window: this.window === 1440 ? "" : this.window, filter: this.filter });
  }

  async #applyFilter(text) {
    replace(this.filterStatus);
    let latest;
    try {
      latest = await api("/logs", { query: { limit: 50, search: text } }); // validates it too
    } catch (e) {
      replace(this.filterStatus, notice("error", reason(e)));
      return;
    }
    this.filter = text;
    this.#remember();
    this.tail.clear();
    this.tail.push([...latest.data].reverse());
    this.#connect(latest.data.length ? latest.data[0].id : 0);
  }

  #connect(lastId) {
    if (this.stream) this.stream.stop();
    this.stream = new LiveStream({
      search: this.filter,
      onFrame: (type, data) => this.#frame(type, data),
      onState: (state) => {
        this.liveState.dataset.state = state;
        this.liveState.textContent = { live: "live", connecting: "connecting…", reconnecting: "reconnecting…", view: "as-of view" }[state] || "offline";
      },
    });
    this.stream.start(lastId);
  }

  #frame(type, data) {
    if (type === "stats") this.#stats(data);
    else if (type === "logs") {
      this.tail.push(data);
      this.#later("attackers", 5000, () => this.#refreshAttackers());
    } else if (type === "histogram") {
      if (this.interval === STREAM_INTERVAL && !this.filter) this.#drawHistogram(data);
      else this.#refreshHistogram(false);
    }
  }

  #stats(stats) {
    for (const [key, el] of Object.entries(this.tiles)) el.textContent = num(stats[key]);
  }

  #range() {
    const to = Date.now() / 1000;
    return this.window ? { from: to - this.window * 60, to } : { from: null, to: null };
  }

  #histogram() {
    const { from } = this.#range();
    const start = from ? new Date(from * 1000).toISOString().replace(/\.\d+Z$/, "Z") : "";
    return api("/logs/histogram", { query: { interval_minutes: this.interval, start_time: start } });
  }

  #drawHistogram(buckets) {
    const { from, to } = this.#range();
    const shown = from ? buckets.filter((b) => Date.parse(b.bucket) / 1000 >= from - this.interval * 60) : buckets;
    this.chart.set(shown, this.interval, from, to);
  }

  #refreshHistogram(now) {
    const run = async () => {
      try {
        this.#drawHistogram(await this.#histogram());
      } catch {
        // the next frame tries again
      }
    };
    if (now) run();
    else this.#later("histogram", REFRESH_MS, run);
  }

  async #refreshAttackers() {
    try {
      this.#attackers((await api("/attackers", { query: { limit: 8 } })).data);
    } catch {
      // kept as it was
    }
  }

  /** Run `fn` at most once per `ms` (the latest call wins). */
  #later(name, ms, fn) {
    if (this.timers[name]) return;
    this.timers[name] = setTimeout(() => {
      this.timers[name] = null;
      fn();
    }, ms);
  }

  #attackers(rows) {
    if (!rows.length) {
      replace(this.attackers, h("p", { class: "muted" }, "No attacker has touched a decky yet."));
      return;
    }
    replace(this.attackers, h("ul", { class: "attacker-list" }, rows.map((a) => h("li", {},
      h("a", { href: link(`/attackers/${a.uuid}`), class: "mono" }, a.ip),
      h("span", { class: "muted", title: ts(a.last_seen) }, ago(a.last_seen)),
      h("span", {}, `${num(a.event_count)} events`),
      h("span", { class: "chips" }, a.services.slice(0, 5).map((s) => chip(s)), a.is_traversal ? chip("traversal", "warn") : null)))));
  }

  unmount() {
    this.gone = true;
    if (this.stream) this.stream.stop();
    for (const timer of Object.values(this.timers)) clearTimeout(timer);
    this.chart.destroy();
    this.tail.destroy();
  }
}

export default pageModule("Overview", (root, { query }) => new Overview(root, query));
