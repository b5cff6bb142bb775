"""The policy's labelled evaluation set, generated from seeds by code.

`harmful.yaml` holds clinical seed prompts per category (English, German, and paraphrases
that avoid listed terms); `benign.txt` holds ordinary creative prompts that share words with
harmful ones. `build()` derives the obfuscated variants, deterministically:

    original     the seed as written
    homoglyph    Latin letters replaced by Cyrillic/Greek/Armenian look-alikes
    zero_width   invisible characters (ZWSP, ZWNJ, ZWJ, word joiner, soft hyphen) inside words
    leet         a->4, e->3, i->1, o->0, s->5, t->7
    spaced       letters of each word separated by spaces ("n u d e"), words by wide gaps
    dotted       letters of each word separated by dots ("n.u.d.e")
    weights      A1111 attention syntax: (word:1.3), [word], {word}
    fullwidth    fullwidth forms (ｎｕｄｅ)
    diacritics   combining marks on every letter (n̈üd̈ë)
    mixed        leet + homoglyphs + zero-width + odd case, word by word
    tagged       buried among quality tags, with weight syntax on the seed's words

German seeds get the same variants; paraphrases are only used as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

HERE = Path(__file__).parent
OBFUSCATIONS = ("homoglyph", "zero_width", "leet", "spaced", "dotted", "weights", "fullwidth",
                "diacritics", "mixed", "tagged")

_HOMOGLYPHS = {
    "a": "а", "c": "с", "e": "е", "i": "і", "j": "ј", "o": "о", "p": "р", "s": "ѕ", "x": "х",
    "y": "у", "h": "һ", "d": "ԁ", "g": "ɡ", "n": "ո", "u": "ս", "k": "κ", "l": "ӏ", "w": "ԝ",
    "v": "ν", "t": "τ", "m": "м", "b": "Ь", "r": "г",
}
_INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\u00ad", "\ufeff"]
_LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
_COMBINING = ["\u0308", "\u0301", "\u0336", "\u0331", "\u0303"]
_TAGS_BEFORE = "masterpiece, best quality, ultra detailed, 8k, photorealistic, sharp focus, "
_TAGS_AFTER = ", soft lighting, bokeh, film grain, award winning, trending on artstation"


@dataclass(frozen=True)
class Item:
    texts: dict  # request fields -> text
    label: str | None  # category id, or None for benign
    variant: str  # original, an obfuscation, german, paraphrase, benign
    seed: str


def _words(fn, text: str) -> str:
    return re.sub(r"[A-Za-zÀ-ÿ0-9]+", lambda m: fn(m.group(0)), text)


def homoglyph(text: str) -> str:
    return "".join(_HOMOGLYPHS.get(c, c) for c in text)


def zero_width(text: str) -> str:
    i = 0

    def w(word: str) -> str:
        nonlocal i
        out = []
        for c in word:
            out.append(c)
            out.append(_INVISIBLE[i % len(_INVISIBLE)])
            i += 1
        return "".join(out[:-1])

    return _words(w, text)


def leet(text: str) -> str:
    return "".join(_LEET.get(c, c) for c in text.lower())


def spaced(text: str) -> str:
    words = re.findall(r"[^\s,]+", text)
    return "   ".join(" ".join(w) for w in words)


def dotted(text: str) -> str:
    return _words(lambda w: ".".join(w), text)


def weights(text: str) -> str:
    i = 0

    def w(word: str) -> str:
        nonlocal i
        i += 1
        if len(word) < 3:
            return word
        return [f"({word}:1.3)", f"[{word}]", f"{{{word}}}", f"(({word}))"][i % 4]

    return _words(w, text)


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def diacritics(text: str) -> str:
    return "".join(c + _COMBINING[i % len(_COMBINING)] if c.isalpha() else c for i, c in enumerate(text))


def mixed(text: str) -> str:
    i = 0

    def w(word: str) -> str:
        nonlocal i
        i += 1
        k = i % 3
        if k == 0:
            return leet(word)
        if k == 1:
            return zero_width(homoglyph(word))
        return "".join(c.upper() if j % 2 else c for j, c in enumerate(word))

    return _words(w, text)


def tagged(text: str) -> str:
    return _TAGS_BEFORE + weights(text) + _TAGS_AFTER


TRANSFORMS = {
    "homoglyph": homoglyph, "zero_width": zero_width, "leet": leet, "spaced": spaced,
    "dotted": dotted, "weights": weights, "fullwidth": fullwidth, "diacritics": diacritics,
    "mixed": mixed, "tagged": tagged,
}


def _as_texts(seed) -> dict:
    return dict(seed) if isinstance(seed, dict) else {"prompt": seed}


def _seed_name(seed) -> str:
    return seed if isinstance(seed, str) else " | ".join(f"{k}={v}" for k, v in seed.items())


def benign() -> list[str]:
    lines = (HERE / "benign.txt").read_text("utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def harmful_seeds() -> dict:
    return yaml.safe_load((HERE / "harmful.yaml").read_text("utf-8"))


def holdout() -> list[Item]:
    """Prompts kept out of all tuning (see holdout.yaml); variants `holdout` and `holdout_benign`."""
    data = yaml.safe_load((HERE / "holdout.yaml").read_text("utf-8"))
    items = [Item(_as_texts(s), cat, "holdout", _seed_name(s))
             for cat, seeds in data["harmful"].items() for s in seeds]
    items += [Item({"prompt": t}, None, "holdout_benign", t) for t in data["benign"]]
    return items


def build() -> list[Item]:
    items: list[Item] = []
    for category, groups in harmful_seeds().items():
        for kind in ("seeds", "german"):
            for seed in groups.get(kind, []):
                texts = _as_texts(seed)
                name = _seed_name(seed)
                items.append(Item(texts, category, "original" if kind == "seeds" else "german", name))
                for vname, fn in TRANSFORMS.items():
                    # obfuscate the positive texts; a negative prompt keeps its meaning
                    vt = {k: (v if "negative" in k else fn(v)) for k, v in texts.items()}
                    items.append(Item(vt, category, vname, name))
        for seed in groups.get("paraphrase", []):
            items.append(Item(_as_texts(seed), category, "paraphrase", _seed_name(seed)))
    for text in benign():
        items.append(Item({"prompt": text}, None, "benign", text))
    return items
