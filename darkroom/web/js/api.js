// The native API (/api/v1) with the token as a header (sessionStorage, never a cookie).
// A 401 asks the user to sign in (see app.js) and the request is sent again. Error messages
// come back in the studio's language (Accept-Language).
import { language } from "./i18n.js";

const BASE = "/api/v1";
const TOKEN_KEY = "darkroom.token";
let askToken = null; // async () => token, set by the app

export class ApiError extends Error {
  constructor(status, kind, detail) {
    super(detail || kind || `HTTP ${status}`);
    this.status = status;
    this.kind = kind;
  }
}

export function onSignIn(ask) { askToken = ask; }
export function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }
export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function headers(extra = {}) {
  const h = { "Accept-Language": language(), ...extra };
  if (token()) h.Authorization = `Bearer ${token()}`;
  return h;
}

export async function raw(path, options = {}, retried = false) {
  const response = await fetch(path.startsWith("/") ? path : `${BASE}/${path}`, {
    ...options, headers: headers(options.headers), cache: "no-store",
  });
  if (response.status === 401 && askToken && !retried) {
    setToken("");
    await askToken();
    return raw(path, options, true);
  }
  if (!response.ok) {
    let kind = "", detail = "";
    try { ({ error: kind, detail } = await response.json()); } catch { /* not JSON */ }
    throw new ApiError(response.status, kind, detail);
  }
  return response;
}

export async function get(path) { return (await raw(path)).json(); }

export async function post(path, body) {
  return (await raw(path, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body ?? {}),
  })).json();
}

export async function del(path) { return (await raw(path, { method: "DELETE" })).json(); }

export async function postBytes(path, blob) {
  return (await raw(path, { method: "POST", headers: { "Content-Type": blob.type || "application/octet-stream" }, body: blob })).json();
}

/** A blob's bytes as base64 (the pictures a job carries in `inputs`). */
export function base64(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1]);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

// Pictures: an <img> cannot send the token, so with a token the file is fetched and shown as a blob: URL.
const blobs = new Map();
export async function pictureURL(sha) {
  const path = `${BASE}/pictures/${sha}/file`;
  if (!token()) return path;
  if (!blobs.has(sha)) blobs.set(sha, raw(path).then(r => r.blob()).then(b => URL.createObjectURL(b)));
  return blobs.get(sha);
}

// Server-Sent Events over fetch (EventSource cannot send an Authorization header).
export function events(jobId, onEvent, signal) {
  return stream(`jobs/${jobId}/events`, onEvent, signal);
}

// Any event stream of the API: onEvent(kind, data) for each event, awaited in order.
export async function stream(path, onEvent, signal) {
  const response = await raw(path, { signal });
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let kind = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) kind = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      if (data) await onEvent(kind, JSON.parse(data));
    }
  }
}
