// Small DOM helpers. Server text only ever reaches the page as text nodes or attributes.

const PROPS = new Set(["value", "checked", "selected", "disabled", "hidden", "multiple",
  "required", "readOnly", "muted", "autoplay", "controls", "indeterminate"]);

// h("button", {class: "x", onclick: fn}, "text", child, [more]) -> element
export function h(tag, props = {}, ...children) {
  const el = tag === "svg" || props?.svg
    ? document.createElementNS("http://www.w3.org/2000/svg", tag)
    : document.createElement(tag);
  const late = [];
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false || k === "svg") continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (PROPS.has(k)) late.push([k, v]);
    else if (k === "class") el.setAttribute("class", v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  for (const [k, v] of late) el[k] = v;
  return el;
}

// An SVG element (namespace-correct).
export function s(tag, attrs = {}, ...children) {
  return h(tag, { ...attrs, svg: true }, ...children);
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

let uid = 0;
export const nextId = (prefix = "f") => `${prefix}-${++uid}`;

// A labelled form field: field("Name", h("input", {...})) -> .field wrapper.
export function field(label, control, hint) {
  if (!control.id) control.id = nextId();
  const hintEl = hint ? h("span", { class: "hint", id: `${control.id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control, hintEl);
}

// A table in a horizontally scrolling wrapper. columns: [{label, cell(row) -> node|text}]
export function table(columns, rows, { caption, empty = "Nothing here yet." } = {}) {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  return h("div", { class: "table-wrap", tabindex: "0", role: "region",
    "aria-label": caption || "table" },
  h("table", {},
    caption ? h("caption", { class: "visually-hidden" }, caption) : null,
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c.label)))),
    h("tbody", {}, rows.map((row) => h("tr", {},
      columns.map((c) => h("td", { "data-label": c.label },
        h("div", { class: "cell" }, c.cell(row)))))))));
}

export function badge(text, tone = "neutral") {
  return h("span", { class: `badge badge-${tone}` }, text);
}

export function statusBadge(status) {
  const tones = { succeeded: "good", failed: "bad", expired: "bad", cancelled: "neutral",
    processing: "busy", queued: "busy" };
  return badge(status, tones[status] || "neutral");
}

export function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return h("time", { datetime: iso, title: iso }, date.toLocaleString(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }));
}

export const number = (n) => (n === null || n === undefined ? "—" : Number(n).toLocaleString());

export function bytes(n) {
  if (n === null || n === undefined) return "—";
  const units = ["B", "KB", "MB", "GB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return `${v.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = h("textarea", { class: "visually-hidden", readonly: true }, text);
    document.body.append(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    return ok;
  }
}

// A button that copies text() and says so.
export function copyButton(label, text) {
  const button = h("button", { type: "button", class: "button button-quiet" }, label);
  button.addEventListener("click", async () => {
    const ok = await copyText(typeof text === "function" ? text() : text);
    button.textContent = ok ? "Copied" : "Copy failed";
    setTimeout(() => { button.textContent = label; }, 1500);
  });
  return button;
}

// A modal yes/no question with <dialog>; resolves true on confirm.
export function confirmDialog(question, confirmLabel = "Confirm") {
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "dialog", "aria-labelledby": "dialog-q" },
      h("form", { method: "dialog" },
        h("p", { id: "dialog-q" }, question),
        h("div", { class: "actions" },
          h("button", { value: "cancel", class: "button button-quiet" }, "Cancel"),
          h("button", { value: "ok", class: "button button-danger" }, confirmLabel))));
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "ok");
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

// Replaces el's children (arrays flattened, null skipped).
export const fill = (el, ...children) => append(clear(el), children);
