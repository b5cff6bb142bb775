"""Generated misspellings against the prompt policy (sexual_minors): a seeded typo table.

    .venv/bin/python benchmarks/policy_typos.py                 # every language, terms layer
    .venv/bin/python benchmarks/policy_typos.py --lang de,sv     # some languages
    .venv/bin/python benchmarks/policy_typos.py --n 300          # frequent words in the FP sweep
    .venv/bin/python benchmarks/policy_typos.py --misses         # list what was missed / blocked

Harmful side: per language pack, the most frequent one-word minor and sexual terms (wordfreq;
in the pack's own script; Vietnamese: two-syllable terms, one syllable misspelt) are paired and
put into the templates of that language's harmful eval seeds (eval/multilingual.yaml: the two
words in the seed's phrase, and side by side). Pairs whose exact prompt does not block are left
out (the `exact` column counts them). Then ONE word (minor, sexual) or BOTH get a human typo
of one kind (KINDS): deletion, keyboard-neighbour insertion / substitution (QWERTY, QWERTZ,
AZERTY, JCUKEN, Greek as the language types), transposition, doubled letter, dropped
diacritic, another vowel, phonetic respelling (k/c, ph/f, z/s, y/i, w/v); Hangul at the jamo
level (a vowel / final consonant / tense consonant changed). Everything is seeded: the same
table every run.

Benign side: (a) the benign seeds of every language (multilingual.yaml, multilingual_benign.yaml)
with the same typos in one or two random words: should stay ~0 % blocked; (b) a false-positive
sweep: a minor term (exact) beside each of the N most frequent words of the language, and a
sexual term beside each; those that block are listed for judging (a frequent word that is
itself a concept word is a correct block).

The layer is the terms layer (the mechanism); `--semantic` adds the sentence model (slow).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import sys
import tempfile
import time
import unicodedata
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from darkroom.settings import Settings  # noqa: E402
from darkroom.trust.policy import Policy  # noqa: E402
from darkroom.trust.policy.eval import multilingual as ml  # noqa: E402
from darkroom.trust.policy.normalize import has_native, native, normalize_term  # noqa: E402

KINDS = ("delete", "insert", "substitute", "transpose", "double", "diacritic", "vowel", "phonetic")
TARGETS = ("minor", "sexual", "both")
WORDFREQ = {"pt-br": "pt", "hr": "sh", "sr": "sh"}
NO_TYPOS = {"zh", "ja"}  # one changed character is another word; IME slips are not letter typos
SYLLABIC = {"vi"}  # words are syllables: two-syllable terms, one syllable misspelt

_QWERTY = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_QWERTZ = ("qwertzuiop", "asdfghjkl", "yxcvbnm")
_AZERTY = ("azertyuiop", "qsdfghjklm", "wxcvbn")
_JCUKEN = ("йцукенгшщзхъ", "фывапролджэ", "ячсмитьбю")
_GREEK = ("ςερτυθιοπ", "ασδφγηξκλ", "ζχψωβνμ")
_LAYOUT = {"de": _QWERTZ, "cs": _QWERTZ, "sk": _QWERTZ, "hu": _QWERTZ, "sl": _QWERTZ, "hr": _QWERTZ,
           "fr": _AZERTY, "ru": _JCUKEN, "uk": _JCUKEN, "bg": _JCUKEN, "el": _GREEK}
_VOWEL_SWAP = {"a": "e", "e": "i", "i": "e", "o": "u", "u": "o", "y": "i",
               "а": "о", "о": "а", "е": "и", "и": "е", "у": "ю", "ы": "и", "я": "а", "і": "и", "ї": "і",
               "α": "ε", "ε": "α", "η": "ι", "ι": "η", "ο": "ω", "ω": "ο", "υ": "ι"}
_PHONETIC = [("ck", "k"), ("k", "c"), ("c", "k"), ("ph", "f"), ("f", "ph"), ("z", "s"), ("s", "z"),
             ("y", "i"), ("i", "y"), ("w", "v"), ("v", "w"), ("x", "ks"), ("qu", "kw"), ("th", "t"),
             ("sch", "sh"), ("sh", "sch"), ("j", "y"), ("ou", "u"), ("ei", "ai"), ("ie", "i"),
             # Cyrillic / Greek respellings by ear
             ("ого", "ово"), ("тс", "ц"), ("ться", "ца"), ("щ", "шч"), ("е", "э"), ("ё", "о"),
             ("ει", "ι"), ("οι", "ι"), ("αι", "ε"), ("υ", "ι")]
_DIACRITIC_SWAP = {"й": "и", "ё": "е", "ї": "і", "ў": "у", "ı": "i", "ł": "l", "ø": "o", "đ": "d", "ß": "s"}


def _seed(*parts) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256("\0".join(map(str, parts)).encode()).digest()[:8], "big"))


def _neighbours(rows) -> dict[str, list[str]]:
    near: dict[str, set] = defaultdict(set)
    for r, row in enumerate(rows):
        for i, c in enumerate(row):
            if i:
                near[c].add(row[i - 1])
            if i + 1 < len(row):
                near[c].add(row[i + 1])
            if r + 1 < len(rows):
                for j in (i - 1, i):
                    if 0 <= j < len(rows[r + 1]):
                        near[c].add(rows[r + 1][j])
                        near[rows[r + 1][j]].add(c)
    return {k: sorted(v) for k, v in near.items()}


_NEAR = {id(rows): _neighbours(rows) for rows in (_QWERTY, _QWERTZ, _AZERTY, _JCUKEN, _GREEK)}


def _layout(lang: str, word: str):
    if any("\u0400" <= c <= "\u04ff" for c in word):
        return _NEAR[id(_JCUKEN)]
    if any("\u0370" <= c <= "\u03ff" for c in word):
        return _NEAR[id(_GREEK)]
    return _NEAR[id(_LAYOUT.get(lang, _QWERTY) if _LAYOUT.get(lang) not in (_JCUKEN, _GREEK) else _QWERTY)]


def _base(c: str) -> str:
    return unicodedata.normalize("NFD", c)[0].lower()


# ---- Hangul, letter (jamo) by letter ----
_L = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_V = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
_T = " ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"
_V_NEAR = {"ㅏ": "ㅓ", "ㅓ": "ㅗ", "ㅗ": "ㅓ", "ㅐ": "ㅔ", "ㅔ": "ㅐ", "ㅕ": "ㅛ", "ㅛ": "ㅕ", "ㅜ": "ㅡ", "ㅡ": "ㅜ",
           "ㅣ": "ㅢ", "ㅢ": "ㅣ", "ㅑ": "ㅏ", "ㅘ": "ㅏ", "ㅝ": "ㅓ", "ㅚ": "ㅙ", "ㅙ": "ㅚ", "ㅟ": "ㅜ", "ㅠ": "ㅜ",
           "ㅒ": "ㅐ", "ㅖ": "ㅔ", "ㅞ": "ㅔ"}
_TENSE = {"ㄱ": "ㄲ", "ㄲ": "ㄱ", "ㄷ": "ㄸ", "ㄸ": "ㄷ", "ㅂ": "ㅃ", "ㅃ": "ㅂ", "ㅅ": "ㅆ", "ㅆ": "ㅅ", "ㅈ": "ㅉ",
          "ㅉ": "ㅈ", "ㅊ": "ㅈ", "ㅋ": "ㄱ", "ㅌ": "ㄷ", "ㅍ": "ㅂ"}
# the 2-set (dubeolsik) keyboard: consonants on the left, vowels on the right
_DUBEOL = ("ㅂㅈㄷㄱㅅㅛㅕㅑㅐㅔ", "ㅁㄴㅇㄹㅎㅗㅓㅏㅣ", "ㅋㅌㅊㅍㅠㅜㅡ")
_DNEAR = _neighbours(_DUBEOL)


def _hangul_split(s: str):
    o = ord(s) - 0xAC00
    return _L[o // 588], _V[(o % 588) // 28], _T[o % 28]


def _hangul_join(l, v, t) -> str | None:
    if l not in _L or v not in _V or t not in _T:
        return None
    return chr(0xAC00 + _L.index(l) * 588 + _V.index(v) * 28 + _T.index(t))


def _hangul_typo(word: str, kind: str, rng: random.Random) -> str | None:
    idx = [i for i, c in enumerate(word) if "\uac00" <= c <= "\ud7a3"]
    if not idx:
        return None
    for _ in range(8):
        i = rng.choice(idx)
        l, v, t = _hangul_split(word[i])
        if kind == "vowel":
            v = _V_NEAR.get(v, v)
        elif kind == "phonetic":  # tense / plain consonant
            if l in _TENSE and (rng.random() < 0.6 or t.strip() not in _TENSE):
                l = _TENSE[l]
            elif t in _TENSE:
                t = _TENSE[t]
        elif kind == "delete":  # a final consonant left out, or a vowel / final written twice
            if t != " ":
                t = " "
            else:
                continue
        elif kind == "substitute":  # a neighbouring key for the first consonant
            if l in _DNEAR:
                l = rng.choice([x for x in _DNEAR[l] if x in _L] or [l])
        elif kind == "insert":  # an extra final consonant from the next key
            if t == " ":
                t = rng.choice([x for x in _DNEAR.get(l, []) if x in _T] or [" "])
            else:
                continue
        elif kind == "transpose":  # final consonant moved to the next syllable's start ("벗은" -> "버슨")
            if t != " " and i + 1 < len(word) and "\uac00" <= word[i + 1] <= "\ud7a3":
                l2, v2, t2 = _hangul_split(word[i + 1])
                if l2 == "ㅇ" and t in _L:
                    a, b = _hangul_join(l, v, " "), _hangul_join(t, v2, t2)
                    if a and b:
                        return word[:i] + a + b + word[i + 2:]
            continue
        else:
            return None
        new = _hangul_join(l, v, t)
        if new and new != word[i]:
            return word[:i] + new + word[i + 1:]
    return None


def typo(word: str, kind: str, lang: str, rng: random.Random) -> str | None:
    """`word` with one typo of `kind`, or None if the kind does not apply to it."""
    if any("\uac00" <= c <= "\ud7a3" for c in word):
        return _hangul_typo(word, kind, rng)
    n = len(word)
    if n < 3:
        return None
    near = _layout(lang, word)
    lo = 1  # the first letter is rarely the one mistyped
    if kind == "delete":
        i = rng.randrange(lo, n)
        return word[:i] + word[i + 1:]
    if kind == "insert":
        i = rng.randrange(lo, n)
        nb = near.get(_base(word[i]))
        return word[:i + 1] + rng.choice(nb) + word[i + 1:] if nb else None
    if kind == "substitute":
        pos = [i for i in range(lo, n) if _base(word[i]) in near]
        if not pos:
            return None
        i = rng.choice(pos)
        return word[:i] + rng.choice(near[_base(word[i])]) + word[i + 1:]
    if kind == "transpose":
        pos = [i for i in range(lo, n - 1) if word[i] != word[i + 1]]
        if not pos:
            return None
        i = rng.choice(pos)
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == "double":
        i = rng.randrange(lo, n)
        return word[:i] + word[i] + word[i:]
    if kind == "diacritic":
        pos = [i for i, c in enumerate(word) if c in _DIACRITIC_SWAP or (len(unicodedata.normalize("NFD", c)) > 1
                                                                          and not has_native(c))]
        if not pos:
            return None
        i = rng.choice(pos)
        c = word[i]
        plain = _DIACRITIC_SWAP.get(c) or unicodedata.normalize("NFD", c)[0]
        if lang == "vi" and len(unicodedata.normalize("NFD", c)) > 2:  # a tone or a vowel mark, not both
            d = unicodedata.normalize("NFD", c)
            plain = unicodedata.normalize("NFC", d[0] + d[rng.randrange(1, len(d))])
        return word[:i] + plain + word[i + 1:]
    if kind == "vowel":
        pos = [i for i in range(lo, n) if _base(word[i]) in _VOWEL_SWAP]
        if not pos:
            return None
        i = rng.choice(pos)
        return word[:i] + _VOWEL_SWAP[_base(word[i])] + word[i + 1:]
    if kind == "phonetic":
        low = word.lower()
        opts = [(a, b, m.start()) for a, b in _PHONETIC for m in re.finditer(re.escape(a), low)
                if m.start() >= (1 if len(a) == 1 else 0)]
        if lang == "vi":  # Telex: the tone key left in ("khoar" for "khoả")
            opts += [("", "telex", i) for i, c in enumerate(word) if len(unicodedata.normalize("NFD", c)) > 1]
        if not opts:
            return None
        a, b, i = rng.choice(opts)
        if b == "telex":
            d = unicodedata.normalize("NFD", word[i])
            key = {"\u0301": "s", "\u0300": "f", "\u0309": "r", "\u0303": "x", "\u0323": "j"}
            tone = next((key[m] for m in d[1:] if m in key), "")
            base = unicodedata.normalize("NFC", "".join(m for m in d if m not in key))
            return word[:i] + base + word[i + 1:] + tone if tone else None
        return word[:i] + b + word[i + len(a):]
    raise ValueError(kind)


# ---- the lexicon side ----
_FREQ: dict[str, dict] = {}


def _zipf(word: str, lang: str) -> float:
    """The word's frequency in the language's wordfreq list (looked up as is: no tokenizer,
    which Korean and Japanese would need MeCab for); 0 for a word or language not listed."""
    code = WORDFREQ.get(lang, lang)
    if code not in _FREQ:
        try:
            from wordfreq import get_frequency_dict

            _FREQ[code] = get_frequency_dict(code)
        except (LookupError, ValueError):
            _FREQ[code] = {}
    return _FREQ[code].get(word.lower(), 0.0)


def _own_script(term: str, lang: str) -> bool:
    cyr = any("\u0400" <= c <= "\u04ff" for c in term)
    greek = any("\u0370" <= c <= "\u03ff" for c in term)
    if lang in ("ru", "uk", "bg"):
        return cyr
    if lang == "el":
        return greek
    if lang in ("ar", "hi", "ko", "zh", "ja"):
        return has_native(term)
    return not cyr and not greek and not has_native(term)


def concept_terms(rules, lang: str, group: str, k: int) -> list[str]:
    """The `k` most frequent plain terms of `group` in `lang` (one word; vi: two syllables)."""
    g = rules.groups[group]
    words = 2 if lang in SYLLABIC else 1
    out = []
    for t in g.terms:
        if t.startswith("re:") or "*" in t or not _own_script(t, lang):
            continue
        if lang not in rules._term_langs(group, t):
            continue
        parts = t.split()
        if len(parts) > words or (lang in SYLLABIC and len(parts) == 1 and t.isascii()):
            continue
        if not all(p.isalpha() for p in parts) or len(t.replace(" ", "")) < (2 if has_native(t) else 4):
            continue
        out.append(t)
    out = list(dict.fromkeys(out))
    # wordfreq reads a Vietnamese phrase syllable by syllable: the rarest syllable decides
    out.sort(key=lambda t: (-min(_zipf(p, lang) for p in t.split()), len(t), t))
    return out[:k]


def _token_concept(rules, tok: str, group: str) -> bool:
    if has_native(tok):
        core = native(tok)
        return any(core.startswith(c) for c, term in rules.groups[group]._native if " " not in term.strip())
    words = normalize_term(tok).split()
    if not words or len(words) != len(tok.split()):
        return False
    return any(e[0][0] == group for e in rules._lookup(rules._index, words, 0, len(words)))


def templates(rules, lang: str, seeds: list[str]) -> list[str]:
    """Templates "{m}" / "{s}" from the harmful seeds: the seed's first minor word and first
    sexual word replaced; the two side by side in the seed's order."""
    out = []
    for seed in seeds:
        toks = seed.split()
        # Vietnamese: two-syllable terms; find the first adjacent pair for each concept
        span = 2 if lang in SYLLABIC else 1
        mi = si = None
        for i in range(len(toks) - span + 1):
            piece = " ".join(re.sub(r"[^\w]", "", t) for t in toks[i:i + span])
            if mi is None and _token_concept(rules, piece, "minor"):
                mi = i
            elif si is None and _token_concept(rules, piece, "sexual") and (mi is None or abs(i - mi) >= span):
                si = i
        if mi is None or si is None or abs(mi - si) < span:
            continue
        new = list(toks)
        new[mi:mi + span] = ["{m}"] + [""] * (span - 1)
        new[si:si + span] = ["{s}"] + [""] * (span - 1)
        tpl = " ".join(t for t in new if t)
        side = "{m} {s}" if mi < si else "{s} {m}"
        for t in (tpl, side):
            if t not in out:
                out.append(t)
    return out[:2]


def _fill(tpl: str, m: str, s: str) -> str:
    return tpl.replace("{m}", m).replace("{s}", s)


def _misspelt(term: str, kind: str, lang: str, rng) -> str | None:
    """One typo in the term; in a two-syllable term, in its longer syllable."""
    parts = term.split()
    if len(parts) == 1:
        t = typo(term, kind, lang, rng)
    else:
        j = max(range(len(parts)), key=lambda k: (len(parts[k]), -k))
        t = typo(parts[j], kind, lang, rng)
        t = None if t is None else " ".join(parts[:j] + [t] + parts[j + 1:])
    return t if t and t != term else None


def harmful_items(rules, policy, lang: str, seeds: dict, pairs: int):
    minors = concept_terms(rules, lang, "minor", pairs)
    sexuals = concept_terms(rules, lang, "sexual", pairs)
    tpls = templates(rules, lang, seeds.get("harmful") or [])
    exact_ok = exact_all = 0
    items = []
    if not minors or not sexuals or not tpls:
        return items, (0, 0), (minors, sexuals, tpls)
    for p in range(max(len(minors), len(sexuals))):
        m, s = minors[p % len(minors)], sexuals[(p * 3 + 1) % len(sexuals)]
        for tpl in tpls:
            exact_all += 1
            if not policy.check(_fill(tpl, m, s)).blocked:
                continue
            exact_ok += 1
            if lang in NO_TYPOS:
                continue
            for kind in KINDS:
                for target in TARGETS:
                    rng = _seed(lang, m, s, tpl, kind, target)
                    mm = _misspelt(m, kind, lang, rng) if target in ("minor", "both") else m
                    ss = _misspelt(s, kind, lang, rng) if target in ("sexual", "both") else s
                    if mm is None or ss is None:
                        continue
                    items.append((kind, target, _fill(tpl, mm, ss)))
    return items, (exact_ok, exact_all), (minors, sexuals, tpls)


def benign_items(lang: str, seeds: dict, limit: int = 40):
    """Each benign seed (the first `limit`) with one typo of every kind in one or two words."""
    items = []
    for s in (seeds.get("benign") or [])[:limit]:
        words = [w for w in s.split() if len(re.sub(r"\W", "", w)) >= 4 or has_native(w)]
        if not words or lang in NO_TYPOS:
            continue
        for kind in KINDS:
            for n in (1 + _seed(lang, s, kind).randrange(2),):
                rng = _seed(lang, s, kind, n)
                chosen = rng.sample(words, min(n, len(words)))
                toks = s.split()
                done = False
                for w in chosen:
                    core = re.sub(r"^\W+|\W+$", "", w)
                    t = typo(core, kind, lang, rng) if core else None
                    if t and t != core:
                        i = toks.index(w)
                        toks[i] = w.replace(core, t, 1)
                        done = True
                if done:
                    items.append((kind, " ".join(toks)))
    return items


def fp_sweep(rules, policy, lang: str, n: int, minors, sexuals, tpls):
    """A minor term beside each of the n most frequent words, and a sexual term beside each."""
    try:
        from wordfreq import top_n_list

        freq = top_n_list(WORDFREQ.get(lang, lang), n)
    except LookupError:
        return 0, []
    side = next((t for t in tpls if t in ("{m} {s}", "{s} {m}")), "{m} {s}")
    out, total = [], 0
    for w in freq:
        if not any(c.isalpha() for c in w):
            continue
        for concept, term in (("minor", minors[0]), ("sexual", sexuals[0])):
            text = _fill(side, term, w) if concept == "minor" else _fill(side, w, term)
            total += 1
            d = policy.check(text)
            if d.blocked:
                out.append((concept, w, text, d.rule, d.evidence))
    return total, out


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:5.1f}% {a:4d}/{b:<4d}" if b else "      -      "


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lang", help="comma-separated language codes (default: every pack)")
    ap.add_argument("--n", type=int, default=300, help="frequent words per language in the FP sweep (0: none)")
    ap.add_argument("--pairs", type=int, default=4, help="minor/sexual pairs per language")
    ap.add_argument("--benign", type=int, default=40, help="benign seeds per language")
    ap.add_argument("--semantic", action="store_true", help="terms + semantic (slow)")
    ap.add_argument("--misses", action="store_true", help="list missed harmful and blocked benign prompts")
    args = ap.parse_args()
    t0 = time.perf_counter()
    layers = ("terms", "semantic") if args.semantic else ("terms",)
    policy = Policy.load(Settings(home=Path(tempfile.mkdtemp(prefix="darkroom-typos-"))), layers=layers)
    rules = policy.rules
    policy.check("warm up")
    data = ml.seeds()
    langs = args.lang.split(",") if args.lang else sorted(rules.languages)
    by_lang, by_kind, by_target = defaultdict(lambda: [0, 0]), defaultdict(lambda: [0, 0]), defaultdict(lambda: [0, 0])
    kind_lang = defaultdict(lambda: [0, 0])
    ben_lang, ben_kind = defaultdict(lambda: [0, 0]), defaultdict(lambda: [0, 0])
    exact, misses, false, sweeps = {}, [], [], {}
    for lang in langs:
        seeds = data.get(lang, {})
        items, exact[lang], (minors, sexuals, tpls) = harmful_items(rules, policy, lang, seeds, args.pairs)
        for kind, target, text in items:
            d = policy.check(text)
            for table, key in ((by_lang, lang), (by_kind, kind), (by_target, target), (kind_lang, (kind, lang))):
                table[key][0] += d.blocked
                table[key][1] += 1
            if not d.blocked:
                misses.append((lang, kind, target, text))
        for kind, text in benign_items(lang, seeds, args.benign):
            d = policy.check(text)
            for table, key in ((ben_lang, lang), (ben_kind, kind)):
                table[key][0] += d.blocked
                table[key][1] += 1
            if d.blocked:
                false.append((lang, kind, text, d.rule, d.evidence))
        if args.n and minors and sexuals:
            sweeps[lang] = fp_sweep(rules, policy, lang, args.n, minors, sexuals, tpls)

    print(f"policy {policy.version}, layers {' + '.join(layers)}; {time.perf_counter() - t0:.0f} s\n")
    print("per language: exact pairs blocked | misspelt harmful blocked | benign with typos blocked | FP sweep")
    print(f"{'lang':6} {'exact':>13}  {'typo harmful':>15}  {'benign typo':>15}  {'sweep blocked':>15}")
    tot = [0, 0]
    btot = [0, 0]
    stot = [0, 0]
    for lang in langs:
        h, b = by_lang.get(lang, [0, 0]), ben_lang.get(lang, [0, 0])
        sw = sweeps.get(lang, (0, []))
        tot = [tot[0] + h[0], tot[1] + h[1]]
        btot = [btot[0] + b[0], btot[1] + b[1]]
        stot = [stot[0] + len(sw[1]), stot[1] + sw[0]]
        print(f"{lang:6} {_pct(*exact[lang]):>13}  {_pct(*h):>15}  {_pct(*b):>15}  {_pct(len(sw[1]), sw[0]):>15}")
    print(f"{'all':6} {'':13}  {_pct(*tot):>15}  {_pct(*btot):>15}  {_pct(*stot):>15}\n")
    print("per typo kind:          harmful          benign")
    for kind in KINDS:
        print(f"  {kind:12} {_pct(*by_kind.get(kind, [0, 0])):>15}  {_pct(*ben_kind.get(kind, [0, 0])):>15}")
    print("per misspelt word:")
    for t in TARGETS:
        print(f"  {t:12} {_pct(*by_target.get(t, [0, 0])):>15}")
    print("\nkind x language (harmful blocked %):")
    print("      " + " ".join(f"{k[:6]:>6}" for k in KINDS))
    for lang in langs:
        cells = []
        for k in KINDS:
            a, b = kind_lang.get((k, lang), [0, 0])
            cells.append(f"{100 * a / b:6.0f}" if b else "     -")
        print(f"{lang:5} " + " ".join(cells))
    print("\nFP sweep: blocked prompts (judge: is the frequent word itself a minor / sexual word?)")
    for lang in langs:
        for concept, w, text, rule, ev in sweeps.get(lang, (0, []))[1]:
            print(f"  {lang:5} {concept:6} {w!r:18} {text!r:40} {rule} {ev}")
    if args.misses:
        print("\nmissed harmful:")
        for lang, kind, target, text in misses:
            print(f"  {lang:5} {kind:10} {target:6} {text!r}")
    print("\nbenign with typos, blocked:")
    for lang, kind, text, rule, ev in false:
        print(f"  {lang:5} {kind:10} {text!r} {rule} {ev}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
