// A prompt box: A1111 syntax highlighted behind the textarea (weights, brackets, BREAK, <lora:>),
// and a live token counter from POST /api/v1/prompt/analyze (75-token chunks, warnings).
import { post } from "./api.js";
import { t } from "./i18n.js";

// one analysis at a time: the server's first tokenizer load does not like company
let chain = Promise.resolve();
function analyzeOnce(prompt) {
  const next = chain.then(() => post("prompt/analyze", { prompt }));
  chain = next.catch(() => {});
  return next;
}

const PATTERN = /(\bBREAK\b)|(<[^<>]*>)|(:\s*-?\d+(?:\.\d+)?(?=\s*\)))|(\\[()[\]])|([()[\]])/g;

export function highlight(target, text) {
  const nodes = [];
  let last = 0;
  for (const match of text.matchAll(PATTERN)) {
    if (match.index > last) nodes.push(document.createTextNode(text.slice(last, match.index)));
    const span = document.createElement("span");
    span.className = match[1] ? "hl-break" : match[2] ? "hl-extra" : match[3] ? "hl-weight" : match[4] ? "" : "hl-paren";
    span.textContent = match[0];
    nodes.push(span);
    last = match.index + match[0].length;
  }
  nodes.push(document.createTextNode(text.slice(last) + "\n"));
  target.replaceChildren(...nodes);
}

/** Wrap a textarea with the highlighter and (for `counter`) a token counter. */
export function promptBox(wrapper, textarea, { counter = true } = {}) {
  const box = document.createElement("div");
  box.className = "prompt-box";
  const back = document.createElement("div");
  back.className = "prompt-highlight";
  back.setAttribute("aria-hidden", "true");
  textarea.replaceWith(box);
  box.append(back, textarea);
  const sync = () => { highlight(back, textarea.value); back.scrollTop = textarea.scrollTop; };
  textarea.addEventListener("input", sync);
  textarea.addEventListener("scroll", () => { back.scrollTop = textarea.scrollTop; });
  sync();
  if (!counter) return { refresh: sync };

  const status = document.createElement("div");
  status.className = "tokens";
  status.id = `${textarea.id}-tokens`;
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  const count = document.createElement("span");
  count.className = "token-count";
  const chunks = document.createElement("span");
  chunks.className = "chunks";
  const warnings = document.createElement("ul");
  warnings.className = "warnings";
  status.append(count, chunks, warnings);
  box.after(status);
  textarea.setAttribute("aria-describedby", `${textarea.getAttribute("aria-describedby") || ""} ${status.id}`.trim());

  let timer = 0, asked = 0, lastResult = null;
  const render = () => {
    const a = lastResult;
    if (!a) { count.textContent = ""; return; }
    const size = a.chunk_length || 75;
    const chunkCount = Math.max(1, a.chunks.length);
    count.textContent = t("tok.count", { n: a.token_count, max: chunkCount * size });
    count.classList.toggle("over", a.warnings.length > 0);
    chunks.replaceChildren(...a.chunks.map(c => {
      const bar = document.createElement("span");
      bar.className = `chunk chunk-${c.end}`;
      bar.title = t("tok.chunk", { i: c.index + 1, n: c.count, max: size, end: c.end });
      bar.setAttribute("aria-label", bar.title);
      const fill = document.createElement("span");
      fill.style.width = `${Math.min(100, (100 * c.count) / size)}%`;
      bar.append(fill);
      return bar;
    }));
    warnings.replaceChildren(...a.warnings.map(w => Object.assign(document.createElement("li"), { textContent: w })));
  };
  const analyze = async () => {
    const mine = ++asked;
    if (!textarea.value.trim()) { lastResult = { token_count: 0, chunks: [], warnings: [], chunk_length: 75 }; render(); return; }
    try {
      const result = await analyzeOnce(textarea.value);
      if (mine === asked) { lastResult = result; render(); }
    } catch (err) {
      if (mine === asked) count.textContent = err.message;
    }
  };
  textarea.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(analyze, 200); });
  analyze();
  return { refresh() { sync(); analyze(); }, relabel: render };
}
