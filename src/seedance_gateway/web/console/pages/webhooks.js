// Webhooks: endpoints (create, enable, rotate secret, test, delete) and the deliveries log.

import { get, post, query, request } from "../api.js";
import { guard, notify } from "../app.js";
import { badge, clear, confirmDialog, copyButton, field, fill, h, table, when } from "../dom.js";

const EVENTS = [
  ["generation.succeeded", true], ["generation.failed", true],
  ["generation.processing", false], ["generation.cancelled", false],
];

const path = (endpoint) => `/api/v1/webhooks/${encodeURIComponent(endpoint.id)}`;

export async function render(page, { signal }) {
  const list = h("div", {});
  const secretBox = h("div", { "aria-live": "polite" });
  const log = h("section", { "aria-labelledby": "log-t", hidden: true });
  let endpoints = [];

  async function load() {
    endpoints = (await get("/api/v1/webhooks", { signal })).data;
    fill(list, table([
      { label: "URL", cell: (e) => h("span", { class: "break" }, e.url) },
      { label: "Events", cell: (e) => e.event_types.join(", ") },
      { label: "State", cell: (e) => (e.enabled ? badge("enabled", "good")
        : [badge("disabled", "bad"), e.disabled_reason ? ` ${e.disabled_reason}` : null]) },
      { label: "Created", cell: (e) => when(e.created_at) },
      { label: "Actions", cell: (e) => h("div", { class: "row-actions" },
        small("Deliveries", () => guard(() => deliveries(e)), e),
        small(e.enabled ? "Disable" : "Enable", () => toggle(e), e),
        small("Send test", () => sendTest(e), e),
        small("Rotate secret", () => rotate(e), e),
        small("Delete", () => remove(e), e, true)) },
    ], endpoints, { caption: "Webhook endpoints", empty: "No endpoints yet." }));
  }

  const small = (text, onclick, e, danger = false) => h("button", { type: "button",
    class: `button button-small ${danger ? "button-danger" : "button-quiet"}`,
    "aria-label": `${text}: ${e.url}`, onclick }, text);

  function showSecret(title, made) {
    fill(secretBox, h("section", { class: "card reveal", "aria-labelledby": "sec-t" },
      h("h2", { id: "sec-t" }, title),
      h("p", {}, "The signing secret is shown only now."),
      h("div", { class: "inline" }, h("input", { type: "text", readonly: true, class: "mono",
        value: made.secret, "aria-label": "Signing secret" }), copyButton("Copy", made.secret)),
      made.previous_secret_expires_at ? h("p", { class: "hint" },
        "The previous secret keeps signing until ", when(made.previous_secret_expires_at), ".") : null,
      h("button", { type: "button", class: "button button-quiet", onclick: () => clear(secretBox) },
        "Done")));
  }

  async function toggle(e) {
    await guard(async () => {
      await request("PATCH", path(e),
        { body: { enabled: !e.enabled } });
      await load();
    });
  }

  async function sendTest(e) {
    await guard(async () => {
      await post(`${path(e)}/test`, {});
      notify("Test event queued.");
      await deliveries(e);
    });
  }

  async function rotate(e) {
    const question = `Rotate the secret of ${e.url}? The old one keeps signing for 24 hours.`;
    if (!await confirmDialog(question, "Rotate")) return;
    await guard(async () => {
      showSecret("New secret", await post(`${path(e)}/rotate-secret`, {}));
    });
  }

  async function remove(e) {
    const question = `Delete the endpoint ${e.url}? Pending deliveries are cancelled.`;
    if (!await confirmDialog(question, "Delete")) return;
    await guard(async () => {
      await request("DELETE", path(e));
      notify("Endpoint deleted.");
      log.hidden = true;
      await load();
    });
  }

  async function deliveries(e) {
    const found = await get(`${path(e)}/deliveries${query({ limit: 50 })}`, { signal });
    fill(log, h("div", { class: "page-head" },
      h("h2", { id: "log-t" }, "Deliveries to ", h("span", { class: "break" }, e.url)),
      h("button", { type: "button", class: "button button-quiet button-small",
        onclick: () => guard(() => deliveries(e)) }, "Refresh")),
      table([
        { label: "Event", cell: (d) => d.event_type },
        { label: "Status", cell: (d) => badge(d.status, d.status === "succeeded" ? "good"
          : d.status === "failed" ? "bad" : "busy") },
        { label: "Attempts", cell: (d) => attempts(d) },
        { label: "Generation", cell: (d) => (d.task_id ? h("code", {}, d.task_id) : "—") },
        { label: "Created", cell: (d) => when(d.created_at) },
        { label: "Next attempt", cell: (d) => when(d.next_attempt_at) },
        { label: "Replay", cell: (d) => h("button", { type: "button",
          class: "button button-quiet button-small", "aria-label": `Replay delivery ${d.id}`,
          onclick: () => guard(async () => {
            await post(`${path(e)}/deliveries/${encodeURIComponent(d.id)}/replay`);
            notify("Delivery replayed.");
            await deliveries(e);
          }) }, "Replay") },
      ], found.data, { caption: "Deliveries", empty: "No deliveries yet." }));
    log.hidden = false;
  }

  const attempts = (d) => (d.attempts.length ? h("ul", { class: "plain" }, d.attempts.map((a) =>
    h("li", {}, `#${a.attempt} `, a.status_code ? `HTTP ${a.status_code}` : (a.error || "no answer"),
      a.latency_ms !== null ? ` · ${a.latency_ms} ms` : ""))) : "none yet");

  const url = h("input", { type: "url", name: "url", required: true,
    placeholder: "https://example.com/hooks/seedance" });
  const description = h("input", { type: "text", name: "description", maxlength: "500" });
  const boxes = EVENTS.map(([type, on]) => {
    const box = h("input", { type: "checkbox", name: "event_types", value: type,
      id: `ev-${type}`, checked: on });
    return h("div", { class: "check" }, box, h("label", { for: box.id }, type));
  });
  const form = h("form", { class: "card stack", "aria-labelledby": "wh-new-t" },
    h("h2", { id: "wh-new-t" }, "Add an endpoint"),
    field("URL", url, "HTTPS, publicly reachable."),
    field("Description", description),
    h("fieldset", { class: "checks" }, h("legend", {}, "Events"), boxes),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "button" }, "Add endpoint")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const types = [...form.querySelectorAll("input[name=event_types]:checked")].map((b) => b.value);
    await guard(async () => {
      const made = await post("/api/v1/webhooks", { url: url.value.trim(), event_types: types,
        description: description.value });
      showSecret("Endpoint added", made);
      url.value = "";
      description.value = "";
      await load();
    });
  });

  page.append(h("h1", {}, "Webhooks"),
    h("p", { class: "lead" }, "Signed POSTs (Standard Webhooks) when generations end."),
    secretBox, list, log, form);
  await load();
}
