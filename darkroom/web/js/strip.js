// The development strip: the chosen picture's recipe as cards (raw -> hires -> inpaint -> outpaint),
// each with its thumbnail and parameters. Edit a card and re-develop from it, or add a step
// (img2img, hires, inpaint zones with painted or detected masks, outpaint); view and download the
// recipe JSON; replay it. An uploaded picture (metadata stripped) starts a strip of its own.
import * as api from "./api.js";
import { fieldLabel, optionLabel, t } from "./i18n.js";
import { buildForm, stepSchema } from "./schema.js";
import { MaskPainter, maskedRegion } from "./mask.js";
import { promptBox } from "./prompt.js";
import { uploadPhoto } from "./jobs.js";
import { dropZone } from "./drop.js";

const $ = id => document.getElementById(id);
const SUMMARY_SKIP = new Set(["op", "prompt", "negative_prompt", "image", "zone", "batch_size"]);
const ADD = { img2img: "add-img2img", hires: "add-hires", inpaint: "add-inpaint", outpaint: "add-outpaint" };

export class Strip {
  constructor(studio, { follow, openLoupe, submitJob }) {
    this.studio = studio;
    this.follow = follow;
    this.openLoupe = openLoupe;
    this.submitJob = submitJob;
    this.info = null; // GET /pictures/{sha} of the picture at the strip's end
    this.forms = [];
    this.painters = [];
    for (const [op, id] of Object.entries(ADD)) $(id).addEventListener("click", () => this.addDraft(op));
    $("show-recipe").addEventListener("click", () => this.showRecipe());
    $("recipe-close").addEventListener("click", () => $("recipe-dialog").close());
    $("replay").addEventListener("click", () => this.replay());
    this.initUpload();
  }

  /** The steps before a new one: the picture's recipe, or none for an uploaded picture. */
  get steps() { return this.info?.recipe?.steps || []; }
  get uploaded() { return Boolean(this.info) && !this.info.recipe && this.info.kind === "input"; }

  async open(sha) {
    const info = await api.get(`pictures/${sha}`);
    this.info = info;
    this.forms = [];
    this.painters = [];
    const cards = $("cards");
    cards.replaceChildren();
    $("replay-result").textContent = "";
    $("strip-status")?.remove(); // what the last development said belongs to the picture before
    $("strip-empty").hidden = true;
    const developable = Boolean(info.recipe) || this.uploaded;
    for (const id of Object.values(ADD)) $(id).disabled = !developable;
    $("add-hires").disabled = !info.recipe;
    $("show-recipe").disabled = $("replay").disabled = !info.recipe;
    if (this.uploaded) { cards.append(await this.sourceCard(info)); return; }
    if (!info.recipe) { $("strip-empty").hidden = false; $("strip-empty").textContent = t("st.noRecipe"); return; }
    const steps = info.recipe.steps;
    const extra = info.lineage.length - steps.length; // > 0: the chain starts from an uploaded picture
    const lineage = extra >= 0 ? info.lineage.slice(extra) : steps.map((_, i) => i === steps.length - 1 ? sha : null);
    if (extra > 0) cards.append(await this.sourceCard(await api.get(`pictures/${info.lineage[0]}`)));
    for (const [i, step] of steps.entries()) cards.append(await this.card(step, i, lineage[i]));
    cards.scrollLeft = 0; // the strip reads from its raw negative; later cards are a scroll away
  }

  async sourceCard(info) {
    const li = document.createElement("li");
    li.className = "card source";
    li.dataset.op = "upload";
    const head = document.createElement("h3");
    head.textContent = t("st.source");
    const img = document.createElement("img");
    img.className = "pixelated";
    img.alt = t("st.source");
    img.src = await api.pictureURL(info.sha256);
    const thumb = document.createElement("div");
    thumb.className = "thumb";
    thumb.append(img);
    const note = document.createElement("p");
    note.className = "muted small";
    note.textContent = `${info.width}×${info.height}` + (info.kind === "input" ? ` · ${t("up.stripped")}` : "");
    li.append(head, thumb, note);
    return li;
  }

  async card(step, index, sha) {
    const li = document.createElement("li");
    li.className = "card";
    li.dataset.op = step.op;
    li.dataset.index = index;
    const head = document.createElement("h3");
    head.textContent = `${index + 1}. ${t(`op.${step.op}`)}`;
    const thumb = document.createElement("button");
    thumb.type = "button";
    thumb.className = "thumb";
    if (sha) {
      const img = document.createElement("img");
      img.className = "pixelated";
      img.alt = t("st.thumb", { op: t(`op.${step.op}`) });
      img.src = await api.pictureURL(sha);
      thumb.append(img);
      thumb.setAttribute("aria-label", t("st.loupe", { op: t(`op.${step.op}`) }));
      thumb.addEventListener("click", () => this.openLoupe(sha, this.info.lineage));
    } else {
      thumb.disabled = true;
      thumb.setAttribute("aria-label", t("st.thumb", { op: t(`op.${step.op}`) }));
    }
    const summary = document.createElement("dl");
    summary.className = "params";
    for (const [name, value] of Object.entries(step)) {
      if (SUMMARY_SKIP.has(name) || value === null || value === undefined || value === "") continue;
      const dt = document.createElement("dt"); dt.textContent = fieldLabel(name);
      const dd = document.createElement("dd");
      dd.textContent = typeof value === "object" ? optionLabel("zone", value.kind) : optionLabel(name, value);
      summary.append(dt, dd);
    }
    li.append(head, thumb);
    if (step.prompt) {
      const p = document.createElement("p");
      p.className = "card-prompt";
      p.textContent = step.prompt;
      li.append(p);
    }
    li.append(summary);
    const edit = document.createElement("button");
    edit.type = "button";
    edit.className = "small edit";
    edit.textContent = t("st.edit");
    edit.setAttribute("aria-label", t("st.editLong", { n: index + 1, op: t(`op.${step.op}`) }));
    edit.setAttribute("aria-expanded", "false");
    edit.addEventListener("click", () => this.editCard(li, step, index, edit));
    li.append(edit);
    return li;
  }

  editCard(li, step, index, button) {
    const open = button.getAttribute("aria-expanded") === "true";
    li.querySelector(".card-form")?.remove();
    button.setAttribute("aria-expanded", String(!open));
    if (open) { li.classList.remove("editing"); return; }
    const box = document.createElement("div");
    box.className = "card-form";
    const fields = document.createElement("div");
    const form = buildForm(this.studio.schema, stepSchema(this.studio.schema, step.op), fields, {
      prefix: `card${index}`, values: step, skip: ["image", "batch_size"],
      extras: { prompt: (w, input) => promptBox(w, input, { counter: false }) },
    });
    this.forms.push(form);
    const go = document.createElement("button");
    go.type = "button";
    go.className = "primary develop";
    go.textContent = t("st.redevelop");
    go.addEventListener("click", () => {
      const steps = this.steps.map(s => ({ ...s }));
      steps[index] = { ...stripNulls(step), ...form.values(), op: step.op };
      this.develop(steps);
    });
    box.append(fields, go);
    li.classList.add("editing");
    li.append(box);
  }

  async addDraft(op) {
    const cards = $("cards");
    cards.querySelector(".draft")?.remove();
    const index = this.steps.length;
    const li = document.createElement("li");
    li.className = "card draft";
    li.dataset.op = op;
    const head = document.createElement("h3");
    head.textContent = `${index + 1}. ${t(`op.${op}`)} · ${t("st.draft")}`;
    li.append(head);
    let painter = null, zones = null;
    if (op === "inpaint") {
      const side = document.createElement("div");
      side.className = "draft-side";
      li.append(side);
      painter = new MaskPainter(side, await api.pictureURL(this.info.sha256), this.info.width, this.info.height, `mask${index}`);
      this.painters.push(painter);
      zones = new ZoneList(side, painter, `draft-inpaint`);
      this.painters.push(zones); // relabelled with the painters
    }
    const fields = document.createElement("div");
    fields.className = "card-fields";
    const values = op === "outpaint" ? { left: 32, right: 32 } : {};
    const form = buildForm(this.studio.schema, stepSchema(this.studio.schema, op), fields, {
      prefix: `draft-${op}`, values, skip: ["image"],
      extras: { prompt: (w, input) => promptBox(w, input, { counter: false }) },
    });
    this.forms.push(form);
    if (painter) this.linkPainter(painter, form, zones);
    const error = document.createElement("p");
    error.className = "error";
    error.setAttribute("role", "alert");
    const go = document.createElement("button");
    go.type = "button";
    go.className = "primary develop";
    go.textContent = t("st.develop");
    go.setAttribute("aria-keyshortcuts", "Control+Enter");
    go.addEventListener("click", async () => {
      error.textContent = "";
      let steps, inputs = {};
      try { ({ steps, inputs } = painter ? await this.zoneSteps(op, form, painter, zones) : { steps: [{ op, ...form.values() }] }); }
      catch (err) { error.textContent = err.message; return; }
      if (this.uploaded) steps[0].image = `sha256:${this.info.sha256}`;
      this.develop([...this.steps, ...steps], inputs);
    });
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "small";
    remove.textContent = t("st.remove");
    remove.addEventListener("click", () => li.remove());
    const actions = document.createElement("div");
    actions.className = "draft-actions";
    actions.append(go, remove);
    li.append(fields, error, actions);
    cards.append(li);
    (li.querySelector("textarea, input") || go).focus({ preventScroll: true });
    li.scrollIntoView({ block: "start", inline: "nearest" }); // its tools and head first, however tall
  }

  /** Blur preview, face detection and the "only masked" regions follow the draft's fields. */
  linkPainter(painter, form, zones) {
    const input = name => form.inputs[name]?.input;
    const regions = () => {
      const blur = Number(input("mask_blur")?.value) || 0;
      painter.setBlur(blur);
      if (input("inpaint_area")?.value !== "masked") { painter.showRegions([]); return; }
      const native = this.studio.models.find(m => m.name === this.modelName())?.native_size || 512;
      const w = Number(input("width")?.value) || native, h = Number(input("height")?.value) || native;
      const padding = Number(input("padding")?.value) || 0;
      const found = [];
      painter.layers.forEach((_, zone) => {
        const box = painter.bounds(zone, blur);
        if (box) found.push({ zone, box: maskedRegion(box, padding, w, h, painter.width, painter.height) });
      });
      painter.showRegions(found);
    };
    for (const name of ["mask_blur", "inpaint_area", "padding", "width", "height"]) {
      input(name)?.addEventListener("input", regions);
      input(name)?.addEventListener("change", regions);
    }
    painter.root.addEventListener("maskchange", regions);
    painter.root.addEventListener("findfaces", async () => {
      painter.status.textContent = t("mask.finding");
      try {
        const found = await api.post(`pictures/${this.info.sha256}/detect?detector=face`);
        const n = await painter.showDetections(found);
        painter.status.textContent = n ? t("mask.facesFound", { n }) : t("mask.noFaces");
      } catch (err) { painter.status.textContent = err.message; }
    });
    zones.onChange = regions;
    regions();
  }

  /** One inpaint step per zone with a mask: the form's parameters, the zone's mask, prompt and denoise.
   *  The masks go with the job (`inputs`): the server stores them only if it admits the job. */
  async zoneSteps(op, form, painter, zones) {
    const base = form.values();
    const steps = [], inputs = {};
    for (const [zone, own] of zones.values().entries()) {
      if (painter.coverage(zone) === 0) continue;
      const name = `mask-${zone + 1}.png`;
      inputs[name] = await api.base64(await painter.toBlob(zone));
      steps.push({ ...base, op, ...own, zone: { kind: "mask", image: name } });
    }
    if (!steps.length) throw new Error(t("mask.empty"));
    return { steps, inputs };
  }

  modelName() { return this.info?.recipe?.model?.name || $("model").value; }

  develop(steps, inputs = {}) {
    const recipe = this.info.recipe ? { ...this.info.recipe } : { model: { name: this.modelName() } };
    recipe.steps = steps.map(stripNulls);
    delete recipe.runtime;
    const status = $("strip-status") || Object.assign(document.createElement("p"), { id: "strip-status", className: "muted" });
    status.setAttribute("role", "status");
    $("replay-result").after(status); // under the strip's head, above the cards
    status.textContent = t("st.developing");
    this.submitJob({ recipe, inputs, previews: true, project: this.info.project || undefined }).then(job => {
      if (!job) { status.textContent = t("cn.declined"); return; }
      this.follow(job.id, {
        end: (kind, pictures) => {
          const final = pictures.find(p => p.final) || pictures[pictures.length - 1];
          status.textContent = t(`pr.${kind}`);
          if (kind === "done" && final) this.open(final.sha256);
        },
      });
    }).catch(err => { status.textContent = err.message; });
  }

  async replay() {
    const out = $("replay-result");
    out.className = "muted";
    out.textContent = t("st.replaying");
    $("replay").disabled = true;
    try {
      const r = await api.post(`pictures/${this.info.sha256}/replay`);
      out.className = r.identical ? "ok" : "error";
      out.textContent = r.identical ? t("st.identical", { file: r.file_identical ? t("st.fileSame") : t("st.fileOther") })
                                    : t("st.differs", { max: r.max_abs ?? "?", why: r.why || "" });
    } catch (err) {
      out.className = "error";
      out.textContent = err.message;
    } finally { $("replay").disabled = false; }
  }

  showRecipe() {
    const text = JSON.stringify(this.info.recipe, null, 2);
    $("recipe-json").textContent = text;
    const link = $("recipe-download");
    if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(new Blob([text + "\n"], { type: "application/json" }));
    link.download = `recipe-${this.info.sha256.slice(0, 12)}.json`;
    $("recipe-dialog").showModal();
  }

  // ---------------------------------------------------------------- upload (img2img, inpaint)
  initUpload() {
    dropZone($("upload-drop"), $("upload-file"), file => this.upload(file));
  }

  async upload(file) {
    const status = $("upload-status");
    status.className = "muted";
    status.textContent = t("up.uploading", { name: file.name });
    try {
      const ref = await uploadPhoto(file);
      if (!ref) { status.textContent = t("up.declined", { name: file.name }); return; }
      await this.open(ref.slice(7));
      status.textContent = t("up.done", { name: file.name });
    } catch (err) {
      status.className = "error";
      status.textContent = err.message;
    }
  }

  relabel() {
    for (const form of this.forms) form.relabel();
    for (const painter of this.painters) painter.relabel();
    if (this.info && !document.querySelector(".card.draft, .card.editing")) this.open(this.info.sha256);
  }
}

// The zones of one inpaint draft: zone 1 takes the form's prompt and denoise; every further zone
// has its own (an empty prompt: the form's).
class ZoneList {
  constructor(container, painter, prefix) {
    this.painter = painter;
    this.prefix = prefix;
    this.rows = [];
    this.onChange = () => {};
    this.list = document.createElement("ol");
    this.list.className = "zones";
    this.list.setAttribute("aria-label", t("zone.list"));
    const add = document.createElement("button");
    add.type = "button";
    add.className = "small add-zone";
    add.addEventListener("click", () => this.add());
    this.addButton = add;
    container.append(this.list, add);
    this.row(0);
    this.select(0);
  }

  add() {
    const zone = this.painter.addZone();
    this.row(zone);
    this.select(zone);
    this.onChange();
  }

  row(zone) {
    const li = document.createElement("li");
    const pick = document.createElement("button");
    pick.type = "button";
    pick.className = "small zone-pick";
    pick.style.borderColor = `rgb(${this.painter.layers[zone].tint.join(",")})`;
    pick.addEventListener("click", () => this.select(this.rows.findIndex(r => r.li === li)));
    li.append(pick);
    const row = { li, pick, zone };
    if (zone === 0) {
      row.note = document.createElement("span");
      row.note.className = "muted small";
      li.append(row.note);
    } else {
      row.prompt = this.field(li, `${this.prefix}-zone${zone + 1}-prompt`, "text");
      row.denoise = this.field(li, `${this.prefix}-zone${zone + 1}-denoise`, "number");
      Object.assign(row.denoise, { min: 0, max: 1, step: "any", value: "0.75" });
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "small";
      remove.textContent = "×";
      row.remove = remove;
      remove.addEventListener("click", () => {
        const i = this.rows.indexOf(row);
        this.painter.removeZone(i);
        this.rows.splice(i, 1);
        this.rows.forEach((r, n) => { r.zone = n; });
        li.remove();
        this.relabel();
        this.select(this.painter.active);
        this.onChange();
      });
      li.append(remove);
    }
    this.rows.push(row);
    this.list.append(li);
    this.relabel();
  }

  field(li, id, type) {
    const input = document.createElement("input");
    input.type = type;
    input.id = id;
    li.append(input);
    return input;
  }

  relabel() {
    this.list.setAttribute("aria-label", t("zone.list"));
    this.addButton.textContent = t("zone.add");
    for (const r of this.rows) {
      const n = r.zone + 1;
      r.pick.textContent = t("zone.name", { n });
      r.pick.setAttribute("aria-label", t("zone.paint", { n }));
      if (r.note) r.note.textContent = t("zone.first");
      for (const [input, key] of [[r.prompt, "zone.prompt"], [r.denoise, "zone.denoise"]]) {
        if (!input) continue;
        input.setAttribute("aria-label", t(key, { n }));
        input.placeholder = t(key, { n });
      }
      r.remove?.setAttribute("aria-label", t("zone.remove", { n }));
    }
  }

  select(zone) {
    this.painter.setActive(zone);
    this.rows.forEach((r, i) => r.pick.setAttribute("aria-pressed", String(i === zone)));
  }

  /** Per zone: the prompt and denoise that differ from the form's ({} for zone 1). */
  values() {
    return this.rows.map(r => {
      const own = {};
      if (r.prompt?.value.trim()) own.prompt = r.prompt.value.trim();
      if (r.denoise && r.denoise.value !== "") own.denoise = Number(r.denoise.value);
      return own;
    });
  }
}

function stripNulls(step) {
  return Object.fromEntries(Object.entries(step).filter(([, v]) => v !== null && v !== undefined));
}
