// The library: pictures by project, filtered by model, prompt, date and kept; details with
// infotext, recipe, provenance, the lineage as a graph (SVG, raw -> final) and the picture's audit
// events; keep / un-keep; download; develop in the workspace.
import * as api from "./api.js";
import { eventKind, has, language, t } from "./i18n.js";
import { verdictText } from "./trust.js";

const $ = id => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const NODE = 64, GAP = 28, PAD = 8, SIDE = 22, LABEL = 24; // SIDE: room for labels wider than a node // lineage graph geometry (px)

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
    $("details-keep").addEventListener("click", () => this.toggleKeep());
    $("details-export").addEventListener("click", () => this.export());
    document.addEventListener("view", event => { if (event.detail === "library") { this.load(); this.projects(); } });
  }

  async projects() {
    let list;
    try { list = await api.get("projects"); } catch { return; }
    $("lib-projects").replaceChildren(...list.map(p => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.className = "small";
      b.textContent = `${p.name} (${p.pictures})`;
      b.setAttribute("aria-label", t("lib.showProject", { name: p.name, n: p.pictures }));
      b.setAttribute("aria-pressed", String($("lib-project").value.trim() === p.name));
      b.addEventListener("click", () => {
        $("lib-project").value = $("lib-project").value.trim() === p.name ? "" : p.name;
        this.load();
        this.projects();
      });
      li.append(b);
      return li;
    }));
  }

  async load() {
    const params = new URLSearchParams({ limit: "200" });
    const day = (value, next) => String(new Date(`${value}T00:00:00`).getTime() / 1000 + (next ? 86400 : 0));
    if ($("lib-project").value.trim()) params.set("project", $("lib-project").value.trim());
    if ($("lib-model").value) params.set("model", $("lib-model").value);
    if ($("lib-kept").checked) params.set("kept", "true");
    if ($("lib-prompt").value.trim()) params.set("prompt", $("lib-prompt").value.trim());
    if ($("lib-since").value) params.set("since", day($("lib-since").value, false));
    if ($("lib-until").value) params.set("until", day($("lib-until").value, true));
    const grid = $("library-grid");
    let pictures;
    try { pictures = await api.get(`pictures?${params}`); } catch (err) { grid.replaceChildren(text(err.message)); return; }
    const items = await Promise.all(pictures.map(async p => {
      const li = document.createElement("li");
      li.className = "frame";
      li.classList.toggle("kept", p.kept);
      li.dataset.sha = p.sha256;
      const b = document.createElement("button");
      b.type = "button";
      b.className = "frame-image";
      const what = p.op ? t(`op.${p.op}`) : t(`kind.${p.kind}`);
      const prompt = p.recipe?.steps?.[0]?.prompt || t(`kind.${p.kind}`);
      b.setAttribute("aria-label", t("lib.open", { op: what, prompt }));
      const img = document.createElement("img");
      img.className = "pixelated";
      img.alt = prompt;
      img.src = await api.pictureURL(p.sha256);
      b.append(img);
      b.addEventListener("click", () => this.details(p.sha256));
      const cap = document.createElement("span");
      cap.className = "caption";
      cap.textContent = `${what} · ${p.width}×${p.height} · ${p.project}${p.kept ? " · ★" : ""}`;
      li.append(b, cap);
      return li;
    }));
    grid.replaceChildren(...(items.length ? items : [text(t("lib.none"))]));
  }

  async details(sha) {
    this.current = sha;
    const [info, events] = await Promise.all([api.get(`pictures/${sha}`), api.get(`pictures/${sha}/audit`)]);
    this.info = info;
    const graph = await this.graph(info); // everything at once: the details never show half a picture
    $("details").hidden = false;
    const url = await api.pictureURL(sha);
    $("details-image").src = url;
    $("details-image").alt = info.recipe?.steps?.[0]?.prompt || sha;
    const link = $("details-download");
    link.href = url;
    link.download = `${sha.slice(0, 16)}.png`;
    const kept = (await api.get(`pictures?kept=true&limit=1000`)).some(p => p.sha256 === sha);
    this.showKept(kept);
    const p = info.provenance;
    $("details-provenance").textContent = `${p.ok ? "✔" : "✘"} ${verdictText(p)}`;
    $("details-provenance").className = p.ok ? "ok" : "error";
    $("details-infotext").textContent = info.infotext || "—";
    $("details-recipe").textContent = info.recipe ? JSON.stringify(info.recipe, null, 2) : "—";
    $("details-lineage").replaceChildren(graph);
    this.showEvents(events);
    $("details-develop").disabled = !info.recipe && info.kind !== "input";
  }

  showKept(on) {
    const b = $("details-keep");
    b.setAttribute("aria-pressed", String(on));
    b.textContent = on ? t("lib.kept1") : t("lib.keep");
    b.setAttribute("aria-label", on ? t("lib.unkeepLong") : t("lib.keepLong"));
  }

  async toggleKeep() {
    const sha = this.current, on = $("details-keep").getAttribute("aria-pressed") !== "true";
    try {
      if (on) await api.post(`pictures/${sha}/keep`); else await api.del(`pictures/${sha}/keep`);
      this.showKept(on);
      this.load();
    } catch (err) { $("details-provenance").textContent = err.message; }
  }

  /** A new file in the chosen format, marked and signed anew: fetched (with the token) and handed to the browser. */
  async export() {
    const format = $("details-format").value;
    try {
      const response = await api.raw(`pictures/${this.current}/export?format=${format}`);
      const name = /filename="([^"]+)"/.exec(response.headers.get("content-disposition") || "")?.[1] || `picture.${format}`;
      const link = document.createElement("a");
      link.href = URL.createObjectURL(await response.blob());
      link.download = name;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    } catch (err) { $("details-provenance").textContent = err.message; }
  }

  /** The lineage from the raw negative to this picture as an SVG graph: one node per picture, arrows between. */
  async graph(info) {
    const chain = await api.get(`pictures/${info.sha256}/lineage`);
    const svg = document.createElementNS(SVG, "svg");
    const width = SIDE * 2 + chain.length * NODE + (chain.length - 1) * GAP, height = PAD * 2 + NODE + LABEL;
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("width", "100%");
    svg.style.maxWidth = `${width}px`; // long chains shrink to the panel's width
    svg.setAttribute("role", "group");
    svg.setAttribute("aria-labelledby", "details-lineage-title");
    svg.classList.add("lineage-graph");
    const defs = el("defs");
    const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto" });
    marker.append(el("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow-head" }));
    defs.append(marker);
    svg.append(defs);
    for (const [i, node] of chain.entries()) {
      const x = SIDE + i * (NODE + GAP);
      if (i > 0) svg.append(el("line", { x1: String(x - GAP + 2), y1: String(PAD + NODE / 2), x2: String(x - 3), y2: String(PAD + NODE / 2), class: "edge", "marker-end": "url(#arrow)" }));
      const op = node.op ? t(`op.${node.op}`) : t(`kind.${node.kind}`);
      const g = el("g", { class: `node${node.sha256 === info.sha256 ? " current" : ""}`, tabindex: "0", role: "button",
                          "aria-label": t("lib.lineageItem", { n: i + 1, op, sha: node.sha256.slice(0, 12) }) });
      g.dataset.sha = node.sha256;
      g.append(el("rect", { x: String(x - 2), y: String(PAD - 2), width: String(NODE + 4), height: String(NODE + 4), rx: "3" }));
      const image = el("image", { x: String(x), y: String(PAD), width: String(NODE), height: String(NODE), preserveAspectRatio: "xMidYMid meet" });
      image.setAttribute("href", await api.pictureURL(node.sha256));
      g.append(image);
      const label = el("text", { x: String(x + NODE / 2), y: String(PAD + NODE + 16), "text-anchor": "middle" });
      label.textContent = `${i + 1}. ${op}`;
      g.append(label);
      const open = () => this.details(node.sha256);
      g.addEventListener("click", open);
      g.addEventListener("keydown", e => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(); } });
      svg.append(g);
    }
    return svg;
  }

  showEvents(events) {
    const body = $("details-audit").tBodies[0];
    body.replaceChildren(...events.map(e => {
      const tr = document.createElement("tr");
      tr.dataset.kind = e.kind;
      const what = Object.entries(e.summary).filter(([, v]) => v !== null && v !== undefined)
        .map(([k, v]) => `${has(`evf.${k}`) ? t(`evf.${k}`) : k}: ${eventValue(k, v)}`).join(", ");
      for (const value of [e.index, new Date(e.time).toLocaleString(language()), eventKind(e.kind), what]) {
        const td = document.createElement("td"); td.textContent = String(value); tr.append(td);
      }
      return tr;
    }));
    if (!events.length) {
      const tr = document.createElement("tr");
      const td = document.createElement("td");
      td.colSpan = 4;
      td.textContent = t("lib.noEvents");
      tr.append(td);
      body.append(tr);
    }
  }

  relabel() {
    if ($("view-library").hidden) return;
    this.load();
    this.projects();
    if (this.current && !$("details").hidden) this.details(this.current);
  }
}

/** A value of an audit event in words: steps, decisions and states by the catalogs, the rest as recorded. */
function eventValue(field, value) {
  const key = field === "op" ? `op.${value}` : field === "action" ? `act.${value}` : `evv.${field}.${value}`;
  return has(key) ? t(key) : value;
}

function el(name, attrs = {}) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function text(message) {
  const li = document.createElement("li");
  li.className = "muted";
  li.textContent = message;
  return li;
}
