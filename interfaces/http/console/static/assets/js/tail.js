// The live log tail. Rows arrive in bursts (up to 1,000+ lines/s); the DOM is touched at most
// once per animation frame, with at most PER_FRAME new rows, and keeps at most `maxRows`. What
// arrives faster than the table can show is not queued forever: only the newest `maxRows` wait,
// the older ones become one counted "N lines skipped" row.

import { h } from "./dom.js";
import { num, ts } from "./format.js";

const PER_FRAME = 50;

export class LiveTail {
  constructor({ maxRows = 200, onRow = null } = {}) {
    this.maxRows = maxRows;
    this.onRow = onRow;
    this.pending = [];
    this.skipped = 0;
    this.skippedTotal = 0;
    this.shown = 0;
    this.flushMs = [];
    this.paused = false;
    this.frame = 0;
    this.body = h("tbody", {});
    this.status = h("span", { class: "tail-status muted", "aria-live": "polite" });
    this.element = h("div", { class: "tail" },
      h("div", { class: "table-wrap tail-wrap" },
        h("table", { class: "table tail-table" },
          h("thead", {}, h("tr", {}, ["Time (UTC)", "Decky", "Service", "Event", "Attacker", "Message"]
            .map((t) => h("th", { scope: "col" }, t)))),
          this.body)),
      h("div", { class: "tail-foot" }, this.status));
    this.#showStatus();
  }

  /** Queue rows (ascending ids); only the newest `maxRows` can ever be shown. */
  push(rows) {
    for (const row of rows) this.pending.push(row);
    const excess = this.pending.length - this.maxRows;
    if (excess > 0) {
      this.pending.splice(0, excess);
      this.skipped += excess;
    }
    if (!this.paused) this.#schedule();
    else this.#showStatus();
  }

  pause() {
    this.paused = true;
    this.#showStatus();
  }

  resume() {
    this.paused = false;
    this.#schedule();
  }

  clear() {
    this.pending = [];
    this.skipped = 0;
    this.body.replaceChildren();
    this.#showStatus();
  }

  destroy() {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
  }

  #schedule() {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.#flush());
  }

  #flush() {
    this.frame = 0;
    if (this.paused) return;
    const began = performance.now();
    // Oldest first, PER_FRAME at a time; the rest waits for the next frames (push() has already
    // dropped, and counted, whatever could never fit in the table).
    const batch = this.pending.splice(0, PER_FRAME);
    if (this.pending.length) this.#schedule();
    const fragment = document.createDocumentFragment();
    for (let i = batch.length - 1; i >= 0; i -= 1) fragment.append(this.#row(batch[i]));
    if (this.skipped > 0) {
      fragment.append(h("tr", { class: "skipped" }, h("td", { colspan: "6" }, `${num(this.skipped)} lines skipped`)));
      this.skippedTotal += this.skipped;
      this.skipped = 0;
    }
    this.body.prepend(fragment);
    this.shown += batch.length;
    while (this.body.childElementCount > this.maxRows) this.body.lastElementChild.remove();
    this.#showStatus();
    this.#timed(performance.now() - began);
  }

  /** Keep the cost of recent updates (the last 500) on the element, for tests and curious eyes. */
  #timed(ms) {
    this.flushMs.push(ms);
    if (this.flushMs.length > 500) this.flushMs.shift();
    const sorted = [...this.flushMs].sort((a, b) => a - b);
    this.element.dataset.flushP50Ms = sorted[Math.floor(sorted.length / 2)].toFixed(1);
    this.element.dataset.flushMaxMs = sorted[sorted.length - 1].toFixed(1);
  }

  #row(row) {
    const tr = h("tr", { dataset: { id: row.id }, title: row.raw_line },
      h("td", { class: "mono nowrap" }, ts(row.timestamp)),
      h("td", {}, row.decky),
      h("td", {}, row.service),
      h("td", {}, row.event_type),
      h("td", { class: "mono" }, row.attacker_ip || "–"),
      h("td", { class: "msg" }, row.msg));
    if (this.onRow) this.onRow(tr, row);
    return tr;
  }

  #showStatus() {
    const waiting = this.paused && this.pending.length ? ` · ${num(this.pending.length + this.skipped)} waiting` : "";
    const skipped = this.skippedTotal ? ` · ${num(this.skippedTotal)} skipped` : "";
    this.status.textContent = `${this.paused ? "Paused" : "Following"} · ${num(this.shown)} shown${skipped}${waiting}`;
    this.element.dataset.shown = String(this.shown);
    this.element.dataset.skipped = String(this.skippedTotal);
  }
}
