// Playground: a model's form built from its schema, reference media by role, a live quote,
// then submit and watch the event stream until the video plays.

import { ApiError, get, post, stream } from "../api.js";
import { guard, refreshCredits } from "../app.js";
import { clear, field, fill, h, nextId, number } from "../dom.js";
import { remember } from "../snippets.js";
import { upload } from "./files.js";
import { TERMINAL } from "./generations.js";

const ROLES = [
  { role: "first_frame", label: "First frame image", modes: ["first_frame", "first_last_frame"],
    many: false },
  { role: "last_frame", label: "Last frame image", modes: ["first_last_frame"], many: false },
  { role: "reference_image", label: "Reference images", modes: ["reference"], many: true },
];
const IMAGE_TYPES = "image/png,image/jpeg,image/webp";

export async function render(page, { signal }) {
  const models = (await get("/api/v1/models", { signal })).data;
  const state = { model: models[0], refs: [], quoteSeq: 0, timer: 0, previews: [] };

  const modelSelect = h("select", { name: "model" },
    models.map((m) => h("option", { value: m.id }, m.name)));
  const modelInfo = h("p", { class: "hint", id: "model-info" });
  modelSelect.setAttribute("aria-describedby", "model-info");
  const prompt = h("textarea", { name: "prompt", rows: "4", required: true,
    placeholder: "A lighthouse at dusk, waves rolling in" });
  const counter = h("span", { class: "hint", "aria-live": "polite" });
  const paramsBox = h("div", { class: "params" });
  const refsBox = h("div", {});
  const quote = h("p", { class: "quote", role: "status", "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "button button-primary" }, "Generate");
  const run = h("section", { class: "card run", "aria-labelledby": "run-t", hidden: true });

  const form = h("form", { class: "card stack playground", "aria-labelledby": "pg-t", novalidate: true },
    h("h2", { id: "pg-t", class: "visually-hidden" }, "Request"),
    field("Model", modelSelect), modelInfo,
    h("div", { class: "field" }, h("label", { for: "prompt" }, "Prompt"), prompt, counter),
    paramsBox, refsBox,
    h("div", { class: "submit-row" }, quote, submit));
  prompt.id = "prompt";

  // ---- the form, from the model's schema ----

  function buildParams() {
    const spec = state.model;
    modelInfo.textContent = `${spec.description} Modes: ${spec.modes.join(", ")}.`;
    prompt.maxLength = spec.prompt_max_chars;
    updateCounter();
    const main = [];
    const extra = [];
    for (const p of spec.params) (p.extension ? extra : main).push(control(p));
    fill(paramsBox, 
      h("fieldset", { class: "param-grid" }, h("legend", {}, "Parameters"), main),
      extra.length ? h("details", { class: "more" }, h("summary", {}, "More options"),
        h("div", { class: "param-grid" }, extra)) : null);
  }

  function control(p) {
    const id = `param-${p.key}`;
    let input;
    if (p.options && p.options.length) {
      input = h("select", { id, "data-param": p.key, "data-type": p.type },
        p.options.map((o) => h("option", { value: String(o) }, String(o))));
      input.value = String(p.default ?? p.options[0]);
    } else if (p.type === "boolean") {
      input = h("input", { type: "checkbox", id, "data-param": p.key, "data-type": "boolean",
        checked: Boolean(p.default) });
      return h("div", { class: "check" }, input, h("label", { for: id }, label(p)));
    } else if (p.type === "number" || p.type === "integer") {
      input = h("input", { type: "number", id, "data-param": p.key, "data-type": "number",
        min: p.min ?? null, max: p.max ?? null, step: "1", inputmode: "numeric",
        value: p.default ?? "" });
    } else {
      input = h("input", { type: "text", id, "data-param": p.key, "data-type": "text",
        value: p.default ?? "" });
    }
    const range = p.min !== null && p.max !== null && p.min !== undefined ? ` (${p.min} to ${p.max})` : "";
    const about = (p.description || "").toLowerCase() === label(p).toLowerCase() ? "" : p.description;
    return field(label(p), input, `${about || ""}${range}`.trim() || null);
  }

  const label = (p) => {
    const words = p.key.replace(/_/g, " ").replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
    return words.charAt(0).toUpperCase() + words.slice(1);
  };

  function buildRefs() {
    const roles = ROLES.filter((r) => r.modes.some((m) => state.model.modes.includes(m)));
    state.refs = state.refs.filter((ref) => roles.some((r) => r.role === ref.role));
    clear(refsBox);
    if (!roles.length) return;
    refsBox.append(h("fieldset", { class: "refs" },
      h("legend", {}, "Reference media"),
      h("p", { class: "hint" }, "PNG, JPEG or WebP, 300–6000 px a side, up to 10 MB. "
        + "Drop a file on a box or choose one."),
      h("div", { class: "ref-grid" }, roles.map(slot))));
  }

  function slot(spec) {
    const id = nextId("ref");
    const input = h("input", { type: "file", id, accept: IMAGE_TYPES, multiple: spec.many,
      "data-role": spec.role });
    const items = h("ul", { class: "ref-items" });
    const zone = h("div", { class: "drop", "data-role": spec.role },
      h("label", { for: id }, spec.label), input, items);
    const redraw = () => {
      fill(items, state.refs.filter((r) => r.role === spec.role).map((ref) =>
        h("li", { class: "ref-item" },
          h("img", { src: ref.preview, alt: "" }),
          h("span", { class: "ref-name" }, ref.file ? ref.file.name : ref.name,
            h("span", { class: "hint" }, ref.file ? " uploaded" : " uploading…")),
          h("button", { type: "button", class: "button button-quiet button-small",
            "aria-label": `Remove ${ref.name}`, onclick: () => {
              state.refs = state.refs.filter((r) => r !== ref);
              redraw();
              scheduleQuote();
            } }, "Remove"))));
    };
    const take = async (files) => {
      const list = [...files].slice(0, spec.many ? 9 : 1);
      if (!spec.many) state.refs = state.refs.filter((r) => r.role !== spec.role);
      for (const file of list) {
        const preview = URL.createObjectURL(file);
        state.previews.push(preview);
        const ref = { role: spec.role, name: file.name, preview, file: null };
        state.refs.push(ref);
        redraw();
        const made = await guard(() => upload(file, "image", state.model.id));
        if (made) ref.file = made;
        else state.refs = state.refs.filter((r) => r !== ref);
        redraw();
      }
      input.value = "";
      scheduleQuote();
    };
    input.addEventListener("change", () => take(input.files));
    zone.addEventListener("dragover", (event) => {
      event.preventDefault();
      zone.classList.add("drag");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("drag"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("drag");
      take(event.dataTransfer.files);
    });
    redraw();
    return zone;
  }

  // ---- the request body ----

  function body() {
    const params = {};
    for (const input of paramsBox.querySelectorAll("[data-param]")) {
      const type = input.dataset.type;
      if (type === "boolean") params[input.dataset.param] = input.checked;
      else if (type === "number" && input.tagName === "INPUT") {
        if (input.value !== "") params[input.dataset.param] = Number(input.value);
      } else if (input.value !== "") params[input.dataset.param] = input.value;
    }
    const refs = state.refs.filter((r) => r.file);
    if (refs.length) {
      params.referenceMediaItems = refs.map((r) => ({ url: r.file.url, kind: r.file.kind,
        name: r.file.name, mimeType: r.file.mimeType, role: r.role }));
    }
    return { model: state.model.id, prompt: prompt.value, params };
  }

  function updateCounter() {
    const max = state.model.prompt_max_chars;
    counter.textContent = `${number(prompt.value.length)} / ${number(max)} characters`;
  }

  // ---- the price ----

  function scheduleQuote() {
    clearTimeout(state.timer);
    state.timer = setTimeout(fetchQuote, 350);
  }

  async function fetchQuote() {
    const seq = ++state.quoteSeq;
    quote.classList.remove("quote-error");
    if (!prompt.value.trim()) {
      quote.textContent = "Write a prompt to see the price.";
      return;
    }
    try {
      const answer = await post("/api/v1/generations/quote", body(), { signal });
      if (seq !== state.quoteSeq) return;
      const size = answer.width ? `${answer.width}×${answer.height}, ` : "";
      fill(quote, "Price: ", h("strong", { id: "quote-credits" }, number(answer.credits)),
        " credits", answer.duration_seconds
          ? h("span", { class: "hint" }, `${size}${answer.duration_seconds} s`) : null);
    } catch (err) {
      if (seq !== state.quoteSeq || err.name === "AbortError") return;
      if (err instanceof ApiError && (err.status === 404 || err.status === 405)) {
        quote.textContent = `Price: from ${number(state.model.base_credits)} credits`;
        return;
      }
      quote.classList.add("quote-error");
      quote.textContent = `Cannot price this request: ${err.message}`;
    }
  }

  // ---- submit and watch ----

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (state.refs.some((r) => !r.file)) return;
    const request = body();
    submit.disabled = true;
    const task = await guard(() => post("/api/v1/generations", request,
      { headers: { "Idempotency-Key": crypto.randomUUID() } }));
    submit.disabled = false;
    if (!task) return;
    remember(task.id, request);
    refreshCredits();
    watch(task);
  });

  function watch(first) {
    if (state.watching) state.watching.abort();  // stop watching the previous generation
    const watching = new AbortController();
    state.watching = watching;
    signal.addEventListener("abort", () => watching.abort());
    const bar = h("progress", { max: "100", value: first.progress || 0, id: "run-progress",
      "aria-labelledby": "run-status" });
    const status = h("p", { id: "run-status", "aria-live": "polite" });
    const output = h("div", { class: "stack" });
    fill(run, h("h2", { id: "run-t" }, "Generation ",
      h("a", { href: `#/generations/${encodeURIComponent(first.id)}` }, h("code", {}, first.id))),
    status, bar, output);
    run.hidden = false;
    let finished = false;
    const show = (task) => {
      if (finished) return;
      bar.value = task.progress || 0;
      status.textContent = `Status: ${task.status} · ${task.progress || 0}%`;
      status.dataset.status = task.status;
      if (!TERMINAL.has(task.status)) return;
      finished = true;
      refreshCredits();
      if (task.status === "succeeded") {
        bar.value = 100;
        output.append(
          h("video", { class: "player", id: "result-video", src: task.result.primary_url,
            controls: true, autoplay: true, muted: true, loop: true, playsinline: true }),
          h("div", { class: "actions" },
            h("a", { class: "button", href: task.result.primary_url, download: `${task.id}.mp4` },
              "Download MP4"),
            h("a", { class: "button button-quiet", href: `#/generations/${encodeURIComponent(task.id)}` },
              "Details")));
      } else if (task.error) {
        output.append(h("p", { class: "error-text" }, h("code", {}, task.error.code), ": ",
          task.error.message));
      }
    };
    show(first);
    run.scrollIntoView({ block: "nearest" });
    const path = `/api/v1/generations/${encodeURIComponent(first.id)}`;
    guard(async () => {
      await stream(`${path}/events`, (frame) => {
        if (frame.event === "generation") show(JSON.parse(frame.data));
      }, watching.signal);
      while (!finished && !watching.signal.aborted) {  // the stream closed early: poll to the end
        show(await get(path, { signal: watching.signal }));
        await new Promise((resolve) => { setTimeout(resolve, 1000); });
      }
    });
  }

  modelSelect.addEventListener("change", () => {
    state.model = models.find((m) => m.id === modelSelect.value);
    buildParams();
    buildRefs();
    scheduleQuote();
  });
  prompt.addEventListener("input", () => { updateCounter(); scheduleQuote(); });
  paramsBox.addEventListener("input", scheduleQuote);
  paramsBox.addEventListener("change", scheduleQuote);

  page.append(h("h1", {}, "Playground"),
    h("p", { class: "lead" }, "Pick a model, describe the video, see the price, generate."),
    h("div", { class: "playground-layout" }, form, run));
  buildParams();
  buildRefs();
  fetchQuote();
  return () => state.previews.forEach((url) => URL.revokeObjectURL(url));
}
