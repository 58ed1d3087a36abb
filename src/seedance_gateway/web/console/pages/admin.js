// Admin: accounts (list, create) and credit grants. Shown only to admins.

import { get, post, query } from "../api.js";
import { guard, notify, refreshCredits } from "../app.js";
import { badge, field, fill, h, number, table, when } from "../dom.js";

export async function render(page, { signal }) {
  const list = h("div", {});
  const target = h("select", { name: "account", required: true });

  // Every account, following the cursor (the grant form's select needs them all).
  async function everyAccount() {
    const accounts = [];
    let after = null;
    do {
      const page = await get(`/api/v1/admin/accounts${query({ limit: 100, after })}`, { signal });
      accounts.push(...page.data);
      after = page.has_more ? page.next_cursor : null;
    } while (after);
    return accounts;
  }

  async function load() {
    const accounts = await everyAccount();
    fill(list, table([
      { label: "Name", cell: (a) => a.name || "—" },
      { label: "Email", cell: (a) => a.email || "—" },
      { label: "Role", cell: (a) => badge(a.role, a.role === "admin" ? "info" : "neutral") },
      { label: "Credits", cell: (a) => number(a.current_credits) },
      { label: "Created", cell: (a) => when(a.created_at) },
      { label: "Id", cell: (a) => h("code", {}, a.id) },
    ], accounts, { caption: "Accounts", empty: "No accounts." }));
    const chosen = target.value;
    fill(target, accounts.map((a) => h("option", { value: a.id },
      `${a.name || a.id}${a.email ? ` <${a.email}>` : ""}`)));
    if (chosen) target.value = chosen;
  }

  const name = h("input", { type: "text", name: "name", required: true, autocomplete: "off" });
  const email = h("input", { type: "email", name: "email", required: true, autocomplete: "off" });
  const password = h("input", { type: "password", name: "password", required: true,
    autocomplete: "new-password", minlength: "8" });
  const role = h("select", { name: "role" }, h("option", { value: "user" }, "user"),
    h("option", { value: "admin" }, "admin"));
  const credits = h("input", { type: "number", name: "credits", min: "0", step: "1", value: 0 });
  const create = h("form", { class: "card stack", "aria-labelledby": "acc-new-t" },
    h("h2", { id: "acc-new-t" }, "Create an account"),
    h("div", { class: "grid-2" }, field("Name", name), field("Email", email),
      field("Password", password, "At least 8 characters."), field("Role", role),
      field("Starting credits", credits)),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "button" }, "Create account")));
  create.addEventListener("submit", async (event) => {
    event.preventDefault();
    await guard(async () => {
      const made = await post("/api/v1/admin/accounts", { name: name.value.trim(),
        email: email.value.trim(), password: password.value, role: role.value,
        credits: Number(credits.value || 0) });
      notify(`Account ${made.name || made.email} created.`);
      for (const input of [name, email, password]) input.value = "";
      credits.value = 0;
      await load();
      target.value = made.id;
    });
  });

  const amount = h("input", { type: "number", name: "credits", min: "1", step: "1", required: true });
  const note = h("input", { type: "text", name: "note", maxlength: "200" });
  const grant = h("form", { class: "card stack", "aria-labelledby": "grant-t" },
    h("h2", { id: "grant-t" }, "Grant credits"),
    h("div", { class: "grid-2" }, field("Account", target), field("Credits", amount),
      field("Note", note)),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "button" }, "Grant")));
  grant.addEventListener("submit", async (event) => {
    event.preventDefault();
    await guard(async () => {
      await post(`/api/v1/admin/accounts/${encodeURIComponent(target.value)}/grants`,
        { credits: Number(amount.value), note: note.value });
      notify(`${number(amount.value)} credits granted.`);
      amount.value = "";
      note.value = "";
      await load();
      refreshCredits();
    });
  });

  page.append(h("h1", {}, "Admin"), h("section", { "aria-labelledby": "acc-t" },
    h("h2", { id: "acc-t" }, "Accounts"), list), h("div", { class: "grid-2" }, create, grant));
  await load();
}
