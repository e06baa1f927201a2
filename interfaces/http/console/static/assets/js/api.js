// The API client: JSON over fetch with the bearer token from the session. A 401 ends the session
// (the token expired or was revoked) unless the caller expects one (login, wrong old password).

import { bearer, expire } from "./session.js";
import { activeView, readsViews } from "./view.js";

export const API = "/api/v1";

/** An API refusal: HTTP status, SPEC's `detail` and the Retry-After of a 429. */
export class ApiError extends Error {
  constructor(status, detail, retryAfter = null) {
    super(detail);
    this.status = status;
    this.detail = detail;
    this.retryAfter = retryAfter;
  }
}

/** `/logs` + {limit: 50, search: ""} -> "/api/v1/logs?limit=50" (empty values left out). */
export function url(path, query = {}) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one !== undefined && one !== null && one !== "") params.append(key, String(one));
    }
  }
  const qs = params.toString();
  return `${API}${path}${qs ? `?${qs}` : ""}`;
}

async function failure(response) {
  let detail = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && typeof body.detail === "string") detail = body.detail;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, detail, response.headers.get("retry-after"));
}

/** One request; resolves to the decoded JSON (null for 204), rejects with ApiError. `answers`:
 * error statuses whose body is the answer (`/health`'s 503 carries the components' report). */
export async function api(path, { method = "GET", query, body, signal, expect401 = false, raw = false, answers = [] } = {}) {
  const headers = { Accept: "application/json" };
  const token = bearer();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    const view = method === "GET" && activeView() && readsViews(path) ? { view: activeView() } : {};
    response = await fetch(url(path, { ...query, ...view }), {
      method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store", credentials: "omit",
    });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, "The server cannot be reached");
  }
  if (!response.ok && !answers.includes(response.status)) {
    const error = await failure(response);
    if (response.status === 401 && !expect401) expire(error.detail);
    throw error;
  }
  if (raw) return response;
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

/** GET and save a file: fetched as a blob (the bearer header cannot ride on a plain link). */
export async function download(path, query, filename) {
  const response = await api(path, { query, raw: true });
  const blob = await response.blob();
  const href = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = href;
  link.download = filename;
  link.rel = "noopener";
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10000);
  return blob.size;
}

/** A readable one-liner for an error shown to the operator. */
export function reason(error) {
  if (error instanceof ApiError) {
    if (error.status === 429 && error.retryAfter) return `${error.detail} (retry in ${error.retryAfter} s)`;
    return error.detail;
  }
  return String(error && error.message ? error.message : error);
}
