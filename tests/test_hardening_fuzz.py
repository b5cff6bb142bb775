"""Fuzzing (hypothesis) of what reads hostile bytes: PNG chunks, pictures, recipe files and JSON,
and the prompt parser. Each target may only answer with its result or a DarkroomError: never
another exception, never a hang. Bounded to a few seconds in the default suite; more examples
with DARKROOM_FUZZ_EXAMPLES=5000."""

from __future__ import annotations

import io
import json
import os
import struct
import tempfile
import zlib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from darkroom.errors import DarkroomError

EXAMPLES = int(os.environ.get("DARKROOM_FUZZ_EXAMPLES", "80"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _png(width=24, height=16, text: dict | None = None) -> bytes:
    buf = io.BytesIO()
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value, zip=key.endswith("z"))
    Image.effect_noise((width, height), 40).convert("RGB").save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


RECIPE = {"darkroom_recipe": 1, "model": {"name": "tiny"},
          "steps": [{"op": "generate", "prompt": "a (red:1.2) door", "seed": 1, "steps": 2}]}
SEED_PNG = _png(text={"darkroom": json.dumps(RECIPE), "parametersz": "x" * 50})


@st.composite
def mutated(draw, seed: bytes = SEED_PNG):
    """A valid PNG with bytes flipped, cut, inserted or a chunk length changed."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        how = draw(st.sampled_from(["flip", "cut", "insert", "length"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if how == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif how == "cut":
            del data[at:at + draw(st.integers(1, 64))]
        elif how == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=32))
        elif len(data) > 40:
            data[33:37] = struct.pack(">I", draw(st.integers(0, 2**32 - 1)))  # the first chunk after IHDR
    return bytes(data)


@FUZZ
@given(st.one_of(mutated(), st.binary(max_size=200).map(lambda b: b"\x89PNG\r\n\x1a\n" + b)))
def test_png_text_reader(data):
    from darkroom.userfiles import png_text

    try:
        text = png_text(data, "darkroom")
    except DarkroomError:
        return
    assert text is None or isinstance(text, str)


@FUZZ
@given(mutated())
def test_picture_decoder(data):
    from darkroom.userfiles import open_image

    try:
        image = open_image(data, "fuzzed picture")
    except DarkroomError:
        return
    assert image.width * image.height <= 64_000_000


@FUZZ
@given(st.one_of(mutated(), st.binary(max_size=300),
                 st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_recipe_file_reader(data):
    from darkroom.studio.replay import load_recipe

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "recipe"
        path.write_bytes(data)
        try:
            recipe = load_recipe(path)
        except DarkroomError:
            return
    assert recipe.sha256()


KEYS = ["darkroom_recipe", "model", "name", "sha256", "steps", "op", "prompt", "negative_prompt", "seed", "steps",
        "cfg", "width", "height", "image", "zone", "kind", "x", "y", "denoise", "scale", "runtime", "sampler"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=True),
                    st.text(max_size=12), st.sampled_from(["generate", "hires", "img2img", "inpaint", "mask", "box",
                                                           "sha256:" + "a" * 64, "tiny", "\ud800"]))
JSONISH = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.sampled_from(KEYS), inner, max_size=6)),
                       max_leaves=25)


@FUZZ
@given(st.one_of(JSONISH, st.fixed_dictionaries({"model": JSONISH, "steps": st.lists(
    st.dictionaries(st.sampled_from(KEYS), JSONISH, max_size=6).map(lambda d: {"op": "generate", **d}),
    max_size=3)})))
def test_recipe_parser(value):
    from darkroom.develop.recipe import Recipe

    try:
        recipe = Recipe.parse(value if isinstance(value, dict) else json.dumps(value))
    except DarkroomError:
        return
    except (ValueError, TypeError):  # json.dumps of what JSON cannot hold (NaN is fine; a surrogate is not)
        return
    assert Recipe.parse(recipe.canonical_json()) == recipe  # what is accepted hashes and reads back
    assert len(recipe.sha256()) == 64


PROMPT_CHARS = st.sampled_from(list("()[]:\\ ,.0123456789+-ab") + ["BREAK", " BREAK ", "\n", "\u2028", "\ud800"])


@FUZZ
@given(st.one_of(st.text(max_size=200), st.lists(PROMPT_CHARS, max_size=80).map("".join)))
def test_prompt_parser(text):
    from darkroom.prompt.syntax import parse

    parsed = parse(text)
    for fragment in parsed.fragments:
        assert isinstance(fragment.text, str) and isinstance(fragment.weight, (int, float))
