// The console shell: sign-in state, account header, hash routing and the alert region.

import { ApiError, auth, get, post } from "./api.js";
import { clear, h, number } from "./dom.js";

const PAGES = {
  signin: () => import("./pages/signin.js"),
  playground: () => import("./pages/playground.js"),
  generations: () => import("./pages/generations.js"),
  files: () => import("./pages/files.js"),
  keys: () => import("./pages/keys.js"),
  credits: () => import("./pages/credits.js"),
  webhooks: () => import("./pages/webhooks.js"),
  admin: () => import("./pages/admin.js"),
};
const TITLES = {
  signin: "Sign in", playground: "Playground", generations: "Generations", files: "Files",
  keys: "API keys", credits: "Credits", webhooks: "Webhooks", admin: "Admin",
};

const $ = (id) => document.getElementById(id);
const state = { account: null, cleanup: null, renderId: 0, carried: null };

// ---- alerts -----------------------------------------------------------------------------

export function showError(err) {
  const box = $("alert");
  clear(box);
  if (err instanceof ApiError) {
    box.append(
      h("p", { class: "alert-title" }, h("strong", {}, "Error: "), h("code", {}, err.code)),
      h("p", {}, err.message),
      err.requestId ? h("p", { class: "alert-meta" }, "Request id: ",
        h("code", {}, err.requestId)) : null,
    );
  } else {
    box.append(h("p", {}, h("strong", {}, "Error: "), String(err && err.message || err)));
  }
  box.append(h("button", { type: "button", class: "alert-close", "aria-label": "Dismiss error",
    onclick: hideError }, "×"));
  box.hidden = false;
  box.scrollIntoView({ block: "nearest" });
}

export function hideError() {
  $("alert").hidden = true;
  clear($("alert"));
}

// A short polite message, e.g. "Key revoked".
export function notify(text) {
  const box = $("notice");
  box.textContent = text;
  clearTimeout(notify.timer);
  notify.timer = setTimeout(() => { box.textContent = ""; }, 5000);
}

// Runs an async action, showing its failure in the alert region; resolves to its result.
export async function guard(action) {
  try {
    hideError();
    return await action();
  } catch (err) {
    fail(err);
    return undefined;
  }
}

// Shows a failure; a refused key (401) also signs out, keeping the message visible.
function fail(err) {
  if (err && err.name === "AbortError") return;
  if (err instanceof ApiError && err.status === 401 && auth.key) {
    state.carried = err;  // shown on the sign-in page
    signOut({ quiet: true });
    return;
  }
  showError(err);
}

// ---- account ----------------------------------------------------------------------------

export const account = () => state.account;

// Loads the signed-in account (falls back to the balance alone on servers without /account).
export async function loadAccount() {
  try {
    state.account = await get("/api/v1/account");
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404) throw err;
    const credits = await get("/api/v1/credits");
    state.account = { object: "account", name: "", role: "user", ...credits };
  }
  renderAccount();
  return state.account;
}

export async function refreshCredits() {
  if (!state.account) return;
  try {
    const { current_credits: credits } = await get("/api/v1/credits");
    state.account.current_credits = credits;
    renderAccount();
  } catch { /* the header is best effort */ }
}

function renderAccount() {
  const signedIn = Boolean(state.account && auth.key);
  document.body.classList.toggle("signed-in", signedIn);
  $("account-box").hidden = !signedIn;
  $("site-nav").hidden = !signedIn;
  $("nav-toggle").hidden = !signedIn;
  if (!signedIn) return;
  const a = state.account;
  $("account-name").textContent = a.name || a.email || "Signed in";
  $("account-credits").textContent = `${number(a.current_credits)} credits`;
  $("nav-admin").hidden = a.role !== "admin";
}

export async function signIn(key, sessionKeyId = null) {
  auth.set(key, sessionKeyId);
  try {
    await loadAccount();
  } catch (err) {
    auth.clear();
    state.account = null;
    throw err;
  }
}

async function signOut({ quiet = false } = {}) {
  const keyId = auth.sessionKeyId;
  if (keyId && !quiet) {
    try { await post(`/api/v1/keys/${encodeURIComponent(keyId)}/revoke`); } catch { /* gone */ }
  }
  auth.clear();
  state.account = null;
  renderAccount();
  if (!quiet) notify("Signed out.");
  go("#/signin");
}

// ---- routing ----------------------------------------------------------------------------

export function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function parseHash() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean)
    .map(decodeURIComponent);
  return { name: parts[0] || "", args: parts.slice(1) };
}

async function route({ focus = false } = {}) {
  const id = ++state.renderId;
  let { name, args } = parseHash();
  if (!auth.key) name = "signin";
  else if (!state.account) {
    const ok = await guard(loadAccount);
    if (id !== state.renderId) return;
    if (!ok) name = "signin";
  }
  if (name === "signin" && auth.key && state.account) name = "playground";
  if (!PAGES[name] || (name === "admin" && state.account?.role !== "admin")) {
    name = auth.key ? "playground" : "signin";
  }
  if (state.cleanup) { state.cleanup(); state.cleanup = null; }
  hideError();
  if (state.carried) { showError(state.carried); state.carried = null; }
  closeNav();
  for (const link of document.querySelectorAll("#site-nav a")) {
    if (link.dataset.route === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${TITLES[name]} · Seedance Gateway`;
  const page = $("page");
  clear(page);
  delete page.dataset.ready;
  const controller = new AbortController();
  state.cleanup = () => controller.abort();
  try {
    const module = await PAGES[name]();
    if (id !== state.renderId) return;
    const extra = await module.render(page, { args, signal: controller.signal });
    if (typeof extra === "function") {
      const previous = state.cleanup;
      state.cleanup = () => { previous(); extra(); };
    }
  } catch (err) {
    if (err && err.name === "AbortError") return;
    fail(err);
  }
  if (id !== state.renderId) return;
  if (focus) {  // a new page: screen readers and keyboards start at its top
    window.scrollTo(0, 0);
    $("main").focus({ preventScroll: true });
  }
  page.dataset.ready = name;  // tests wait for this
}

// ---- shell ------------------------------------------------------------------------------

function closeNav() {
  document.body.classList.remove("nav-open");
  $("nav-toggle").setAttribute("aria-expanded", "false");
}

function start() {
  $("sign-out").addEventListener("click", () => signOut());
  $("nav-toggle").addEventListener("click", () => {
    const open = document.body.classList.toggle("nav-open");
    $("nav-toggle").setAttribute("aria-expanded", String(open));
  });
  document.querySelector(".skip-link").addEventListener("click", (event) => {
    event.preventDefault();
    $("main").focus();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && document.body.classList.contains("nav-open")) {
      closeNav();
      $("nav-toggle").focus();
    }
  });
  window.addEventListener("hashchange", () => route({ focus: true }));
  route();
}

start();
