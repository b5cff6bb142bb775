// The learning mode (/learn): lessons as live experiments over /api/v1/learn. The texts come from the
// server (darkroom/learn/texts.py, the same the CLI's pages use); pictures are library pictures.
import * as api from "./api.js";
import { language, setLanguage } from "./i18n.js";

const $ = id => document.getElementById(id);
const state = { texts: {}, lessons: [], models: [], current: null, run: null, figures: new Map() };

function tr(key, vars = {}) {
  let text = state.texts[key] ?? key;
  for (const [name, value] of Object.entries(vars)) text = text.replaceAll(`{${name}}`, String(value));
  return text;
}

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter(c => c !== null && c !== undefined));
  return node;
}

async function load() {
  const data = await api.get(`learn?lang=${language()}`);
  state.texts = data.texts;
  state.lessons = data.lessons;
  document.documentElement.lang = language();
  $("learn-lang").value = language();
  for (const [id, key] of [["learn-heading", "ui.learn"], ["lessons-heading", "ui.lessons"], ["back", "ui.back"],
                           ["model-label", "ui.model"], ["short-label", "ui.short"], ["lesson-run", "ui.run"],
                           ["numbers-heading", "ui.numbers"], ["takeaway-heading", "ui.takeaway"]]) {
    $(id).textContent = tr(key);
  }
  const list = $("lesson-list");
  list.replaceChildren(...state.lessons.map(lesson => el("li", {},
    el("a", { href: `#${lesson.name}`, textContent: lesson.title, id: `lesson-${lesson.name}` }),
    lesson.available ? null : el("span", { className: "waits", textContent: tr("ui.waits") }))));
  show(state.current || location.hash.slice(1) || state.lessons[0].name);
}

function show(name) {
  const lesson = state.lessons.find(l => l.name === name) || state.lessons[0];
  state.current = lesson.name;
  for (const a of document.querySelectorAll("#lesson-list a")) {
    if (a.id === `lesson-${lesson.name}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  $("lesson-title").textContent = `${lesson.number}. ${lesson.title}`;
  $("lesson-intro").textContent = lesson.intro;
  const models = lesson.any_model ? state.models : state.models.filter(m => m === "darkroom-mini");
  const chosen = $("lesson-model").value;
  $("lesson-model").replaceChildren(...models.map(m => el("option", { value: m, textContent: m })));
  if (models.includes(chosen)) $("lesson-model").value = chosen;
  $("lesson-note").textContent = !lesson.available ? tr("ui.waits") : lesson.any_model ? "" : tr("ui.mini_only");
  $("lesson-run").disabled = !lesson.available || Boolean(state.run);
  document.body.dataset.lesson = lesson.name;
}

async function start(event) {
  event.preventDefault();
  const name = state.current;
  $("figures").replaceChildren();
  state.figures.clear();
  $("numbers-box").hidden = $("takeaway-box").hidden = true;
  setStatus(tr("ui.running"));
  try {
    const run = await api.post(`learn/${name}/runs`, {
      lang: language(), short: $("lesson-short").checked, model: $("lesson-model").value,
    });
    state.run = run.id;
    $("lesson-run").disabled = true;
    $("lesson-cancel").hidden = false;
    await api.stream(`learn/runs/${run.id}/events`, (kind, data) => handle(data));
  } catch (err) {
    setStatus(tr("ui.failed", { error: err.message }), true);
  } finally {
    state.run = null;
    $("lesson-cancel").hidden = true;
    show(state.current);
  }
}

const HANDLERS = {
  figure: addFigure,
  step: showStep,
  picture: addPicture,
  plot: (e, box) => box.body.append(el("img", { className: "plot", src: e.svg, alt: e.title })),
  table: (e, box) => box.body.append(table(e.rows)),
  done: e => finished(e),
  failed: e => setStatus(tr("ui.failed", { error: e.error }), true),
  cancelled: e => setStatus(e.error, true),
};

async function handle(event) {
  await HANDLERS[event.kind]?.(event, state.figures.get(event.figure));
}

function addFigure(e) {
  const body = el("div", { className: e.type === "filmstrip" ? "filmstrip" : "" });
  const section = el("section", { className: `figure ${e.type}`, id: `fig-${e.figure}` },
    el("p", { className: "caption", textContent: e.caption }), body);
  const box = { type: e.type, body, shots: null, film: null, frames: [] };
  if (e.type === "filmstrip") {
    box.film = el("div", { className: "film" });
    box.scrubber = el("input", { type: "range", min: 1, max: 1, value: 1, ariaLabel: "step" });
    box.big = [el("img", { alt: "x_t" }), el("img", { alt: "x0" })];
    box.stepLabel = el("output");
    box.scrubber.addEventListener("input", () => scrub(box, Number(box.scrubber.value)));
    const labelled = img => el("figure", {}, img, el("figcaption", { textContent: img.alt }));
    body.append(box.film, el("div", { className: "scrub" }, box.scrubber, box.stepLabel, ...box.big.map(labelled)));
  }
  if (e.type === "pictures" || e.type === "filmstrip") {
    box.shots = el("div", { className: "shots" });
    box.shots.style.setProperty("--columns", e.columns || 8);
    body.append(box.shots);
  }
  state.figures.set(e.figure, box);
  $("figures").append(section);
}

function showStep(e, box) {
  if (box.type === "filmstrip") {
    box.frames.push(e);
    box.film.append(el("div", { className: "frame", title: tr("ui.step", e) },
      el("img", { src: e.x_t, alt: `x_t ${e.step}` }), el("img", { src: e.x0, alt: `x0 ${e.step}` })));
    box.scrubber.max = box.frames.length;
    box.scrubber.value = box.frames.length;
    scrub(box, box.frames.length);
    return;
  }
  if (!box.shots) return;
  if (!box.live) {
    box.live = el("figure", { className: "shot live" }, el("img", { alt: "" }), el("figcaption"));
    box.shots.append(box.live);
  }
  box.live.querySelector("img").src = e.x0 || e.x_t;
  box.live.querySelector("figcaption").textContent = tr("ui.step", e);
}

function scrub(box, n) {
  const frame = box.frames[n - 1];
  if (!frame) return;
  box.big[0].src = frame.x_t;
  box.big[1].src = frame.x0;
  box.stepLabel.textContent = tr("ui.step", frame);
}

async function addPicture(e, box) {
  if (box.live) { box.live.remove(); box.live = null; }
  const img = el("img", { alt: e.label });
  const caption = el("figcaption", {}, e.label);
  if (e.reading) {
    const r = e.reading;
    const words = [r.background, r.color, r.size, r.shape, r.position].join(" ");
    caption.append(el("span", { className: "reading", textContent: words }));
  }
  if (e.sha256) {
    const recipe = URL.createObjectURL(new Blob([JSON.stringify(e.recipe, null, 1)], { type: "application/json" }));
    caption.append(el("br"), el("a", { href: `/#picture=${e.sha256}`, textContent: tr("ui.open"), className: "open" }),
      " · ", el("a", { href: recipe, download: `${e.sha256.slice(0, 12)}.recipe.json`,
                       textContent: tr("ui.recipe") }));
  }
  const shot = el("figure", { className: "shot" }, img, caption);
  shot.dataset.sha = e.sha256 || "";
  img.addEventListener("load", () => { shot.dataset.loaded = "true"; });
  box.shots.append(shot);
  img.src = e.sha256 ? await api.pictureURL(e.sha256) : e.src;
}

function table(rows) {
  const [head, ...body] = rows;
  return el("table", {}, el("tr", {}, ...head.map(c => el("th", { textContent: c }))),
    ...body.map(row => el("tr", {}, ...row.map(c => el("td", { textContent: c })))));
}

function finished(e) {
  setStatus(tr("ui.done", { seconds: e.seconds }));
  $("numbers").replaceChildren(...Object.entries(e.numbers).map(([k, v]) => el("tr", {},
    el("th", { textContent: k }), el("td", { textContent: typeof v === "object" ? JSON.stringify(v) : String(v) }))));
  $("numbers-box").hidden = false;
  $("takeaway").textContent = e.takeaway;
  $("takeaway-box").hidden = !e.takeaway;
  document.body.dataset.done = state.current;
}

function setStatus(text, bad = false) {
  $("lesson-status").textContent = text;
  $("lesson-status").className = bad ? "error" : "muted";
}

async function boot() {
  try {
    state.models = (await api.get("models")).filter(m => m.installed).map(m => m.name);
    await load();
  } catch (err) {
    setStatus(tr("ui.failed", { error: err.message }), true);
  }
  window.addEventListener("hashchange", () => show(location.hash.slice(1)));
  $("learn-lang").addEventListener("change", () => { setLanguage($("learn-lang").value); load(); });
  $("lesson-form").addEventListener("submit", start);
  $("lesson-cancel").addEventListener("click", () => state.run && api.post(`learn/runs/${state.run}/cancel`));
  document.body.dataset.ready = "true";
}

boot();
