// The development strip: the chosen picture's recipe as cards (raw -> hires -> inpaint -> outpaint),
// each with its thumbnail and parameters. Edit a card and re-develop from it, or add a step
// (hires, inpaint with a painted mask, outpaint); view and download the recipe JSON.
import * as api from "./api.js";
import { fieldLabel, t } from "./i18n.js";
import { buildForm, stepSchema } from "./schema.js";
import { MaskPainter } from "./mask.js";
import { promptBox } from "./prompt.js";

const $ = id => document.getElementById(id);
const SUMMARY_SKIP = new Set(["op", "prompt", "negative_prompt", "image", "zone", "batch_size"]);

export class Strip {
  constructor(studio, { follow, openLoupe }) {
    this.studio = studio;
    this.follow = follow;
    this.openLoupe = openLoupe;
    this.info = null; // GET /pictures/{sha} of the picture at the strip's end
    this.forms = [];
    this.painters = [];
    $("add-hires").addEventListener("click", () => this.addDraft("hires"));
    $("add-inpaint").addEventListener("click", () => this.addDraft("inpaint"));
    $("add-outpaint").addEventListener("click", () => this.addDraft("outpaint"));
    $("show-recipe").addEventListener("click", () => this.showRecipe());
    $("recipe-close").addEventListener("click", () => $("recipe-dialog").close());
  }

  async open(sha) {
    const info = await api.get(`pictures/${sha}`);
    this.info = info;
    this.forms = [];
    this.painters = [];
    const cards = $("cards");
    cards.replaceChildren();
    $("strip-empty").hidden = true;
    for (const id of ["add-hires", "add-inpaint", "add-outpaint", "show-recipe"]) $(id).disabled = !info.recipe;
    if (!info.recipe) { $("strip-empty").hidden = false; $("strip-empty").textContent = t("st.noRecipe"); return; }
    const steps = info.recipe.steps;
    const lineage = info.lineage.length === steps.length ? info.lineage : steps.map((_, i) => i === steps.length - 1 ? sha : null);
    for (const [i, step] of steps.entries()) cards.append(await this.card(step, i, lineage[i]));
    cards.lastElementChild?.scrollIntoView({ block: "nearest", inline: "end" });
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
    } else thumb.disabled = true;
    const summary = document.createElement("dl");
    summary.className = "params";
    for (const [name, value] of Object.entries(step)) {
      if (SUMMARY_SKIP.has(name) || value === null || value === undefined || value === "") continue;
      const dt = document.createElement("dt"); dt.textContent = fieldLabel(name);
      const dd = document.createElement("dd"); dd.textContent = typeof value === "object" ? value.kind || JSON.stringify(value) : String(value);
      summary.append(dt, dd);
    }
    if (step.prompt) {
      const p = document.createElement("p");
      p.className = "card-prompt";
      p.textContent = step.prompt;
      summary.before?.(p);
      li.append(head, thumb, p, summary);
    } else li.append(head, thumb, summary);
    const edit = document.createElement("button");
    edit.type = "button";
    edit.className = "small edit";
    edit.textContent = t("st.edit");
    edit.setAttribute("aria-expanded", "false");
    edit.addEventListener("click", () => this.editCard(li, step, index, edit));
    li.append(edit);
    return li;
  }

  editCard(li, step, index, button) {
    const open = button.getAttribute("aria-expanded") === "true";
    li.querySelector(".card-form")?.remove();
    button.setAttribute("aria-expanded", String(!open));
    if (open) return;
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
      const steps = this.info.recipe.steps.map(s => ({ ...s }));
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
    const index = this.info.recipe.steps.length;
    const li = document.createElement("li");
    li.className = "card draft";
    li.dataset.op = op;
    const head = document.createElement("h3");
    head.textContent = `${index + 1}. ${t(`op.${op}`)} · ${t("st.draft")}`;
    li.append(head);
    let painter = null;
    const skip = ["image"];
    if (op === "inpaint") {
      painter = new MaskPainter(li, await api.pictureURL(this.info.sha256), this.info.width, this.info.height, `mask${index}`);
      this.painters.push(painter);
    }
    const fields = document.createElement("div");
    fields.className = "card-fields";
    const values = op === "outpaint" ? { left: 32, right: 32 } : {};
    const form = buildForm(this.studio.schema, stepSchema(this.studio.schema, op), fields, {
      prefix: `draft-${op}`, values, skip,
      extras: { prompt: (w, input) => promptBox(w, input, { counter: false }) },
    });
    this.forms.push(form);
    if (painter && form.inputs.mask_blur) {
      const blur = form.inputs.mask_blur.input;
      const preview = () => painter.setBlur(Number(blur.value) || 0);
      blur.addEventListener("input", preview);
      preview();
    }
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
      const step = { op, ...form.values() };
      if (painter) {
        if (painter.coverage() === 0) { error.textContent = t("mask.empty"); return; }
        try {
          const { ref } = await api.postBytes("inputs", await painter.toBlob());
          step.zone = { kind: "mask", image: ref };
        } catch (err) { error.textContent = err.message; return; }
      }
      this.develop([...this.info.recipe.steps, step]);
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
    li.scrollIntoView({ block: "nearest", inline: "end" });
    (li.querySelector("textarea, input") || go).focus();
  }

  develop(steps) {
    const recipe = { ...this.info.recipe, steps: steps.map(stripNulls) };
    delete recipe.runtime;
    const status = $("strip-status") || Object.assign(document.createElement("p"), { id: "strip-status", className: "muted" });
    status.setAttribute("role", "status");
    $("strip").append(status);
    status.textContent = t("st.developing");
    api.post("jobs", { recipe, previews: true, project: this.info.project || undefined }).then(job => {
      this.follow(job.id, {
        end: (kind, pictures) => {
          const final = pictures.find(p => p.final) || pictures[pictures.length - 1];
          status.textContent = t(`pr.${kind}`);
          if (kind === "done" && final) this.open(final.sha256);
        },
      });
    }).catch(err => { status.textContent = `${err.kind || ""}: ${err.message}`; });
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

  relabel() {
    for (const form of this.forms) form.relabel();
    for (const painter of this.painters) painter.relabel();
    if (this.info && !document.querySelector(".card.draft, .card.editing")) this.open(this.info.sha256);
  }
}

function stripNulls(step) {
  return Object.fromEntries(Object.entries(step).filter(([, v]) => v !== null && v !== undefined));
}
