"""Hostile and careless input (issue #16): every case gets one clear line and changes nothing.

The corpus test runs the command line over bad inputs and asserts, for each: the exit code
(2, or the documented one), one error line on stderr, no traceback, nothing new in the
library and nothing in the output folder. The other tests pin the mechanisms: one function
opens user files (darkroom.userfiles), one rule resolves recipe paths
(darkroom.studio.inputs), one place sets file modes (darkroom.fsutil).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import struct
import time
import zlib
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from test_develop_masks import gradient, synthetic_face

from darkroom.cli import main
from darkroom.settings import Settings

GENERATE = {"op": "generate", "prompt": "a lighthouse", "seed": 3, "steps": 2, "width": 16, "height": 16}


# ---------------------------------------------------------------------------- helpers
@contextmanager
def deadline(seconds: int):
    """Fail instead of hanging (a FIFO read would block forever)."""
    def expired(signum, frame):
        raise TimeoutError(f"the command did not finish within {seconds} s (it hangs)")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run_cli(args: list[str], capsys) -> tuple[int, str]:
    capsys.readouterr()
    with deadline(240):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exit:  # argparse
            code = exit.code
    return code, capsys.readouterr().err


def error_lines(err: str) -> list[str]:
    """The lines of stderr that are not progress bars or the inputs a recipe file read."""
    lines = [part.strip() for line in err.splitlines() for part in line.split("\r")
             if not part.startswith((" ", "\t"))]  # argparse's usage continues on indented lines
    return [line for line in lines if line and not line.startswith(("usage:", "0%", "100%"))
            and "step/s" not in line and "read from" not in line and not line[:3].strip().endswith("%")]


def library_state(home: Path) -> tuple[list, list]:
    """(rows of library_images, files under library/objects): what 'nothing new in the library' compares."""
    rows = []
    database = home / "library.sqlite"
    if database.exists():
        with closing(sqlite3.connect(database)) as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "library_images" in tables:
                rows = sorted(db.execute("SELECT sha256, kind, source_path FROM library_images").fetchall())
    objects = sorted(str(p) for p in (home / "library").rglob("*") if p.is_file()) if (home / "library").exists() \
        else []
    return rows, objects


def png_with_chunks(width: int, height: int, chunks: dict[str, str], *, idat: bytes | None = None) -> bytes:
    """A grey PNG with tEXt chunks, built by hand (so its header can promise any size)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit grey
    if idat is None:
        row = b"\0" * (1 + (width + 7) // 8)
        idat = zlib.compress(row * height, 9)
    text = b"".join(chunk(b"tEXt", key.encode() + b"\0" + value.encode("latin-1")) for key, value in chunks.items())
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + text + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def write_json(path: Path, data) -> Path:
    path.write_text(json.dumps(data))
    return path


def recipe_with(step: dict, model: str = "tiny") -> dict:
    return {"darkroom_recipe": 1, "model": {"name": model}, "steps": [step]}


def bomb_png(tmp_path: Path, recipe: dict | None = None) -> Path:
    """A 20000x20000 PNG of a few kB (400 megapixels once decoded), carrying a recipe."""
    path = tmp_path / "bomb.png"
    text = {"darkroom": json.dumps(recipe or recipe_with(GENERATE))}
    path.write_bytes(png_with_chunks(20000, 20000, text, idat=zlib.compress(b"\0" * 2501 * 2000, 9)))
    return path


def nested_safetensors(path: Path, depth: int = 100_000) -> Path:
    header = b"[" * depth + b"]" * depth
    path.write_bytes(struct.pack("<Q", len(header)) + header)
    return path


def diffusers_folder(tiny_sd1_dir: Path, tmp_path: Path, name: str, change) -> Path:
    """A copy of the tiny diffusers folder (weights linked, configs copied) with `change(folder)` applied."""
    import shutil

    def link_weights(src, dst):  # weights are linked (never written to), everything else copied
        return os.link(src, dst) if str(src).endswith(".safetensors") else shutil.copy2(src, dst)

    folder = tmp_path / name
    shutil.copytree(tiny_sd1_dir, folder, copy_function=link_weights)
    change(folder)
    return folder


def edit_index(folder: Path, edit) -> None:
    index = folder / "model_index.json"
    data = json.loads(index.read_text())
    index.write_text(json.dumps(edit(data)))


# ---------------------------------------------------------------------------- the corpus
def _fifo(tmp_path):
    path = tmp_path / "pipe.png"
    os.mkfifo(path)
    return path


def _face(tmp_path, name="face.png"):
    synthetic_face().save(tmp_path / name)
    return tmp_path / name


def _recipe_file(tmp_path, step):
    folder = tmp_path / "recipes"
    folder.mkdir(exist_ok=True)
    gradient(32, 32).save(folder / "in.png")
    return write_json(folder / "recipe.json", recipe_with(step))


def _inpaint_mask(mask: str) -> dict:
    return {"op": "inpaint", "image": "in.png", "zone": {"kind": "mask", "image": mask}, "prompt": "x", "steps": 2}


def _png_recipe(tmp_path, step):
    path = tmp_path / "carrier.png"
    path.write_bytes(png_with_chunks(32, 32, {"darkroom": json.dumps(recipe_with(step))}))
    return path


def noisy_idat(width: int, height: int) -> bytes:
    """Compressed 1-bit rows of noise: an IDAT long enough to cut in the middle."""
    import random

    rng = random.Random(7)
    return zlib.compress(b"".join(b"\0" + bytes(rng.randrange(256) for _ in range((width + 7) // 8))
                                  for _ in range(height)))


def _truncated(tmp_path):
    data = png_with_chunks(256, 256, {"darkroom": json.dumps(recipe_with(GENERATE))}, idat=noisy_idat(256, 256))
    path = tmp_path / "cut.png"
    path.write_bytes(data[:-2000])
    return path


def _big_input(tmp_path):
    path = tmp_path / "big.png"
    Image.new("L", (7000, 7000), 128).save(path)
    return path


def _existing_file(tmp_path):
    (tmp_path / "taken").write_text("a file")
    return tmp_path / "taken"


IMG2IMG = ["--prompt", "x", "--steps", "2", "--model", "tiny"]
CORPUS = {
    # 1. reading an input
    "img2img /dev/zero": (lambda t: ["img2img", "/dev/zero", *IMG2IMG], 2, "/dev/zero is a device"),
    "img2img a FIFO": (lambda t: ["img2img", _fifo(t), *IMG2IMG], 2, "is a named pipe (FIFO)"),
    "img2img a folder": (lambda t: ["img2img", t, *IMG2IMG], 2, "is a folder, not a file"),
    "img2img missing": (lambda t: ["img2img", t / "nope.png", *IMG2IMG], 2, "does not exist"),
    "img2img not a picture": (lambda t: ["img2img", write_json(t / "x.png", {}), *IMG2IMG], 2, "not an image"),
    "img2img truncated": (lambda t: ["img2img", _truncated(t), *IMG2IMG], 2, "damaged or truncated"),
    "img2img bomb": (lambda t: ["img2img", bomb_png(t), *IMG2IMG], 2, "megapixels"),
    "recipe image a FIFO": (lambda t: ["develop", _recipe_file(t, {"op": "img2img", "image": "pipe.png",
                                                                   "prompt": "x", "steps": 2}),
                                       "--project", "p"] if os.mkfifo(t / "recipes" / "pipe.png") is None else [],
                            2, "is a named pipe (FIFO)"),
    # 2. recipes and the library
    "recipe mask ../": (lambda t: ["develop", _recipe_file(t, _inpaint_mask("../face.png"))] if _face(t) else [],
                        2, "lies outside the recipe's folder"),
    "recipe mask absolute": (lambda t: ["develop", _recipe_file(t, _inpaint_mask(str(_face(t))))], 2,
                             "lies outside the recipe's folder"),
    "recipe image symlink out": (lambda t: ["develop", _recipe_file(t, {"op": "img2img", "image": "link.png",
                                                                        "prompt": "x", "steps": 2})]
                                 if (t / "recipes" / "link.png").symlink_to(_face(t)) is None else [],
                                 2, "lies outside the recipe's folder"),
    "recipe mask is a face photo": (lambda t: ["develop", _recipe_file(t, _inpaint_mask("mask.png"))]
                                    if synthetic_face().save(t / "recipes" / "mask.png") is None else [],
                                    4, "lawful basis"),
    "replay: a picture's recipe names a mask by path": (
        lambda t: ["replay", _png_recipe(t, _inpaint_mask(str(_face(t))))], 2, "only by sha256"),
    "develop: a picture's recipe names an image by path": (
        lambda t: ["develop", _png_recipe(t, {"op": "img2img", "image": "/etc/passwd", "prompt": "x"})], 2,
        "only by sha256"),
    "input of 7000x7000": (lambda t: ["img2img", _big_input(t), *IMG2IMG, "--size", "64x64"], 2, "beyond the limit"),
    "recipe model is a path": (lambda t: ["develop", write_json(t / "r.json", recipe_with(GENERATE, model=str(
        nested_safetensors(t / "m.safetensors", 4))))], 2, "names its model by a path"),
    # 4. tracebacks
    "lone surrogate in the prompt": (lambda t: ["generate", "a cat \udcff", "--model", "tiny", "--steps", "2"], 2,
                                     "not valid Unicode"),
    "lone surrogate in a recipe": (lambda t: ["develop", t / "s.json"] if (t / "s.json").write_text(
        '{"model": {"name": "tiny"}, "steps": [{"op": "generate", "prompt": "a \\udcff"}]}') else [], 2,
        "lone leading surrogate"),
    "escape sequence in the prompt": (lambda t: ["generate", "a \x1b[31mred\x1b[0m cat", "--model", "tiny", "--steps",
                                                 "2"], 2, "control character U+001B"),
    "NUL in a recipe's prompt": (lambda t: ["develop", write_json(t / "nul.json", recipe_with(
        {**GENERATE, "prompt": "a\u0000cat"}))], 2, "steps[0].prompt: the text contains the control character U+0000"),
    "a prompt of a megabyte": (lambda t: ["develop", write_json(t / "mb.json", recipe_with(
        {**GENERATE, "prompt": "a cat, " * 150_000}))], 2, "at most 10000 are accepted"),
    "-o an existing file": (lambda t: ["generate", "a cat", "--model", "tiny", "--steps", "2", "-o",
                                       _existing_file(t)], 2, "not a folder"),
    "-o below a file": (lambda t: ["generate", "a cat", "--model", "tiny", "--steps", "2", "-o",
                                   _existing_file(t) / "x"], 2, "cannot use the output folder"),
    "-o /dev/null/x": (lambda t: ["generate", "a cat", "--model", "tiny", "--steps", "2", "-o", "/dev/null/x"], 2,
                       "cannot use the output folder"),
    "-o /proc/x": (lambda t: ["generate", "a cat", "--model", "tiny", "--steps", "2", "-o", "/proc/x"], 2,
                   "output folder /proc/x"),
    "models add nested JSON header": (lambda t: ["models", "add", nested_safetensors(t / "deep.safetensors")], 2,
                                      "nested too deeply"),
    "models add a FIFO": (lambda t: ["models", "add", _fifo(t)], 2, "named pipe"),
    "verify a bomb": (lambda t: ["verify", bomb_png(t)], 2, "megapixels"),
    "verify a FIFO": (lambda t: ["verify", _fifo(t)], 2, "named pipe"),
    "replay a bomb": (lambda t: ["replay", bomb_png(t)], 2, "megapixels"),
    "develop a bomb": (lambda t: ["develop", bomb_png(t)], 2, "megapixels"),
    "replay a truncated PNG": (lambda t: ["replay", _truncated(t)], 2, "truncated"),
    "replay a folder": (lambda t: ["replay", t], 2, "is a folder"),
    "develop a FIFO": (lambda t: ["develop", _fifo(t)], 2, "named pipe"),
    "develop deeply nested JSON": (lambda t: ["develop", t / "deep.json"] if (t / "deep.json").write_text(
        "[" * 100_000) else [], 2, "invalid recipe"),
    # 5. smaller ones
    "--size -64x64": (lambda t: ["generate", "x", "--size", "-64x64"], 2, "must be positive"),
    "--cfg nan": (lambda t: ["generate", "x", "--cfg", "nan"], 2, "finite number"),
    "--hires-resize beyond the limit": (lambda t: ["generate", "x", "--model", "tiny", "--steps", "2", "--size",
                                                   "16x16", "--hires-resize", "4096x4096"], 2, "beyond the limit"),
    "inpaint a mask of another size": (lambda t: ["inpaint", _recipe_file(t, GENERATE).parent / "in.png", "--mask",
                                                  _recipe_file(t, GENERATE).parent / "small.png", *IMG2IMG]
                                       if Image.new("L", (16, 16), 255).save(t / "recipes" / "small.png") is None
                                       else [], 2, "the mask is 16x16 but the image is 32x32"),
}


@pytest.mark.parametrize("case", list(CORPUS))
def test_bad_input_gets_one_clear_line_and_changes_nothing(case, tiny_model, darkroom_home, tmp_path, capsys,
                                                            monkeypatch):
    make, code, message = CORPUS[case]
    work = tmp_path / "work"
    work.mkdir()
    (work / "recipes").mkdir()
    monkeypatch.chdir(work)
    args = make(work)
    assert args, case
    out = work / "out"
    if "-o" not in args and args[0] in ("generate", "img2img", "inpaint", "develop", "variants"):
        args += ["-o", out]
    before = library_state(darkroom_home)
    started = time.perf_counter()
    got, err = run_cli(args, capsys)
    seconds = time.perf_counter() - started
    assert "Traceback" not in err, err
    lines = error_lines(err)
    assert got == code, (case, got, err)
    assert len(lines) == 1, (case, lines)
    assert "error:" in lines[0] and message in lines[0], (case, lines[0])
    assert library_state(darkroom_home) == before, case
    assert not out.exists() or not any(out.iterdir()), case
    assert not (Path("/proc/x").exists() or Path("/dev/null/x").exists())
    assert seconds < 120, (case, seconds)


# ---------------------------------------------------------------------------- 1. one function opens user files
def test_user_files_are_regular_files_within_a_size_limit(tmp_path):
    from darkroom.userfiles import FileRefused, read_file

    os.mkfifo(tmp_path / "fifo")
    for path, reason in (("/dev/zero", "is a device"), (tmp_path / "fifo", "named pipe"), (tmp_path, "is a folder"),
                         (tmp_path / "missing", "does not exist"), ("/dev/null/x", "does not exist")):
        with deadline(10), pytest.raises(FileRefused, match=reason):
            read_file(path, "input picture")
    (tmp_path / "big").write_bytes(b"x" * 2000)
    with pytest.raises(FileRefused, match="the limit is"):
        read_file(tmp_path / "big", limit=1000)
    assert read_file(tmp_path / "big") == b"x" * 2000
    # a file that reports size 0 but holds more (as /proc files do) is bounded while reading
    assert len(read_file("/proc/self/status", limit=1_000_000)) > 0
    with pytest.raises(FileRefused, match="larger than the limit"):
        read_file("/proc/self/status", limit=10)


def test_pictures_are_measured_before_they_are_decoded():
    from darkroom.errors import ImageError
    from darkroom.userfiles import TooManyPixels, image_size, open_image

    bomb = png_with_chunks(20000, 20000, {}, idat=zlib.compress(b"\0" * 1000))
    with pytest.raises(TooManyPixels, match="megapixels"):
        open_image(bomb)
    medium = png_with_chunks(9000, 9000, {}, idat=zlib.compress(b"\0" * 1000))  # 81 MP: PIL would only warn
    with pytest.raises(TooManyPixels, match="9000x9000"):
        open_image(medium)
    small = png_with_chunks(256, 256, {}, idat=noisy_idat(256, 256))
    assert image_size(small) == (256, 256) and open_image(small).size == (256, 256)
    with pytest.raises(ImageError, match="damaged or truncated"):
        open_image(small[:-2000])
    with pytest.raises(ImageError, match="not an image"):
        open_image(b"GIF89a but not really")


def test_consent_check_reads_through_the_same_function(tmp_path):
    """The consent check once read /dev/zero whole (19.7 GB) before anything checked the file."""
    from darkroom.scope import Scope
    from darkroom.studio.inputs import take_in
    from darkroom.library import Library
    from darkroom.errors import ImageError

    with deadline(20), pytest.raises(ImageError, match="is a device"):
        take_in(Library(Settings()), Path("/dev/zero"), "default", scope=Scope("default"))


# ---------------------------------------------------------------------------- 2. one rule for recipe paths
def test_recipe_paths_resolve_relative_to_the_recipe_file_only(tmp_path):
    from darkroom.errors import ImageError
    from darkroom.studio.inputs import resolve_path

    base = tmp_path / "recipes"
    (base / "sub").mkdir(parents=True)
    assert resolve_path("sub/in.png", "steps[0].image", "recipe", base) == (base / "sub" / "in.png").resolve()
    assert resolve_path(str(base / "in.png"), "steps[0].image", "recipe", base) == (base / "in.png").resolve()
    for value in ("../in.png", "/etc/passwd", "sub/../../in.png", str(tmp_path / "in.png")):
        with pytest.raises(ImageError, match="outside the recipe's folder"):
            resolve_path(value, "steps[0].image", "recipe", base)
    with pytest.raises(ImageError, match="only by sha256"):
        resolve_path("in.png", "steps[0].zone.image", "picture", base)
    assert resolve_path("in.png", "x", "caller", None) == Path("in.png")


def test_the_working_folder_does_not_shadow_the_recipe_folder(tiny_model, tmp_path, capsys, monkeypatch):
    """A relative path in a recipe file is the file beside the recipe, not one in the working folder."""
    folder = tmp_path / "recipes"
    folder.mkdir()
    gradient(32, 32).save(folder / "in.png")
    write_json(folder / "r.json", recipe_with({"op": "img2img", "image": "in.png", "prompt": "x", "steps": 2,
                                               "denoise": 0.5}))
    monkeypatch.chdir(tmp_path)
    synthetic_face(32, 16, 16).save(tmp_path / "in.png")  # would need consent if it were read
    assert main(["develop", str(folder / "r.json"), "-o", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert f"steps[0].image read from {(folder / 'in.png').resolve()}" in err  # shown to the user


def test_a_failing_run_leaves_no_input_in_the_library(tiny_model, tmp_path, capsys):
    """The run is refused only at its step (no face in the picture): its input goes again."""
    gradient(32, 32).save(tmp_path / "plain.png")
    out = tmp_path / "out"
    code = main(["inpaint", str(tmp_path / "plain.png"), "--zone", "face", "--prompt", "x", "--steps", "2",
                 "--model", "tiny", "-o", str(out)])
    assert code == 2 and "no face found" in capsys.readouterr().err
    assert library_state(Settings().home)[0] == []
    assert not out.exists()


def test_model_paths_only_from_the_command_line(tiny_model, tiny_sd1_dir, tmp_path, capsys):
    from darkroom.errors import UnknownModel
    from darkroom.models.registry import Registry

    registry = Registry(Settings())
    with pytest.raises(UnknownModel, match="names its model by a path"):
        registry.resolve(str(tiny_sd1_dir), allow_path=False)
    assert registry.resolve(str(tiny_sd1_dir)).name == "tiny"  # --model PATH typed by the user
    assert registry.resolve("tiny", allow_path=False).name == "tiny"


# ---------------------------------------------------------------------------- 3. one place sets file modes
def test_the_data_dir_is_private_whatever_the_umask(tiny_model, tmp_path, capsys):
    previous = os.umask(0)
    try:
        face = _face(tmp_path)
        assert main(["img2img", str(face), "--prompt", "x", "--steps", "2", "--model", "tiny", "--consent",
                     "-o", str(tmp_path / "out")]) == 0
    finally:
        os.umask(previous)
    home = Settings().home
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    loose = []
    for path in [home, *home.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if path.is_dir() and mode != 0o700:
            loose.append(f"{path}: {oct(mode)}")
        elif path.is_file() and mode & 0o077 and path.parent.name != "keys":
            loose.append(f"{path}: {oct(mode)}")
    # keys/ (darkroom.trust.keys) is 0700 and its private keys 0600; its certificates and lock file
    # follow keys.py's own choice, unreachable for others through the 0700 folder
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in (home / "keys").glob("*.key"))
    assert not loose, loose
    assert stat.S_IMODE((home / "library.sqlite").stat().st_mode) == 0o600


def test_an_older_world_readable_data_dir_is_made_private(tmp_path):
    from darkroom.library import Library

    home = Settings().home
    home.mkdir(parents=True, mode=0o755)
    os.chmod(home, 0o755)
    (home / "library.sqlite").touch(mode=0o644)
    os.chmod(home / "library.sqlite", 0o644)
    Library(Settings()).records()
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "library.sqlite").stat().st_mode) == 0o600


# ---------------------------------------------------------------------------- 4./5. models add
@pytest.mark.parametrize("change, message", [
    (lambda f: edit_index(f, lambda d: {**d, "_class_name": ["StableDiffusionPipeline"]}), "not a pipeline name"),
    (lambda f: edit_index(f, lambda d: [d]), "not a JSON object"),
    (lambda f: edit_index(f, lambda d: {**d, "unet": ["my_unet", "FancyUNet"]}), "custom code"),
    (lambda f: (f / "pipeline.py").write_text("import os\n"), "ships Python code"),
    (lambda f: [p.unlink() for p in (f / "unet").glob("*.safetensors")]
     and (f / "unet" / "diffusion_pytorch_model.bin").write_bytes(b"\x80\x04K\x01."), "only pickle weights"),
    (lambda f: [p.unlink() for p in (f / "vae").glob("*.safetensors")], "has no .safetensors weights"),
    (lambda f: [p.write_bytes(b"\x80\x04K\x01.") for p in [next((f / "unet").glob("*.safetensors"))]
                if p.unlink() is None], "pickle renamed"),
    (lambda f: (f / "unet" / "config.json").write_text(json.dumps({"in_channels": "many", "sample_size": [8]})),
     "wrong type"),
])
def test_models_add_refuses_folders_that_could_never_load(tiny_sd1_dir, tmp_path, capsys, change, message):
    folder = diffusers_folder(tiny_sd1_dir, tmp_path, "broken", change)
    code, err = run_cli(["models", "add", folder], capsys)
    assert code == 2 and "Traceback" not in err
    (line,) = error_lines(err)
    assert message in line, line
    assert not Settings().registry_file.exists() or "broken" not in Settings().registry_file.read_text()


# ---------------------------------------------------------------------------- 5. validation before loading
def test_a_bad_request_is_refused_before_the_policy_or_a_model_loads(tiny_model, tmp_path, capsys, monkeypatch):
    from darkroom.trust import gate

    def no_policy(settings):
        raise AssertionError("the policy was loaded for a request that is refused anyway")

    monkeypatch.setattr(gate, "policy_for", no_policy)
    code = main(["generate", "x", "--model", "tiny", "--size", "16x16", "--hires-resize", "4096x4096",
                 "-o", str(tmp_path / "out")])
    assert code == 2 and "beyond the limit" in capsys.readouterr().err
    code = main(["generate", "x", "--model", "tiny", "-o", "/dev/null/x"])
    assert code == 2 and "output folder" in capsys.readouterr().err


# ---------------------------------------------------------------------------- 5. erase --image
def test_erase_image_says_that_the_audit_log_still_shows_its_prompt(tiny_model, tmp_path, capsys):
    assert main(["generate", "a very particular teapot", "--model", "tiny", "--steps", "2", "--size", "16x16",
                 "-o", str(tmp_path / "out")]) == 0
    made = capsys.readouterr().out.split()[-1]
    from darkroom.library import Library

    sha = Library(Settings()).find_file(made).sha256
    assert main(["erase", "--image", sha, "--dry-run"]) == 0
    assert "audit show" in capsys.readouterr().out
    assert main(["erase", "--image", sha, "--yes"]) == 0
    said = capsys.readouterr().out
    assert "audit show" in said and "erase --project" in said
