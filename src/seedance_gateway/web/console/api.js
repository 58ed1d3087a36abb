// The JSON API client: the key in sessionStorage, errors as ApiError, and an SSE reader.

const KEY = "sdg.key";
const KEY_ID = "sdg.session_key_id";

export class ApiError extends Error {
  constructor(status, code, message, requestId) {
    super(message);
    this.status = status;
    this.code = code;
    this.requestId = requestId;
  }
}

export const auth = {
  get key() { return sessionStorage.getItem(KEY); },
  // Set only when the key came from a password sign-in: sign-out revokes it.
  get sessionKeyId() { return sessionStorage.getItem(KEY_ID); },
  set(key, sessionKeyId = null) {
    sessionStorage.setItem(KEY, key);
    if (sessionKeyId) sessionStorage.setItem(KEY_ID, sessionKeyId);
    else sessionStorage.removeItem(KEY_ID);
  },
  clear() {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(KEY_ID);
  },
};

function headers(extra = {}, key = auth.key) {
  const out = { Accept: "application/json", ...extra };
  if (key) out.Authorization = `Bearer ${key}`;
  return out;
}

async function failure(response) {
  let body = null;
  try { body = await response.json(); } catch { /* not JSON */ }
  const error = body && body.error && typeof body.error === "object" ? body.error : {};
  return new ApiError(
    response.status,
    error.code || `http_${response.status}`,
    error.message || response.statusText || "request failed",
    error.requestId || response.headers.get("x-request-id") || "",
  );
}

// One request; resolves to the decoded JSON body, rejects with ApiError.
// options: {body (JSON), form (FormData), headers, key, signal}
export async function request(method, path, options = {}) {
  const extra = { ...(options.headers || {}) };
  let body;
  if (options.form) body = options.form;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    extra["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(path, {
      method, body, signal: options.signal,
      headers: headers(extra, "key" in options ? options.key : auth.key),
    });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "network_error", "the server could not be reached", "");
  }
  if (!response.ok) throw await failure(response);
  if (response.status === 204) return null;
  return response.json();
}

export const get = (path, options) => request("GET", path, options);
export const post = (path, body, options = {}) => request("POST", path, { ...options, body });

// Query string from an object, skipping empty values.
export function query(params) {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") search.set(k, String(v));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

// A private file (e.g. /api/v1/files/{id}/content) as an object URL; the caller revokes it.
export async function objectUrl(url, signal) {
  const response = await fetch(url, { headers: headers(), signal });
  if (!response.ok) throw await failure(response);
  return URL.createObjectURL(await response.blob());
}

// Reads a text/event-stream with fetch (EventSource cannot send Authorization) and calls
// onEvent({event, data, id}) per frame. Resolves when the server closes the stream.
export async function stream(path, onEvent, signal) {
  const response = await fetch(path, {
    headers: headers({ Accept: "text/event-stream" }), signal,
  });
  if (!response.ok) throw await failure(response);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = parseFrame(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (frame) onEvent(frame);
    }
  }
}

export function parseFrame(text) {
  const frame = { event: "message", data: [], id: null };
  for (const line of text.split("\n")) {
    if (!line || line.startsWith(":")) continue;  // comments are keep-alives
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") frame.event = value;
    else if (field === "data") frame.data.push(value);
    else if (field === "id") frame.id = value;
  }
  if (!frame.data.length) return null;
  return { ...frame, data: frame.data.join("\n") };
}
