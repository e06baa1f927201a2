// The fleet INI editor: a textarea with line numbers, and the API's refusal (SPEC: "the detail
// names the section, key and reason") pinned to the line it is about.

import { h, replace } from "./dom.js";

export const EXAMPLE = `[web]
archetype = linux-server

[web.ssh]
password = toor

[db]
services = mysql, redis
`;

/** "[db] services: unknown service 'x'" -> {section, key, reason}; "line 3: ..." -> {line}. */
export function parseReason(detail) {
  const m = /^(?:\[([^\]]+)\] )?(?:([A-Za-z_][A-Za-z0-9_.-]*): )?([\s\S]*)$/.exec(detail) || [];
  const out = { section: m[1] || null, key: m[2] || null, reason: m[3] || detail, line: null };
  const line = /\bline (\d+)\b/.exec(detail);
  if (line) out.line = Number(line[1]);
  return out;
}

/** The 1-based line a refusal is about: the key's line in its section, else the header. */
export function locate(text, { section, key, line }) {
  if (line) return line;
  if (!section) return null;
  const lines = text.split("\n");
  let current = null;
  let header = null;
  for (let i = 0; i < lines.length; i += 1) {
    const sec = /^\s*\[([^\]]*)\]/.exec(lines[i]);
    if (sec) {
      current = sec[1].trim();
      if (current === section && header === null) header = i + 1;
      continue;
    }
    if (key && current === section) {
      const k = /^\s*([^=:\s]+)\s*[=:]/.exec(lines[i]);
      if (k && k[1].toLowerCase() === key.toLowerCase()) return i + 1;
    }
  }
  return header;
}

export class IniEditor {
  constructor(text = EXAMPLE) {
    this.gutter = h("div", { class: "ini-gutter", "aria-hidden": "true" });
    this.backdrop = h("pre", { class: "ini-backdrop", "aria-hidden": "true" });
    this.textarea = h("textarea", {
      class: "ini-text", spellcheck: "false", autocomplete: "off", autocapitalize: "off", wrap: "off",
      "aria-label": "Fleet INI", "aria-describedby": "ini-problems", rows: "16", name: "ini_content",
    });
    this.textarea.value = text;
    this.problems = h("ul", { class: "ini-problems", id: "ini-problems", "aria-live": "polite" });
    this.element = h("div", { class: "ini" },
      h("div", { class: "ini-editor" }, this.gutter, h("div", { class: "ini-code" }, this.backdrop, this.textarea)),
      this.problems);
    this.problem = null;
    this.textarea.addEventListener("input", () => {
      this.problem = null; // the text changed: the old line may be elsewhere now
      this.#render();
    });
    this.textarea.addEventListener("scroll", () => this.#sync());
    this.#render();
  }

  get value() {
    return this.textarea.value;
  }

  set value(text) {
    this.textarea.value = text;
    this.problem = null;
    this.#render();
    replace(this.problems);
  }

  /** Show the API's refusal next to the line it names; returns the parsed refusal. */
  showProblem(detail, status) {
    const parsed = parseReason(detail);
    const line = locate(this.textarea.value, parsed);
    this.problem = { ...parsed, lineNo: line, status, detail };
    this.textarea.setAttribute("aria-invalid", "true");
    const where = [parsed.section ? `[${parsed.section}]` : null, parsed.key].filter(Boolean).join(" ");
    const jump = line ? h("button", { type: "button", class: "button ghost small", on: { click: () => this.focusLine(line) } }, `line ${line}`) : null;
    replace(this.problems, h("li", { class: "ini-problem", dataset: { section: parsed.section || "", key: parsed.key || "", line: line || "" } },
      h("span", { class: "chip bad" }, status === 409 ? "conflict" : "invalid"), " ",
      where ? h("strong", { class: "mono" }, where) : null, where ? " " : null,
      h("span", { class: "ini-reason" }, parsed.reason), " ", jump));
    this.#render();
    return this.problem;
  }

  clearProblem() {
    this.problem = null;
    this.textarea.removeAttribute("aria-invalid");
    replace(this.problems);
    this.#render();
  }

  /** Put the caret at the start of a line and scroll it into view. */
  focusLine(line) {
    const lines = this.textarea.value.split("\n");
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    this.textarea.focus();
    this.textarea.setSelectionRange(start, start + (lines[line - 1] || "").length);
  }

  #render() {
    const lines = this.textarea.value.split("\n");
    const bad = this.problem ? this.problem.lineNo : null;
    replace(this.gutter, lines.map((_, i) => h("div", { class: i + 1 === bad ? "bad" : "" }, String(i + 1))));
    replace(this.backdrop, lines.map((l, i) => (i + 1 === bad
      ? h("mark", { class: "ini-bad-line", title: this.problem.detail }, `${l || " "}\n`)
      : `${l}\n`)));
    this.#sync();
  }

  #sync() {
    this.backdrop.scrollTop = this.textarea.scrollTop;
    this.backdrop.scrollLeft = this.textarea.scrollLeft;
    this.gutter.scrollTop = this.textarea.scrollTop;
  }
}
