// The web studio: boot, screens, sign-in, the workspace (form, progress, queue, contact sheet, loupe).
import * as api from "./api.js";
import { apply, language, onLanguage, setLanguage, t } from "./i18n.js";
import { buildForm, stepSchema } from "./schema.js";
import { promptBox } from "./prompt.js";
import { Strip } from "./strip.js";
import { Library } from "./library.js";
import { initTrust } from "./trust.js";
import { submitJob } from "./jobs.js";

const $ = id => document.getElementById(id);
export const studio = { schema: null, models: [], samplers: [], lastSeed: null, job: null, follow: null };

// ------------------------------------------------------------------ sign-in (a 401 opens it)
let pendingSignIn = null;
function askToken() {
  if (pendingSignIn) return pendingSignIn;
  pendingSignIn = new Promise(resolve => {
    const dialog = $("signin"), form = $("signin-form"), input = $("signin-token"), error = $("signin-error");
    error.textContent = "";
    input.value = "";
    const submit = async event => {
      event.preventDefault();
      const response = await fetch("/api/v1/models", { headers: { Authorization: `Bearer ${input.value.trim()}` } });
      if (response.status === 401) { error.textContent = t("si.wrong"); input.select(); return; }
      api.setToken(input.value.trim());
      form.removeEventListener("submit", submit);
      dialog.close();
      pendingSignIn = null;
      resolve();
      showWhoami();
    };
    form.addEventListener("submit", submit);
    dialog.addEventListener("cancel", e => e.preventDefault()); // the token is needed
    dialog.showModal();
    input.focus();
  });
  return pendingSignIn;
}
api.onSignIn(askToken);

let me = null;
async function showWhoami() {
  try { me = await api.get("whoami"); } catch { return; }
  renderWhoami();
}
function renderWhoami() {
  if (!me) return;
  $("whoami").textContent = me.signed_in ? t("si.as", { name: me.name }) + (me.admin ? ` (${t("si.admin")})` : "")
                                         : t("si.local");
  $("signout").hidden = !api.token();
}
function signOut() {
  api.setToken("");
  location.reload();
}

// ------------------------------------------------------------------ screens
function showView(name) {
  for (const tab of document.querySelectorAll("[role=tab]")) {
    const on = tab.dataset.view === name;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    $(`view-${name === tab.dataset.view ? name : tab.dataset.view}`).hidden = !on;
  }
  document.dispatchEvent(new CustomEvent("view", { detail: name }));
}
export { showView };

function initTabs() {
  const tabs = [...document.querySelectorAll("[role=tab]")];
  for (const tab of tabs) {
    tab.addEventListener("click", () => showView(tab.dataset.view));
    tab.addEventListener("keydown", event => {
      const i = tabs.indexOf(tab);
      const next = event.key === "ArrowRight" ? tabs[(i + 1) % tabs.length] : event.key === "ArrowLeft" ? tabs[(i - 1 + tabs.length) % tabs.length] : null;
      if (next) { next.focus(); next.click(); }
    });
  }
}

// ------------------------------------------------------------------ the workspace form
let form = null;
const boxes = [];

function buildGenerateForm() {
  const values = form ? form.values() : {};
  boxes.length = 0;
  form = buildForm(studio.schema, stepSchema(studio.schema, "generate"), $("generate-fields"), {
    prefix: "gen", values: { batch_size: 4, ...values },
    choices: studio.samplers.length ? { sampler: studio.samplers } : {},
    extras: {
      prompt: (wrap, input) => boxes.push(promptBox(wrap, input)),
      negative_prompt: (wrap, input) => boxes.push(promptBox(wrap, input)),
      seed: (wrap, input) => {
        const row = document.createElement("div");
        row.className = "seed-buttons";
        const random = document.createElement("button");
        random.type = "button";
        random.id = "seed-random";
        random.dataset.i18n = "ws.seedRandom";
        random.dataset.i18nLabel = "ws.seedRandomLong";
        random.addEventListener("click", () => { input.value = "-1"; });
        const reuse = document.createElement("button");
        reuse.type = "button";
        reuse.id = "seed-reuse";
        reuse.dataset.i18n = "ws.seedReuse";
        reuse.dataset.i18nLabel = "ws.seedReuseLong";
        reuse.disabled = studio.lastSeed === null;
        reuse.addEventListener("click", () => { if (studio.lastSeed !== null) input.value = String(studio.lastSeed); });
        row.append(random, reuse);
        wrap.append(row);
        apply(row);
      },
    },
  });
}

async function generate(event) {
  event?.preventDefault();
  $("form-error").textContent = "";
  const step = { op: "generate", ...form.values() };
  if (!step.prompt || !step.prompt.trim()) { $("form-error").textContent = t("ws.needPrompt"); $("gen-prompt").focus(); return; }
  const recipe = { model: { name: $("model").value }, steps: [step] };
  try {
    const job = await submitJob({ recipe, previews: true });
    if (job) follow(job.id, sheetHandlers(step.batch_size || 1));
  } catch (err) {
    $("form-error").textContent = err.message;
  }
}

// ------------------------------------------------------------------ following a job (SSE)
export function follow(jobId, handlers = {}) {
  if (studio.follow) studio.follow.abort();
  const controller = new AbortController();
  studio.follow = controller;
  studio.job = jobId;
  $("cancel").disabled = false;
  $("progress-bar").value = 0;
  setStatus(t("pr.queued"));
  refreshQueue();
  let pictures = [];
  api.events(jobId, (kind, data) => {
    if (kind === "started") setStatus(t("pr.started"));
    else if (kind === "step") {
      $("progress-bar").max = data.total;
      $("progress-bar").value = data.step;
      setStatus(t("pr.step", { step: data.step, total: data.total, op: data.op, n: data.batch_index + 1 }));
      if (data.preview) $("preview-xt").src = data.preview;
      if (data.preview_x0) $("preview-x0").src = data.preview_x0;
      handlers.step?.(data);
    } else if (kind === "picture") {
      pictures.push(data.picture);
      handlers.picture?.(data.picture);
    } else if (kind === "done" || kind === "failed" || kind === "cancelled") {
      setStatus(kind === "failed" ? t("pr.failed", { error: data.error || "" }) : t(`pr.${kind}`));
      $("progress").dataset.state = kind;
      finish(jobId);
      handlers.end?.(kind, pictures, data);
    }
  }, controller.signal).catch(err => {
    if (err.name !== "AbortError") { setStatus(err.message); finish(jobId); }
  });
}

function finish(jobId) {
  if (studio.job === jobId) { studio.job = null; $("cancel").disabled = true; }
  refreshQueue();
}

function setStatus(text) { $("progress-status").textContent = text; }

async function cancel(jobId = studio.job) {
  if (!jobId) return;
  try { await api.post(`jobs/${jobId}/cancel`); setStatus(t("pr.cancelling")); } catch (err) { setStatus(err.message); }
  refreshQueue();
}

let queueTimer = 0;
async function refreshQueue() {
  clearTimeout(queueTimer);
  let jobs;
  try { jobs = await api.get("jobs?limit=8"); } catch { return; }
  const list = $("queue");
  list.replaceChildren(...jobs.map(job => {
    const li = document.createElement("li");
    li.dataset.state = job.state;
    li.dataset.job = job.id;
    const text = document.createElement("span");
    const when = new Date(job.created * 1000).toLocaleTimeString(language());
    text.textContent = `${when} · ${t(`state.${job.state}`)} · ${t("pr.pictures", { n: job.pictures })}`;
    li.append(text);
    if (job.state === "queued" || job.state === "running") {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "small";
      b.textContent = t("ws.cancel");
      b.setAttribute("aria-label", t("pr.cancelJob", { when }));
      b.addEventListener("click", () => cancel(job.id));
      li.append(b);
    }
    return li;
  }));
  if (jobs.some(j => j.state === "queued" || j.state === "running")) queueTimer = setTimeout(refreshQueue, 1500);
}

// ------------------------------------------------------------------ the contact sheet
const sheet = { pictures: [] };

function sheetHandlers(count) {
  const frames = $("frames");
  frames.replaceChildren();
  sheet.pictures = [];
  $("sheet-empty").hidden = true;
  const items = [];
  for (let i = 0; i < count; i++) {
    const li = document.createElement("li");
    li.className = "frame developing";
    li.dataset.index = i;
    const img = document.createElement("img");
    img.className = "pixelated";
    img.alt = "";
    li.setAttribute("aria-label", t("cs.developing", { n: i + 1 }));
    const cap = document.createElement("span");
    cap.className = "caption";
    cap.textContent = `#${i + 1}`;
    li.append(img, cap);
    frames.append(li);
    items.push(li);
  }
  return {
    step(data) {
      const li = items[data.batch_index];
      if (li && data.preview_x0) li.querySelector("img").src = data.preview_x0;
    },
    picture(picture) {
      if (!picture.final) return;
      const li = items[picture.batch_index];
      if (li) fillFrame(li, picture);
      const seed = picture.recipe?.steps?.[0]?.seed;
      if (seed !== undefined && picture.batch_index === 0) { studio.lastSeed = seed; const b = $("seed-reuse"); if (b) b.disabled = false; }
    },
    end(kind) {
      for (const li of items) if (li.classList.contains("developing")) { li.classList.add("empty"); li.classList.remove("developing"); }
      if (kind === "done" && sheet.pictures.length) items[0].querySelector(".frame-image")?.focus();
    },
  };
}

async function fillFrame(li, picture) {
  sheet.pictures.push(picture);
  li.classList.remove("developing");
  li.removeAttribute("aria-label");
  li.dataset.sha = picture.sha256;
  const seed = picture.recipe?.steps?.[0]?.seed;
  const n = Number(li.dataset.index) + 1;
  const open = document.createElement("button");
  open.type = "button";
  open.className = "frame-image";
  open.setAttribute("aria-label", t("cs.choose", { n, seed }));
  const img = document.createElement("img");
  img.className = "pixelated";
  img.alt = t("cs.negative", { n, seed });
  img.src = await api.pictureURL(picture.sha256);
  open.append(img);
  open.addEventListener("click", () => chooseFrame(li, picture));
  const cap = document.createElement("span");
  cap.className = "caption";
  cap.textContent = `#${n} · ${t("cs.seed")} ${seed}`;
  const tools = document.createElement("div");
  tools.className = "frame-tools";
  const keep = toolButton("cs.keep", n);
  keep.setAttribute("aria-pressed", "false");
  keep.classList.add("keep");
  keep.addEventListener("click", async () => {
    const on = keep.getAttribute("aria-pressed") !== "true";
    try {
      if (on) await api.post(`pictures/${picture.sha256}/keep`); else await api.del(`pictures/${picture.sha256}/keep`);
      keep.setAttribute("aria-pressed", String(on));
      li.classList.toggle("kept", on);
      if (on) { li.classList.remove("rejected"); reject.setAttribute("aria-pressed", "false"); }
    } catch (err) { cap.textContent = err.message; }
  });
  const reject = toolButton("cs.reject", n);
  reject.setAttribute("aria-pressed", "false");
  reject.addEventListener("click", () => {
    const on = reject.getAttribute("aria-pressed") !== "true";
    reject.setAttribute("aria-pressed", String(on));
    li.classList.toggle("rejected", on);
  });
  const loupe = toolButton("cs.loupe", n);
  loupe.addEventListener("click", () => openLoupe(picture.sha256, sheet.pictures.map(p => p.sha256)));
  tools.append(keep, reject, loupe);
  li.replaceChildren(open, cap, tools);
}

function toolButton(key, n) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "small";
  b.textContent = t(key);
  b.setAttribute("aria-label", `${t(key)} #${n}`);
  return b;
}

function chooseFrame(li, picture) {
  for (const other of $("frames").children) other.classList.toggle("chosen", other === li);
  strip.open(picture.sha256);
}

// ------------------------------------------------------------------ the loupe
export async function openLoupe(sha, others = []) {
  const dialog = $("loupe"), body = $("loupe-body"), zoom = $("loupe-zoom"), compare = $("loupe-compare");
  compare.replaceChildren(new Option(t("lp.none"), ""));
  for (const [i, other] of others.entries()) if (other !== sha) compare.append(new Option(`#${i + 1} · ${other.slice(0, 8)}`, other));
  const render = async () => {
    const z = Number(zoom.value);
    const make = async (s, label) => {
      const fig = document.createElement("figure");
      const img = document.createElement("img");
      img.className = "pixelated";
      img.alt = label;
      img.src = await api.pictureURL(s);
      await img.decode().catch(() => {});
      img.style.width = `${img.naturalWidth * z}px`;
      img.style.height = `${img.naturalHeight * z}px`;
      const cap = document.createElement("figcaption");
      cap.textContent = `${label} · ${img.naturalWidth}×${img.naturalHeight} · ${z}×`;
      fig.append(img, cap);
      return fig;
    };
    const figures = [await make(sha, t("lp.this"))];
    if (compare.value) figures.push(await make(compare.value, t("lp.other")));
    body.replaceChildren(...figures);
    const sliding = Boolean(compare.value) && $("loupe-mode").value === "slider";
    $("loupe-slider-label").hidden = !sliding;
    if (sliding) slider();
  };
  const slider = () => {
    // before/after: the compared picture over this one, cut at the slider
    const [a, b] = body.querySelectorAll("figure img");
    let overlay = body.querySelector(".before-after");
    if (!overlay) {
      overlay = document.createElement("div");
      overlay.className = "before-after";
      const under = a.cloneNode(), over = b.cloneNode();
      over.classList.add("over");
      overlay.append(under, over);
      overlay.style.width = a.style.width;
      overlay.style.height = a.style.height;
      body.replaceChildren(overlay);
    }
    overlay.querySelector(".over").style.clipPath = `inset(0 0 0 ${Number($("loupe-slider").value)}%)`;
  };
  zoom.onchange = render;
  compare.onchange = render;
  $("loupe-mode").onchange = render;
  $("loupe-slider").oninput = slider;
  await render();
  if (!dialog.open) dialog.showModal();
}

// ------------------------------------------------------------------ boot
let strip, library;

async function boot() {
  apply();
  $("lang").value = language();
  $("lang").addEventListener("change", () => setLanguage($("lang").value));
  initTabs();
  $("loupe-close").addEventListener("click", () => $("loupe").close());
  $("generate-form").addEventListener("submit", generate);
  $("cancel").addEventListener("click", () => cancel());
  $("signout").addEventListener("click", signOut);
  document.addEventListener("keydown", event => {
    if (document.querySelector("dialog[open]")) return;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !$("view-workspace").hidden) {
      event.preventDefault();
      const draft = event.target.closest?.(".card.draft");
      if (draft) draft.querySelector(".develop")?.click();
      else $("generate-form").requestSubmit();
    } else if (event.key === "Escape" && studio.job) {
      event.preventDefault();
      cancel();
    }
  });
  studio.schema = await api.get("schema/recipe");
  [studio.models, studio.samplers] = await Promise.all([api.get("models"), api.get("samplers")]);
  const models = $("model");
  for (const m of studio.models) {
    const option = new Option(`${m.name}${m.installed ? "" : ` (${t("ws.notInstalled")})`}`, m.name);
    option.disabled = !m.installed;
    models.append(option);
  }
  models.value = studio.models.find(m => m.name === "darkroom-mini" && m.installed)?.name || studio.models.find(m => m.installed)?.name || "";
  buildGenerateForm();
  strip = new Strip(studio, { follow, openLoupe, submitJob });
  library = new Library(studio, { showView, develop: sha => strip.open(sha) });
  initTrust();
  onLanguage(() => {
    form.relabel();
    for (const box of boxes) box.relabel?.();
    strip.relabel();
    library.relabel();
    renderWhoami();
    refreshQueue();
  });
  refreshQueue();
  showWhoami();
  await openLinkedPicture();
  document.body.dataset.ready = "true";
}

// "/#picture=SHA" (the learning mode's "open in studio"): that picture on the strip, ready to develop
async function openLinkedPicture() {
  const sha = new URLSearchParams(location.hash.slice(1)).get("picture");
  if (!sha || !/^[0-9a-f]{64}$/.test(sha)) return;
  showView("workspace");
  await strip.open(sha).catch(err => { $("form-error").textContent = err.message; });
}

boot().catch(err => {
  document.body.dataset.ready = "error";
  $("form-error").textContent = `${t("ws.bootFailed")}: ${err.message}`;
});
