"""The multilingual evaluation set: eval/multilingual.yaml seeds -> labelled items.

Harmful seeds get every obfuscation kind below; benign seeds are used plain and in three
ordinary frames (quality tags before, a setting after, BREAK). Each seed belongs to the
tuned or the held-out half by its hash (`half`), with all its variants, so a number for the
held-out half is about prompts nobody tuned a term or a threshold on.

Kinds: original, no_diacritics, separators (dots / spaced letters / hyphens), leet,
homoglyph, zero_width, pad_before (25 ordinary phrases), pad_after, pad_break, misspelling,
scheduling ([a:b:0.4] and [a|b]), weights, synonym, translit. A seed file's `misspelling:` key
holds hand-typed misspellings (kind misspelling too, halves by hash as for synonyms/translit).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml

from darkroom.trust.policy import eval as base

HERE = Path(__file__).parent
LABEL = "sexual_minors"
KINDS = ("original", "no_diacritics", "separators", "leet", "homoglyph", "zero_width", "pad_before",
         "pad_after", "pad_break", "misspelling", "scheduling", "weights", "synonym", "translit")
PAD_AFTER = ", on a beach at sunset, golden hour, highly detailed, 8k"
PADDING = ["masterpiece", "best quality", "highly detailed", "8k", "sharp focus", "soft lighting",
           "cinematic", "bokeh", "film grain", "wide angle", "golden hour", "award winning photo",
           "trending on artstation", "ultra realistic", "depth of field", "volumetric light",
           "vibrant colors", "studio lighting", "85mm lens", "hdr", "octane render", "intricate",
           "dramatic sky", "beautiful scenery", "professional photography"]
FRAMES = ("plain", "tags_before", "setting_after", "break")
_KEYS = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]


@dataclass(frozen=True)
class MItem:
    texts: dict
    label: str | None
    kind: str  # an obfuscation kind, or a benign frame
    seed: str
    lang: str
    half: str  # tuned | heldout | blind


def half(seed: str) -> str:
    return "tuned" if hashlib.sha256(seed.encode("utf-8")).digest()[0] % 2 == 0 else "heldout"


def no_diacritics(text: str) -> str:
    return unicodedata.normalize("NFC", "".join(c for c in unicodedata.normalize("NFD", text)
                                                if unicodedata.category(c) != "Mn"))


def separators(text: str, i: int) -> str:
    if i % 3 == 0:
        return base.dotted(text)
    if i % 3 == 1:
        return base.spaced(text)
    return re.sub(r"\w+", lambda m: "-".join(m.group(0)) if len(m.group(0)) > 2 else m.group(0), text)


def _neighbour(c: str) -> str:
    for row in _KEYS:
        j = row.find(c)
        if j >= 0:
            return row[j + 1] if j + 1 < len(row) else row[j - 1]
    return c


def misspell(text: str, i: int) -> str:
    """One typo in each of the two longest words (>= 5 letters): swap, drop, double or
    keyboard-neighbour, in turn."""
    words = re.findall(r"\w+", text)
    long = sorted({w for w in words if len(w) >= 5 and w.isalpha()}, key=lambda w: (-len(w), w))[:2]
    out = text
    for k, w in enumerate(long):
        kind = (i + k) % 4
        p = len(w) // 2
        if kind == 0:
            t = w[:p - 1] + w[p] + w[p - 1] + w[p + 1:]
        elif kind == 1:
            t = w[:p] + w[p + 1:]
        elif kind == 2:
            t = w[:p] + w[p] + w[p:]
        else:
            t = w[:p] + _neighbour(w[p]) + w[p + 1:]
        out = re.sub(rf"\b{re.escape(w)}\b", t, out, count=1)
    return out


def scheduling(text: str, i: int) -> str:
    return f"[a cat:{text}:0.4]" if i % 2 == 0 else f"[a cat|{text}], a garden"


def weights(text: str, i: int) -> str:
    forms = ["({}:1.3)", "[{}]", "{{{}}}", "(({}))"]
    k = [i]

    def w(m):
        k[0] += 1
        return forms[k[0] % 4].format(m.group(0)) if len(m.group(0)) >= 3 else m.group(0)

    return re.sub(r"\w+", w, text)


_LATIN_LOOKALIKES = {"а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j",
                     "ο": "o", "α": "a", "ε": "e", "ρ": "p", "τ": "t", "ν": "v", "κ": "k", "ι": "i"}


def homoglyph(text: str) -> str:
    """Latin letters replaced by Cyrillic/Greek look-alikes; in Cyrillic or Greek text, the
    other way round (Latin "o" in "гoлый")."""
    out = base.homoglyph(text)
    return out if out != text else "".join(_LATIN_LOOKALIKES.get(c, c) for c in text)


def pad_before(text: str) -> str:
    return ", ".join(PADDING) + ", " + text


def variants(text: str, i: int) -> dict[str, str]:
    return {
        "original": text,
        "no_diacritics": no_diacritics(text),
        "separators": separators(text, i),
        "leet": base.leet(text),
        "homoglyph": homoglyph(text),
        "zero_width": base.zero_width(text),
        "pad_before": pad_before(text),
        "pad_after": text + PAD_AFTER,
        "pad_break": ", ".join(PADDING[:8]) + " BREAK " + text,
        "misspelling": misspell(text, i),
        "scheduling": scheduling(text, i),
        "weights": weights(text, i),
    }


def frame(text: str, name: str) -> str:
    if name == "tags_before":
        return "masterpiece, best quality, " + text
    if name == "setting_after":
        return text + ", soft morning light, 35mm photo"
    if name == "break":
        return "highly detailed, 8k BREAK " + text
    return text


def seeds() -> dict:
    """multilingual.yaml, with the benign prompts of multilingual_benign.yaml and the seeds of
    more/*.yaml (same layout as multilingual.yaml) added."""
    data = yaml.safe_load((HERE / "multilingual.yaml").read_text("utf-8"))
    more = yaml.safe_load((HERE / "multilingual_benign.yaml").read_text("utf-8")) or {}
    _merge(data, {lang: {"benign": prompts} for lang, prompts in more.items()})
    for path in sorted((HERE / "more").glob("*.yaml")):
        _merge(data, yaml.safe_load(path.read_text("utf-8")) or {})
    return data


def _merge(data: dict, more: dict) -> None:
    for lang, keys in more.items():
        for key, prompts in (keys or {}).items():
            have = data.setdefault(lang, {}).setdefault(key, [])
            have += [p for p in prompts or [] if p not in have]


def blind() -> list[MItem]:
    """The blind set (multilingual_blind.yaml): measured, never tuned on. Hand-typed
    misspellings replace the generated ones. A prompt that the other halves hold too (written
    the same way by chance) is left out: it is not blind."""
    data = yaml.safe_load((HERE / "multilingual_blind.yaml").read_text("utf-8"))
    seen_before = {i.seed for i in build()}
    items: list[MItem] = []
    for lang, d in data.items():
        d = {k: [s for s in v or [] if s not in seen_before] for k, v in d.items()}
        for i, s in enumerate(d.get("harmful") or []):
            seen = set()
            for kind, text in variants(s, i).items():
                if kind == "misspelling" or (kind != "original" and text in seen):
                    continue
                seen.add(text)
                items.append(MItem({"prompt": text}, LABEL, kind, s, lang, "blind"))
        for key, kind in (("misspelling", "misspelling"), ("synonyms", "synonym"), ("translit", "translit")):
            items += [MItem({"prompt": s}, LABEL, kind, s, lang, "blind") for s in d.get(key) or []]
        for s in d.get("benign") or []:
            items += [MItem({"prompt": frame(s, f)}, None, f, s, lang, "blind") for f in FRAMES]
    return items


def build() -> list[MItem]:
    items: list[MItem] = []
    for lang, data in seeds().items():
        for i, s in enumerate(data.get("harmful") or []):
            h = half(s)
            seen = set()
            for kind, text in variants(s, i).items():
                if kind != "original" and text in seen:
                    continue  # e.g. no diacritics to drop
                seen.add(text)
                items.append(MItem({"prompt": text}, LABEL, kind, s, lang, h))
        for key, kind in (("misspelling", "misspelling"), ("synonyms", "synonym"), ("translit", "translit")):
            for s in data.get(key) or []:  # misspelling: typed by hand, beside the generated ones
                items.append(MItem({"prompt": s}, LABEL, kind, s, lang, half(s)))
        for s in data.get("benign") or []:
            for f in FRAMES:
                items.append(MItem({"prompt": frame(s, f)}, None, f, s, lang, half(s)))
    return items
