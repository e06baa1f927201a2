// Formatting of API values for display. Times are shown in UTC, as the records carry them.

const NUMBER = new Intl.NumberFormat("en-US");

/** 1234567 -> "1,234,567". */
export function num(n) {
  return n === null || n === undefined ? "–" : NUMBER.format(n);
}

/** "2026-04-18T02:22:56.123Z" -> "2026-04-18 02:22:56". */
export function ts(iso) {
  if (!iso) return "–";
  return String(iso).replace("T", " ").replace(/(\.\d+)?Z$/, "");
}

/** Seconds since an ISO time, as "5 s ago" / "3 min ago" / "2 h ago" / "4 d ago". */
export function ago(iso, now = Date.now()) {
  if (!iso) return "";
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** Byte counts: 75 -> "75 B", 2048 -> "2.0 KiB". */
export function bytes(n) {
  const v = Number(n);
  if (!Number.isFinite(v)) return "–";
  if (v < 1024) return `${v} B`;
  if (v < 1048576) return `${(v / 1024).toFixed(1)} KiB`;
  return `${(v / 1048576).toFixed(1)} MiB`;
}

/** A duration in seconds with sensible precision. */
export function secs(v) {
  if (v === null || v === undefined) return "–";
  if (v < 1) return `${(v * 1000).toFixed(1)} ms`;
  if (v < 120) return `${v.toFixed(2)} s`;
  return `${(v / 60).toFixed(1)} min`;
}

/** A log row's `fields` (a JSON object encoded as a string) as an object. */
export function fieldsOf(row) {
  try {
    const parsed = JSON.parse(row.fields || "{}");
    return parsed && typeof parsed === "object" ? parsed : {};
  } catch {
    return {};
  }
}

/** `datetime-local` value (taken as UTC) <-> API time string. */
export function toApiTime(local) {
  return local ? `${local.length === 16 ? `${local}:00` : local}Z` : "";
}

export function toLocalInput(iso) {
  return iso ? String(iso).replace(/(\.\d+)?Z$/, "").slice(0, 19) : "";
}

/** An ISO time `minutes` before now, to the second. */
export function minutesAgo(minutes, now = Date.now()) {
  return new Date(now - minutes * 60000).toISOString().replace(/\.\d+Z$/, "Z");
}
