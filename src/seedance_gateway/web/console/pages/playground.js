// Playground: a model's form built from its schema, reference media by role, a live quote,
// then submit and watch the event stream until the video plays.

import { ApiError, get, post, stream } from "../api.js";
import { guard, refreshCredits } from "../app.js";
import { clear, field, fill, h, nextId, number } from "../dom.js";
import { remember } from "../snippets.js";
import { upload } from "./files.js";
import { TERMINAL } from "./generations.js";

// Media kinds: what the file pickers accept and the server's limits, in words.
const KINDS = {
  image: { accept: "image/png,image/jpeg,image/webp", noun: "image",
    about: "PNG, JPEG or WebP, 300–6000 px a side, up to 10 MB." },
  video: { accept: "video/mp4,video/quicktime,video/webm,.mp4,.mov,.webm", noun: "video",
    about: "MP4, MOV or WebM, 2–15 s each, up to 50 MB." },
  audio: { accept: "audio/mpeg,audio/wav,audio/x-wav,audio/aac,audio/mp4,audio/x-m4a,audio/ogg,"
    + ".mp3,.wav,.aac,.m4a,.ogg", noun: "audio file",
  about: "MP3, WAV, AAC, M4A or OGG, 2–15 s each, up to 10 MB; needs an image or video too." },
};
// Roles by mode. A request is either frames (one first frame, optional last frame) or reference
// media (images, videos, audio): the server refuses a mix (domain/requests.py mode_of).
const ROLES = [
  { role: "first_frame", mode: "frames", kind: "image", label: "First frame" },
  { role: "last_frame", mode: "frames", kind: "image", label: "Last frame" },
  { role: "reference_image", mode: "reference", kind: "image", label: "Reference images",
    limit: "images" },
  { role: "reference_video", mode: "reference", kind: "video", label: "Reference videos",
    limit: "videos" },
  { role: "reference_audio", mode: "reference", kind: "audio", label: "Reference audio",
    limit: "audios" },
];
const MODE_NAMES = { frames: "Frames", reference: "References" };
const MAX_SECONDS = 15;  // videos, and audio, add up to at most 15 s each

// {min, max} of a role for a model; max 0 when the model does not take it.
function limitOf(model, spec) {
  const modes = model.modes || [];
  if (spec.role === "first_frame") {
    const takes = modes.includes("first_frame") || modes.includes("first_last_frame");
    return { min: 0, max: takes ? 1 : 0 };
  }
  if (spec.role === "last_frame") return { min: 0, max: modes.includes("first_last_frame") ? 1 : 0 };
  if (!modes.includes("reference")) return { min: 0, max: 0 };
  const limit = (model.reference_media || {})[spec.limit] || {};
  return { min: limit.min || 0, max: limit.max || 0 };
}

const seconds = (n) => `${Number(n).toFixed(1)} s`;

export async function render(page, { signal }) {
  const models = (await get("/api/v1/models", { signal })).data;
  const state = { model: models[0], mode: "frames", refs: [], slots: [], quoteSeq: 0, timer: 0,
    previews: [] };

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
    syncDraft();
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
    } else if (p.type === "number" || p.type === "integer" || p.type === "decimal") {
      const whole = p.type !== "decimal";
      input = h("input", { type: "number", id, "data-param": p.key, "data-type": "number",
        min: p.min ?? null, max: p.max ?? null, step: whole ? "1" : "any",
        inputmode: whole ? "numeric" : "decimal", value: p.default ?? "" });
    } else {
      input = h("input", { type: "text", id, "data-param": p.key, "data-type": "text",
        maxlength: p.type === "text" && p.max ? p.max : null, value: p.default ?? "" });
    }
    const range = p.type !== "text" && p.min !== null && p.max !== null && p.min !== undefined
      ? ` (${p.min} to ${p.max})` : "";
    const about = (p.description || "").toLowerCase() === label(p).toLowerCase() ? "" : p.description;
    return field(label(p), input, `${about || ""}${range}`.trim() || null);
  }

  const label = (p) => {
    const words = p.key.replace(/_/g, " ").replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
    return words.charAt(0).toUpperCase() + words.slice(1);
  };

  // ---- reference media, by role ----

  // The roles the model takes, with their limits; the modes (frames, reference) they make up.
  const rolesOf = (model) => ROLES.map((spec) => ({ ...spec, ...limitOf(model, spec) }))
    .filter((spec) => spec.max > 0);
  const modesOf = (roles) => ["frames", "reference"].filter((m) => roles.some((r) => r.mode === m));
  const count = (role) => state.refs.filter((r) => r.role === role).length;
  const totalSeconds = (role) => state.refs.filter((r) => r.role === role && r.file)
    .reduce((sum, r) => sum + (Number(r.file.duration) || 0), 0);

  function buildRefs() {
    const roles = rolesOf(state.model);
    const modes = modesOf(roles);
    if (!modes.includes(state.mode)) state.mode = modes[0] || "frames";
    // Keep what the new model takes, in the current mode, up to its limits.
    const kept = [];
    for (const ref of state.refs) {
      const spec = roles.find((r) => r.role === ref.role && r.mode === state.mode);
      if (spec && kept.filter((r) => r.role === ref.role).length < spec.max) kept.push(ref);
    }
    const dropped = state.refs.length - kept.length;
    state.refs = kept;
    state.slots = [];
    clear(refsBox);
    Object.assign(state, { toggle: null, modeHint: null, refsStatus: null, slotsBox: null });
    if (!modes.length) return;
    const modeHint = h("p", { class: "hint", id: "mode-hint" });
    const slotsBox = h("div", { class: "ref-grid" });
    const status = h("p", { class: "refs-status", id: "refs-status", role: "status",
      "aria-live": "polite" });
    let toggle = null;
    if (modes.length > 1) {
      const name = nextId("mode");
      toggle = h("fieldset", { class: "segmented", "aria-describedby": "mode-hint" },
        h("legend", {}, "Use"),
        h("div", { class: "segmented-options" }, modes.map((mode) => {
          const id = `${name}-${mode}`;
          const radio = h("input", { type: "radio", name, id, value: mode,
            checked: mode === state.mode, "data-mode": mode });
          radio.addEventListener("change", () => {
            if (!radio.checked) return;
            state.mode = mode;
            fill(slotsBox, roles.filter((r) => r.mode === state.mode).map(slot));
            refreshRefs();
            scheduleQuote();
          });
          return [radio, h("label", { for: id }, MODE_NAMES[mode])];
        })));
    }
    Object.assign(state, { toggle, modeHint, refsStatus: status, slotsBox });
    refsBox.append(h("fieldset", { class: "refs" },
      h("legend", {}, "Reference media"),
      toggle, modeHint, slotsBox, status));
    fill(slotsBox, roles.filter((r) => r.mode === state.mode).map(slot));
    refreshRefs();
    if (dropped && !status.textContent) {
      status.textContent = `${dropped === 1 ? "One file was" : `${dropped} files were`} left out: `
        + `${state.model.name} does not take ${dropped === 1 ? "it" : "them"} here.`;
    }
  }

  // What the current mode means, whether the toggle may switch, and what is still missing.
  function refreshRefs() {
    if (!state.slotsBox) return;
    state.slots = state.slots.filter((s) => state.slotsBox.contains(s.zone));  // this mode's
    for (const s of state.slots) s.update();
    const roles = rolesOf(state.model);
    const media = roles.filter((r) => r.mode === "reference");
    const taken = state.refs.length;
    let about;
    if (state.mode === "frames") {
      about = roles.some((r) => r.role === "last_frame")
        ? "Frames: the video starts on the first frame and, if you add one, ends on the last."
        : "Frames: the video starts on the first frame.";
    } else {
      const list = media.map((r) => `${r.max} ${r.kind === "audio" ? "audio clips"
        : `${r.kind}s`}`).join(", ");
      about = `References: up to ${list} guide the video.`;
    }
    if (state.toggle) {
      for (const radio of state.toggle.querySelectorAll("input")) {
        radio.disabled = taken > 0 && radio.value !== state.mode;
      }
      const other = state.mode === "frames" ? "reference media" : "first/last frames";
      about += taken
        ? ` Frames and reference media cannot be mixed in one request: remove the ${
          taken === 1 ? "file" : `${taken} files`} below to use ${other}.`
        : " Frames and reference media cannot be mixed in one request.";
    }
    state.modeHint.textContent = about;
    state.refsStatus.textContent = problem() || "";
    syncScene();
  }

  // A request the server would refuse, in words (it stays the judge: see the price line).
  function problem() {
    if (state.refs.some((r) => !r.file)) return "Uploading…";
    const has = (role) => count(role) > 0;
    if (!state.refs.length) {
      return state.model.modes.includes("t2v") ? ""
        : `${state.model.name} needs a first frame or reference images.`;
    }
    if (state.mode === "frames") return has("first_frame") ? "" : "Add a first frame: a last frame needs one.";
    for (const spec of rolesOf(state.model).filter((r) => r.mode === "reference")) {
      if (count(spec.role) < spec.min) {
        return `Add at least ${spec.min} reference ${spec.kind}${spec.min > 1 ? "s" : ""}.`;
      }
    }
    if (has("reference_audio") && !has("reference_image") && !has("reference_video")) {
      return "Reference audio needs a reference image or video beside it.";
    }
    for (const role of ["reference_video", "reference_audio"]) {
      const total = totalSeconds(role);
      if (total > MAX_SECONDS) {
        return `${role === "reference_video" ? "Videos" : "Audio clips"} add up to ${seconds(total)}; `
          + `at most ${MAX_SECONDS} s in all.`;
      }
    }
    return "";
  }

  // A draft is 480p: the resolution box says so, and waits for the final.
  function syncDraft() {
    const draft = paramsBox.querySelector("[data-param=draft]");
    const resolution = paramsBox.querySelector("select[data-param=resolution]");
    if (!draft || !resolution) return;
    const on = draft.value === "true" || draft.checked === true;
    resolution.disabled = on;
    resolution.title = on ? "A draft is 480p; choose the final's resolution once it is done" : "";
  }

  // The 2.0 models' "seedance_scene" names the mode: keep it in step with the media.
  function syncScene() {
    const scene = paramsBox.querySelector("select[data-param=seedance_scene]");
    if (!scene) return;
    const value = state.refs.length ? (state.mode === "frames" ? "frames" : "reference") : "text";
    if ([...scene.options].some((o) => o.value === value)) scene.value = value;
  }

  function slot(spec) {
    const id = nextId("ref");
    const kind = KINDS[spec.kind];
    const input = h("input", { type: "file", id, accept: kind.accept, multiple: spec.max > 1,
      "data-role": spec.role, "aria-describedby": `${id}-count ${id}-about` });
    const counter = h("span", { class: "ref-count", id: `${id}-count` });
    const message = h("p", { class: "slot-message", role: "status", "aria-live": "polite" });
    const items = h("ul", { class: "ref-items", "aria-label": spec.label });
    const zone = h("div", { class: "drop", "data-role": spec.role },
      h("div", { class: "drop-head" }, h("label", { for: id }, spec.label), counter),
      input,
      h("p", { class: "hint", id: `${id}-about` }, spec.max > 1
        ? `${kind.about} Drop files here or choose them.` : `${kind.about} Drop a file here or choose one.`),
      message, items);

    const blocked = () => {
      if (count(spec.role) >= spec.max) {
        return spec.max === 1 ? "Remove this one to use another."
          : `That is the most ${spec.label.toLowerCase()} ${state.model.name} takes.`;
      }
      if (spec.role === "last_frame" && !count("first_frame")) return "Add a first frame first.";
      return "";
    };
    const update = () => {
      const n = count(spec.role);
      const bits = [`${n} of ${spec.max}`];
      if (spec.min && n < spec.min) bits.push(`at least ${spec.min}`);
      if (spec.kind !== "image" && n) bits.push(`${seconds(totalSeconds(spec.role))} of ${MAX_SECONDS} s`);
      counter.textContent = bits.join(" · ");
      const reason = blocked();
      input.disabled = Boolean(reason);
      zone.classList.toggle("full", Boolean(reason));
      zone.dataset.full = reason ? "true" : "false";
      if (reason && !message.dataset.sticky) message.textContent = reason;
      if (!reason && !message.dataset.sticky) message.textContent = "";
      const els = state.refs.filter((r) => r.role === spec.role).map((ref) => ref.el);
      const same = els.length === items.children.length
        && els.every((el, i) => items.children[i] === el);
      if (!same) fill(items, els);  // moving a playing preview would pause it
    };
    const say = (text) => {  // a message that stays until the next change
      message.textContent = text;
      if (text) message.dataset.sticky = "1";
      else delete message.dataset.sticky;
    };

    const item = (ref) => {
      const label = `Preview of ${ref.name}`;
      const preview = spec.kind === "image"
        ? h("img", { src: ref.preview, alt: label, class: "ref-media" })
        : h(spec.kind, { src: ref.preview, controls: true, preload: "metadata", class: "ref-media",
          "aria-label": label, muted: spec.kind === "video", playsinline: true });
      ref.status = h("span", { class: "hint" }, ref.statusText || " uploading…");
      return h("li", { class: `ref-item ref-item-${spec.kind}` }, preview,
        h("span", { class: "ref-name" }, ref.name, ref.status),
        h("button", { type: "button", class: "button button-quiet button-small",
          "aria-label": `Remove ${ref.name}`, onclick: () => {
            state.refs = state.refs.filter((r) => r !== ref);
            say("");
            refreshRefs();
            input.focus();
            scheduleQuote();
          } }, "Remove"));
    };

    const take = async (files) => {
      say("");
      const reason = blocked();
      if (reason) { say(reason); return; }
      const all = [...files];
      // A file whose type the browser knows must be of this slot's kind.
      const fitting = all.filter((f) => !f.type || f.type.split("/")[0] === spec.kind);
      const room = spec.max - count(spec.role);
      const list = fitting.slice(0, room);
      const notes = [];
      if (fitting.length < all.length) {
        const wrong = all.filter((f) => !fitting.includes(f)).map((f) => f.name).join(", ");
        notes.push(`Not ${spec.kind === "image" ? "an image" : `a ${kind.noun}`}: ${wrong}.`);
      }
      if (fitting.length > room) {
        notes.push(`${state.model.name} takes ${spec.max} ${spec.label.toLowerCase()} at most: `
          + `${fitting.length - room} left out.`);
      }
      say(notes.join(" "));
      const refs = list.map((file) => {
        const preview = URL.createObjectURL(file);
        state.previews.push(preview);
        const ref = { role: spec.role, kind: spec.kind, name: file.name, preview, file: null };
        ref.el = item(ref);
        state.refs.push(ref);
        return ref;
      });
      refreshRefs();
      await Promise.all(refs.map(async (ref, index) => {
        const made = await guard(() => upload(list[index], spec.kind, state.model.id));
        if (made) {
          ref.file = made;
          const size = made.kind === "image" && made.width ? ` · ${made.width}×${made.height}`
            : made.duration ? ` · ${seconds(made.duration)}` : "";
          ref.statusText = ` uploaded${size}`;
          ref.status.textContent = ref.statusText;
        } else {
          state.refs = state.refs.filter((r) => r !== ref);
          say(`${ref.name} was not accepted: see the message at the top.`);
        }
        refreshRefs();
      }));
      input.value = "";
      scheduleQuote();
    };
    input.addEventListener("change", () => take(input.files));
    zone.addEventListener("dragover", (event) => {
      event.preventDefault();
      event.dataTransfer.dropEffect = blocked() ? "none" : "copy";
      zone.classList.add("drag");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("drag"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("drag");
      take(event.dataTransfer.files);
    });
    // Media kept from the previous model get this slot's Remove buttons.
    for (const ref of state.refs.filter((r) => r.role === spec.role)) ref.el = item(ref);
    state.slots.push({ zone, update });
    update();
    return zone;
  }

  // ---- the request body ----

  function body() {
    const params = {};
    for (const input of paramsBox.querySelectorAll("[data-param]")) {
      if (input.disabled) continue;
      const type = input.dataset.type;
      if (type === "boolean") params[input.dataset.param] = input.checked;
      else if (type === "number" && input.tagName === "INPUT") {
        if (input.value !== "") params[input.dataset.param] = Number(input.value);
      } else if (input.value !== "") params[input.dataset.param] = input.value;
    }
    const refs = state.refs.filter((r) => r.file);
    if (refs.length) {
      params.referenceMediaItems = refs.map((r) => {
        const item = { url: r.file.url, kind: r.file.kind, name: r.file.name,
          mimeType: r.file.mimeType, role: r.role };
        if (r.file.durationToken) item.durationToken = r.file.durationToken;
        return item;
      });
    }
    return { model: state.model.id, prompt: prompt.value, params };
  }

  const isDraft = (params) => params.draft === true || params.draft === "true";

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
      if (err instanceof ApiError) {
        fill(quote, "Cannot price this request: ", h("code", {}, err.code), ` ${err.message}`,
          err.requestId ? h("span", { class: "hint" }, "Request id: ",
            h("code", {}, err.requestId)) : null);
      } else quote.textContent = `Cannot price this request: ${err.message}`;
    }
  }

  // ---- submit and watch ----

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (state.refs.some((r) => !r.file)) {
      if (state.refsStatus) state.refsStatus.textContent = "Wait for the uploads to finish.";
      return;
    }
    const request = body();
    submit.disabled = true;
    const task = await guard(() => post("/api/v1/generations", request,
      { headers: { "Idempotency-Key": crypto.randomUUID() } }));
    submit.disabled = false;
    if (!task) return;
    remember(task.id, request);
    refreshCredits();
    watch(task, isDraft(request.params) ? state.model : null);
  });

  // A succeeded draft's "make the final": a higher resolution, its price, then the final's run.
  function finalOffer(draft, model) {
    const resolutions = (model.params.find((p) => p.key === "resolution")?.options || [])
      .map(String).filter((r) => r !== "480p");
    if (!resolutions.length) return null;
    const choice = h("select", { id: "final-resolution" },
      resolutions.map((r) => h("option", { value: r }, r)));
    const price = h("span", { class: "hint", id: "final-price", "aria-live": "polite" });
    const make = h("button", { type: "button", class: "button button-primary" }, "Make the final");
    const request = () => ({ model: model.id, draft_task_id: draft.id,
      params: { resolution: choice.value } });
    const reprice = () => guard(async () => {
      const answer = await post("/api/v1/generations/quote", request(), { signal });
      price.textContent = `${number(answer.credits)} credits, ${answer.width}×${answer.height}`;
    });
    choice.addEventListener("change", reprice);
    make.addEventListener("click", async () => {
      make.disabled = true;
      const final = await guard(() => post("/api/v1/generations", request(),
        { headers: { "Idempotency-Key": crypto.randomUUID() } }));
      make.disabled = false;
      if (!final) return;
      remember(final.id, request());
      refreshCredits();
      watch(final);
    });
    reprice();
    return h("div", { class: "final-offer stack", id: "final-offer" },
      h("p", {}, "This is a 480p draft. The final keeps its scene, seed and length."),
      h("div", { class: "actions" }, field("Final resolution", choice), price, make));
  }

  function watch(first, draftOf = null) {
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
        const offer = draftOf ? finalOffer(task, draftOf) : null;
        if (offer) output.append(offer);
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
  paramsBox.addEventListener("change", () => { syncDraft(); scheduleQuote(); });

  page.append(h("h1", {}, "Playground"),
    h("p", { class: "lead" }, "Pick a model, describe the video, see the price, generate."),
    h("div", { class: "playground-layout" }, form, run));
  buildParams();
  buildRefs();
  fetchQuote();
  return () => state.previews.forEach((url) => URL.revokeObjectURL(url));
}
