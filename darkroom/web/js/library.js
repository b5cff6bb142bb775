// The library: pictures by project, filtered by model, prompt, date and kept; details with
// infotext, recipe, provenance and lineage; download; develop in the workspace.
import * as api from "./api.js";
import { t } from "./i18n.js";

const $ = id => document.getElementById(id);

export class Library {
  constructor(studio, { showView, develop }) {
    this.studio = studio;
    this.showView = showView;
    this.develop = develop;
    this.current = null;
    const models = $("lib-model");
    models.append(new Option("—", ""));
    for (const m of studio.models) models.append(new Option(m.name, m.name));
    $("library-filter").addEventListener("submit", event => { event.preventDefault(); this.load(); });
    $("details-develop").addEventListener("click", () => {
      if (!this.current) return;
      this.showView("workspace");
      this.develop(this.current);
    });
    document.addEventListener("view", event => { if (event.detail === "library") this.load(); });
  }

  async load() {
    const params = new URLSearchParams({ limit: "200" });
    if ($("lib-project").value.trim()) params.set("project", $("lib-project").value.trim());
    if ($("lib-model").value) params.set("model", $("lib-model").value);
    if ($("lib-kept").checked) params.set("kept", "true");
    if ($("lib-since").value) params.set("since", String(new Date($("lib-since").value).getTime() / 1000));
    const grid = $("library-grid");
    let pictures;
    try { pictures = await api.get(`pictures?${params}`); } catch (err) { grid.replaceChildren(text(err.message)); return; }
    const words = $("lib-prompt").value.trim().toLowerCase();
    if (words) pictures = pictures.filter(p => (p.recipe?.steps || []).some(s => (s.prompt || "").toLowerCase().includes(words)));
    const items = await Promise.all(pictures.map(async p => {
      const li = document.createElement("li");
      li.className = "frame";
      const b = document.createElement("button");
      b.type = "button";
      b.className = "frame-image";
      const prompt = p.recipe?.steps?.[0]?.prompt || p.kind;
      b.setAttribute("aria-label", t("lib.open", { op: p.op || p.kind, prompt }));
      const img = document.createElement("img");
      img.className = "pixelated";
      img.alt = prompt;
      img.src = await api.pictureURL(p.sha256);
      b.append(img);
      b.addEventListener("click", () => this.details(p.sha256));
      const cap = document.createElement("span");
      cap.className = "caption";
      cap.textContent = `${p.op || p.kind} · ${p.width}×${p.height} · ${p.project}`;
      li.append(b, cap);
      return li;
    }));
    grid.replaceChildren(...(items.length ? items : [text(t("lib.none"))]));
  }

  async details(sha) {
    this.current = sha;
    const info = await api.get(`pictures/${sha}`);
    $("details").hidden = false;
    const url = await api.pictureURL(sha);
    $("details-image").src = url;
    $("details-image").alt = info.recipe?.steps?.[0]?.prompt || sha;
    const link = $("details-download");
    link.href = url;
    link.download = `${sha.slice(0, 16)}.png`;
    const p = info.provenance;
    $("details-provenance").textContent = `${p.ok ? "✔" : "✘"} ${p.verdict}`;
    $("details-provenance").className = p.ok ? "ok" : "error";
    $("details-infotext").textContent = info.infotext || "—";
    $("details-recipe").textContent = info.recipe ? JSON.stringify(info.recipe, null, 2) : "—";
    const lineage = $("details-lineage");
    lineage.replaceChildren(...await Promise.all(info.lineage.map(async (s, i) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.className = "thumb";
      b.setAttribute("aria-label", t("lib.lineageItem", { n: i + 1, sha: s.slice(0, 12) }));
      const img = document.createElement("img");
      img.className = "pixelated";
      img.alt = "";
      img.src = await api.pictureURL(s);
      b.append(img);
      b.addEventListener("click", () => this.details(s));
      li.append(b);
      return li;
    })));
    $("details-develop").disabled = !info.recipe;
  }

  relabel() { if (!$("view-library").hidden) this.load(); }
}

function text(message) {
  const li = document.createElement("li");
  li.className = "muted";
  li.textContent = message;
  return li;
}
