// The histogram as bars, drawn by uPlot (vendored in /assets/vendor/uplot, loaded before us).
// Colours come from the theme's CSS variables; a theme switch redraws with the new ones.

import { h } from "./dom.js";
import { num, ts } from "./format.js";

const MAX_FILLED = 20000;

/** Regular buckets: the missing (empty) ones as zeros, from `from` to `to` when given (s). */
export function regular(buckets, minutes, from = null, to = null) {
  const step = minutes * 60;
  const counts = new Map(buckets.map((b) => [Date.parse(b.bucket) / 1000, b.count]));
  const times = [...counts.keys()];
  if (!times.length && from === null) return [[], []];
  const align = (t) => Math.floor(t / step) * step;
  const start = align(from ?? times[0] - step);
  const end = align(to ?? times[times.length - 1] + step);
  if ((end - start) / step > MAX_FILLED) return [times, times.map((t) => counts.get(t))];
  const xs = [];
  const ys = [];
  for (let t = start; t <= end; t += step) {
    xs.push(t);
    ys.push(counts.get(t) || null); // an empty bucket draws nothing
  }
  return [xs, ys];
}

function color(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
}

export class HistogramChart {
  constructor({ height = 220, label = "records" } = {}) {
    this.height = height;
    this.label = label;
    this.data = [[], []];
    this.plot = null;
    this.element = h("div", { class: "chart", role: "img", "aria-label": "Records per time bucket" });
    this.empty = h("p", { class: "chart-empty muted", hidden: true }, "No records in this range.");
    this.wrap = h("div", { class: "chart-wrap" }, this.element, this.empty);
    this.resize = new ResizeObserver(() => this.#fit());
    this.resize.observe(this.element);
    this.onTheme = () => this.#build();
    document.addEventListener("themechange", this.onTheme);
  }

  /** `[{bucket, count}]` ascending -> bars; `from`/`to` (epoch s) pin the range shown. */
  set(buckets, intervalMinutes, from = null, to = null) {
    this.interval = intervalMinutes;
    this.data = regular(buckets, intervalMinutes, from, to);
    this.empty.hidden = buckets.length > 0;
    const total = buckets.reduce((sum, b) => sum + b.count, 0);
    this.element.setAttribute("aria-label", `${num(total)} ${this.label} in ${buckets.length} buckets of ${intervalMinutes} min`);
    if (!this.plot) this.#build();
    else this.plot.setData(this.data);
  }

  destroy() {
    this.resize.disconnect();
    document.removeEventListener("themechange", this.onTheme);
    if (this.plot) this.plot.destroy();
    this.plot = null;
  }

  #build() {
    const uPlot = window.uPlot;
    if (!uPlot || !this.element.isConnected) return;
    if (this.plot) this.plot.destroy();
    const width = Math.max(200, this.element.clientWidth);
    const axis = { stroke: color("--muted"), grid: { stroke: color("--grid"), width: 1 }, ticks: { stroke: color("--grid") } };
    const span = (this.interval || 15) * 60;
    this.plot = new uPlot({
      width,
      height: this.height,
      legend: { show: false },
      // Room on the right for half of the last time label, which is centred on its tick.
      padding: [12, 40, 0, 0],
      tzDate: (t) => uPlot.tzDate(new Date(t * 1000), "Etc/UTC"),
      cursor: { y: false, points: { show: false } },
      scales: {
        x: { time: true, range: (u, min, max) => [min, max + span] },
        y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] },
      },
      axes: [{ ...axis, space: 70, values: (u, ticks) => ticks.map((t) => ts(new Date(t * 1000).toISOString()).slice(5, 16)) },
        { ...axis, size: 56, values: (u, ticks) => ticks.map((t) => num(t)) }],
      series: [{}, {
        label: this.label,
        stroke: color("--accent"),
        fill: color("--accent-fill"),
        paths: uPlot.paths.bars({ size: [0.85, 48], align: 1 }),
        points: { show: false },
      }],
      hooks: { setCursor: [(u) => this.#tip(u)] },
    }, this.data, this.element);
  }

  #tip(u) {
    const i = u.cursor.idx;
    if (i === null || i === undefined || !this.data[0].length) {
      this.element.title = "";
      return;
    }
    this.element.title = `${ts(new Date(this.data[0][i] * 1000).toISOString())} UTC: ${num(this.data[1][i])} ${this.label}`;
  }

  #fit() {
    if (!this.plot) {
      this.#build();
      return;
    }
    const width = Math.max(200, this.element.clientWidth);
    if (width !== this.plot.width) this.plot.setSize({ width, height: this.height });
  }
}
