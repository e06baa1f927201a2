// Signing in and out, the must-change-password flow, and restoring a session after a reload.

import { api, ApiError } from "./api.js";
import { bearer, setToken, setUser } from "./session.js";

/** Log in; `{mustChange: true}` when the password must be replaced before anything else. */
export async function signIn(username, password) {
  setToken(null);
  const result = await api("/auth/login", { method: "POST", body: { username, password }, expect401: true });
  setToken(result.access_token);
  if (result.must_change_password) return { mustChange: true };
  setUser(await api("/auth/me"));
  return { mustChange: false };
}

/** Replace the password (this ends every older token) and sign in again with the new one. */
export async function changePassword(username, oldPassword, newPassword) {
  await api("/auth/change-password", {
    method: "POST", body: { old_password: oldPassword, new_password: newPassword }, expect401: true,
  });
  return signIn(username, newPassword);
}

/** The user of the token kept in this tab, or null (the token is dropped if it no longer works). */
export async function restore() {
  if (!bearer()) return null;
  try {
    const me = await api("/auth/me", { expect401: true });
    if (me.must_change_password) {
      setToken(null);
      return null;
    }
    setToken(bearer());
    setUser(me);
    return me;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) setToken(null);
    else throw e;
    return null;
  }
}

/** Revoke the token on the server (best effort) and forget it here. */
export async function signOut() {
  try {
    await api("/auth/logout", { method: "POST", expect401: true });
  } catch {
    // an expired token cannot be revoked: forgetting it is enough
  }
  setToken(null);
  setUser(null);
}
