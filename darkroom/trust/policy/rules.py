"""Rule packs: YAML data files with term groups, categories, rules and semantic references.

A pack file may hold `groups` (named term lists), `masks` (benign phrases that hide a
term, e.g. "naked tree"), `negative_implies` (what a word in a *negative* prompt means
for the positive one) and `categories`. Packs shipped in `packs/` are read first; an
administrator's extra packs can add groups, terms and categories but never change a
shipped category.

Term syntax (all matched after normalisation, see `normalize.py`):
  "nude"          the word; -s, -es, -d, -ed, -er, -ers may follow
  "little girl"   the phrase, words in this order
  "pornograf*"    a word beginning with this
  "*porn*"        a word containing this (also inside compounds: "kinderporno")
  "re:REGEX"      a regular expression over the normalised view " word word ... "; one
                  with CJK, kana, Hangul, Devanagari, Arabic or Thai letters in it runs over
                  the native form instead (normalize.native: no spaces, "9歳の", "十二岁")
German umlauts and ß are matched both as "a" and as "ae" ("mädchen", "maedchen", "madchen"),
Nordic "ø" and "å" also as "oe" and "aa".
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from darkroom.errors import InvalidParameter
from darkroom.trust.policy.normalize import (NativeText, View, arabic_skeletons, arabizi_skeletons, has_native,
                                             native, native_bare, native_romanisations, normalize_term, romanisable,
                                             romanisations)

PACKS_DIR = Path(__file__).parent / "packs"
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: the packs load ~10x faster
ACTIONS = ("allow", "warn", "block")
# letters also typed as two (German "ae", Danish/Norwegian "oe", Swedish/Danish "aa": "noegen", "smaaflicka")
_UMLAUTS = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ø": "oe", "Ø": "Oe",
            "å": "aa", "Å": "Aa"}


def _load_yaml(raw: bytes):
    return yaml.load(raw, Loader=_YAML_LOADER)


_TRANSCRIBED = re.compile(r"(?<=[a-z])(?:ae|oe|ue)|^(?:ae|oe|ue)")


def _spellings(term: str, lang: str = "", shortest: int = 5) -> list[str]:
    out = [term]
    if any(c in term for c in _UMLAUTS):
        out.append("".join(_UMLAUTS.get(c, c) for c in term))
    elif lang == "de" and _plain(term) and _TRANSCRIBED.search(term):
        # a German term written "huellenlos" is also typed "hüllenlos", which reads "hullenlos";
        # not for short words, where the bare form is another language's word ("göre": "gore")
        bare = _TRANSCRIBED.sub(lambda m: m.group(0)[0], term)
        if max(len(w) for w in bare.split()) >= 6:
            out.append(bare)
    if _plain(term):  # Cyrillic and Greek words as people romanise them, from 5 letters on
        usual = normalize_term(term)
        out += [r for r in romanisations(term) if r != usual and len(r.replace(" ", "")) >= shortest]
    return out


def _term_pattern(term: str) -> tuple[str, str | None]:
    """Return (regex over a view, plain core for substring search in squeezed runs)."""
    if term.startswith("re:"):
        return term[3:], None
    lead, trail = term.startswith("*"), term.endswith("*")
    core = normalize_term(term.strip("*"))
    if not core:
        raise InvalidParameter(f"policy term {term!r} is empty after normalisation; fix the pack")
    body = " ".join(re.escape(w) for w in core.split())
    if lead:
        body = "[a-z0-9]*" + body
    if trail:
        body += "[a-z0-9]*"
    elif not lead and core[-1].isalpha():
        body += "(?:s|es|d|ed|er|ers)?"  # plural and common inflections: underaged, grade schooler
    return body, core.replace(" ", "")


@dataclass(frozen=True)
class Match:
    """One occurrence of a term: which group, the normalised words that matched, where."""

    group: str
    evidence: str
    term: str
    lang: str
    view: int  # index into the views of the text; -1: the native-script form
    start: int  # word positions in that view (native: character positions)
    end: int
    how: str  # word | pattern | spaced | native | fuzzy


_SUFFIXES = ("s", "es", "d", "ed", "er", "ers")


def _plain(term: str) -> bool:
    return not term.startswith("re:") and "*" not in term


@dataclass
class Group:
    name: str
    terms: list[str]
    description: str = ""
    langs: dict[str, str] = field(default_factory=dict)  # term -> language code
    all_langs: dict[str, set] = field(default_factory=dict)  # term -> every language listing it
    _regex: re.Pattern | None = field(default=None, repr=False)
    _cores: list[tuple[str, str]] = field(default_factory=list, repr=False)
    _exact: dict = field(default_factory=dict, repr=False)  # words tuple -> [(term, suffix ok)]
    _native: list[tuple[str, str]] = field(default_factory=list, repr=False)
    _native_re: list[tuple[re.Pattern, str]] = field(default_factory=list, repr=False)
    _variants: set = field(default_factory=set, repr=False)  # romanisations: not for the speller
    _usual: set = field(default_factory=set, repr=False)

    def compile(self) -> None:
        parts, cores, exact, nat, variants, usual = [], [], {}, [], set(), set()
        self._native_re = []
        for term in self.terms:
            romanised = romanisable(term)
            if term.startswith("re:") and has_native(term):  # over the native form: "9歳", "十二岁"
                self._native_re.append((re.compile(term[3:]), term))
                continue
            if has_native(term) and not term.startswith("re:"):
                for form in _native_forms(term.strip("*")):
                    nat.append((form, term))
                if _plain(term):  # typed in Latin letters: pinyin, romaji, Hangul romanised, Hinglish
                    for form in native_romanisations(term):
                        words = tuple(form.split())
                        variants.add(words)
                        exact.setdefault(words, []).append((term, False))
                continue
            # an ambiguous word also in its shorter romanisations ("гола": "hola"); those count
            # only beside a word of the same language (Policy._near: not Spanish "hola")
            shortest = 4 if self.name.endswith("_near") else 5
            for k, spelling in enumerate(_spellings(term, self.langs.get(term, ""), shortest)):
                if _plain(spelling):
                    core = normalize_term(spelling)
                    if not core:
                        raise InvalidParameter(f"policy term {term!r} is empty after normalisation; fix the pack")
                    words = tuple(core.split())
                    (variants if k and romanised else usual).add(words)
                    exact.setdefault(words, []).append((term, core[-1].isalpha()))
                    if len(core.replace(" ", "")) >= 3 and not (k and romanised):
                        cores.append((core.replace(" ", ""), term))
                    continue
                pattern, core = _term_pattern(spelling)
                parts.append(pattern)
                if core and len(core) >= 3:
                    cores.append((core, term))
        self._regex = (re.compile("(?<= )(?:" + "|".join(f"(?:{p})" for p in parts) + ")(?= )")
                       if parts else None)
        self._cores = cores
        self._exact = exact
        self._native = nat
        self._variants, self._usual = variants - usual, usual

    def find(self, views: list[View], native_text: str = "") -> list[str]:
        """Matched evidence (normalised text) in any view; empty if none."""
        rs = RuleSet(version="", groups={self.name: self}, masks=[], negative_implies={}, categories={},
                     digest="")
        return _evidence(rs.scan(views, native_text, fuzzy=False))


_ARTICLE = "\u0627\u0644"  # Arabic "al-"


def _native_forms(term: str) -> list[str]:
    """A native term as `native` reads it; an Arabic phrase also with the article on its
    later words ("بنت صغيرة" in "البنت الصغيرة": the first word's article is a prefix that
    substring matching passes over anyway)."""
    core = native(term)
    if not core:
        return []
    out = [str(core)]
    words = term.split()
    if len(words) > 1 and _ARABIC.search(term):
        alt = native(words[0] + "".join(w if native(w).startswith(_ARTICLE) else _ARTICLE + w for w in words[1:]))
        if alt not in out:
            out.append(str(alt))
    return out


def _evidence(matches: list[Match]) -> list[str]:
    found: list[str] = []
    for m in matches:
        if m.evidence not in found:
            found.append(m.evidence)
    return [f for f in found if not (f.endswith(" (spaced)") and f[:-9] in found)]


@dataclass
class Rule:
    id: str
    all: list[list[str]]  # each slot: any of these groups
    action: str
    unless: list[str] = field(default_factory=list)
    note: str = ""
    # `near`: each slot must match, and the matches of the slots lie at most `within` words
    # apart in one text (for words that are only telling next to each other: French "nu")
    near: list[list[str]] = field(default_factory=list)
    within: int = 3
    # `anchor`: with `near`, a match of one of these groups must lie next to the pair too
    anchor: list[str] = field(default_factory=list)


@dataclass
class Semantic:
    references: list[str]
    contrast: list[str]
    threshold: float
    margin: float
    action: str
    # `threshold` applies when a term of a `gate` group is present (e.g. a minor-indicating
    # word); without one, the stricter `ungated_threshold` (None: the layer stays silent)
    gate: list[str] = field(default_factory=list)
    ungated_threshold: float | None = None
    # per-clause signals, each the concept a prompt's terms did *not* name (absolute
    # categories): {"minor": Signal, "sexual": Signal}; see engine._concept_semantic
    signals: dict = field(default_factory=dict)


@dataclass
class Signal:
    references: list[str]
    contrast: list[str]
    threshold: float
    margin: float


@dataclass
class Category:
    id: str
    title: dict[str, str]
    absolute: bool
    action: str
    rules: list[Rule]
    semantic: Semantic | None
    description: str = ""
    source: str = ""


FUZZY_GROUPS = ("minor", "sexual", "csam")
# ambiguous words are corrected too ("golla" -> "gola", "ммоче" -> "момче"): like the words
# they misspell, they count only next to an unambiguous term of the other concept
NEAR_GROUPS = ("minor_near", "sexual_near")
_BUILD_LOCK = threading.RLock()
_ARABIC = re.compile("[\u0620-\u064a\u0660-\u0669\u066e-\u06d3\u06fa-\u06ff\u0750-\u077f]+")  # concept words that misspellings are corrected to


@dataclass
class RuleSet:
    version: str
    groups: dict[str, Group]
    masks: list[str]
    negative_implies: dict[str, str]
    categories: dict[str, Category]
    digest: str
    guard: set[str] = field(default_factory=set)  # real words a misspelling is never corrected from
    guard_langs: dict[str, frozenset] = field(default_factory=dict)  # guard word -> its languages, where known
    endings: dict[str, frozenset] = field(default_factory=dict)  # language -> its case endings (packs)
    # Hangul: language -> particles and endings a word may carry after a term, and the endings
    # that mark a word as the object of the verb after it (see _hangul_ok)
    native_endings: dict[str, frozenset] = field(default_factory=dict)
    objects: dict[str, frozenset] = field(default_factory=dict)
    object_verbs: dict[str, frozenset] = field(default_factory=dict)  # verb forms `objects` apply to
    _stems: dict = field(default_factory=dict, repr=False)  # stem -> [(group, term, language)]
    _endings_all: frozenset = field(default_factory=frozenset, repr=False)
    _longest_ending: int = field(default=0, repr=False)
    languages: dict[str, str] = field(default_factory=dict)  # code -> name, of the language packs
    _index: dict | None = field(default=None, repr=False)
    _mask_index: dict | None = field(default=None, repr=False)
    _speller: object = field(default=None, repr=False)
    _maxn: int = field(default=1, repr=False)
    _native_masks: list = field(default_factory=list, repr=False)
    _native_speller: object = field(default=None, repr=False)
    _hangul_words: frozenset = field(default_factory=frozenset, repr=False)  # every Hangul term
    _hangul_verbs: frozenset = field(default_factory=frozenset, repr=False)
    _phonetic: object = field(default=None, repr=False)
    _arabizi: dict | None = field(default=None, repr=False)
    _romanised_native: frozenset = field(default_factory=frozenset, repr=False)  # native terms with Latin spellings
    _sides: dict | None = field(default=None, repr=False)  # side -> the speller's words of its strong terms
    _pairs: tuple | None = field(default=None, repr=False)  # (speller of joined short phrases, their sides)
    _jamo: dict | None = field(default=None, repr=False)  # Hangul terms letter by letter (jamo_index)

    # ---- indexes ---------------------------------------------------------------------
    def _build(self) -> None:
        with _BUILD_LOCK:
            if self._index is None:
                self._build_indexes()

    def _build_indexes(self) -> None:
        index: dict[tuple, list] = {}
        for g in self.groups.values():
            if g._regex is None and not g._exact and not g._native and not g._native_re:
                g.compile()
            for words, entries in g._exact.items():
                for term, suffix in entries:
                    index.setdefault(words, []).append((g.name, term, suffix))
        masks: dict[tuple, bool] = {}
        self._native_masks = sorted({native(m) for m in self.masks if has_native(m)} - {""}, key=len, reverse=True)
        self._hangul_words = frozenset(c for g in self.groups.values() for c, _t in g._native if _HANGUL.search(c))
        self._hangul_verbs = frozenset().union(*self.object_verbs.values()) if self.object_verbs else frozenset()
        for m in self.masks:
            if has_native(m):
                continue
            for sp in _spellings(m):
                core = normalize_term(sp)
                if core:
                    masks[tuple(core.split())] = core[-1].isalpha()
        self._romanised_native = frozenset(t for entries in index.values() for _g, t, _s in entries if has_native(t))
        self._maxn = max([len(k) for k in index] + [len(k) for k in masks] + [1])
        self._stems = self._stem_index()
        self._mask_index = masks
        self._index = index  # last: a reader takes a non-None _index as "built"

    def speller(self):
        with _BUILD_LOCK:  # built once, also when a warm-up thread and a check ask together
            sp = self._make_speller()
            if self._sides is None:
                self.side_words()
                self.pair_speller()
                self.jamo_index()
            return sp

    def _make_speller(self):
        if self._speller is None:
            from darkroom.trust.policy.fuzzy import Speller

            if self._index is None:
                self._build()
            # every word of a one-word term, and the long words (>= 5 letters) of phrases:
            # "litle girl", "buacjaill beag" are corrected word by word
            romanised = set().union(*(g._variants for g in self.groups.values()))
            romanised -= set().union(*(g._usual for g in self.groups.values()))
            vocab = {w for k, entries in self._index.items() for g, _t, _s in entries
                     if (g in FUZZY_GROUPS or (g in NEAR_GROUPS and len(k) == 1))
                     and k not in romanised for w in k if len(w) >= (4 if len(k) == 1 else 5)}
            words = {w for k in list(self._index) + list(self._mask_index) for w in k}
            strong = {w for k, entries in self._index.items() for g, _t, _s in entries if g in FUZZY_GROUPS for w in k}
            self._speller = Speller(vocab, known=words, guard=self.guard, weak=vocab - strong)
            self._sides = None
        return self._speller

    def _stem_index(self) -> dict:
        """For languages with `endings` in their pack (Estonian, Latvian, ...): each one-word
        term, and the term without its own ending, as a stem that any ending may follow."""
        stems: dict[str, list] = {}
        for g in self.groups.values():
            for words, entries in g._exact.items():
                if len(words) != 1 or len(words[0]) < 4:
                    continue
                for term, _suffix in entries:
                    for lang in self._term_langs(g.name, term) & set(self.endings):
                        w = words[0]
                        cut = [e for e in self.endings[lang] if w.endswith(e) and len(w) - len(e) >= 4]
                        bare = w[: -len(max(cut, key=len))] if cut else w
                        for stem in {w, bare}:
                            stems.setdefault(stem, []).append((g.name, term, lang))
        self._endings_all = frozenset().union(*self.endings.values()) if self.endings else frozenset()
        self._longest_ending = max(map(len, self._endings_all), default=0)
        return stems

    def _inflected(self, word: str) -> list:
        """Entries whose stem this word is, with an ending of the stem's language."""
        out = []
        for k in range(1, min(self._longest_ending, len(word) - 4) + 1):
            e = word[-k:]
            if e in self._endings_all:
                out += [((g, t, True), False) for g, t, lang in self._stems.get(word[:-k], ())
                        if e in self.endings[lang]]
        return out

    def _lookup(self, table: dict, words: list[str], i: int, n: int):
        """Entries for words[i:i+n], the last word also with an inflection suffix removed."""
        key = tuple(words[i:i + n])
        out = [(e, False) for e in table.get(key, ())] if isinstance(table.get(key, ()), list) else []
        last = key[-1]
        for suf in _SUFFIXES:
            if len(last) > len(suf) + 1 and last.endswith(suf):
                k2 = key[:-1] + (last[: -len(suf)],)
                hit = table.get(k2)
                if isinstance(hit, list):
                    out += [(e, True) for e in hit]
        if n == 1 and table is self._index and self._stems and not out:
            out = self._inflected(last)
        return out

    def _masked(self, words: list[str]) -> set[int]:
        covered: set[int] = set()
        table = self._mask_index
        if not table:
            return covered
        for i in range(len(words)):
            for n in range(1, min(self._maxn, len(words) - i) + 1):
                key = tuple(words[i:i + n])
                ok = key in table
                if not ok:
                    last = key[-1]
                    ok = any(len(last) > len(s) + 1 and last.endswith(s)
                             and table.get(key[:-1] + (last[: -len(s)],)) for s in _SUFFIXES)
                if ok:
                    covered.update(range(i, i + n))
        return covered

    def mask(self, view: View) -> View:
        """Hide benign phrases ("naked tree branches") before terms are matched."""
        if self._index is None:
            self._build()
        words = view.text.split()
        covered = self._masked(words)
        if not covered:
            return view
        text = " " + " ".join("_" * len(w) if i in covered else w for i, w in enumerate(words)) + " "
        return View(text=text, leet=view.leet, squeezed=view.squeezed, latin=view.latin, skeleton=view.skeleton)

    # ---- matching --------------------------------------------------------------------
    def scan(self, views: list[View], native_text: str = "", *, fuzzy: bool = True,
             groups: set[str] | None = None, scale: float | None = None,
             native_words: tuple[str, ...] = (), skips: dict | None = None,
             genuine: bool = False) -> list[Match]:
        """Every term occurrence in the (already masked) views and in the native-script form;
        `scale` is the text's normalize.script_scale and `native_words` its words in their
        own script (normalize.native_words), for the spellers. `skips`, if given, is filled
        with view index -> the positions of words that say how old or how naked, not who or
        what: an age ("12", "12år", "12 xronwn": a number and the word after it) and an
        intensifier ("toute nue", "completely naked"; INTENSIFIERS)."""
        if self._index is None:
            self._build()
        out: list[Match] = []
        seen: set[tuple] = set()

        def add(m: Match) -> None:
            key = (m.group, m.evidence, m.view, m.start)
            if key not in seen:
                seen.add(key)
                out.append(m)

        for vi, view in enumerate(views):
            self._scan_view(view, vi, add, groups, "word")
            if skips is not None:
                skips[vi] = _skippable(view.text.split())
        if fuzzy:
            anchors = [m for m in out if m.group in _SIDE and m.start >= 0]
            for vi, view in enumerate(self._corrected(views, scale, anchors, genuine), start=len(views)):
                self._scan_view(view, vi, add, groups, "fuzzy")
                if skips is not None:
                    skips[vi] = _skippable(view.text.split())
        if native_text:
            self._scan_native(native_text, add, groups, "native", "")
        if fuzzy and views:  # the words as typed: no leetspeak read into them, no age set apart
            self._scan_arabizi(list(dict.fromkeys(w for v in views[:2] if not v.leet for w in v.text.split())),
                               add, groups)
        if fuzzy and native_words:
            sp = self.native_speller()
            ph = self.phonetic_speller()
            fixed = [sp.correct(w, 1.0) or ph.correct(w) or w for w in native_words]
            fixed = self._corroborate_hangul(list(native_words), fixed, out)
            if fixed != list(native_words):
                spelt = " ".join(w for w, f in zip(native_words, fixed) if w != f)
                starts = [sum(map(len, fixed[:k])) for k in range(len(fixed))]
                self._scan_native(NativeText("".join(fixed), starts), add, groups, "fuzzy", spelt)
        return out

    def _scan_native(self, native_text: str, add, groups, how: str, spelt: str) -> None:
        starts = getattr(native_text, "starts", None)
        native_text = str(native_text)
        for m in self._native_masks:
            if m in native_text:
                native_text = native_text.replace(m, "\u3000" * len(m))
        bare_words = None
        for g in self.groups.values():
            if groups is not None and g.name not in groups:
                continue
            for core, term in g._native:
                if starts is not None and _HANGUL.search(core):
                    pos = self._hangul_find(native_text, starts, core, g.name, term)
                else:
                    pos = native_text.find(core)
                if pos < 0 and not _HANGUL.search(core):
                    bare = native_bare(core)
                    if bare == core:
                        pos = -1
                    elif starts is not None and _DEVANAGARI.search(core):
                        # without vowel signs a Hindi word is two or three letters ("नंगा": "नग"),
                        # found inside many others: it counts as whole words only
                        if bare_words is None:
                            bare_words = " " + _bare_words(native_text, starts) + " "
                        pos = bare_words.find(" " + " ".join(native_bare(native(w)) for w in term.split()) + " ")
                    else:
                        pos = native_bare(native_text).find(bare)
                if pos >= 0:
                    ev = f"{core} (spelt {spelt})" if spelt else core
                    add(Match(g.name, ev, term, g.langs.get(term, ""), -1, pos, pos + len(core), how))
            for rx, term in g._native_re:
                m = rx.search(native_text)
                if m and m.group(0):
                    ev = f"{m.group(0)} (spelt {spelt})" if spelt else m.group(0)
                    add(Match(g.name, ev, term, g.langs.get(term, ""), -1, m.start(), m.end(), how))

    def _hangul_find(self, text: str, starts: frozenset, core: str, group: str, term: str) -> int:
        """The first place where a Hangul term stands as a word of the text (see _hangul_ok)."""
        langs = self._term_langs(group, term)
        endings = frozenset().union(*(self.native_endings.get(x, ()) for x in langs))
        verb = any(core.startswith(v) for v in self._hangul_verbs)
        objects = frozenset().union(*(self.objects.get(x, ()) for x in langs)) if verb else ()
        pos = text.find(core)
        while pos >= 0:
            if _hangul_ok(text, starts, pos, pos + len(core), endings, objects,
                          ambiguous=group.endswith("_near"), phrase=" " in term.strip(), words=self._hangul_words):
                return pos
            pos = text.find(core, pos + 1)
        return -1

    def _scan_arabizi(self, words: list[str], add, groups) -> None:
        """Arabic words typed in Arabizi ("bint 3arya"): a word with one of its digits whose
        consonants (normalize.arabizi_skeletons) are those of a one-word Arabic term is read as
        that term, in Arabic script."""
        cand = [(w, arabizi_skeletons(w)) for w in words if any(c in "235679" for c in w)]
        cand = [(w, k) for w, k in cand if k]
        if not cand:
            return
        table = self.arabizi_index()
        hits = []
        for w, keys in cand:
            core = next((table[k] for k in sorted(keys, key=len, reverse=True) if k in table), None)
            if core:
                hits.append((w, core))
        if hits:
            text = NativeText("".join(c for _w, c in hits), [sum(len(c) for _w, c in hits[:k]) for k in range(len(hits))])
            self._scan_native(text, add, groups, "fuzzy", " ".join(w for w, _c in hits))

    def arabizi_index(self) -> dict:
        with _BUILD_LOCK:
            if self._arabizi is None:
                if self._index is None:
                    self._build()
                table: dict[str, str] = {}
                for g in self.groups.values():
                    if g.name not in _SIDE and g.name != "csam":
                        continue
                    for core, term in sorted(g._native, key=lambda x: (-len(x[0]), x[0])):
                        if " " not in term.strip() and "*" not in term and _ARABIC.fullmatch(core):
                            for k in arabic_skeletons(core):
                                table.setdefault(k, core)
                self._arabizi = table
            return self._arabizi

    def phonetic_speller(self):
        """Native words respelt as they sound (Hangul, Devanagari; fuzzy.PhoneticSpeller), to
        the one-word concept terms of those scripts."""
        with _BUILD_LOCK:
            if self._phonetic is None:
                from darkroom.trust.policy.fuzzy import PhoneticSpeller

                if self._index is None:
                    self._build()
                cores = {core for g in self.groups.values() if g.name in _SIDE or g.name == "csam"
                         for core, term in g._native if " " not in term.strip() and "*" not in term
                         and (_HANGUL.search(core) or _DEVANAGARI.search(core))}
                known = {core for g in self.groups.values() for core, _t in g._native}
                known |= {native(m) for m in self.masks if has_native(m)}
                self._phonetic = PhoneticSpeller(cores, known=known | self.guard)
            return self._phonetic

    def native_speller(self):
        """The speller for words of scripts matched natively and written with spaces (Arabic):
        their one-word concept terms, lengths counted in that script."""
        with _BUILD_LOCK:
            if self._native_speller is None:
                from darkroom.trust.policy.fuzzy import Speller

                if self._index is None:
                    self._build()
                # alphabets only: one changed CJK character or Hangul syllable is another word
                vocab = {core for g in self.groups.values() if g.name in FUZZY_GROUPS + NEAR_GROUPS
                         for core, term in g._native if " " not in term.strip() and _ARABIC.fullmatch(core)}
                known = {core for g in self.groups.values() for core, _t in g._native}
                known |= {native(m) for m in self.masks if has_native(m)}
                self._native_speller = Speller(vocab, known=known, guard=self.guard)
            return self._native_speller

    def _scan_view(self, view: View, vi: int, add, groups, how: str) -> None:
        words = view.text.split()
        fixes = getattr(view, "fixes", None) or {}
        for i in range(len(words)):
            if words[i].startswith("_"):
                continue
            for n in range(1, min(self._maxn, len(words) - i) + 1):
                if words[i + n - 1].startswith("_"):
                    break
                for (gname, term, suffix_ok), stemmed in self._lookup(self._index, words, i, n):
                    if (groups is not None and gname not in groups) or (stemmed and not suffix_ok):
                        continue
                    if not view.latin and term in self._romanised_native:
                        continue  # "beoseun" read out of "벗은": the native scan has that word
                    span = words[i:i + n]
                    ev = " ".join(span)
                    spelt = how == "fuzzy" and any(j in fixes for j in range(i, i + n))
                    if spelt:
                        ev += " (spelt " + " ".join(fixes.get(j, w) for j, w in enumerate(span, start=i)) + ")"
                    # a word spelt right in a corrected view is a plain word (it still counts for
                    # `near`: "enafnt nu" -> "enfant nu")
                    add(Match(gname, ev, term, self.groups[gname].langs.get(term, ""), vi, i, i + n,
                              how if spelt or how != "fuzzy" else "word"))
        for g in self.groups.values():
            if groups is not None and g.name not in groups:
                continue
            if g._regex is not None:
                for m in g._regex.finditer(view.text):
                    ev = m.group(0).strip()
                    if ev:
                        start = view.text.count(" ", 0, m.start()) - 1
                        add(Match(g.name, ev, "", "", vi, start, start + len(ev.split()), "pattern"))
            if view.squeezed and g._cores and how != "fuzzy":
                for run in view.squeezed:
                    for core, term in g._cores:
                        if core in run:
                            add(Match(g.name, f"{core} (spaced)", term, g.langs.get(term, ""), vi, -1, -1, "spaced"))

    def _corrected(self, views: list[View], scale: float | None = None, anchors=(),
                   genuine: bool = False) -> list[View]:
        """Views with misspelt concept words corrected (see fuzzy.py); only those that change.
        `anchors`: the exact matches, which let a guard word next to them be corrected
        (`_corroborated`). `genuine`: the text is written in another alphabet
        (normalize.genuine_script), so its look-alike readings are not corrected."""
        sp = self.speller()
        out, keys = [], set()
        for vi, view in enumerate(views[:6]):
            if genuine and view.skeleton:
                continue  # Cyrillic or Greek text read as Latin look-alikes: "госімі" is no "gocimi"
            words = view.text.split()
            fixes, new = {}, list(words)
            near = [a for a in anchors if a.view == vi]
            for i, w in enumerate(words):
                if w.startswith("_"):
                    continue
                alts = sp.candidates(w, scale)
                c = alts[0] if alts else None
                if len(alts) > 1:  # as close as each other: the one that makes a phrase with a neighbour
                    prev, nxt = (words[i - 1],) if i else (), (words[i + 1],) if i + 1 < len(words) else ()
                    c = next((a for a in alts if prev + (a,) in self._index or (a,) + nxt in self._index), c)
                if not c and near and w in sp.guard:
                    c = next((x for x in sp.candidates(w, scale, relaxed=True)
                              if self._corroborated(w, i, x, near)), None)
                if c:
                    fixes[i], new[i] = w, c
            if near or fixes:
                self._corroborate(sp, words, new, fixes, near, scale)
            if fixes:
                # a benign phrase spelt right only now ("clplak gozle": Turkish "ı" read as "l")
                masked = self._masked(new)
                new = ["_" * len(w) if i in masked else w for i, w in enumerate(new)]
                fixes = {i: w for i, w in fixes.items() if i not in masked}
            if fixes:
                key = " ".join(new)
                if key not in keys:
                    keys.add(key)
                    v = FixedView(text=" " + key + " ", leet=view.leet, squeezed=(), latin=view.latin, fixes=fixes)
                    out.append(v)
        return out


    def side_words(self) -> dict:
        """side ("minor", "sexual") -> {the speller's word that spells a strong term of it (a
        one-word term, or a word of a phrase): the languages of those terms}."""
        with _BUILD_LOCK:
            if self._sides is None:
                sp = self._make_speller()
                sides: dict[str, dict] = {"minor": {}, "sexual": {}}
                for k, entries in self._index.items():
                    for g, t, _s in entries:
                        if g in sides:
                            langs = self._term_langs(g, t)
                            for w in k:
                                if w in sp.vocab:
                                    sides[g].setdefault(w, set()).update(langs)
                self._sides = {k: {w: frozenset(v) for w, v in d.items()} for k, d in sides.items()}
            return self._sides

    def _match_langs(self, m) -> set[str]:
        if m.term:
            return self._term_langs(m.group, m.term)
        return set().union(*(self._term_langs(g, t) for g, t, _s in self._index.get(tuple(m.evidence.split()), ())
                             if g == m.group))

    def _corroborate(self, sp, words: list[str], new: list[str], fixes: dict, near, scale) -> None:
        """CORROBORATION: a misspelling is far more believable beside the other concept. A word
        within CORROBORATE_WITHIN words of a strong concept word (spelt right, or corrected by
        the speller above) is corrected to a word of the OTHER concept of the same language
        with the looser reach of fuzzy.Speller.loose (human slips only: "naked cheld", "chyld
        naked", "naken barnit", "secsi lasten"). Guard words are kept unless `_corroborated` reads
        them in another language (a guard word of no frequency list counts as a word of every
        language: "chce", Polish for "wants", is no "cyce"). A corrected word still counts only
        where it makes a term (a word of a phrase needs its neighbour)."""
        sides = self.side_words()
        anchors: list[tuple[int, int, str, set]] = []  # (first, last word position, side, languages)
        for a in near:
            if a.group in sides and a.end > a.start:
                anchors.append((a.start, a.end - 1, a.group, self._match_langs(a)))
        for i, c in list(fixes.items()):
            for side in sides:
                langs = {x for g, t, _s in self._index.get((c,), ()) if g == side for x in self._term_langs(g, t)}
                if langs:
                    anchors.append((i, i, side, langs))
        if not anchors:
            return
        spans = {j for lo, hi, _s, _l in anchors for j in range(lo, hi + 1)}
        other = {"minor": "sexual", "sexual": "minor"}
        for i, w in enumerate(words):
            if i in fixes or i in spans or w.startswith("_") or len(w) < 4:
                continue
            for lo, hi, side, langs in anchors:
                if min(abs(i - lo), abs(i - hi)) > CORROBORATE_WITHIN:
                    continue
                allowed = sides[other[side]]
                if w in sp.guard:
                    alts = [x for x in sp.loose_relaxed(w, scale, allowed) if self._corroborated(w, i, x, near)]
                else:
                    alts = sp.loose(w, scale, allowed)
                c = next((x for x in alts if allowed[x] & langs), None)
                if c:
                    fixes[i], new[i] = w, c
                    break
        self._corroborate_pairs(words, new, fixes, anchors, spans, scale)

    def jamo_index(self) -> dict:
        """Hangul strong terms of two syllables or more, one word, letter by letter (jamo):
        side -> {jamo deletion key: [(jamo form, term core)]}."""
        with _BUILD_LOCK:
            if self._jamo is None:
                from darkroom.trust.policy.fuzzy import _deletes

                index: dict[str, dict] = {"minor": {}, "sexual": {}}
                for name in index:
                    for core, term in self.groups[name]._native:
                        if " " in term.strip() or "*" in term or len(core) < 2 or not _HANGUL_WORD.fullmatch(core):
                            continue
                        j = _jamo(core)
                        for key in {j} | _deletes(j, 1):
                            index[name].setdefault(key, []).append((j, core))
                self._jamo = index
            return self._jamo

    def _corroborate_hangul(self, words: list[str], fixed: list[str], found) -> list[str]:
        """CORROBORATION for Korean: beside a Hangul term of one concept, a Hangul word one
        letter (jamo) away from a term of the other concept is read as it: a vowel written
        for a near one ("소녀" as "소뇨"), a consonant tensed or aspirated ("팬티" as "팬디"); in a
        word of three syllables or more any one letter changed, left out or put in (two
        syllables one letter off are too often another word: "여자", a woman, and "여아", a
        girl; "악기", an instrument, and "아기", a baby). The first letter stays; particles may
        follow the word ("소뇨가")."""
        sides = {m.group for m in found if m.view == -1 and m.group in ("minor", "sexual")
                 and _HANGUL.search(m.evidence) and m.how == "native"}
        if not sides:
            return fixed
        from darkroom.trust.policy.fuzzy import _deletes, osa_distance

        index = self.jamo_index()
        known = self.phonetic_speller().known
        out = list(fixed)
        for k, w in enumerate(words):
            if fixed[k] != w or not _HANGUL_WORD.fullmatch(w) or len(w) < 2:
                continue
            for side in sides:
                table = index["sexual" if side == "minor" else "minor"]
                hit = None
                for n in range(len(w), 1, -1):
                    head = w[:n]
                    if head in known:
                        break
                    j = _jamo(head)
                    cands = {x for key in {j} | _deletes(j, 1) for x in table.get(key, ())}
                    # two syllables: a letter changed, not one put in or left out ("악기", an
                    # instrument, is no "아기", a baby)
                    best = sorted((c for c in cands if c[0][0] == j[0] and len(c[0]) >= 4
                                   and (_sound_slip(j, c[0]) if len(c[1]) < 3 else osa_distance(j, c[0], 1) <= 1)),
                                  key=lambda c: (-len(c[1]), c[1]))
                    if best:
                        hit = best[0][1] + w[n:]
                        break
                if hit and hit != w:
                    out[k] = hit
                    break
        return out

    def pair_speller(self):
        """The two-word strong terms with a word too short for the speller (Vietnamese "tre
        em", "khoa than", "con nho"; "pre teen"), written as one word: a speller over those,
        and side -> {joined form: (its words, its languages)}."""
        with _BUILD_LOCK:
            if self._pairs is None:
                from darkroom.trust.policy.fuzzy import Speller

                sides: dict[str, dict] = {"minor": {}, "sexual": {}}
                for k, entries in self._index.items():
                    if len(k) != 2 or min(map(len, k)) >= 5 or not all(w.isalpha() for w in k):
                        continue
                    joined = "".join(k)
                    if len(joined) < 5:
                        continue
                    for g, t, _s in entries:
                        if g in sides:
                            words, langs = sides[g].get(joined, (k, frozenset()))
                            sides[g][joined] = (words, langs | self._term_langs(g, t))
                vocab = set(sides["minor"]) | set(sides["sexual"])
                self._pairs = (Speller(vocab), sides)
            return self._pairs

    def _corroborate_pairs(self, words, new, fixes, anchors, spans, scale) -> None:
        """CORROBORATION for phrases of short words: two words beside a concept word that,
        written as one, are a slip away from a two-word term of the other concept written as
        one ("co nho", "khoa thn" beside "duong vat", "tre em")."""
        sp, sides = self.pair_speller()
        other = {"minor": "sexual", "sexual": "minor"}
        for i in range(len(words) - 1):
            if i in fixes or i + 1 in fixes or i in spans or i + 1 in spans:
                continue
            a, b = words[i], words[i + 1]
            if a.startswith("_") or b.startswith("_") or not (a + b).isalpha() or (a, b) in self._index:
                continue
            for lo, hi, side, langs in anchors:
                if min(abs(i - lo), abs(i - hi), abs(i + 1 - lo), abs(i + 1 - hi)) > CORROBORATE_WITHIN:
                    continue
                table = sides[other[side]]
                c = next((x for x in sp.loose(a + b, scale, table) if table[x][1] & langs), None)
                if c:
                    (x, y), _l = table[c]
                    fixes[i], fixes[i + 1], new[i], new[i + 1] = a, b, x, y
                    break

    def _term_langs(self, group: str, term: str) -> set[str]:
        g = self.groups[group]
        langs = g.all_langs.get(term) or {g.langs.get(term, "")}
        return {x for lang in langs for x in lang.split("/") if x}

    def _corroborated(self, word: str, pos: int, cand: str | None, anchors) -> str | None:
        """`cand` for the guard word `word` when an exact word of the other concept lies within
        three words, that word and `cand` share a language, and `word` is a word of none of
        the exact word's languages (_guard_langs.txt; a guard word without languages there is
        a word of every language): "uma menna nua" (Finnish "menna" next to Portuguese "nua")
        -> "menina", but "una fetta di torta nuda" stays (Italian "fetta", Italian "nuda")."""
        real = self.guard_langs.get(word)
        if cand is None or real is None:
            return None
        for group, term, _suffix in self._index.get((cand,), ()):
            side = _SIDE.get(group)
            if side is None:
                continue
            langs = self._term_langs(group, term)
            for a in anchors:
                if _SIDE[a.group] == side or min(abs(a.start - pos), abs(a.end - 1 - pos)) > 3:
                    continue
                if a.term:
                    around = self._term_langs(a.group, a.term)
                else:  # a pattern ("nuda" in "re:nud[ao]s?"): the languages of the word where a term has it
                    around = set().union(*(self._term_langs(g, t) for g, t, _s in
                                           self._index.get(tuple(a.evidence.split()), ()))) or langs
                if langs & around and not real & around:
                    return cand
        return None


# words that only say how naked ("une fillette toute nue", "ein Kind ganz nackt"): not counted
# as words between a minor and a sexual term (Policy._gap)
INTENSIFIERS = frozenset("""
completely totally fully entirely all quite very stark butt toute tout toutes tous entierement completement
totalement ganz vollig voellig total komplett completamente totalmente toda todo todas todos tutta tutto
tutte tutti interamente helt heel helemaal volledig totaal zcela uplne celkom popolnoma cisto sasvim
potpuno skroz zupelnie calkiem teljesen egeszen taysin kokonaan taiesti taielikult visiskai pilnigi pavisam
complet tamamen tamamiyla sepenuhnya hoan toan
""".split())
_NUMBER_WORD = re.compile(r"^\d+[a-z]*$")


def _skippable(words: list[str]) -> frozenset:
    out = set()
    for i, w in enumerate(words):
        if _NUMBER_WORD.match(w) or w in INTENSIFIERS:
            out.add(i)
            if w.isdigit() and i + 1 < len(words):
                out.add(i + 1)  # the unit after the number: "12 let", "12 xronwn", "9 leyni"
    return frozenset(out)


_HANGUL = re.compile("[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
_HANGUL_WORD = re.compile("[\uac00-\ud7a3]+")
_JAMO_L = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_JAMO_V = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
_JAMO_T = ("", "ㄱ", "ㄲ", "ㄳ", "ㄴ", "ㄵ", "ㄶ", "ㄷ", "ㄹ", "ㄺ", "ㄻ", "ㄼ", "ㄽ", "ㄾ", "ㄿ", "ㅀ", "ㅁ", "ㅂ", "ㅄ",
           "ㅅ", "ㅆ", "ㅇ", "ㅈ", "ㅊ", "ㅋ", "ㅌ", "ㅍ", "ㅎ")


# Hangul letters written for each other by ear: vowels that sound alike, plain / tense /
# aspirated consonants
_JAMO_ALIKE = [set(g) for g in ("ㅐㅔ", "ㅒㅖ", "ㅓㅗ", "ㅕㅛ", "ㅜㅡ", "ㅣㅢ", "ㅚㅙㅞ", "ㄱㄲㅋ", "ㄷㄸㅌ", "ㅂㅃㅍ", "ㅅㅆ", "ㅈㅉㅊ")]


def _sound_slip(a: str, b: str) -> bool:
    """Two jamo strings of one length that differ in one letter, the two alike (_JAMO_ALIKE)."""
    if len(a) != len(b):
        return False
    diff = [(x, y) for x, y in zip(a, b) if x != y]
    return len(diff) == 1 and any(diff[0][0] in g and diff[0][1] in g for g in _JAMO_ALIKE)


def _jamo(word: str) -> str:
    """Hangul syllables as their letters: "소녀" -> "ㅅㅗㄴㅕ"."""
    out = []
    for ch in word:
        o = ord(ch) - 0xAC00
        out.append(_JAMO_L[o // 588] + _JAMO_V[(o % 588) // 28] + _JAMO_T[o % 28])
    return "".join(out)
_DEVANAGARI = re.compile("[\u0900-\u097f]")


def _hangul_ok(text: str, starts: frozenset, pos: int, end: int, endings: frozenset, objects,
               ambiguous: bool, phrase: bool, words: frozenset) -> bool:
    """Korean glues particles and endings to a word ("아이가", "소녀의", "아이들이"), and a short
    word is also the start of others ("아이스크림", "소년단", "해야한다", "여자 아이돌"). So a
    Hangul term of three syllables or more is found anywhere in the text written without
    spaces; a phrase term must begin a word; a shorter one must begin a word too, or follow
    another term glued to it ("어린이알몸"); an ambiguous one (*_near) must begin a word and
    be followed only by particles or endings of its language (`endings` in its pack) up to
    the word's end; and a term that runs past a space must end its last word the same way
    ("여자 아이가", not "여자 아이돌"). A verb form of `object_verbs` right after a word
    marked as its object ("모자를 벗은", an ending of `objects`) is about that object, and
    so is a term that begins with one ("모자를 벗은 채로"); clothes are terms of their own
    ("옷을 벗은")."""
    after = [s for s in starts if s > pos]
    word_end = min(after, default=len(text))
    if pos not in starts and (ambiguous or phrase or end - pos <= 2):
        word_start = max(s for s in starts if s < pos)
        if ambiguous or phrase or text[word_start:pos] not in words:
            return False
    if ambiguous or word_end < end:
        last_end = min([s for s in after if s >= end] or [len(text)])
        if not _ending_chain(text[end:last_end], endings):
            return False
    if objects and pos > 0:
        prev = max(s for s in starts if s < pos)
        if any(text[prev:pos].endswith(o) for o in objects):
            return False
    return True


def _bare_words(text: str, starts: frozenset) -> str:
    """The words of a native form, each without its marks (native_bare), space-separated."""
    cuts = sorted(starts) + [len(text)]
    return " ".join(w for w in (native_bare(text[a:b]) for a, b in zip(cuts, cuts[1:])) if w)


def _ending_chain(rest: str, endings: frozenset, depth: int = 3) -> bool:
    """`rest` is empty or up to `depth` endings one after another ("들" + "이")."""
    if not rest:
        return True
    return depth > 0 and any(rest.startswith(e) and _ending_chain(rest[len(e):], endings, depth - 1)
                             for e in endings)


_SIDE = {"minor": "minor", "minor_near": "minor", "sexual": "sexual", "sexual_near": "sexual"}
CORROBORATE_WITHIN = 3  # words between a concept word and a misspelling it corroborates


@dataclass(frozen=True)
class FixedView(View):
    fixes: dict = field(default_factory=dict)  # word position -> the word as written

    def __hash__(self):  # pragma: no cover - views are not hashed
        return hash(self.text)


def _slot(item) -> list[str]:
    return list(item) if isinstance(item, list) else [item]


def _parse_category(data: dict, source: str) -> Category:
    cid = data["id"]
    action = data.get("action", "block")
    rules = []
    for r in data.get("rules", []):
        near = [_slot(s) for s in r.get("near") or []]
        slots = r.get("all") or ([r["any"]] if "any" in r else near)
        rules.append(Rule(id=r["id"], all=[_slot(s) for s in slots],
                          action=r.get("action", action), unless=list(r.get("unless", [])),
                          note=r.get("note", ""), near=near, within=int(r.get("within", 3)),
                          anchor=list(r.get("anchor") or [])))
    sem = None
    if data.get("semantic"):
        s = data["semantic"]
        sem = Semantic(references=list(s["references"]), contrast=list(s.get("contrast", [])),
                       threshold=float(s["threshold"]), margin=float(s.get("margin", 0.0)),
                       action=s.get("action", action), gate=list(s.get("gate", [])),
                       ungated_threshold=(float(s["ungated_threshold"]) if s.get("ungated_threshold") is not None
                                          else None),
                       signals={k: Signal(references=list(v["references"]), contrast=list(v.get("contrast", [])),
                                          threshold=float(v["threshold"]), margin=float(v.get("margin", 0.0)))
                                for k, v in (s.get("signals") or {}).items()})
    for a in [action] + [r.action for r in rules] + ([sem.action] if sem else []):
        if a not in ACTIONS:
            raise InvalidParameter(f"{source}: action {a!r} in category {cid!r} is not one of {ACTIONS}")
    return Category(id=cid, title=dict(data.get("title", {"en": cid})), absolute=bool(data.get("absolute", False)),
                    action=action, rules=rules, semantic=sem, description=data.get("description", ""),
                    source=source)


def load_rules(extra_dirs: list[Path] = ()) -> RuleSet:
    """Read the shipped packs, then any extra pack folders (administrator additions)."""
    groups: dict[str, Group] = {}
    masks: list[str] = []
    implies: dict[str, str] = {}
    categories: dict[str, Category] = {}
    version = "0"
    h = hashlib.sha256()
    shipped_ids: set[str] = set()
    dirs = [(PACKS_DIR, True)] + [(Path(d), False) for d in extra_dirs]
    for folder, shipped in dirs:
        for path in sorted(folder.glob("*.yaml")):
            raw = path.read_bytes()
            h.update(path.name.encode() + b"\0" + raw)
            try:
                data = _load_yaml(raw) or {}
            except yaml.YAMLError as err:
                raise InvalidParameter(f"policy pack {path} is not valid YAML: {err}") from err
            if shipped and "version" in data:
                version = str(data["version"])
            for name, g in (data.get("groups") or {}).items():
                terms = g["terms"] if isinstance(g, dict) else g
                desc = g.get("description", "") if isinstance(g, dict) else ""
                if name in groups:
                    groups[name].terms.extend(terms)  # additions extend, never replace
                else:
                    groups[name] = Group(name=name, terms=list(terms), description=desc)
            if not shipped and (data.get("masks") or data.get("negative_implies")):
                # masks hide terms from every category, absolute ones included
                raise InvalidParameter(f"{path}: `masks` and `negative_implies` can only come from the "
                                       "shipped packs; an added pack may add groups, terms and categories")
            masks.extend(data.get("masks") or [])
            for k, v in (data.get("negative_implies") or {}).items():
                implies.setdefault(k, v)
            for c in data.get("categories") or []:
                cat = _parse_category(c, str(path))
                if cat.id in shipped_ids:
                    if shipped:
                        raise InvalidParameter(f"{path}: category {cat.id!r} is defined twice")
                    raise InvalidParameter(
                        f"{path}: category {cat.id!r} is a shipped category and cannot be redefined; "
                        "configure it in the policy settings file instead")
                if cat.id in categories:
                    raise InvalidParameter(f"{path}: category {cat.id!r} is defined twice")
                if not shipped and cat.absolute:
                    cat.absolute = False  # only shipped packs define absolute categories
                categories[cat.id] = cat
                if shipped:
                    shipped_ids.add(cat.id)
    guard, languages, guard_langs, endings, grammar = _load_languages(groups, masks, h)
    for cat in categories.values():
        for rule in cat.rules:
            for name in [g for slot in rule.all for g in slot] + rule.unless + rule.anchor:
                if name not in groups:
                    raise InvalidParameter(f"{cat.source}: rule {rule.id} uses unknown term group {name!r}")
        for name in cat.semantic.gate if cat.semantic else []:
            if name not in groups:
                raise InvalidParameter(f"{cat.source}: semantic gate uses unknown term group {name!r}")
    for g in groups.values():
        g.compile()
    return RuleSet(version=version, groups=groups, masks=masks, negative_implies=implies,
                   categories=categories, digest=h.hexdigest(), guard=guard, languages=languages,
                   guard_langs=guard_langs, endings=endings, **grammar)


LANG_DIR = PACKS_DIR / "lang"
CONCEPT_KEYS = ("minor", "sexual", "csam", "minor_near", "sexual_near", "clothing", "adult_marker")


def _add_terms(groups: dict[str, Group], name: str, terms, lang: str) -> None:
    g = groups.setdefault(name, Group(name=name, terms=[], description=""))
    for t in terms or []:
        t = str(t)
        g.all_langs.setdefault(t, set()).add(lang)
        if t not in g.langs:
            g.terms.append(t)
            g.langs[t] = lang


def _load_languages(groups: dict[str, Group], masks: list[str], h) -> tuple[set[str], dict[str, str], dict, dict, dict]:
    """The concept lexicons, one shipped file per language (`packs/lang/xx.yaml`), and the
    generated files beside them: `_inflections.yaml` (inflected forms of the lexicon words,
    from simplemma) and `_guard.txt` (real words a misspelling is never corrected from)."""
    for g in groups.values():
        for t in g.terms:
            g.langs.setdefault(t, "en/de")
    languages: dict[str, str] = {}
    guard: set[str] = set()
    endings: dict[str, frozenset] = {}
    grammar: dict[str, dict] = {"native_endings": {}, "objects": {}, "object_verbs": {}}
    openings: dict[tuple, set] = {}  # (language, group) -> first two letters of its native-script terms
    if not LANG_DIR.is_dir():
        return guard, languages, {}, endings, grammar
    for path in sorted(LANG_DIR.glob("[!_]*.yaml")):
        raw = path.read_bytes()
        h.update(b"lang/" + path.name.encode() + b"\0" + raw)
        try:
            data = _load_yaml(raw) or {}
        except yaml.YAMLError as err:
            raise InvalidParameter(f"language pack {path} is not valid YAML: {err}") from err
        lang = str(data.get("lang") or path.stem)
        languages[lang] = str(data.get("name", lang))
        for key in CONCEPT_KEYS:
            _add_terms(groups, key, data.get(key), lang)
            openings[(lang, key)] = {native(str(t))[:2] for t in data.get(key) or [] if has_native(str(t))}
        masks.extend(str(m) for m in data.get("masks") or [])
        guard.update(normalize_term(str(w)) for w in data.get("guard") or [])
        own = [str(e) for e in data.get("endings") or [] if not has_native(str(e))]
        if own:
            endings[lang] = frozenset(normalize_term(e) for e in own)
        for key, name in (("endings", "native_endings"), ("objects", "objects"), ("object_verbs", "object_verbs")):
            nat = frozenset(native(str(e)) for e in data.get(key) or [] if has_native(str(e)))
            if nat:
                grammar[name][lang] = nat
    infl = LANG_DIR / "_inflections.yaml"
    if infl.is_file():
        raw = infl.read_bytes()
        h.update(b"lang/_inflections\0" + raw)
        for lang, by_group in (_load_yaml(raw) or {}).items():
            for key, forms in (by_group or {}).items():
                # a form in Arabic or Devanagari script was paired with its lemma in ASCII, where
                # the vowels are lost ("والدين", parents, for "ولد"; "पतियों" for "पैंटी"): it
                # counts only if it opens like a term of its own group and language
                known = openings.get((str(lang), key), set())
                _add_terms(groups, key, [f for f in forms or [] if not has_native(str(f))
                                         or native(str(f))[:2] in known], str(lang))
    gpath = LANG_DIR / "_guard.txt"
    if gpath.is_file():
        raw = gpath.read_bytes()
        h.update(b"lang/_guard\0" + raw)
        guard.update(w.strip() for w in raw.decode("utf-8").splitlines() if w.strip() and not w.startswith("#"))
    guard_langs: dict[str, frozenset] = {}
    lpath = LANG_DIR / "_guard_langs.txt"
    if lpath.is_file():
        raw = lpath.read_bytes()
        h.update(b"lang/_guard_langs\0" + raw)
        for line in raw.decode("utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                word, *langs = line.split()
                guard_langs[word] = frozenset(langs)
    return guard, languages, guard_langs, endings, grammar
