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
    # False for a rendering of natively matched letters ("벗은" read "beoseun"): the Latin
    # spellings of native terms (native_romanisations) are for text typed in Latin letters
    latin: bool = True
    # True for a reading of look-alike letters as Latin ones ("гло" as "rlo"): for text in
    # another alphabet, no word of it is a misspelling (rules.RuleSet._corrected)
    skeleton: bool = False


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


_CYR = "\u0400-\u04ff"
_CYR_ANY = re.compile(f"[{_CYR}]")
_SOFT = re.compile(f"(?<=[{_CYR}])[ьЬ]")
_HARD = re.compile(f"(?<=[{_CYR}])[ъЪ]")
_CYR_APOSTROPHE = re.compile(f"(?<=[{_CYR}])['\u2019\u02bc`\u2018](?=[{_CYR}])")


def cyrillic_signs(text: str) -> str:
    """The soft sign and the Ukrainian apostrophe are part of a word, not a break in it:
    "мальчик" reads "malchik" as "малчик" and "mal'chik" do, "п'ятирічна" reads
    "pyatyrichna"; the hard sign is the Bulgarian vowel "ъ" ("непълнолетна": "nepalnoletna")."""
    if not _CYRILLIC_GREEK.search(text):
        return text
    # only in words of the alphabet: "оЬеո" (Latin "oben" in look-alikes) keeps its "Ь" as a "b"
    return re.sub(r"\S+", lambda m: _HARD.sub("a", _SOFT.sub("", _CYR_APOSTROPHE.sub("", m.group(0))))
                  if _CYR_ANY.search(m.group(0)) and genuine_script(m.group(0)) else m.group(0), text)


def ascii_forms(text: str) -> list[str]:
    """Steps 1-5: the lower-case ASCII renderings, punctuation still in place."""
    return [f for f, _skel in _ascii_tagged(text)]


def _ascii_tagged(text: str) -> list[tuple[str, bool]]:
    base = cyrillic_signs(_strip_invisible(unicodedata.normalize("NFKC", text)))
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
    return _tagged_forms(candidates, plain)


def _tagged_forms(candidates: list[str], plain: list[str]) -> list[tuple[str, bool]]:
    """ASCII forms, each with True where only the look-alike skeleton gives it ("гло" read
    as Latin "rlo")."""
    forms: dict[str, bool] = {}
    for t, skel in [(c, True) for c in candidates] + [(p, False) for p in plain]:
        a = _prompt_syntax(anyascii(t).lower())
        forms[a] = forms.get(a, True) and skel
    return list(forms.items())


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


_AGE_GLUED = re.compile(r"(?<![a-z0-9])(1[0-7]|[1-9])(?=[a-z]{2})")


def _words(chunk_tokens: list[str], glued: bool) -> list[str]:
    if glued:  # punctuation removed inside words ("n.u.d.e", "nu-de")
        return [w for w in (_PUNCT.sub("", t) for t in chunk_tokens) if w]
    # punctuation -> space, and an age glued to its unit set apart ("11jaar", "12år": "11 jaar")
    return _AGE_GLUED.sub(r"\1 ", _SPACES.sub(" ", _PUNCT.sub(" ", " ".join(chunk_tokens)))).split()


def _latin_words(text: str) -> list[str]:
    """The Latin words inside CJK or other natively matched text ("JSのエロ写真": "js"), which
    transliteration would glue to the words around them; in Cyrillic or Greek text, its words
    written wholly in Latin letters (for the Latin spellings of native terms: the Ukrainian
    "наче" transliterated is no Korean "nache")."""
    base = _strip_invisible(unicodedata.normalize("NFKC", text))
    if has_native(text):
        return [_prompt_syntax(anyascii(_NATIVE_CHAR.sub(" ", base)).lower())]
    if _CYRILLIC_GREEK.search(base):
        kept = " ".join(w if not _CYRILLIC_GREEK.search(w) else " " for w in base.split(" "))
        return [_prompt_syntax(anyascii(kept).lower())] if kept.strip() else []
    return []


def views(text: str) -> list[View]:
    result: dict[str, View] = {}
    native_free = not has_native(text) and not _CYRILLIC_GREEK.search(text)
    latin_words = _latin_words(text)
    for form, skeleton in _ascii_tagged(text) + [(w, False) for w in latin_words]:
        latin = native_free or form in latin_words
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
                        latin=latin,
                        skeleton=skeleton,
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


_ALPHABETS = {
    "CYRILLIC": set("абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґў"),
    "GREEK": set("αβγδεζηθικλμνξοπρσςτυφχψωάέήίόύώϊϋΐΰ"),
}


def genuine_script(text: str) -> bool:
    """True for text written in the Cyrillic or Greek alphabet of a language, False for Latin
    text disguised with look-alikes: those mix alphabets or a Latin letter into a word, or
    use letters outside the alphabets of the languages here ("ѕ", "һ", "ӏ", Armenian "ո") or
    a capital inside a word ("ЬамЬіոі")."""
    found = None
    for word in unicodedata.normalize("NFC", text).split():
        letters = [c for c in word if c.isalpha() and c != "\u02bc"]  # the Ukrainian apostrophe "ʼ"
        other = [c for c in letters if not c.isascii()]
        if not other:
            continue
        if len(other) != len(letters):
            return False
        if any(c.isupper() for c in letters[1:]) and not all(c.isupper() for c in letters):
            return False
        for c in other:
            script = next((k for k, v in _ALPHABETS.items() if c.lower() in v), None)
            if script is None or (found and script != found):
                return False
            found = script
    return found is not None


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
    "ц": ("ts", "c", "tz"), "щ": ("shch", "sch", "sht", "w"), "ъ": ("a", "", "u"), "ы": ("y", "i"),
    "ь": ("",), "ю": ("yu", "iu", "ju", "u"), "я": ("ya", "ia", "ja", "a"), "є": ("ye", "e", "je"),
    "ї": ("yi", "i", "ji"), "'": ("",), "\u2019": ("",), "\u02bc": ("",),
    # chat spellings: digits and letters for the shapes of "ч" (4), "ш" (w), "б" (6), "з" (3)
    "ч": ("ch", "4", "c"), "ш": ("sh", "w", "s"), "б": ("b", "6"), "з": ("z", "3"),
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


# ---- the Latin spellings people type for terms of natively matched scripts: pinyin for
# Chinese characters, romaji for kana, Korean romanisation for Hangul, "Hinglish" for
# Devanagari; each in its usual scheme and the common variants of it ----
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA = re.compile("[\u3041-\u30ff]")
_HANGUL_SYL = re.compile("[\uac00-\ud7a3]")
_DEVA = re.compile("[\u0900-\u097f]")


def native_romanisations(term: str, limit: int = 32) -> list[str]:
    """Latin spellings of a native-script term (normalize.native scripts), each normalised:
    Chinese characters as pinyin (joined, and syllable by syllable: "luoti", "luo ti"; ü also
    as "v" and "u"), kana as Hepburn and Kunrei romaji with and without long vowels ("shoujo",
    "shojo", "syoujo"), Hangul as Revised Romanisation with the usual casual variants
    ("sonyeo", "sonyo"), Devanagari as people type Hindi in Latin letters (inherent vowels
    and the schwa deletion of speech: "लड़की" -> "ladki", "larki", "ladkee"). Empty for other
    scripts (Arabic is written without its vowels) and for forms under five letters."""
    t = unicodedata.normalize("NFC", term.strip().lower())
    if not t or _ARABIC_ANY.search(t):
        return []
    words = t.split()
    per_word: list[list[str]] = []
    for w in words:
        if _HAN.search(w) and not _KANA.search(w) and all(_HAN.match(c) for c in w):
            forms = _pinyin(w)
        elif _KANA.search(w) and all(_KANA.match(c) or c == "ー" for c in w):
            forms = _romaji(w)
        elif _HANGUL_SYL.search(w) and all(_HANGUL_SYL.match(c) for c in w):
            forms = _hangul_roman(w)
        elif _DEVA.search(w):
            forms = _hinglish(w)
        elif w.isascii():
            forms = [w]
        else:
            return []
        if not forms:
            return []
        per_word.append(forms)
    out: list[str] = []
    # the first form of every word with one word at a time in another form
    combos = [[f[0] for f in per_word]]
    for i, forms in enumerate(per_word):
        for f in forms[1:]:
            combos.append([f if j == i else per_word[j][0] for j in range(len(per_word))])
    for c in combos:
        n = _SPACES.sub(" ", _PUNCT.sub(" ", " ".join(c))).strip()
        if len(n.replace(" ", "")) >= 5 and n not in out:
            out.append(n)
        if len(out) >= limit:
            break
    return out


_ARABIC_ANY = re.compile("[\u0600-\u06ff\u0750-\u077f]")


def _variants(base: str, rewrites: list[tuple[str, str]], limit: int = 12) -> list[str]:
    """`base`, then `base` with one and with two of the rewrites applied (everywhere)."""
    out = [base]
    applicable = [r for r in rewrites if r[0] in base]
    for k, (a, b) in enumerate(applicable):
        one = base.replace(a, b)
        if one not in out:
            out.append(one)
        for a2, b2 in applicable[k + 1:]:
            two = one.replace(a2, b2)
            if two not in out:
                out.append(two)
    return out[:limit]


def _pinyin(word: str) -> list[str]:
    syl = [anyascii(c).lower() for c in word]
    if not all(s.isalpha() for s in syl):
        return []
    forms = []
    for sep in ("", " "):
        base = sep.join(syl)
        # ü (nü, lü) is typed "v" on pinyin keyboards and "u" or "yu" elsewhere; anyascii gives "u"
        for f in _variants(base, [("nu", "nv"), ("lu", "lv")], 4):
            if f not in forms:
                forms.append(f)
        if len(syl) == 1:
            break
    return forms


_KUNREI = [("shi", "si"), ("chi", "ti"), ("tsu", "tu"), ("fu", "hu"), ("ji", "zi"), ("sh", "sy"),
           ("ch", "ty"), ("j", "zy")]


def _romaji(word: str) -> list[str]:
    hira = "".join(chr(ord(c) - 0x60) if "\u30a1" <= c <= "\u30f6" else c for c in word)
    out: list[str] = []
    double = False
    for c in hira:
        if c in "っッ":
            double = True
            continue
        if c in "ゃゅょ":
            v = {"ゃ": "a", "ゅ": "u", "ょ": "o"}[c]
            if out and out[-1].endswith("i") and len(out[-1]) >= 2:
                prev = out[-1][:-1]
                out[-1] = prev + v if prev.endswith(("sh", "ch", "j")) else prev + "y" + v
            else:
                out.append("y" + v)
            continue
        if c == "ー":
            if out:
                out[-1] += out[-1][-1]
            continue
        r = anyascii(c).lower() if "\u3041" <= c <= "\u3094" else ""  # Hepburn, as anyascii reads kana
        if not r:
            return []
        if double:
            r = ("t" + r) if r.startswith("ch") else r[0] + r
            double = False
        out.append(r)
    base = "".join(out)
    forms = []
    # Hepburn, Kunrei (as typed on a kana keyboard), long vowels written or not ("shoujo", "shojo")
    for scheme in (base, _kunrei(base)):
        for f in _variants(scheme, [("ou", "o"), ("uu", "u"), ("oo", "o"), ("ee", "e"), ("aa", "a"), ("ii", "i")], 6):
            if f not in forms:
                forms.append(f)
    return forms


def _kunrei(s: str) -> str:
    for a, b in _KUNREI:
        s = s.replace(a, b)
    return s


_HANGUL_INITIAL = "g kk n d tt r m b pp s ss - j jj ch k t p h".split()
_HANGUL_MEDIAL = "a ae ya yae eo e yeo ye o wa wae oe yo u wo we wi yu eu ui i".split()
# final consonants: before a consonant / moved onto a following vowel (liaison, "벗은" beoseun)
_HANGUL_FINAL = [("", ""), ("k", "g"), ("k", "kk"), ("k", "ks"), ("n", "n"), ("n", "nj"), ("n", "n"), ("t", "d"),
                 ("l", "r"), ("k", "lg"), ("m", "lm"), ("l", "lb"), ("l", "ls"), ("l", "lt"), ("p", "lp"), ("l", "r"),
                 ("m", "m"), ("p", "b"), ("p", "ps"), ("t", "s"), ("t", "ss"), ("ng", "ng"), ("t", "j"), ("t", "ch"),
                 ("k", "k"), ("t", "t"), ("p", "p"), ("t", "")]


def _hangul_roman(word: str) -> list[str]:
    parts = []
    for c in word:
        k = ord(c) - 0xAC00
        parts.append((k // 588, (k % 588) // 28, k % 28))
    out = []
    for i, (ini, med, fin) in enumerate(parts):
        s = _HANGUL_INITIAL[ini].replace("-", "")
        if ini == 5 and i == 0:
            s = "r"
        s += _HANGUL_MEDIAL[med]
        if fin:
            nxt_vowel = i + 1 < len(parts) and parts[i + 1][0] == 11  # next syllable begins with ㅇ
            s += _HANGUL_FINAL[fin][1] if nxt_vowel else _HANGUL_FINAL[fin][0]
        out.append(s)
    base = "".join(out)
    return _variants(base, [("eo", "o"), ("eo", "u"), ("eu", "u"), ("ae", "e"), ("kk", "gg"), ("oe", "we"),
                            ("r", "l")], 12)


_DEVA_CONS = {
    "क": "k", "ख": "kh", "ग": "g", "घ": "gh", "ङ": "n", "च": "ch", "छ": "chh", "ज": "j", "झ": "jh", "ञ": "n",
    "ट": "t", "ठ": "th", "ड": "d", "ढ": "dh", "ण": "n", "त": "t", "थ": "th", "द": "d", "ध": "dh", "न": "n",
    "प": "p", "फ": "ph", "ब": "b", "भ": "bh", "म": "m", "य": "y", "र": "r", "ल": "l", "व": "v", "श": "sh",
    "ष": "sh", "स": "s", "ह": "h", "क़": "q", "ख़": "kh", "ग़": "g", "ज़": "z", "ड़": "d", "ढ़": "rh", "फ़": "f",
    "य़": "y", "ळ": "l",
}
_DEVA_CONS_ALT = {"ड़": ("r",), "छ": ("ch",), "व": ("w",), "फ": ("f",), "ज़": ("j",), "क़": ("k",), "ष": ("s",),
                  "श": ("s",), "ढ़": ("dh", "r")}
_DEVA_VOWEL = {  # independent vowel / vowel sign -> usual spelling, other spellings
    "अ": ("a",), "आ": ("a", "aa"), "इ": ("i",), "ई": ("i", "ee"), "उ": ("u",), "ऊ": ("u", "oo"), "ऋ": ("ri",),
    "ए": ("e",), "ऐ": ("ai", "e"), "ओ": ("o",), "औ": ("au", "o"), "ऑ": ("o",),
    "ा": ("a", "aa"), "ि": ("i",), "ी": ("i", "ee"), "ु": ("u",), "ू": ("u", "oo"), "ृ": ("ri",), "े": ("e",),
    "ै": ("ai", "e"), "ो": ("o",), "ौ": ("au", "o"), "ॉ": ("o",),
}
_VIRAMA, _NUKTA = "\u094d", "\u093c"


def _hinglish(word: str) -> list[str]:
    w = unicodedata.normalize("NFC", word)
    # akshara units: [consonant or vowel letter, vowel options, following nasal]
    units: list[list] = []
    i = 0
    while i < len(w):
        c = w[i]
        if i + 1 < len(w) and w[i + 1] == _NUKTA:
            c, i = c + _NUKTA, i + 1
            c = unicodedata.normalize("NFC", c)
        i += 1
        if c in _DEVA_CONS:
            units.append([c, None, ""])  # None: the inherent vowel
        elif c in _DEVA_VOWEL and c in "अआइईउऊऋएऐओऔऑ":
            units.append(["", _DEVA_VOWEL[c], ""])
        elif c in _DEVA_VOWEL and units:
            units[-1][1] = _DEVA_VOWEL[c]
        elif c == _VIRAMA and units:
            units[-1][1] = ()
        elif c in "\u0902\u0901" and units:  # anusvara, chandrabindu
            units[-1][2] = "n"
        elif c == "\u0903" and units:
            units[-1][2] = "h"
        else:
            return []
    if not units:
        return []
    # schwa deletion: the inherent vowel is not spoken at the end of a word, nor in V C _ C V
    spoken = [u[1] if u[1] is not None else ("a",) for u in units]
    if len(units) > 1 and units[-1][1] is None and units[-1][0] and not units[-1][2]:
        spoken[-1] = ()
    for k in range(len(units) - 2, 0, -1):
        if (units[k][1] is None and units[k][0] and not units[k][2] and spoken[k - 1]
                and units[k + 1][0] and spoken[k + 1]):
            spoken[k] = ()
    slots: list[tuple[str, ...]] = []
    for k, (cons, _v, nasal) in enumerate(units):
        if cons:
            base = _DEVA_CONS[cons]
            alts = _DEVA_CONS_ALT.get(cons, ())
            if not spoken[k] and k + 1 < len(units) and units[k + 1][0] == cons:  # "च्च": ch-ch, c-ch, ch
                alts = alts + ("", base[0])
            slots.append((base,) + tuple(a for a in alts if a != base))
        vowels = spoken[k] or ("",)
        slots.append(tuple(v + nasal for v in vowels) + ((vowels[0] + "m",) if nasal == "n" else ()))
    base = "".join(s[0] for s in slots)
    alts = [(k, a) for k, s in enumerate(slots) for a in s[1:]]
    out = [base]
    for combo in [(x,) for x in alts] + [(x, y) for x in alts for y in alts if x[0] < y[0]]:
        form = [s[0] for s in slots]
        for k, a in combo:
            form[k] = a
        f = "".join(form)
        if f and f not in out:
            out.append(f)
        if len(out) >= 16:
            break
    return out


_TENSE = [("ss", "s"), ("kk", "k"), ("tt", "t"), ("pp", "p"), ("jj", "j")]


def phonetic_keys(word: str) -> list[str]:
    """Latin readings of a native word, for comparing spellings by sound (fuzzy.PhoneticSpeller):
    Hangul of two syllables or more, Devanagari; empty for anything else."""
    if len(word) >= 2 and all("\uac00" <= c <= "\ud7a3" for c in word):
        base = _hangul_roman(word)
        out = list(base)
        for f in base[:3]:
            for a, b in _TENSE:
                if a in f and f.replace(a, b) not in out:
                    out.append(f.replace(a, b))
        return out
    if _DEVA.search(word) and all(_DEVA.match(c) for c in word):
        return [f for f in _hinglish(word) if len(f) >= 4]
    return []


# ---- Arabic typed in Latin letters and digits ("Arabizi": "3arya", "7elwa", "2aser"): the
# vowels are not written in Arabic script, so words are compared by their consonants ----
_AR_SKELETON = {
    "ء": "2", "أ": "2", "إ": "2", "آ": "2", "ؤ": "2", "ئ": "2", "ا": "", "ى": "", "ة": "", "ب": "b", "ت": "t",
    "ث": "t", "ج": "j", "ح": "7", "خ": "5", "د": "d", "ذ": "d", "ر": "r", "ز": "z", "س": "s", "ش": "x",
    "ص": "9", "ض": "d", "ط": "6", "ظ": "z", "ع": "3", "غ": "8", "ف": "f", "ق": "q", "ك": "k", "ل": "l",
    "م": "m", "ن": "n", "ه": "h", "و": "w", "ي": "y", "پ": "b", "چ": "x", "گ": "g",
}
_ARABIZI_DIGITS = re.compile(r"[235679]")
_ARABIZI_UNITS = re.compile(r"kh|sh|ch|gh|th|dh|ou|ee|oo|[a-z0-9]")
_ARABIZI = {"kh": "5", "sh": "x", "ch": "x", "gh": "8", "th": "t", "dh": "d", "a": "", "e": "", "i": "y?",
            "o": "w?", "u": "w?", "ou": "w?", "ee": "y?", "oo": "w?", "y": "y", "w": "w", "q": "q", "g": "j",
            "c": "k", "v": "f", "p": "b", "x": "5", "8": "8", "j": "j"}


def arabic_skeletons(word: str) -> set[str]:
    """The consonants of an Arabic word, in the symbols of the Latin Arabizi spelling ("عارية":
    "3ry"), with and without its long vowels ("و", "ي" also stand for u, i)."""
    core = [_AR_SKELETON.get(c) for c in native(word)]
    if None in core or not core:
        return set()
    out = {"".join(core), "".join(c for c in core if c not in ("w", "y"))}
    out |= {o[:-1] for o in out if o.endswith("h")}  # "ه" for the feminine "ة": "3arya", "3aryah"
    return {_loose(o) for o in out if len(o) >= 3}


_LOOSE = str.maketrans({"9": "s", "6": "t", "q": "2", "z": "d"})


def _loose(skeleton: str) -> str:
    """Emphatic letters as their plain ones, "q" as "2": Arabizi writers do not tell them apart."""
    return re.sub(r"(.)\1+", r"\1", skeleton.translate(_LOOSE))


def arabizi_skeletons(word: str) -> set[str]:
    """The consonant skeletons of a word typed in Arabizi, which has at least one of the
    digits that stand for Arabic letters (2 hamza or qaf, 3 ain, 5 kha, 6 ta, 7 ha, 9 sad);
    empty for anything else. A written vowel may stand for a long vowel letter or none."""
    if not (_ARABIZI_DIGITS.search(word) and word.isascii() and any(c.isalpha() for c in word)
            and not word.isdigit()):
        return set()
    outs = [""]
    for u in _ARABIZI_UNITS.findall(word.lower()):
        sym = _ARABIZI.get(u, u)
        if u == "2":
            choices = ("2", "q")
        elif sym.endswith("?"):
            choices = ("", sym[0])
        else:
            choices = (sym,)
        outs = [o + c for o in outs for c in choices][:64]
    out = set()
    for o in outs:
        o = re.sub(r"(.)\1+", r"\1", o)  # a doubled letter (shadda) is one
        out |= {_loose(o), _loose(o.replace("w", "").replace("y", ""))}
    return {o for o in out if len(o) >= 3}
