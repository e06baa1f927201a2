// Tiny DOM helpers. Everything from the API is attacker-controlled: it only ever becomes text
// nodes or attribute values, never markup (no innerHTML anywhere in the console).

const PROPS = new Set(["value", "checked", "disabled", "hidden", "selected", "readOnly", "required"]);

/** Create an element: h("a", {href, class, on: {click}}, "text", child, [more]). */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
    else if (key === "text") el.textContent = String(value);
    else if (key === "on") for (const [name, fn] of Object.entries(value)) el.addEventListener(name, fn);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (PROPS.has(key)) el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

/** Append children (strings become text nodes; null/false are skipped; arrays flatten). */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** A labelled form field. */
export function field(label, input, hint) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), input, hint ? h("small", { class: "hint" }, hint) : null);
}

/** A card section with a heading and optional tools on the right. */
export function card(title, tools, ...body) {
  return h("section", { class: "card", "aria-label": title },
    h("header", { class: "card-head" }, h("h2", {}, title), tools ? h("div", { class: "card-tools" }, tools) : null),
    ...body);
}

/** An inline message box; `kind` is error, info or ok. */
export function notice(kind, text) {
  return h("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

/** A table with a header row around ready-made rows (`<tr>` elements with their own cells). */
export function dataTable(headers, rows, { caption, className } = {}) {
  return h("div", { class: "table-wrap" },
    h("table", { class: ["table", className] },
      caption ? h("caption", { class: "visually-hidden" }, caption) : null,
      h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows)));
}

/** A table with a header row; `rows` are arrays of cells (nodes or text). */
export function table(headers, rows, options) {
  return dataTable(headers, rows.map((cells) => h("tr", {}, cells.map((c) => h("td", {}, c)))), options);
}

/** A small pill showing a state or a tag. */
export function chip(text, kind = "") {
  return h("span", { class: ["chip", kind] }, text);
}
