// Generations: the history (filters, paging, thumbnails) and one generation's detail.

import { get, post, query, stream } from "../api.js";
import { guard, notify, refreshCredits } from "../app.js";
import { copyButton, field, fill, h, number, statusBadge, table, when } from "../dom.js";
import { curl, python, recall } from "../snippets.js";

const STATUSES = ["queued", "processing", "succeeded", "failed", "cancelled", "expired"];
export const TERMINAL = new Set(["succeeded", "failed", "cancelled", "expired"]);

export function render(page, ctx) {
  return ctx.args[0] ? detail(page, ctx.args[0], ctx) : history(page, ctx);
}

async function history(page, { signal }) {
  const status = h("select", { name: "status" }, h("option", { value: "" }, "Any status"),
    STATUSES.map((s) => h("option", { value: s }, s)));
  const model = h("select", { name: "model" }, h("option", { value: "" }, "Any model"));
  const results = h("div", {});
  const more = h("button", { type: "button", class: "button button-quiet", hidden: true },
    "Load more");
  let rows = [];
  let cursor = null;

  async function load(reset) {
    if (reset) { rows = []; cursor = null; }
    const found = await get(`/api/v1/generations${query({ limit: 20, after: cursor,
      status: status.value, model: model.value })}`, { signal });
    rows.push(...found.data);
    cursor = found.next_cursor;
    more.hidden = !found.has_more;
    fill(results, table([
      { label: "Preview", cell: thumbnail },
      { label: "Generation", cell: (t) => h("a", { href: `#/generations/${encodeURIComponent(t.id)}` },
        h("code", {}, t.id)) },
      { label: "Status", cell: (t) => [statusBadge(t.status),
        t.status === "processing" ? ` ${t.progress}%` : null] },
      { label: "Model", cell: (t) => t.model },
      { label: "Credits", cell: (t) => number(t.final_credits ?? t.reserved_credits) },
      { label: "Created", cell: (t) => when(t.created_at) },
    ], rows, { caption: "Generations", empty: "No generations match." }));
  }

  const filters = h("form", { class: "filters", "aria-label": "Filter generations" },
    field("Status", status), field("Model", model));
  filters.addEventListener("change", () => guard(() => load(true)));
  filters.addEventListener("submit", (event) => event.preventDefault());
  more.addEventListener("click", () => guard(() => load(false)));
  page.append(h("div", { class: "page-head" }, h("h1", {}, "Generations"),
    h("a", { class: "button", href: "#/playground" }, "New generation")),
  filters, results, more);
  const models = await get("/api/v1/models", { signal });
  model.append(...models.data.map((m) => h("option", { value: m.id }, m.name)));
  await load(true);
}

function thumbnail(task) {
  const url = task.result && task.result.last_frame_url;
  if (url) return h("img", { class: "thumb", src: url, alt: `Last frame of ${task.id}`,
    loading: "lazy", width: "96", height: "54" });
  const video = task.result && task.result.primary_url;
  if (video) return h("video", { class: "thumb", src: `${video}#t=0.5`, preload: "metadata",
    muted: true, "aria-label": `First frames of ${task.id}` });
  return h("span", { class: "thumb thumb-empty", "aria-hidden": "true" }, "·");
}

async function detail(page, id, { signal }) {
  const body = h("div", {});
  page.append(h("p", {}, h("a", { href: "#/generations" }, "← All generations")),
    h("h1", {}, "Generation ", h("code", { class: "break" }, id)), body);

  async function show(task) {
    fill(body, view(task, () => guard(async () => {
      show(await post(`/api/v1/generations/${encodeURIComponent(id)}/cancel`));
      notify("Generation cancelled.");
      refreshCredits();
    })));
  }
  let task = await get(`/api/v1/generations/${encodeURIComponent(id)}`, { signal });
  await show(task);
  if (!TERMINAL.has(task.status)) {
    guard(() => stream(`/api/v1/generations/${encodeURIComponent(id)}/events`, (frame) => {
      if (frame.event !== "generation") return;
      task = JSON.parse(frame.data);
      show(task);
      if (TERMINAL.has(task.status)) refreshCredits();
    }, signal));
  }
}

// The detail view of one task.
function view(task, cancel) {
  const request = task.request || recall(task.id);
  const body = request || { model: task.model, prompt: "", params: {} };
  const origin = location.origin;
  const result = task.result || {};
  return h("div", { class: "stack" },
    h("dl", { class: "facts" },
      h("dt", {}, "Status"), h("dd", {}, statusBadge(task.status)),
      h("dt", {}, "Progress"), h("dd", {}, h("progress", { max: "100", value: task.progress,
        "aria-label": "Progress" }), ` ${task.progress}%`),
      h("dt", {}, "Model"), h("dd", {}, task.model),
      h("dt", {}, "Credits"), h("dd", {}, task.final_credits !== null
        ? `${number(task.final_credits)} charged` : `${number(task.reserved_credits)} reserved`),
      h("dt", {}, "Created"), h("dd", {}, when(task.created_at)),
      h("dt", {}, "Updated"), h("dd", {}, when(task.updated_at)),
      task.client_request_id ? [h("dt", {}, "Client request id"),
        h("dd", {}, h("code", {}, task.client_request_id))] : null),
    task.status === "queued" ? h("div", { class: "actions" }, h("button", { type: "button",
      class: "button button-danger", onclick: cancel }, "Cancel generation")) : null,
    task.error ? h("section", { class: "card error-card", "aria-labelledby": "err-t" },
      h("h2", { id: "err-t" }, "Error"), h("p", {}, h("code", {}, task.error.code)),
      h("p", {}, task.error.message)) : null,
    result.primary_url ? h("section", { "aria-labelledby": "res-t", class: "stack" },
      h("h2", { id: "res-t" }, "Result"),
      h("video", { class: "player", src: result.primary_url, controls: true,
        playsinline: true, preload: "metadata" }),
      h("div", { class: "actions" },
        h("a", { class: "button", href: result.primary_url, download: `${task.id}.mp4` },
          "Download MP4")),
      result.last_frame_url ? h("figure", { class: "frame" },
        h("img", { src: result.last_frame_url, alt: "The last frame of the video" }),
        h("figcaption", {}, "Last frame ",
          h("a", { href: result.last_frame_url, download: `${task.id}-last.png` }, "(download)")))
        : null) : null,
    h("section", { "aria-labelledby": "req-t", class: "stack" },
      h("h2", { id: "req-t" }, "Request"),
      request ? null : h("p", { class: "hint" },
        "The server does not return a generation's request, and it was not made in this "
        + "browser: the snippets below carry only the model."),
      h("pre", { class: "code", tabindex: "0" }, JSON.stringify(body, null, 2)),
      h("div", { class: "actions" },
        copyButton("Copy as curl", () => curl(origin, body)),
        copyButton("Copy as Python", () => python(origin, body)))),
  );
}
