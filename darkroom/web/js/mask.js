// Mask painting on a <canvas> over the picture: brush (size, hardness), eraser, box, ellipse,
// invert, clear, and the mask blur previewed. The mask is exported as a PNG (white = repaint)
// of the picture's size and uploaded through POST /api/v1/inputs.
import { t } from "./i18n.js";

const TOOLS = ["brush", "eraser", "box", "ellipse"];
const TINT = "rgb(0, 230, 255)"; // cyan: visible over reds, the usual subject under a safelight

export class MaskPainter {
  constructor(container, imageURL, width, height, prefix) {
    this.width = width;
    this.height = height;
    this.tool = "brush";
    this.root = document.createElement("div");
    this.root.className = "mask-painter";
    const bar = document.createElement("div");
    bar.className = "mask-tools";
    bar.setAttribute("role", "toolbar");
    this.bar = bar;
    this.toolButtons = TOOLS.map(tool => {
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.tool = tool;
      b.setAttribute("aria-pressed", String(tool === this.tool));
      b.addEventListener("click", () => this.select(tool));
      return b;
    });
    this.size = rangeInput(`${prefix}-size`, 1, Math.max(32, Math.round(width / 2)), Math.max(4, Math.round(width / 8)));
    this.hardness = rangeInput(`${prefix}-hardness`, 0, 100, 100);
    this.invertButton = button(() => this.invert());
    this.clearButton = button(() => this.clear());
    this.showBlur = document.createElement("input");
    this.showBlur.type = "checkbox";
    this.showBlur.checked = true;
    this.showBlur.addEventListener("change", () => this.setBlur(this.blur || 0));
    this.showBlurLabel = document.createElement("label");
    this.showBlurLabel.className = "check";
    this.showBlurText = document.createElement("span");
    this.showBlurLabel.append(this.showBlur, this.showBlurText);
    bar.append(...this.toolButtons, this.size.label, this.hardness.label, this.invertButton, this.clearButton,
               this.showBlurLabel);

    const stage = document.createElement("div");
    stage.className = "mask-stage";
    const scale = Math.max(1, Math.floor(288 / Math.max(width, height)));
    this.scale = scale;
    const img = document.createElement("img");
    img.className = "pixelated";
    img.alt = "";
    img.src = imageURL;
    this.canvas = document.createElement("canvas");
    this.canvas.width = width;
    this.canvas.height = height;
    this.canvas.className = "mask-canvas pixelated";
    this.canvas.tabIndex = 0;
    for (const el of [img, this.canvas, stage]) {
      el.style.width = `${width * scale}px`;
      el.style.height = `${height * scale}px`;
    }
    stage.append(img, this.canvas);
    this.ctx = this.canvas.getContext("2d", { willReadFrequently: true });
    this.root.append(bar, stage);
    container.append(this.root);
    this.bindPointer();
    this.relabel();
  }

  relabel() {
    for (const b of this.toolButtons) b.textContent = t(`mask.${b.dataset.tool}`);
    this.bar.setAttribute("aria-label", t("mask.tools"));
    this.size.text.textContent = t("mask.size");
    this.hardness.text.textContent = t("mask.hardness");
    this.invertButton.textContent = t("mask.invert");
    this.clearButton.textContent = t("mask.clear");
    this.showBlurText.textContent = t("mask.showBlur");
    this.canvas.setAttribute("aria-label", t("mask.canvas"));
    this.canvas.setAttribute("role", "img");
  }

  select(tool) {
    this.tool = tool;
    for (const b of this.toolButtons) b.setAttribute("aria-pressed", String(b.dataset.tool === tool));
  }

  /** Preview the mask blur (in picture pixels). */
  setBlur(px) {
    this.blur = px;
    this.canvas.style.filter = px > 0 && this.showBlur.checked ? `blur(${(px * this.scale) / 2}px)` : "";
  }

  point(event) {
    const rect = this.canvas.getBoundingClientRect();
    return [(event.clientX - rect.left) * this.width / rect.width, (event.clientY - rect.top) * this.height / rect.height];
  }

  bindPointer() {
    let start = null, saved = null, last = null;
    this.canvas.addEventListener("pointerdown", event => {
      event.preventDefault();
      this.canvas.setPointerCapture?.(event.pointerId);
      start = last = this.point(event);
      saved = this.ctx.getImageData(0, 0, this.width, this.height);
      if (this.tool === "brush" || this.tool === "eraser") this.dab(start, start);
    });
    this.canvas.addEventListener("pointermove", event => {
      if (!start) return;
      const p = this.point(event);
      if (this.tool === "brush" || this.tool === "eraser") { this.dab(last, p); last = p; return; }
      this.ctx.putImageData(saved, 0, 0);
      this.shape(start, p);
    });
    const end = event => {
      if (!start) return;
      if (this.tool === "box" || this.tool === "ellipse") {
        this.ctx.putImageData(saved, 0, 0);
        this.shape(start, this.point(event));
      }
      start = null;
      this.root.dispatchEvent(new Event("maskchange", { bubbles: true }));
    };
    this.canvas.addEventListener("pointerup", end);
    this.canvas.addEventListener("pointercancel", end);
  }

  dab(from, to) {
    const ctx = this.ctx, radius = Number(this.size.input.value) / 2, hard = Number(this.hardness.input.value) / 100;
    ctx.save();
    ctx.globalCompositeOperation = this.tool === "eraser" ? "destination-out" : "source-over";
    const steps = Math.max(1, Math.ceil(Math.hypot(to[0] - from[0], to[1] - from[1]) / Math.max(0.5, radius / 3)));
    for (let i = 0; i <= steps; i++) {
      const x = from[0] + (to[0] - from[0]) * i / steps, y = from[1] + (to[1] - from[1]) * i / steps;
      if (hard >= 0.99) {
        ctx.fillStyle = TINT;
      } else {
        const g = ctx.createRadialGradient(x, y, radius * hard, x, y, radius);
        g.addColorStop(0, TINT);
        g.addColorStop(1, "rgba(0, 230, 255, 0)");
        ctx.fillStyle = g;
      }
      ctx.beginPath();
      ctx.arc(x, y, radius, 0, Math.PI * 2);
      ctx.fill();
    }
    ctx.restore();
  }

  shape(a, b) {
    const ctx = this.ctx;
    const x = Math.min(a[0], b[0]), y = Math.min(a[1], b[1]), w = Math.abs(a[0] - b[0]), h = Math.abs(a[1] - b[1]);
    ctx.save();
    ctx.fillStyle = TINT;
    ctx.beginPath();
    if (this.tool === "box") ctx.rect(Math.round(x), Math.round(y), Math.round(w), Math.round(h));
    else ctx.ellipse(x + w / 2, y + h / 2, w / 2, h / 2, 0, 0, Math.PI * 2);
    ctx.fill();
    ctx.restore();
  }

  invert() {
    const data = this.ctx.getImageData(0, 0, this.width, this.height);
    for (let i = 0; i < data.data.length; i += 4) {
      data.data[i] = 0; data.data[i + 1] = 230; data.data[i + 2] = 255;
      data.data[i + 3] = 255 - data.data[i + 3];
    }
    this.ctx.putImageData(data, 0, 0);
    this.root.dispatchEvent(new Event("maskchange", { bubbles: true }));
  }

  clear() {
    this.ctx.clearRect(0, 0, this.width, this.height);
    this.root.dispatchEvent(new Event("maskchange", { bubbles: true }));
  }

  /** Share of the picture the mask covers (0..1). */
  coverage() {
    const data = this.ctx.getImageData(0, 0, this.width, this.height).data;
    let sum = 0;
    for (let i = 3; i < data.length; i += 4) sum += data[i];
    return sum / (255 * this.width * this.height);
  }

  /** The mask as a PNG: white where the mask is (its alpha as grey), black elsewhere. */
  toBlob() {
    const out = document.createElement("canvas");
    out.width = this.width;
    out.height = this.height;
    const octx = out.getContext("2d");
    const src = this.ctx.getImageData(0, 0, this.width, this.height);
    const dst = octx.createImageData(this.width, this.height);
    for (let i = 0; i < src.data.length; i += 4) {
      const v = src.data[i + 3];
      dst.data[i] = dst.data[i + 1] = dst.data[i + 2] = v;
      dst.data[i + 3] = 255;
    }
    octx.putImageData(dst, 0, 0);
    return new Promise(resolve => out.toBlob(resolve, "image/png"));
  }
}

function rangeInput(id, min, max, value) {
  const label = document.createElement("label");
  label.className = "field inline";
  const text = document.createElement("span");
  const input = document.createElement("input");
  Object.assign(input, { type: "range", id, min, max, value });
  const out = document.createElement("output");
  out.htmlFor = id;
  out.textContent = value;
  input.addEventListener("input", () => { out.textContent = input.value; });
  label.append(text, input, out);
  return { label, text, input };
}

function button(onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.addEventListener("click", onClick);
  return b;
}
