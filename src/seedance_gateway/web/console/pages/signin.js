// Sign in with an API key or with email and password (a session key, revoked on sign-out).

import { post } from "../api.js";
import { go, guard, signIn } from "../app.js";
import { field, h } from "../dom.js";

export function render(page) {
  const keyInput = h("input", { type: "password", name: "api_key", autocomplete: "off",
    spellcheck: "false", required: true, placeholder: "sdg_…" });
  const keyForm = h("form", { class: "card stack", "aria-labelledby": "signin-key-title" },
    h("h2", { id: "signin-key-title" }, "With an API key"),
    field("API key", keyInput, "Kept in this browser tab only (sessionStorage)."),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "button" }, "Sign in")));
  keyForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const ok = await guard(async () => { await signIn(keyInput.value.trim()); return true; });
    if (ok) go("#/playground");
  });

  const email = h("input", { type: "email", name: "email", autocomplete: "username",
    required: true });
  const password = h("input", { type: "password", name: "password",
    autocomplete: "current-password", required: true });
  const passwordForm = h("form", { class: "card stack", "aria-labelledby": "signin-pw-title" },
    h("h2", { id: "signin-pw-title" }, "With email and password"),
    field("Email", email),
    field("Password", password),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "button" }, "Sign in")));
  passwordForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const ok = await guard(async () => {
      const session = await post("/api/v1/sessions",
        { email: email.value.trim(), password: password.value }, { key: null });
      await signIn(session.key, session.key_id);
      return true;
    });
    if (ok) go("#/playground");
  });

  page.append(
    h("h1", {}, "Sign in"),
    h("p", { class: "lead" }, "Use an API key, or the email and password of your account."),
    h("div", { class: "grid-2" }, keyForm, passwordForm),
  );
}
