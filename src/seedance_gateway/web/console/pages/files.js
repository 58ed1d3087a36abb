// Files: uploads with previews (fetched with the key into object URLs), upload, delete.

import { get, objectUrl, query, request } from "../api.js";
import { guard, notify } from "../app.js";
import { bytes, clear, confirmDialog, field, fill, h, when } from "../dom.js";

export const KIND_OF = (type) => (type.startsWith("video/") ? "video"
  : type.startsWith("audio/") ? "audio" : "image");

// Uploads one File with the Files API; resolves to the file object.
export function upload(file, kind, model) {
  const form = new FormData();
  form.append("kind", kind || KIND_OF(file.type || ""));
  if (model) form.append("model", model);
  form.append("file", file, file.name);
  return request("POST", "/api/v1/files", { form });
}

export async function render(page, { signal }) {
  const urls = [];
  const grid = h("ul", { class: "file-grid", "aria-label": "Uploaded files" });
  const more = h("button", { type: "button", class: "button button-quiet", hidden: true },
    "Load more");
  let cursor = null;

  async function load(reset) {
    if (reset) { cursor = null; clear(grid); }
    const found = await get(`/api/v1/files${query({ limit: 24, after: cursor })}`, { signal });
    cursor = found.next_cursor;
    more.hidden = !found.has_more;
    if (reset && !found.data.length) grid.append(h("li", { class: "empty" }, "No files yet."));
    for (const file of found.data) grid.append(card(file));
  }

  function card(file) {
    const preview = h("div", { class: "preview" }, h("span", { class: "muted" }, "Loading preview…"));
    objectUrl(new URL(file.url, location.href).pathname, signal).then((url) => {
      urls.push(url);
      const media = file.kind === "image"
        ? h("img", { src: url, alt: `Preview of ${file.name}` })
        : h(file.kind, { src: url, controls: true, preload: "metadata",
          "aria-label": `Preview of ${file.name}` });
      fill(preview, media);
    }).catch((err) => {
      if (err.name !== "AbortError") fill(preview, h("span", { class: "muted" }, "No preview"));
    });
    const size = file.kind === "image" ? `${file.width}×${file.height}` : `${file.duration} s`;
    return h("li", { class: "file-card" }, preview,
      h("p", { class: "file-name", title: file.name }, file.name),
      h("p", { class: "muted small" }, `${file.kind} · ${size} · ${bytes(file.size)}`),
      h("p", { class: "muted small" }, h("code", {}, file.id), " · ", when(file.created_at)),
      h("button", { type: "button", class: "button button-danger button-small",
        "aria-label": `Delete ${file.name}`, onclick: () => remove(file) }, "Delete"));
  }

  async function remove(file) {
    const question = `Delete “${file.name}”? Generations that used it keep their copy.`;
    if (!await confirmDialog(question, "Delete")) return;
    await guard(async () => {
      await request("DELETE", `/api/v1/files/${encodeURIComponent(file.id)}`);
      notify(`${file.name} deleted.`);
      await load(true);
    });
  }

  const input = h("input", { type: "file", name: "file", required: true,
    accept: "image/png,image/jpeg,image/webp,video/mp4,video/quicktime,video/webm,audio/*" });
  const kind = h("select", { name: "kind" }, h("option", { value: "" }, "From the file type"),
    ["image", "video", "audio"].map((k) => h("option", { value: k }, k)));
  const form = h("form", { class: "card stack", "aria-labelledby": "up-t" },
    h("h2", { id: "up-t" }, "Upload"),
    h("div", { class: "grid-2" },
      field("File", input,
        "Images up to 10 MB (300–6000 px), video up to 50 MB, audio up to 10 MB; 2–15 s."),
      field("Kind", kind)),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "button" }, "Upload")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = input.files[0];
    if (!file) return;
    await guard(async () => {
      const made = await upload(file, kind.value);
      notify(`${made.name} uploaded.`);
      form.reset();
      await load(true);
    });
  });
  more.addEventListener("click", () => guard(() => load(false)));

  page.append(h("h1", {}, "Files"),
    h("p", { class: "lead" }, "Reference media for generations. Files are private to your account."),
    form, grid, more);
  await load(true);
  return () => urls.forEach((url) => URL.revokeObjectURL(url));
}
