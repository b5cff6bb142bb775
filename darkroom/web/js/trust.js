// Trust you can see: verify by drop, retention and erasure (with confirmation), the audit log (admin).
import * as api from "./api.js";
import { eventKind, has, t } from "./i18n.js";
import { dropZone } from "./drop.js";

const $ = id => document.getElementById(id);

function confirmDialog(text) {
  return new Promise(resolve => {
    const dialog = $("confirm");
    $("confirm-text").textContent = text;
    dialog.returnValue = "";
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
    dialog.showModal();
  });
}

/** The verify report's verdict in the studio's language (its code and parameters; the server's English if the code is new). */
export function verdictText(r) {
  const key = `verdict.${r.verdict_code}`;
  if (!has(key)) return r.verdict;
  const params = r.verdict_params || {};
  return t(key, { ...params, state: params.state ? c2paState(params.state) : "", signer: t(`signer.${params.signer}`) });
}

/** Its notes, likewise. */
export function noteTexts(r) {
  return (r.note_codes || []).map((note, i) => (has(`note.${note.code}`) ? t(`note.${note.code}`, note.params) : r.notes[i]));
}

const c2paState = state => (has(`c2pa.${state}`) ? t(`c2pa.${state}`) : state);

function c2paText(c2pa) {
  if (!c2pa) return "—";
  const failures = (c2pa.failure_codes || []).map(code => {
    if (!has(`c2paFail.${code}`)) return code;
    return code.includes(".") ? `${t(`c2paFail.${code}`)} (${code})` : t(`c2paFail.${code}`); // a spec code is worth showing
  });
  return [c2paState(c2pa.state), c2pa.signer || c2pa.issuer, ...failures].filter(Boolean).join(" · ");
}

function watermarkText(r) {
  if (r.watermark_found) return t("vf.wmFound", { payload: Number(r.watermark).toString(16).padStart(12, "0") });
  return t("vf.wmNone");
}

async function verify(file) {
  const out = $("verify-result");
  out.replaceChildren();
  try {
    const r = await api.postBytes("verify", file);
    const dl = document.createElement("dl");
    dl.className = "verdict";
    const rows = [["vf.file", file.name], ["vf.ok", r.ok ? t("yes") : t("no")], ["vf.verdict", verdictText(r)],
                  ["vf.marked", r.marked_ai ? t("yes") : t("no")], ["vf.c2pa", c2paText(r.c2pa)],
                  ["vf.xmp", r.xmp_source_type || "—"], ["vf.watermark", watermarkText(r)], ["vf.audit", r.audit || "—"]];
    for (const note of noteTexts(r)) rows.push(["vf.note", note]);
    for (const [key, value] of rows) {
      const dt = document.createElement("dt"); dt.textContent = t(key);
      const dd = document.createElement("dd"); dd.textContent = String(value);
      dl.append(dt, dd);
    }
    out.className = r.ok ? "ok" : "error";
    out.append(dl);
  } catch (err) {
    out.className = "error";
    out.textContent = err.message;
  }
}

export function initTrust() {
  dropZone($("verify-drop"), $("verify-file"), verify);

  const retention = async dryRun => {
    const project = $("retention-project").value.trim() || null;
    try {
      const r = await api.post("retention/run", { project, dry_run: dryRun });
      $("retention-result").textContent = t(dryRun ? "pv.expired" : "pv.deleted", { n: r.expired.length, bytes: r.freed }) +
        (r.expired.length ? "\n" + r.expired.join("\n") : "");
    } catch (err) { $("retention-result").textContent = err.message; }
  };
  $("retention-form").addEventListener("submit", e => { e.preventDefault(); retention(true); });
  $("retention-run").addEventListener("click", async () => { if (await confirmDialog(t("pv.confirmRetention"))) retention(false); });

  $("erase-form").addEventListener("submit", async e => {
    e.preventDefault();
    const target = $("erase-target").value.trim();
    const body = target.startsWith("sha256:") ? { image: target } : { project: target };
    try {
      const plan = await api.post("erase", { ...body, dry_run: true });
      if (!(await confirmDialog(`${t("pv.confirmErase", { target })}\n\n${plan.plan}`))) return;
      const done = await api.post("erase", body);
      $("erase-result").textContent = `${t("pv.erased")}\n${done.summary}`;
    } catch (err) { $("erase-result").textContent = err.message; }
  });

  $("audit-filter").addEventListener("submit", async event => {
    event.preventDefault();
    const status = $("audit-status");
    try {
      const check = await api.get("audit/verify");
      status.textContent = check.ok ? t("au.ok", { n: check.entries, checkpoints: check.checkpoints })
        : t("au.broken", { message: check.problems.map(p => p.message).join("\n") });
      status.className = check.ok ? "ok" : "error";
      const query = new URLSearchParams({ last: "100" });
      for (const [name, id] of [["kind", "audit-kind"], ["subject", "audit-subject"], ["since", "audit-since"], ["until", "audit-until"]]) {
        if ($(id).value) query.set(name, $(id).value);
      }
      const [entries, kinds, checkpoints] = await Promise.all(
        [api.get(`audit?${query}`), api.get("audit/kinds"), api.get("audit/checkpoints")]);
      const select = $("audit-kind"), chosen = select.value;
      select.replaceChildren(select.options[0], ...kinds.map(k => new Option(eventKind(k), k)));
      select.value = chosen;
      fillRows($("audit-table"), entries.reverse().map(e => [e.index, when(e.time), eventKind(e.kind), e.subject]));
      fillRows($("audit-checkpoints"), checkpoints.map(c => [when(c.time), c.size, c.root.slice(0, 16) + "…"]));
    } catch (err) {
      status.className = "error";
      status.textContent = err.status === 403 ? t("au.admin") : err.message;
    }
  });
}

function when(time) {
  return typeof time === "number" ? new Date(time * 1000).toLocaleString() : new Date(time).toLocaleString();
}

function fillRows(table, rows) {
  table.tBodies[0].replaceChildren(...rows.map(values => {
    const tr = document.createElement("tr");
    for (const value of values) {
      const td = document.createElement("td"); td.textContent = String(value ?? ""); tr.append(td);
    }
    return tr;
  }));
}
