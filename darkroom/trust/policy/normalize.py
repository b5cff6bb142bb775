"""Normalise prompt text so that trivial obfuscation does not defeat the rules.

`views(text)` returns several lower-case ASCII renderings of one text. A rule
matches when it matches in any view; every view is derived from the same
characters, so the union is still "what the text says":

1. NFKC (fullwidth, mathematical alphanumerics, ligatures, circled letters)
2. invisible characters removed (zero-width space/joiner, soft hyphen, bidi
   controls, tag characters: Unicode category Cf) and combining marks dropped
   (diacritics, strike-through overlays, variation selectors)
3. TR39 confusable skeleton: non-ASCII look-alikes (Cyrillic "а", Greek "ο",
   small capitals) mapped to the ASCII letter they imitate, using the data
   shipped by `confusable-homoglyphs`; a second view skips this step so that
   genuine Cyrillic/Greek text is transliterated instead (`anyascii`)
4. casefold and `anyascii` transliteration of whatever is left
5. prompt syntax removed: attention weights `(word:1.3)`, `[a:b:0.5]`,
   `<lora:name:0.8>`, escapes
6. leetspeak decoded inside words that mix letters with digits or symbols
   (`n00d3`, `s3x`, `@`, `$`); `1` is tried both as `i` and as `l`
7. punctuation either turned into spaces or removed inside a word (`n.u.d.e`)
8. runs of single letters joined (`n u d e`), kept as "squeezed" tokens that
   rules search by substring.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from anyascii import anyascii

SQUEEZE_MARK = "~"  # prefix of a token made by joining a run of single letters

_LEET_BASE = {
    "0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "6": "g",
    "2": "z", "@": "a", "$": "s", "!": "i", "|": "l", "+": "t", "€": "e", "£": "l",
    "(": "c", "<": "c",
}
_LEET_I = {**_LEET_BASE, "1": "i"}
_LEET_L = {**_LEET_BASE, "1": "l"}

_WEIGHT = re.compile(r":\s*[-+]?(?:\d+\.?\d*|\.\d+)\s*(?=[)\]>}])")
_LORA = re.compile(r"<\s*(?:lora|lyco|hypernet|embedding)\s*:", re.I)
_PUNCT = re.compile(r"[^a-z0-9 ]+")
_SPACES = re.compile(r"\s+")
_NUMBERISH = re.compile(r"^\(?\d+[a-z]*\)?[,.]?$")  # 12yo, 8k, 3d, 1080p, 1girl: not leetspeak


@lru_cache(maxsize=1)
def _skeleton_map() -> dict[str, str]:
    """Map every single non-ASCII confusable to the ASCII letter or digit it imitates."""
    import confusable_homoglyphs

    data = json.loads(
        (Path(confusable_homoglyphs.__file__).parent / "confusables.json").read_text("utf-8")
    )

    def clean(s: str) -> str:
        return "".join(c for c in s if unicodedata.category(c) != "Cf")

    graph: dict[str, set[str]] = {}
    for key, glyphs in data.items():
        a = clean(key)
        if len(a) != 1:
            continue
        for g in glyphs:
            b = clean(g["c"])
            if len(b) != 1 or a == b:
                continue
            graph.setdefault(a, set()).add(b)
            graph.setdefault(b, set()).add(a)

    def is_target(c: str) -> bool:
        return c.isascii() and c.isalnum()

    def rank(c: str) -> tuple[int, str]:
        # "l" before "i": a vertical stroke imitates l, I and 1 alike; the l/i ambiguity is
        # resolved by a second skeleton form (see ascii_forms)
        return (0 if c.islower() else 1 if c.isupper() else 2, "h" if c == "l" else c)

    mapping: dict[str, str] = {}
    for ch in graph:
        if ch.isascii():
            continue
        seen, frontier = {ch}, [ch]
        for _depth in range(2):  # direct look-alike, or look-alike of a look-alike
            found = sorted((n for f in frontier for n in graph.get(f, ()) if is_target(n)), key=rank)
            if found:
                mapping[ch] = found[0]
                break
            nxt = []
            for f in frontier:
                for n in graph.get(f, ()):
                    if n not in seen:
                        seen.add(n)
                        nxt.append(n)
            frontier = nxt
    return mapping


def _strip_invisible(text: str) -> str:
    out = []
    for c in unicodedata.normalize("NFD", text):
        cat = unicodedata.category(c)
        if cat in ("Mn", "Me", "Cf"):
            continue
        if cat in ("Cc", "Zs", "Zl", "Zp"):
            out.append(" ")
            continue
        out.append(c)
    return unicodedata.normalize("NFC", "".join(out))


def _skeleton(text: str) -> str:
    table = _skeleton_map()
    return "".join(table.get(c, c) for c in text)


def _prompt_syntax(text: str) -> str:
    text = text.replace("\\(", "(").replace("\\)", ")").replace("\\[", "[").replace("\\]", "]")
    text = _LORA.sub(" ", text)
    return _WEIGHT.sub(" ", text)


_LEAD_DIGITS = re.compile(r"^(\d+)(?=[^\d])")


def _leet_keep_number(token: str, table: dict[str, str]) -> str:
    """Leetspeak after a leading number: "14y0" -> "14yo", "13-jahr1g3n" -> "13-jahrigen"."""
    m = _LEAD_DIGITS.match(token)
    if not m:
        return _leet(token, table)
    return m.group(1) + _leet(token[m.end():], table)


def _leet_all(token: str, table: dict[str, str]) -> str:
    """Leetspeak in every token, numbers too ("55 run35" -> "ss runes")."""
    return "".join(table.get(c, c) for c in token)


def _leet(token: str, table: dict[str, str]) -> str:
    has_alpha = any(c.isalpha() for c in token)
    if not has_alpha or not any(c in table for c in token):
        return token
    core = token.strip("()[]{}<>.,;:!?\"'")
    if not any(c in table for c in core) or not any(c.isalpha() for c in core):
        return token
    return "".join(table.get(c, c) for c in token)


def _single(t: str) -> bool:
    return len(t) == 1 or t == "ss"  # "ß" is transliterated to two letters


def _squeeze(tokens: list[str]) -> list[str]:
    """Join runs of >= 3 single-character tokens ("n u d e") into one marked token; a chunk
    made only of single characters ("i n", "m y" between wide gaps) is joined as well."""
    if len(tokens) >= 2 and all(_single(t) for t in tokens):
        return [SQUEEZE_MARK + "".join(tokens)]
    out: list[str] = []
    run: list[str] = []
    for t in tokens + [""]:
        if t and _single(t) and (len(t) == 1 or run):
            run.append(t)
            continue
        if len(run) >= 3:
            out.append(SQUEEZE_MARK + "".join(run))
        else:
            out.extend(run)
        run = []
        if t:
            out.append(t)
    return out


@dataclass(frozen=True)
class View:
    """One normalised rendering: words separated by single spaces, padded with spaces."""

    text: str
    leet: bool
    squeezed: tuple[str, ...]


@lru_cache(maxsize=1)
def _strokes() -> frozenset[str]:
    """Look-alikes of a bare vertical stroke: they imitate "l", "I" (= "i") and "1" alike."""
    out = set()
    for c, a in _skeleton_map().items():
        if a not in "il":
            continue
        name = unicodedata.name(c, "")
        dotted_i = ("SMALL" in name and name.endswith(" I")
                    and "DOTLESS" not in name and "CAPITAL" not in name)
        if not dotted_i:
            out.add(c)
    return frozenset(out)


_DOTLESS = "\u0131"


def ascii_forms(text: str) -> list[str]:
    """Steps 1-5: the lower-case ASCII renderings, punctuation still in place."""
    base = _strip_invisible(unicodedata.normalize("NFKC", text))
    strokes = _strokes()
    candidates = []
    has_stroke = any(c in strokes for c in base)
    inner_i = re.search(r"(?<=[a-z])I", base) is not None  # "chiId": capital I posing as l
    # Turkish dotless "ı" is a letter read "i", whatever the other strokes imitate
    dotless = ("i", "l") if _DOTLESS in base else ("i",)
    for stroke, d in [(s, d) for s in (("l", "i") if has_stroke else ("l",)) for d in dotless]:
        t = "".join(d if c == _DOTLESS else stroke if c in strokes else c for c in base)
        candidates.append(_skeleton(_skeleton(t).casefold()))
        if inner_i:
            t2 = re.sub(r"(?<=[a-z])I", "l", t)
            candidates.append(_skeleton(_skeleton(t2).casefold()))
    plain = [base.casefold()]
    joined = _join_spaced(base)
    if joined != base:
        plain.append(joined.casefold())
    mixed = _script_lookalikes(joined)
    if mixed != joined:
        plain.append(mixed.casefold())
    forms = []
    for t in candidates + plain:
        a = _prompt_syntax(anyascii(t).lower())
        if a not in forms:
            forms.append(a)
    return forms


_SPACED = re.compile(r"(?<!\S)(?:[^\W\d_] ){2,}[^\W\d_](?!\S)")


def _join_spaced(text: str) -> str:
    """Letters of another alphabet typed one by one ("г о л о") joined before transliteration
    (after it, "ч" is "ch" and the run no longer reads as single letters)."""
    return _SPACED.sub(lambda m: m.group(0).replace(" ", "") if not m.group(0).isascii() else m.group(0), text)


@lru_cache(maxsize=1)
def _lookalike_tables() -> dict[str, dict[str, str]]:
    """Per script (CYRILLIC, GREEK): the letter each ASCII letter imitates, from the TR39 data."""
    tables: dict[str, dict[str, str]] = {}
    for ch, a in sorted(_skeleton_map().items()):
        if not a.isalpha():
            continue
        script = unicodedata.name(ch, "").split(" ")[0]
        if script in ("CYRILLIC", "GREEK") and ch.isalpha() and (ch.islower() == a.islower()):
            tables.setdefault(script, {}).setdefault(a, ch)
    return tables


def _script_lookalikes(text: str) -> str:
    """Latin look-alikes inside a Cyrillic or Greek word put back into its script ("гoлый"
    with a Latin "o", "peбёнoк"), so that transliteration reads the word as written."""
    tables = _lookalike_tables()

    def fix(m: re.Match) -> str:
        word = m.group(0)
        scripts = [unicodedata.name(c, " ").split(" ")[0] for c in word if c.isalpha() and not c.isascii()]
        main = max(set(scripts), key=scripts.count) if scripts else None
        if main not in tables or not any(c.isascii() and c.isalpha() for c in word):
            return word
        return "".join(tables[main].get(c, c) if c.isascii() else c for c in word)

    return re.sub(r"\S+", fix, text)


_CHUNKS = re.compile(r"\s{2,}|\s+[/|,;]\s+")


def _words(chunk_tokens: list[str], glued: bool) -> list[str]:
    if glued:  # punctuation removed inside words ("n.u.d.e", "nu-de")
        return [w for w in (_PUNCT.sub("", t) for t in chunk_tokens) if w]
    return _SPACES.sub(" ", _PUNCT.sub(" ", " ".join(chunk_tokens))).split()  # punctuation -> space


def _latin_words(text: str) -> list[str]:
    """The Latin words inside CJK or other natively matched text ("JSのエロ写真": "js"), which
    transliteration would glue to the words around them."""
    if not has_native(text):
        return []
    base = _strip_invisible(unicodedata.normalize("NFKC", text))
    return [_prompt_syntax(anyascii(_NATIVE_CHAR.sub(" ", base)).lower())]


def views(text: str) -> list[View]:
    result: dict[str, View] = {}
    for form in ascii_forms(text) + _latin_words(text):
        # wide gaps and separators end a run of spaced letters: "n u d e   k i d" is two words
        chunks = [c.split() for c in _CHUNKS.split(form) if c.strip()]
        for leet, fn, table in ((False, None, None), (True, _leet, _LEET_I), (True, _leet, _LEET_L),
                                (True, _leet_keep_number, _LEET_I), (True, _leet_all, _LEET_I)):
            toks = chunks if fn is None else [[fn(t, table) for t in c] for c in chunks]
            for glued in (False, True):
                sq = [w for c in toks for w in _squeeze(_words(c, glued))]
                key = " ".join(sq)
                if key not in result:
                    # a squeezed run is also a word of the text ("n u d e" -> "nude")
                    words = [w.lstrip(SQUEEZE_MARK) for w in sq]
                    result[key] = View(
                        text=" " + " ".join(words) + " ",
                        leet=leet,
                        squeezed=tuple(w[1:] for w in sq if w.startswith(SQUEEZE_MARK)),
                    )
    return list(result.values())


def canonical(text: str) -> str:
    """The single most readable normalised form (for the semantic layer and logs)."""
    form = ascii_forms(text)[0]
    out = []
    for chunk in _CHUNKS.split(form):
        toks = [t if _NUMBERISH.match(t) else _leet(t, _LEET_I) for t in chunk.split()]
        out += [w.lstrip(SQUEEZE_MARK) for w in _squeeze(_words(toks, glued=False))]
    return " ".join(out)


def normalize_term(term: str) -> str:
    """Normalise a lexicon term the same way as text (no leet, punctuation -> space)."""
    form = ascii_forms(term)[-1]
    return _SPACES.sub(" ", _PUNCT.sub(" ", form.replace("*", "\x00"))).replace("\x00", "*").strip()


# ---- scripts written without spaces between words, or whose letters do not survive the
# ASCII views (Devanagari vowel signs are combining marks): matched in the native script ----
_NATIVE_CHAR = re.compile(
    "[\u0600-\u06ff\u0750-\u077f\u0900-\u097f\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uac00-\ud7af\u1100-\u11ff\u3130-\u318f\uf900-\ufaff\uff66-\uff9f]")
_LATIN_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_ARABIC_MARKS = re.compile("[\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")  # harakat, tatweel
_NOT_NATIVE_WORD = re.compile(r"[\W_]+")


def has_native(text: str) -> bool:
    """True if the text has letters of a script matched natively (CJK, kana, Hangul,
    Devanagari, Arabic, Thai)."""
    return _NATIVE_CHAR.search(text) is not None


def native(text: str) -> str:
    """The text in its own script, for native-script terms: NFKC, invisible characters and
    Latin-style combining marks removed (Devanagari vowel signs kept, Arabic harakat
    dropped), casefolded, and every space and punctuation mark removed (so "裸 体" and
    "裸.体" read as "裸体"). Empty when the text has no native-script letter."""
    if not has_native(text):
        return ""
    t = unicodedata.normalize("NFKC", text)
    t = "".join(c for c in t if unicodedata.category(c) != "Cf")
    t = unicodedata.normalize("NFC", _LATIN_MARKS.sub("", unicodedata.normalize("NFD", t)))
    t = _prompt_syntax(_ARABIC_MARKS.sub("", t).casefold())  # "(بنات:1.3)": the weight is no word
    # Arabic letter variants typed interchangeably: alef forms, teh marbuta, alef maksura
    t = t.translate(str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي"}))
    out: list[str] = []
    starts = {0}
    for c in t:
        if unicodedata.category(c)[0] in "LMN":
            out.append(c)
        else:
            starts.add(len(out))
    return NativeText("".join(out), starts)


class NativeText(str):
    """A `native` form that remembers where the words of the text began (`starts`: character
    positions), for scripts written with spaces between words (Hangul: a term followed by a
    particle, rules.RuleSet._hangul_ok)."""

    starts: frozenset

    def __new__(cls, text: str, starts=()):
        obj = super().__new__(cls, text)
        obj.starts = frozenset(s for s in starts if s < len(text)) | {0}
        return obj


@lru_cache(maxsize=1)
def _kana_voicing() -> dict[int, str]:
    """Kana with a voicing mark -> the kana without it ("パ" -> "ハ", "ド" -> "ト")."""
    table = {}
    for cp in range(0x3040, 0x3100):
        d = unicodedata.normalize("NFD", chr(cp))
        if len(d) == 2 and d[1] in "\u3099\u309a":
            table[cp] = d[0]
    return table


@lru_cache(maxsize=4096)
def native_bare(text: str) -> str:
    """A native form without any combining mark (Devanagari typed without vowel signs, kana
    without voicing marks: "ヌート" for "ヌード"). No NFD of Hangul: it would split a syllable
    into letters, and "소녀" (girl) would be found in "소년"."""
    return "".join(c for c in str(text).translate(_kana_voicing()) if unicodedata.category(c)[0] != "M")


_LATIN_LETTER = re.compile(r"[a-zA-Z\u00c0-\u024f\u1e00-\u1eff]")


def script_scale(text: str) -> float | None:
    """ASCII letters per letter for text written mostly in another alphabet (Cyrillic, Greek,
    Armenian, ...: "щ" is four ASCII letters); None for Latin text, also with a few look-alike
    letters mixed in. The speller (fuzzy.py) counts word lengths with it."""
    letters = [c for c in unicodedata.normalize("NFKC", text) if c.isalpha() and not _NATIVE_CHAR.match(c)]
    other = [c for c in letters if not _LATIN_LETTER.match(c)]
    if not other or len(other) * 2 <= len(letters):
        return None
    return max(1.0, round(sum(len(anyascii(c)) for c in other) / len(other), 1))


def native_words(text: str) -> tuple[str, ...]:
    """The words of a text that are written in a natively matched script, each as `native`
    gives it (for the native speller: Arabic words misspelt in Arabic)."""
    if not has_native(text):
        return ()
    return tuple(w for w in (native(t) for t in text.split()) if w)


# ---- the romanisations people type for Cyrillic and Greek words ("golaya", "golaja";
# Greeklish "gymno", "gimno", "anhlikh"): more spellings of a lexicon term ----
_ROMAN = {
    "в": ("v", "w"), "г": ("g", "h"), "е": ("e", "ye", "je"), "ё": ("yo", "e", "jo", "io"),
    "ж": ("zh", "j", "z"), "и": ("i", "y"), "й": ("i", "y", "j"), "х": ("kh", "h", "x"),
    "ц": ("ts", "c", "tz"), "щ": ("shch", "sch", "sht"), "ъ": ("", "a", "u"), "ы": ("y", "i"),
    "ь": ("",), "ю": ("yu", "iu", "ju", "u"), "я": ("ya", "ia", "ja", "a"), "є": ("ye", "e", "je"),
    "ї": ("yi", "i", "ji"),
    "ου": ("ou", "u"), "αι": ("ai", "e"), "ει": ("ei", "i"), "οι": ("oi", "i"), "μπ": ("mp", "b"),
    "ντ": ("nt", "d"), "γκ": ("gk", "g"), "ευ": ("eu", "ev", "ef"), "αυ": ("au", "av", "af"),
    "β": ("v", "b"), "γ": ("g", "gh"), "δ": ("d", "dh"), "η": ("i", "h"), "θ": ("th", "8"),
    "ξ": ("ks", "x"), "υ": ("y", "i", "u"), "φ": ("f", "ph"), "χ": ("ch", "h", "x", "kh"),
    "ω": ("o", "w"), "ψ": ("ps",),
}
_ROMAN_UNIT = re.compile("|".join(sorted(_ROMAN, key=len, reverse=True)) + "|.", re.S)
_CYRILLIC_GREEK = re.compile("[\u0370-\u03ff\u0400-\u04ff]")


def romanisable(term: str) -> bool:
    return bool(_CYRILLIC_GREEK.search(term))


def romanisations(term: str, limit: int = 48) -> list[str]:
    """Other Latin spellings of a Cyrillic or Greek term, each normalised: every letter in its
    usual romanisation, with up to two letters written another common way."""
    if not romanisable(term):
        return []
    plain = "".join(_greek_bare(c) for c in term.lower())
    units = _ROMAN_UNIT.findall(plain)
    base = [_ROMAN[u][0] if u in _ROMAN else anyascii(u).lower() for u in units]
    alts = [(i, a) for i, u in enumerate(units) if u in _ROMAN for a in _ROMAN[u][1:]]
    out: list[str] = []
    for combo in [()] + [(x,) for x in alts] + [(x, y) for x in alts for y in alts if x[0] < y[0]]:
        form = list(base)
        for i, a in combo:
            form[i] = a
        n = _SPACES.sub(" ", _PUNCT.sub(" ", "".join(form))).strip()  # ASCII already
        if n and n not in out:
            out.append(n)
        if len(out) >= limit:
            break
    return out


def _greek_bare(c: str) -> str:
    """A Greek letter without its accent ("ό" -> "ο"); other letters as they are ("й" stays)."""
    if "\u0370" <= c <= "\u03ff" or "\u1f00" <= c <= "\u1fff":
        return "".join(d for d in unicodedata.normalize("NFD", c) if unicodedata.category(d) != "Mn")
    return c
