// The API docs page: lists the documents of /openapi/index.json in the picker and renders the
// one named by ?doc= (public-v1 when absent) with Redoc (redoc.standalone.js, run before this
// script). Sets <body data-ready="NAME"> once rendered, or shows why not (tests wait for both).
"use strict";

const INDEX_URL = "/openapi/index.json";
const DEFAULT_DOCUMENT = "public-v1";
const SYSTEM_FONTS = 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif';
const MONO_FONTS = 'ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace';

/** Redoc's options: the console's colours and system fonts (nothing is fetched for fonts). */
const OPTIONS = {
  scrollYOffset: "#site-header",  // the sticky header stays above the menu and the headings
  nativeScrollbars: true,
  sanitize: true,
  expandResponses: "200,201,202",
  theme: {
    colors: { primary: { main: "#2456d3" } },
    typography: {
      fontFamily: SYSTEM_FONTS,
      headings: { fontFamily: SYSTEM_FONTS },
      code: { fontFamily: MONO_FONTS },
    },
  },
};

function fail(text) {
  const message = document.getElementById("message");
  message.textContent = text;
  message.hidden = false;
  document.getElementById("redoc").replaceChildren();
  document.body.dataset.ready = "error";
}

async function loadIndex() {
  const response = await fetch(INDEX_URL, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${INDEX_URL} answered ${response.status}`);
  const { documents } = await response.json();
  return documents;
}

async function start() {
  const wanted = new URLSearchParams(location.search).get("doc") || DEFAULT_DOCUMENT;
  let documents;
  try {
    documents = await loadIndex();
  } catch (err) {
    fail(`The list of API documents could not be loaded (${err.message}).`);
    return;
  }
  const picker = document.getElementById("doc");
  for (const { name, title } of documents) {
    picker.append(new Option(title, name, false, name === wanted));
  }
  const chosen = documents.find((d) => d.name === wanted);
  if (!chosen) {
    fail(`There is no API document named “${wanted}”; pick one above.`);
    return;
  }
  document.title = `${chosen.title} · API docs · Seedance Gateway`;
  window.Redoc.init(chosen.url, OPTIONS, document.getElementById("redoc"), (error) => {
    if (error) fail(`${chosen.url} could not be shown (${error.message || error}).`);
    else document.body.dataset.ready = chosen.name;
  });
}

start();
