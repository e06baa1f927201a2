// One attacker: behaviour, traversal path, commands, credentials, fingerprints and artifacts
// (admins download them; the request carries the bearer header, so it is fetched as a blob).

import { api, download, reason } from "../api.js";
import { card, chip, h, notice, replace, table } from "../dom.js";
import { bytes, fieldsOf, num, secs, ts } from "../format.js";
import { link, navigate, pageModule } from "../router.js";
import { canAudit, isAdmin } from "../session.js";
import { loading, pager, toast } from "../widgets.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const COMMANDS = 50;

/** The attacker's bounty rows of one type (the API searches substrings; keep exact IPs). */
async function bountyOf(ip, type) {
  const page = await api("/bounty", { query: { bounty_type: type, search: ip, limit: 500 } });
  return page.data.filter((b) => b.attacker_ip === ip);
}

function kv(pairs) {
  return h("dl", { class: "kv" }, pairs.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v === null || v === undefined || v === "" ? "–" : v)]));
}

function fingerprintText(p) {
  if (p.fingerprint_type === "tcp_syn") return `${p.os_guess || "?"} · ttl ${p.ttl} · win ${p.window} · mss ${p.mss} · ${p.options}`;
  if (p.fingerprint_type === "ja3") return p.ja3 || JSON.stringify(p);
  // One User-Agent is one bounty per request line it came with: show the line, or the rows repeat.
  if (p.fingerprint_type === "http_useragent") return [p.value, [p.method, p.path].filter(Boolean).join(" ")].filter(Boolean).join(" · ");
  return p.value || JSON.stringify(p);
}

/** The attacker's evidence bundle (auditors and admins): a signed, offline-verifiable .zip. */
function evidenceButton(a) {
  if (!canAudit()) return null;
  const button = h("button", { type: "button", class: "button small", dataset: { command: "evidence" } }, "Export evidence");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const name = `evidence-${a.ip.replace(/[^0-9a-zA-Z.-]/g, "_")}.zip`;
      const size = await download(`/attackers/${a.uuid}/evidence`, {}, name);
      toast(`Exported ${name} (${bytes(size)}); check it with: decnet evidence verify ${name}`);
    } catch (e) {
      toast(`Export failed: ${reason(e)}`, "error");
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

/** A download button for an artifact (admins only; viewers get none). */
export function artifactButton(decky, service, storedAs) {
  if (!isAdmin()) return null;
  const button = h("button", { type: "button", class: "button small", dataset: { command: "download" } }, "Download");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const size = await download(`/artifacts/${encodeURIComponent(decky)}/${encodeURIComponent(storedAs)}`, { service }, storedAs);
      toast(`Downloaded ${storedAs} (${bytes(size)})`);
    } catch (e) {
      toast(`Download failed: ${reason(e)}`, "error");
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

class AttackerPage {
  constructor(root, id) {
    this.root = root;
    this.id = id;
  }

  async mount() {
    loading(this.root);
    let attacker;
    try {
      attacker = await this.#find();
    } catch (e) {
      replace(this.root, h("h1", { class: "page-title" }, "Attacker"), notice("error", reason(e)));
      return;
    }
    if (!attacker) return;
    this.attacker = attacker;
    this.commands = h("div", {});
    this.credentials = h("div", {});
    this.fingerprints = h("div", {});
    this.artifacts = h("div", {});
    [this.commands, this.credentials, this.fingerprints, this.artifacts].forEach((el) => loading(el));
    const page = this.#layout(attacker);
    replace(this.root, page);
    await Promise.all([this.#loadCommands(0), this.#loadBounty(), this.#loadArtifacts()]);
    page.dataset.ready = "true";
  }

  async #find() {
    if (UUID.test(this.id)) return api(`/attackers/${this.id}`);
    // An IP (from a log row or the bounty vault): find its profile.
    const page = await api("/attackers", { query: { search: this.id, limit: 50 } });
    const found = page.data.find((a) => a.ip === this.id);
    if (!found) {
      replace(this.root, h("h1", { class: "page-title" }, "Attacker"), notice("info", `No profile for ${this.id} yet.`));
      return null;
    }
    navigate(`/attackers/${found.uuid}`, {}, { replace: true });
    return null;
  }

  #layout(a) {
    const b = a.behavior || {};
    const t = b.timing_stats || {};
    const p = b.phase_sequence || {};
    const path = a.deckies.length
      ? h("ol", { class: "traversal" }, a.deckies.map((d) => h("li", {}, h("a", { href: link("/logs", { search: `attacker:${a.ip} decky:${d}` }) }, d))))
      : h("p", { class: "muted" }, "No decky touched.");
    return h("div", { class: "attacker-page", dataset: { ready: "false" } },
      h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: link("/attackers") }, "Attackers"), " / ", a.ip),
      h("h1", { class: "page-title" }, h("span", { class: "mono" }, a.ip), " ", chip(b.behavior_class || "unknown", "class"),
        a.is_traversal ? chip("traversal", "warn") : null),
      h("div", { class: "tiles" },
        [["Events", num(a.event_count)], ["Services", num(a.service_count)], ["Deckies", num(a.decky_count)],
          ["Bounty", num(a.bounty_count)], ["Credentials", num(a.credential_count)], ["Commands", num(a.command_count)]]
          .map(([label, value]) => h("div", { class: "tile" }, h("div", { class: "tile-label" }, label), h("div", { class: "tile-value" }, value)))),
      h("div", { class: "two-col" },
        card("Profile", h("span", { class: "chips" }, evidenceButton(a),
          h("a", { class: "button ghost small", href: link("/logs", { search: `attacker:${a.ip}` }) }, "Logs")),
          kv([["First seen", ts(a.first_seen)], ["Last seen", ts(a.last_seen)], ["UUID", h("span", { class: "mono" }, a.uuid)],
            ["Services", h("span", { class: "chips" }, a.services.map((s) => chip(s)))]]),
          h("h3", {}, "Traversal path"), path),
        card("Behaviour", null,
          kv([["Class", b.behavior_class], ["OS guess", b.os_guess], ["Hop distance", b.hop_distance],
            ["TCP fingerprint", b.tcp_fingerprint ? h("span", { class: "mono" }, b.tcp_fingerprint) : null],
            ["Tools", (b.tool_guesses || []).length ? h("span", { class: "chips" }, b.tool_guesses.map((x) => chip(x))) : null],
            ["Beacon", b.beacon_interval_s ? `every ${secs(b.beacon_interval_s)} ± ${b.beacon_jitter_pct.toFixed(0)} %` : null]]),
          h("h3", {}, "Timing"),
          kv([["Duration", secs(t.duration_s)], ["Mean gap", secs(t.mean_iat_s)], ["Median gap", secs(t.median_iat_s)],
            ["Min / max gap", `${secs(t.min_iat_s)} / ${secs(t.max_iat_s)}`], ["Variation (cv)", t.cv === null || t.cv === undefined ? "–" : t.cv.toFixed(2)]]),
          h("h3", {}, "Phases"),
          kv([["Recon ended", ts(p.recon_end_ts)], ["Exfiltration started", ts(p.exfil_start_ts)],
            ["Latency", secs(p.exfil_latency_s)], ["Large payloads", num(p.large_payload_count)]]))),
      card("Commands", null, this.commands),
      h("div", { class: "two-col" }, card("Credentials", null, this.credentials), card("Fingerprints", null, this.fingerprints)),
      card("Artifacts", null, this.artifacts));
  }

  async #loadCommands(offset) {
    try {
      const page = await api(`/attackers/${this.attacker.uuid}/commands`, { query: { limit: COMMANDS, offset } });
      if (!page.data.length) {
        replace(this.commands, h("p", { class: "muted" }, "No command recorded."));
        return;
      }
      replace(this.commands, page.total > COMMANDS ? pager(page, (o) => this.#loadCommands(o)) : null,
        table(["Time (UTC)", "Decky", "Service", "Command"], page.data.map((c) => [
          h("span", { class: "mono nowrap" }, ts(c.timestamp)), c.decky, c.service, h("code", { class: "command" }, c.command)])));
    } catch (e) {
      replace(this.commands, notice("error", reason(e)));
    }
  }

  async #loadBounty() {
    const ip = this.attacker.ip;
    try {
      const [credentials, fingerprints] = await Promise.all([bountyOf(ip, "credential"), bountyOf(ip, "fingerprint")]);
      replace(this.credentials, credentials.length
        ? table(["Time (UTC)", "Decky", "Service", "Username", "Password"], credentials.map((c) => [
          h("span", { class: "mono nowrap" }, ts(c.timestamp)), c.decky, c.service,
          h("code", {}, c.payload.username), h("code", {}, c.payload.password)]))
        : h("p", { class: "muted" }, "No credential harvested."));
      replace(this.fingerprints, fingerprints.length
        ? table(["Type", "Value", "Where"], fingerprints.map((f) => [
          chip(f.payload.fingerprint_type), h("code", { class: "wrap" }, fingerprintText(f.payload)), `${f.decky}/${f.service}`]))
        : h("p", { class: "muted" }, "No fingerprint recorded."));
    } catch (e) {
      replace(this.credentials, notice("error", reason(e)));
      replace(this.fingerprints);
    }
  }

  async #loadArtifacts() {
    try {
      const result = await api(`/attackers/${this.attacker.uuid}/artifacts`);
      if (!result.data.length) {
        replace(this.artifacts, h("p", { class: "muted" }, "No file captured."));
        return;
      }
      replace(this.artifacts, table(["Time (UTC)", "Decky", "Service", "Original path", "Size", "SHA-256", ""],
        result.data.map((row) => {
          const f = fieldsOf(row);
          return [h("span", { class: "mono nowrap" }, ts(row.timestamp)), row.decky, row.service,
            h("code", {}, f.orig_path || "–"), bytes(f.size), h("code", { class: "hash", title: f.sha256 || "" }, (f.sha256 || "").slice(0, 16)),
            f.stored_as ? artifactButton(row.decky, row.service, f.stored_as) : null];
        }), { className: "artifacts-table" }));
    } catch (e) {
      replace(this.artifacts, notice("error", reason(e)));
    }
  }
}

export default pageModule("Attacker", (root, { params }) => new AttackerPage(root, params.id));
