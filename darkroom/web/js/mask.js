// Mask painting on <canvas> layers over the picture, one layer per zone (each zone becomes one
// inpaint step with its own prompt and denoise): brush (size, hardness), eraser, box, ellipse,
// invert, clear; detected faces offered as overlays to pick; the mask blur previewed; the
// "only masked" region (zone + padding, grown to the processing ratio) drawn on the picture.
// Each mask is exported as a PNG (white = repaint) of the picture's size.
import { t } from "./i18n.js";

const TOOLS = ["brush", "eraser", "box", "ellipse"];
const TINTS = [[0, 230, 255], [255, 80, 220], [140, 255, 90], [255, 220, 60]]; // visible over reds (safelight)

export class MaskPainter {
  constructor(container, imageURL, width, height, prefix) {
    this.width = width;
    this.height = height;
    this.prefix = prefix;
    this.tool = "brush";
    this.layers = [];
    this.active = 0;
    this.blur = 0;
    this.root = document.createElement("div");
    this.root.className = "mask-painter";
    const bar = document.createElement("div");
    bar.className = "mask-tools";
    bar.setAttribute("role", "toolbar");
    this.bar = bar;
    this.toolButtons = TOOLS.map(tool => {
      const b = button(() => this.select(tool));
      b.dataset.tool = tool;
      b.setAttribute("aria-pressed", String(tool === this.tool));
      return b;
    });
    this.size = rangeInput(`${prefix}-size`, 1, Math.max(32, Math.round(width / 2)), Math.max(4, Math.round(width / 8)));
    this.hardness = rangeInput(`${prefix}-hardness`, 0, 100, 100);
    this.invertButton = button(() => this.invert());
    this.clearButton = button(() => this.clear());
    this.facesButton = button(() => this.root.dispatchEvent(new Event("findfaces", { bubbles: true })));
    this.facesButton.className = "find-faces";
    this.showBlur = document.createElement("input");
    this.showBlur.type = "checkbox";
    this.showBlur.id = `${prefix}-showblur`;
    this.showBlur.checked = true;
    this.showBlur.addEventListener("change", () => this.setBlur(this.blur));
    this.showBlurLabel = document.createElement("label");
    this.showBlurLabel.className = "check";
    this.showBlurText = document.createElement("span");
    this.showBlurLabel.append(this.showBlur, this.showBlurText);
    bar.append(...this.toolButtons, this.size.label, this.hardness.label, this.invertButton, this.clearButton,
               this.facesButton, this.showBlurLabel);

    this.stage = document.createElement("div");
    this.stage.className = "mask-stage";
    this.scale = Math.max(1, Math.floor(240 / Math.max(width, height)));
    const img = document.createElement("img");
    img.className = "pixelated";
    img.alt = "";
    img.src = imageURL;
    this.sizeToStage(img);
    this.sizeToStage(this.stage);
    this.stage.append(img);
    this.overlays = document.createElement("div");
    this.overlays.className = "mask-overlays";
    this.sizeToStage(this.overlays);
    this.stage.append(this.overlays);
    this.status = document.createElement("p");
    this.status.className = "mask-status muted small";
    this.status.setAttribute("role", "status");
    this.root.append(bar, this.stage, this.status);
    container.append(this.root);
    this.faces = [];
    this.regions = [];
    this.addZone();
    this.relabel();
  }

  sizeToStage(el) {
    el.style.width = `${this.width * this.scale}px`;
    el.style.height = `${this.height * this.scale}px`;
  }

  get canvas() { return this.layers[this.active].canvas; }
  get ctx() { return this.layers[this.active].ctx; }
  get tint() { return this.layers[this.active].tint; }

  /** A new zone (mask layer); it becomes the active one. Returns its index. */
  addZone() {
    const index = this.layers.length;
    const canvas = document.createElement("canvas");
    canvas.width = this.width;
    canvas.height = this.height;
    canvas.className = "mask-canvas pixelated";
    canvas.dataset.zone = index;
    canvas.tabIndex = 0;
    canvas.setAttribute("role", "img");
    this.sizeToStage(canvas);
    this.overlays.before(canvas);
    const layer = { canvas, ctx: canvas.getContext("2d", { willReadFrequently: true }), tint: TINTS[index % TINTS.length] };
    this.layers.push(layer);
    this.bindPointer(layer);
    this.setActive(index);
    this.setBlur(this.blur);
    return index;
  }

  removeZone(index) {
    if (this.layers.length <= 1) return;
    const [layer] = this.layers.splice(index, 1);
    layer.canvas.remove();
    this.layers.forEach((l, i) => { l.canvas.dataset.zone = i; });
    this.setActive(Math.min(this.active, this.layers.length - 1));
    this.changed();
  }

  setActive(index) {
    this.active = index;
    this.layers.forEach((l, i) => l.canvas.classList.toggle("active", i === index));
    this.relabel();
    this.markFaces();
  }

  relabel() {
    for (const b of this.toolButtons) b.textContent = t(`mask.${b.dataset.tool}`);
    this.bar.setAttribute("aria-label", t("mask.tools"));
    this.size.text.textContent = t("mask.size");
    this.hardness.text.textContent = t("mask.hardness");
    this.invertButton.textContent = t("mask.invert");
    this.clearButton.textContent = t("mask.clear");
    this.facesButton.textContent = t("mask.faces");
    this.showBlurText.textContent = t("mask.showBlur");
    this.layers.forEach((l, i) => l.canvas.setAttribute("aria-label", t("mask.canvas", { n: i + 1 })));
    this.faces.forEach((f, i) => f.button.setAttribute("aria-label", t("mask.face", { n: i + 1 })));
    for (const r of this.regions) r.el.title = t("mask.region", { n: r.zone + 1 });
  }

  select(tool) {
    this.tool = tool;
    for (const b of this.toolButtons) b.setAttribute("aria-pressed", String(b.dataset.tool === tool));
  }

  /** Preview the mask blur (in picture pixels) on every zone. */
  setBlur(px) {
    this.blur = px;
    const filter = px > 0 && this.showBlur.checked ? `blur(${(px * this.scale) / 2}px)` : "";
    for (const l of this.layers) l.canvas.style.filter = filter;
  }

  point(event) {
    const rect = this.canvas.getBoundingClientRect();
    return [(event.clientX - rect.left) * this.width / rect.width, (event.clientY - rect.top) * this.height / rect.height];
  }

  bindPointer(layer) {
    const canvas = layer.canvas;
    let start = null, saved = null, last = null;
    canvas.addEventListener("pointerdown", event => {
      event.preventDefault();
      canvas.setPointerCapture?.(event.pointerId);
      start = last = this.point(event);
      saved = this.ctx.getImageData(0, 0, this.width, this.height);
      if (this.tool === "brush" || this.tool === "eraser") this.dab(start, start);
    });
    canvas.addEventListener("pointermove", event => {
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
      this.changed();
    };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
  }

  changed() { this.root.dispatchEvent(new Event("maskchange", { bubbles: true })); }

  color(alpha = 1) { return `rgba(${this.tint.join(", ")}, ${alpha})`; }

  dab(from, to) {
    const ctx = this.ctx, radius = Number(this.size.input.value) / 2, hard = Number(this.hardness.input.value) / 100;
    ctx.save();
    ctx.globalCompositeOperation = this.tool === "eraser" ? "destination-out" : "source-over";
    const steps = Math.max(1, Math.ceil(Math.hypot(to[0] - from[0], to[1] - from[1]) / Math.max(0.5, radius / 3)));
    for (let i = 0; i <= steps; i++) {
      const x = from[0] + (to[0] - from[0]) * i / steps, y = from[1] + (to[1] - from[1]) * i / steps;
      if (hard >= 0.99) {
        ctx.fillStyle = this.color();
      } else {
        const g = ctx.createRadialGradient(x, y, radius * hard, x, y, radius);
        g.addColorStop(0, this.color());
        g.addColorStop(1, this.color(0));
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
    ctx.fillStyle = this.color();
    ctx.beginPath();
    if (this.tool === "box") ctx.rect(Math.round(x), Math.round(y), Math.round(w), Math.round(h));
    else ctx.ellipse(x + w / 2, y + h / 2, w / 2, h / 2, 0, 0, Math.PI * 2);
    ctx.fill();
    ctx.restore();
  }

  invert() {
    const data = this.ctx.getImageData(0, 0, this.width, this.height);
    for (let i = 0; i < data.data.length; i += 4) {
      [data.data[i], data.data[i + 1], data.data[i + 2]] = this.tint;
      data.data[i + 3] = 255 - data.data[i + 3];
    }
    this.ctx.putImageData(data, 0, 0);
    this.changed();
  }

  clear() {
    this.ctx.clearRect(0, 0, this.width, this.height);
    this.markFaces();
    this.changed();
  }

  // ---------------------------------------------------------------- detected faces
  /** Offer detections ({index, box: [x, y, w, h], mask: data URL}) as overlays; a click adds one to the zone. */
  async showDetections(found) {
    for (const f of this.faces) f.outline.remove();
    this.faces = await Promise.all(found.map(async (d, i) => {
      const mask = new Image();
      mask.src = d.mask;
      await mask.decode();
      const b = button(() => this.toggleFace(i));
      b.className = "face-zone small";
      b.textContent = `${i + 1}`;
      const outline = document.createElement("div");  // the face's box; only its button takes clicks
      outline.className = "face-box";
      const [x, y, w, h] = d.box;
      Object.assign(outline.style, { left: `${x * this.scale}px`, top: `${y * this.scale}px`,
                                     width: `${w * this.scale}px`, height: `${h * this.scale}px` });
      outline.append(b);
      this.overlays.append(outline);
      return { button: b, outline, mask, picked: new Set() };
    }));
    this.relabel();
    this.markFaces();
    return this.faces.length;
  }

  toggleFace(i) {
    const face = this.faces[i];
    const on = !face.picked.has(this.active);
    const shape = document.createElement("canvas");
    shape.width = this.width;
    shape.height = this.height;
    const sctx = shape.getContext("2d");
    sctx.drawImage(face.mask, 0, 0);
    const pixels = sctx.getImageData(0, 0, this.width, this.height);
    for (let p = 0; p < pixels.data.length; p += 4) {
      const v = pixels.data[p];
      [pixels.data[p], pixels.data[p + 1], pixels.data[p + 2]] = this.tint;
      pixels.data[p + 3] = v;
    }
    sctx.putImageData(pixels, 0, 0);
    this.ctx.save();
    this.ctx.globalCompositeOperation = on ? "source-over" : "destination-out";
    this.ctx.drawImage(shape, 0, 0);
    this.ctx.restore();
    if (on) face.picked.add(this.active); else face.picked.delete(this.active);
    this.markFaces();
    this.changed();
  }

  markFaces() {
    for (const f of this.faces || []) f.button.setAttribute("aria-pressed", String(f.picked.has(this.active)));
  }

  // ---------------------------------------------------------------- what goes to the server
  alpha(zone) {
    const l = this.layers[zone];
    return l.ctx.getImageData(0, 0, this.width, this.height).data;
  }

  /** Share of the picture zone `zone` (default: the active one) covers (0..1). */
  coverage(zone = this.active) {
    const data = this.alpha(zone);
    let sum = 0;
    for (let i = 3; i < data.length; i += 4) sum += data[i];
    return sum / (255 * this.width * this.height);
  }

  /** The zone's mask as a PNG: white where the mask is (its alpha as grey), black elsewhere. */
  toBlob(zone = this.active) {
    const out = document.createElement("canvas");
    out.width = this.width;
    out.height = this.height;
    const octx = out.getContext("2d");
    const src = this.alpha(zone);
    const dst = octx.createImageData(this.width, this.height);
    for (let i = 0; i < src.length; i += 4) {
      dst.data[i] = dst.data[i + 1] = dst.data[i + 2] = src[i + 3];
      dst.data[i + 3] = 255;
    }
    octx.putImageData(dst, 0, 0);
    return new Promise(resolve => out.toBlob(resolve, "image/png"));
  }

  /** Bounding box [x1, y1, x2, y2] of the zone's mask after a blur of `blur` px; null when empty. */
  bounds(zone, blur) {
    const soft = document.createElement("canvas");
    soft.width = this.width;
    soft.height = this.height;
    const sctx = soft.getContext("2d", { willReadFrequently: true });
    if (blur > 0) sctx.filter = `blur(${blur}px)`;
    sctx.drawImage(this.layers[zone].canvas, 0, 0);
    const data = sctx.getImageData(0, 0, this.width, this.height).data;
    let x1 = this.width, y1 = this.height, x2 = -1, y2 = -1;
    for (let y = 0; y < this.height; y++) {
      for (let x = 0; x < this.width; x++) {
        if (data[(y * this.width + x) * 4 + 3] > 0) { x1 = Math.min(x1, x); x2 = Math.max(x2, x); y1 = Math.min(y1, y); y2 = Math.max(y2, y); }
      }
    }
    return x2 < 0 ? null : [x1, y1, x2 + 1, y2 + 1];
  }

  /** Draw the "only masked" regions: [{zone, box: [x1, y1, x2, y2]}] (picture pixels); [] hides them. */
  showRegions(regions) {
    for (const r of this.regions) r.el.remove();
    this.regions = regions.map(({ zone, box }) => {
      const el = document.createElement("div");
      el.className = "mask-region";
      el.dataset.zone = zone;
      const [x1, y1, x2, y2] = box;
      Object.assign(el.style, { left: `${x1 * this.scale}px`, top: `${y1 * this.scale}px`,
                                width: `${(x2 - x1) * this.scale}px`, height: `${(y2 - y1) * this.scale}px`,
                                borderColor: `rgb(${this.layers[zone].tint.join(",")})` });
      el.dataset.box = box.join(",");
      this.overlays.append(el);
      return { zone, el };
    });
    this.relabel();
  }
}

/** A1111's "only masked" crop: the box grown by `padding`, then to the ratio target_w:target_h (masks.py). */
export function maskedRegion(box, padding, targetW, targetH, width, height) {
  let [x1, y1, x2, y2] = [Math.max(box[0] - padding, 0), Math.max(box[1] - padding, 0),
                          Math.min(box[2] + padding, width), Math.min(box[3] + padding, height)];
  const ratio = targetW / targetH;
  if ((x2 - x1) / (y2 - y1) > ratio) [y1, y2] = spread(y1, y2, Math.round((x2 - x1) / ratio) - (y2 - y1), height);
  else [x1, x2] = spread(x1, x2, Math.round((y2 - y1) * ratio) - (x2 - x1), width);
  return [x1, y1, x2, y2];
}

function spread(lo, hi, amount, limit) {
  const half = Math.floor(amount / 2);
  lo -= half;
  hi += amount - half;
  if (hi > limit) { lo -= hi - limit; hi = limit; }
  if (lo < 0) { hi -= lo; lo = 0; }
  return [lo, Math.min(hi, limit)];
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
