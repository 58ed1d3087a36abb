// Credits: balance, usage per model and day (an SVG bar chart with a table), the ledger.

import { get, query } from "../api.js";
import { guard } from "../app.js";
import { badge, fill, h, number, s, table, when } from "../dom.js";

const COLORS = ["#2557d6", "#c2410c", "#0f766e", "#7c3aed", "#b91c1c", "#4d7c0f", "#a16207",
  "#be185d"];

export async function render(page, { signal }) {
  const [credits, usage] = await Promise.all([
    get("/api/v1/credits", { signal }),
    get(`/api/v1/credits/usage${query({ days: 30 })}`, { signal }),
  ]);
  const ledger = h("div", {});
  const more = h("button", { type: "button", class: "button button-quiet", hidden: true },
    "Load more");
  const rows = [];
  let cursor = null;

  async function loadLedger() {
    const pageData = await get(`/api/v1/credits/ledger${query({ limit: 25, after: cursor })}`,
      { signal });
    rows.push(...pageData.data);
    cursor = pageData.next_cursor;
    more.hidden = !pageData.has_more;
    fill(ledger, table([
      { label: "When", cell: (e) => when(e.created_at) },
      { label: "Kind", cell: (e) => badge(e.kind, e.delta > 0 ? "good" : "neutral") },
      { label: "Change", cell: (e) => h("span", { class: e.delta < 0 ? "neg" : e.delta > 0 ? "pos" : "" },
        `${e.delta > 0 ? "+" : ""}${number(e.delta)}`) },
      { label: "Balance after", cell: (e) => number(e.balance_after) },
      { label: "Generation", cell: (e) => (e.task_id
        ? h("a", { href: `#/generations/${encodeURIComponent(e.task_id)}` }, e.task_id) : "—") },
      { label: "Note", cell: (e) => e.note || "—" },
    ], rows, { caption: "Credit ledger", empty: "No ledger entries yet." }));
  }
  more.addEventListener("click", () => guard(loadLedger));

  page.append(
    h("h1", {}, "Credits"),
    h("section", { class: "card balance", "aria-labelledby": "bal-t" },
      h("h2", { id: "bal-t" }, "Balance"),
      h("p", { class: "big-number" }, number(credits.current_credits), h("span", {}, " credits"))),
    h("section", { class: "card", "aria-labelledby": "usage-t" },
      h("h2", { id: "usage-t" }, `Usage, last ${usage.days} days`),
      h("p", {}, `${number(usage.total_credits)} credits charged.`),
      usageChart(usage, page.clientWidth)),
    h("section", { "aria-labelledby": "ledger-t" },
      h("h2", { id: "ledger-t" }, "Ledger"), ledger, more),
  );
  await loadLedger();
}

// Stacked bars per UTC day (one colour per model), with a legend and a data table.
function usageChart(usage, room) {
  const models = [...new Set(usage.data.map((r) => r.model))].sort();
  const days = [];
  const today = new Date();
  for (let i = usage.days - 1; i >= 0; i -= 1) {
    const d = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - i));
    days.push(d.toISOString().slice(0, 10));
  }
  const byDay = new Map(days.map((d) => [d, new Map()]));
  for (const r of usage.data) byDay.get(r.day)?.set(r.model, r.credits);
  const totals = days.map((d) => [...byDay.get(d).values()].reduce((a, b) => a + b, 0));
  const max = Math.max(1, ...totals);
  // Drawn at about the size it is shown, so its labels stay readable on phones.
  const width = Math.round(Math.max(300, Math.min(900, room - 48)));
  const height = 200;
  const pad = { left: 44, bottom: 24, top: 8 };
  const plotH = height - pad.bottom - pad.top;
  const slot = (width - pad.left - 4) / days.length;
  const bar = Math.max(2, slot * 0.7);
  const summary = usage.total_credits
    ? `Credits charged per day over the last ${usage.days} days; peak ${number(max)} credits.`
    : `No credits charged in the last ${usage.days} days.`;

  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-labelledby": "chart-title chart-desc", class: "chart" },
  s("title", { id: "chart-title" }, "Usage per day"),
  s("desc", { id: "chart-desc" }, summary),
  s("line", { x1: pad.left, x2: width, y1: height - pad.bottom, y2: height - pad.bottom,
    class: "axis" }),
  s("text", { x: pad.left - 6, y: pad.top + 10, class: "tick", "text-anchor": "end" }, number(max)),
  s("text", { x: pad.left - 6, y: height - pad.bottom, class: "tick", "text-anchor": "end" }, "0"),
  days.map((day, i) => {
    let y = height - pad.bottom;
    const x = pad.left + i * slot + (slot - bar) / 2;
    const parts = models.map((model, m) => {
      const value = byDay.get(day).get(model) || 0;
      if (!value) return null;
      const barH = (value / max) * plotH;
      y -= barH;
      return s("rect", { x, y, width: bar, height: barH, fill: COLORS[m % COLORS.length] },
        s("title", {}, `${day} · ${model}: ${number(value)} credits`));
    });
    const every = width < 500 ? 10 : 7;
    const label = (days.length - 1 - i) % every === 0
      ? s("text", { x: x + bar / 2, y: height - 6, class: "tick",
        "text-anchor": i === days.length - 1 ? "end" : "middle" },
        day.slice(5)) : null;
    return [parts, label];
  }));

  const legend = h("ul", { class: "legend" }, models.map((model, m) => h("li", {},
    h("span", { class: "swatch", style: `background:${COLORS[m % COLORS.length]}` }), model)));
  const data = table([
    { label: "Day", cell: (r) => r.day },
    { label: "Model", cell: (r) => r.model },
    { label: "Generations", cell: (r) => number(r.tasks) },
    { label: "Credits", cell: (r) => number(r.credits) },
  ], usage.data, { caption: "Usage per model and day", empty: "No usage yet." });
  return h("figure", { class: "chart-figure" }, svg, models.length ? legend : null,
    h("details", {}, h("summary", {}, "Show the data as a table"), data));
}
