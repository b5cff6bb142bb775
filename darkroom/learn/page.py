"""A lesson's folder: pictures (exported by the Studio), step frames, plots (PNG and SVG), numbers.json
and index.html, a page that shows it all with the lesson's texts."""

from __future__ import annotations

import json
import os
from html import escape
from pathlib import Path

from PIL import Image

from darkroom.learn.texts import terms, text


STUDIO = "http://127.0.0.1:7860"  # where `darkroom serve` listens by default


def write_lesson(result, out_dir: Path, lang: str, studio: str = STUDIO) -> Path:
    """Write everything a Result holds below `out_dir`; returns the page's path. Each library picture links
    to `studio` (a running `darkroom serve`) and shows its recipe."""
    out_dir = Path(out_dir)
    links = {"studio": studio.rstrip("/"), "open": text(lang, "ui.open"), "recipe": text(lang, "ui.recipe")}
    body, data = [], {"lesson": result.lesson, "model": result.model, "short": result.short, "seconds": result.seconds,
                      "images": result.images, "numbers": result.numbers, "figures": []}
    for figure in result.figures:
        shown = _figure(figure, out_dir, links)
        body.append(f"<section><p class=caption>{escape(figure.caption)}</p>{shown}</section>")
        data["figures"].append(_figure_data(figure))
    data_bytes = json.dumps(data, indent=1, ensure_ascii=False, default=str).encode()
    _write(out_dir / "numbers.json", data_bytes)
    numbers = "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(_value(v))}</td></tr>"
                      for k, v in terms(lang, result.numbers).items())
    page = PAGE.format(lang=lang, title=escape(result.title), intro=escape(result.intro), body="\n".join(body),
                       numbers_title=escape(text(lang, "ui.numbers")), numbers=numbers,
                       takeaway_title=escape(text(lang, "ui.takeaway")), takeaway=escape(result.takeaway),
                       made=escape(text(lang, "ui.made_with", model=result.model)), seconds=result.seconds)
    path = out_dir / "index.html"
    _write(path, page.encode())
    return path


def _write(path: Path, data: bytes) -> None:
    """Write a file of the lesson folder whole (temp file, then rename), with the user's umask."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _value(value) -> str:
    """A measured value as a person reads it: numbers to 3 digits, a dict as "key value · key value", a dict
    or list of dicts one entry per line (numbers.json keeps every digit)."""
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, dict):
        return ("\n" if _nested(value.values()) else " · ").join(f"{k}: {_value(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ("\n" if _nested(value) else ", ").join(_value(v) for v in value)
    return str(value)


def _nested(values) -> bool:
    return any(isinstance(v, dict) or (isinstance(v, (list, tuple)) and _nested(v)) for v in values)


def _save(image: Image.Image, path: Path) -> str:
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    _write(path, buffer.getvalue())
    return path.as_posix()


def _figure(figure, out_dir: Path, links: dict) -> str:
    if figure.kind == "plot" and figure.plot is not None:
        name = f"plots/{figure.id}"
        _write(out_dir / f"{name}.png", figure.plot.png())
        _write(out_dir / f"{name}.svg", figure.plot.svg().encode())
        return f'<img class=plot src="{name}.png" alt="{escape(figure.plot.title)}">'
    if figure.kind == "table":
        head, *rows = figure.rows or [[]]
        cells = "".join(f"<th>{escape(c)}</th>" for c in head)
        lines = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
        return f"<table><tr>{cells}</tr>{lines}</table>"
    html = _filmstrip(figure, out_dir) if figure.kind == "filmstrip" else ""
    columns = figure.columns or len(figure.shots) or 1
    cells = "".join(_shot(shot, out_dir, f"extra/{figure.id}-{i}.png", links) for i, shot in enumerate(figure.shots))
    return html + f'<div class=grid style="--columns:{columns}">{cells}</div>'


def _shot(shot, out_dir: Path, fallback: str, links: dict) -> str:
    source = shot.file or Path(_save(shot.image, out_dir / fallback)).relative_to(out_dir).as_posix()
    title = escape(json.dumps(shot.recipe, ensure_ascii=False)) if shot.recipe else ""
    recipe = ""
    if shot.sha256:
        recipe = (f'<a class=open href="{escape(links["studio"])}/#picture={shot.sha256}" title="darkroom serve">'
                  f'{escape(links["open"])}</a><details><summary>{escape(links["recipe"])}</summary>'
                  f"<pre>{escape(json.dumps(shot.recipe, ensure_ascii=False, indent=1))}</pre></details>")
    reading = ""
    if shot.reading:
        reading = "<small>" + escape(" ".join(str(shot.reading[k]) for k in
                                              ("background", "color", "size", "shape", "position"))) + "</small>"
    return (f'<figure><img src="{escape(source)}" title="{title}" alt="{escape(shot.label)}">'
            f"<figcaption>{escape(shot.label)}{reading}{recipe}</figcaption></figure>")


def _filmstrip(figure, out_dir: Path) -> str:
    frames = [f for f in figure.frames if f["x_t"] is not None and f["x0"] is not None]
    if not frames:
        return ""
    folder = f"frames/{figure.id}"
    for frame in frames:
        _save(frame["x_t"], out_dir / folder / f"x_t-{frame['step']:03d}.png")
        _save(frame["x0"], out_dir / folder / f"x0-{frame['step']:03d}.png")
    size = frames[0]["x_t"].size
    strip = Image.new("RGB", (size[0] * len(frames), size[1] * 2), "white")
    for i, frame in enumerate(frames):
        strip.paste(frame["x_t"].convert("RGB").resize(size), (i * size[0], 0))
        strip.paste(frame["x0"].convert("RGB").resize(size), (i * size[0], size[1]))
    _save(strip, out_dir / f"{folder}.png")
    last = frames[-1]["step"]
    return (f'<img class=strip src="{folder}.png" alt="filmstrip">'
            f'<div class=slider data-folder="{folder}"><input type=range min=1 max={last} value={last}>'
            f'<output>{last}</output><figure><img class=x_t src="{folder}/x_t-{last:03d}.png" alt="x_t">'
            f'<figcaption>x_t</figcaption></figure><figure><img class=x0 src="{folder}/x0-{last:03d}.png" alt="x0">'
            f"<figcaption>x0</figcaption></figure></div>")


def _figure_data(figure) -> dict:
    data = {"id": figure.id, "kind": figure.kind, "caption": figure.caption,
            "pictures": [{"label": s.label, "sha256": s.sha256, "file": s.file, "recipe": s.recipe,
                          "reading": s.reading} for s in figure.shots]}
    if figure.plot is not None:
        data["plot"] = figure.plot.data()
    if figure.rows:
        data["rows"] = figure.rows
    if figure.frames:
        data["frames"] = len(figure.frames)
    return data


PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font: 15px/1.5 system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem;
       background: #111; color: #ddd; }}
h1 {{ font-weight: 600; }} .caption {{ color: #bbb; }}
.grid {{ display: grid; grid-template-columns: repeat(var(--columns), minmax(0, 8rem)); gap: .5rem; }}
figure {{ margin: 0; }} figure img, .slider img {{ width: 100%; image-rendering: pixelated; }}
figcaption {{ font-size: 12px; }} figcaption small {{ display: block; color: #999; }} a {{ color: #8cf; }}
details pre {{ white-space: pre-wrap; word-break: break-all; font-size: 10px; max-height: 14rem; overflow: auto; }}
.strip {{ max-width: 100%; image-rendering: pixelated; height: 8rem; }}
.slider {{ display: grid; grid-template-columns: 12rem 3rem 8rem 8rem; gap: .5rem; align-items: center; }}
.plot {{ max-width: 40rem; background: white; }} table {{ border-collapse: collapse; }}
td, th {{ border: 1px solid #444; padding: .1rem .4rem; text-align: left; font-size: 13px; }}
td {{ white-space: pre-line; }}
</style></head><body>
<h1>{title}</h1><p>{intro}</p>
{body}
<h2>{numbers_title}</h2><table>{numbers}</table>
<h2>{takeaway_title}</h2><p>{takeaway}</p>
<p><small>{made} ({seconds} s)</small></p>
<script>
for (const box of document.querySelectorAll(".slider")) {{
  const input = box.querySelector("input"), out = box.querySelector("output");
  input.addEventListener("input", () => {{
    const n = String(input.value).padStart(3, "0");
    out.textContent = input.value;
    box.querySelector(".x_t").src = `${{box.dataset.folder}}/x_t-${{n}}.png`;
    box.querySelector(".x0").src = `${{box.dataset.folder}}/x0-${{n}}.png`;
  }});
}}
</script></body></html>
"""
