// "Copy as curl" and "Copy as Python" for a generation request, and the requests this
// browser sent (the API does not return a task's request body, so the playground keeps them).

const STORE = "sdg.requests";

export function remember(taskId, body) {
  try {
    const all = JSON.parse(localStorage.getItem(STORE) || "{}");
    all[taskId] = body;
    const ids = Object.keys(all);
    for (const id of ids.slice(0, Math.max(0, ids.length - 200))) delete all[id];
    localStorage.setItem(STORE, JSON.stringify(all));
  } catch { /* storage full or disabled */ }
}

export function recall(taskId) {
  try {
    return JSON.parse(localStorage.getItem(STORE) || "{}")[taskId] || null;
  } catch {
    return null;
  }
}

const shellQuote = (text) => `'${text.replace(/'/g, "'\\''")}'`;

export function curl(origin, body) {
  return [
    `curl -s ${origin}/api/v1/generations \\`,
    '  -H "Authorization: Bearer $SEEDANCE_API_KEY" \\',
    "  -H 'Content-Type: application/json' \\",
    `  -d ${shellQuote(JSON.stringify(body, null, 2))}`,
  ].join("\n");
}

// A JSON value as a Python literal.
export function py(value, indent = "") {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number") return String(value);
  if (typeof value === "string") return JSON.stringify(value);
  const inner = `${indent}    `;
  if (Array.isArray(value)) {
    if (!value.length) return "[]";
    return `[\n${value.map((v) => `${inner}${py(v, inner)},`).join("\n")}\n${indent}]`;
  }
  const entries = Object.entries(value);
  if (!entries.length) return "{}";
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${py(v, inner)},`)
    .join("\n")}\n${indent}}`;
}

export function python(origin, body) {
  return [
    "import os",
    "",
    "from seedance_gateway.client import Client",
    "",
    `with Client(${JSON.stringify(origin)}, os.environ["SEEDANCE_API_KEY"]) as client:`,
    "    task = client.generate(",
    `        ${JSON.stringify(body.model)},`,
    `        ${JSON.stringify(body.prompt ?? "")},`,
    `        ${py(body.params || {}, "        ")},`,
    "    )",
    '    client.download(task, "out.mp4")',
  ].join("\n");
}
