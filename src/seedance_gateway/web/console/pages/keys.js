// API keys: list, create (plaintext shown once), revoke.

import { get, post } from "../api.js";
import { guard, notify } from "../app.js";
import { badge, clear, confirmDialog, copyButton, field, fill, h, table, when } from "../dom.js";

const SCOPES = [
  ["generate", "create and cancel generations"],
  ["read", "read everything"],
  ["files", "upload and delete files"],
  ["webhooks", "manage webhooks"],
  ["keys", "manage keys"],
];

export async function render(page, { signal }) {
  const list = h("div", {});
  const reveal = h("div", { "aria-live": "polite" });

  async function load() {
    const keys = await get("/api/v1/keys", { signal });
    fill(list, table([
      { label: "Name", cell: (k) => [k.name, k.current ? [" ", badge("this console", "info")] : null] },
      { label: "Prefix", cell: (k) => h("code", {}, k.prefix) },
      { label: "Scopes", cell: (k) => k.scopes.join(", ") },
      { label: "Created", cell: (k) => when(k.created_at) },
      { label: "Last used", cell: (k) => when(k.last_used_at) },
      { label: "Status", cell: status },
      { label: "Actions", cell: (k) => (k.revoked_at ? "—" : h("button", {
        type: "button", class: "button button-danger button-small",
        "aria-label": `Revoke key ${k.name}`, onclick: () => revoke(k) }, "Revoke")) },
    ], keys.data, { caption: "API keys" }));
  }

  function status(key) {
    if (key.revoked_at) return badge("revoked", "bad");
    if (key.expires_at && Date.parse(key.expires_at) <= Date.now()) return badge("expired", "bad");
    if (!key.expires_at) return badge("active", "good");
    return [badge("active", "good"), " ", h("span", { class: "muted" }, "until "),
      when(key.expires_at)];
  }

  async function revoke(key) {
    const warning = key.current
      ? " This is the key this console is using: you will be signed out." : "";
    const question = `Revoke the key “${key.name}” (${key.prefix})? `
      + `Requests with it will be refused.${warning}`;
    if (!await confirmDialog(question, "Revoke")) return;
    await guard(async () => {
      await post(`/api/v1/keys/${encodeURIComponent(key.id)}/revoke`);
      notify(`Key ${key.name} revoked.`);
      await load();
    });
  }

  const name = h("input", { type: "text", name: "name", required: true, maxlength: "100",
    autocomplete: "off" });
  const lifetime = h("select", { name: "expires_in_days" },
    [["", "Never"], ["7", "In 7 days"], ["30", "In 30 days"], ["90", "In 90 days"],
      ["365", "In a year"]].map(([value, label]) => h("option", { value }, label)));
  const boxes = SCOPES.map(([scope, what]) => {
    const box = h("input", { type: "checkbox", name: "scopes", value: scope,
      id: `scope-${scope}`, checked: scope !== "keys" });
    return h("div", { class: "check" }, box,
      h("label", { for: box.id }, h("strong", {}, scope), ` — ${what}`));
  });
  const form = h("form", { class: "card stack", "aria-labelledby": "new-key-title" },
    h("h2", { id: "new-key-title" }, "Create a key"),
    field("Name", name),
    field("Expires", lifetime),
    h("fieldset", { class: "checks" }, h("legend", {}, "Scopes"), boxes),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "button" }, "Create key")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const scopes = [...form.querySelectorAll("input[name=scopes]:checked")].map((b) => b.value);
    await guard(async () => {
      const body = { name: name.value.trim(), scopes };
      if (lifetime.value) body.expires_in_days = Number(lifetime.value);
      const made = await post("/api/v1/keys", body);
      const secret = h("input", { type: "text", readonly: true, value: made.key,
        class: "mono", id: "new-key-value", "aria-label": "New API key" });
      fill(reveal, h("section", { class: "card reveal", "aria-labelledby": "reveal-t" },
        h("h2", { id: "reveal-t" }, `Key “${made.name}” created`),
        h("p", {}, "Copy it now: this is the only time it is shown."),
        h("div", { class: "inline" }, secret, copyButton("Copy", made.key)),
        h("button", { type: "button", class: "button button-quiet",
          onclick: () => clear(reveal) }, "Done")));
      secret.focus();
      secret.select();
      name.value = "";
      await load();
    });
  });

  page.append(h("h1", {}, "API keys"),
    h("p", { class: "lead" },
      "Keys authenticate every request. They are stored hashed; a new key is shown once."),
    reveal, list, form);
  await load();
}
