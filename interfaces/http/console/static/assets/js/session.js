// The signed-in session. The bearer token lives in sessionStorage (this tab only, gone when it
// closes) and is sent as an Authorization header, never as a cookie, so no request is
// cross-site forgeable; it never appears in a URL (the live stream uses single-use tickets).

const KEY = "decnet.token";
export const events = new EventTarget();
let token = null;
let user = null;
let expiryTimer = null;

try {
  token = window.sessionStorage.getItem(KEY);
} catch {
  token = null;
}

/** The token for the Authorization header, or null. */
export function bearer() {
  return token;
}

/** `{uuid, username, role, must_change_password}` of the signed-in user, or null. */
export function currentUser() {
  return user;
}

export function isAdmin() {
  return Boolean(user && user.role === "admin");
}

/** Auditors and admins read history and as-of views. */
export function canAudit() {
  return Boolean(user && (user.role === "auditor" || user.role === "admin"));
}

/** Seconds since the epoch at which the token expires (from its claims), or null. */
export function expiresAt(jwt = token) {
  try {
    const payload = JSON.parse(atob(jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return typeof payload.exp === "number" ? payload.exp : null;
  } catch {
    return null;
  }
}

/** Keep a new token (and arm the expiry) or forget it (null). */
export function setToken(value) {
  token = value;
  clearTimeout(expiryTimer);
  try {
    if (value) window.sessionStorage.setItem(KEY, value);
    else window.sessionStorage.removeItem(KEY);
  } catch {
    // storage disabled: the session lasts as long as this page
  }
  const exp = value ? expiresAt(value) : null;
  if (exp) {
    const ms = Math.max(0, exp * 1000 - Date.now());
    expiryTimer = setTimeout(() => expire("Your session expired; please sign in again."), Math.min(ms, 2 ** 31 - 1));
  }
}

export function setUser(value) {
  user = value;
  events.dispatchEvent(new CustomEvent("changed", { detail: user }));
}

/** The session is over (expired, revoked, signed out elsewhere): forget it and say why. */
export function expire(message) {
  if (!token && !user) return;
  setToken(null);
  setUser(null);
  events.dispatchEvent(new CustomEvent("expired", { detail: message }));
}
