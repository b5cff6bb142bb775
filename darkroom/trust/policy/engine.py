"""The policy: rule packs + administrator settings -> a decision for a generation request.

    policy = Policy.load(settings)
    decision = policy.check({"prompt": "...", "negative_prompt": "...", "zones.0.prompt": "..."})
    decision.raise_if_blocked()          # darkroom.errors.PolicyBlocked (exit 3, HTTP 403)

All positive texts of one request are judged together (a term in a zone prompt combines
with one in the main prompt). Negative prompts are not matched for what they say, since
listing "nsfw, child" there is how people steer *away* from it; instead a few groups in a
negative prompt count for what avoiding them implies ("clothes" avoided -> nudity,
"adult" avoided -> minor), see `negative_implies` in the packs.

Administrator settings live in `<data dir>/policy.yaml`:

    categories:
      graphic_violence: warn      # off | warn | on (as shipped) | block
      extremist_symbols: {action: on, semantic: false}
    semantic: true                # the semantic layer for configurable categories
    extra_terms:                  # added to a term group of the packs
      public_figure: ["Erika Mustermann"]
    extra_packs: [my-packs]       # folders of extra pack files, relative to the data dir

Absolute categories (sexual content involving minors) ignore every setting: they cannot be
switched off, lowered to a warning, or lose their semantic layer, whatever the file says.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from darkroom.errors import InvalidParameter, PolicyBlocked
from darkroom.trust.policy.normalize import (canonical, genuine_script, native, native_words, normalize_term,
                                             romanisable, script_scale, views)
from darkroom.trust.policy.rules import Category, Group, RuleSet, load_rules

log = logging.getLogger("darkroom.policy")

# Fixed in code as well as in the shipped pack, so no data file can make them switchable.
ABSOLUTE_CATEGORIES = frozenset({"sexual_minors"})
SETTINGS_FILE = "policy.yaml"
_LEVELS = ("off", "warn", "on", "block")
_RANK = {"allow": 0, "warn": 1, "block": 2}
LAYERS = ("terms", "semantic")


def _level(value) -> str:
    # YAML 1.1 reads a bare off/on/no/yes as a boolean
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value).strip().lower()


def is_negative_field(name: str) -> bool:
    return "negative" in name.lower()


@lru_cache(maxsize=4096)
def _short_romanised(term: str, evidence: str) -> bool:
    return (len(evidence) <= 4 and bool(term) and romanisable(term) and evidence.isascii()
            and evidence != normalize_term(term))


class _Matches(list):
    """A field's matches (rules.Match), with `skips`: per view, the word positions that do not
    count as words between two matches (see Policy._gap)."""

    skips: dict = {}


def _concept(m) -> tuple[str, str, str, str]:
    return (m.group, m.evidence, m.lang, m.how)


def _concepts(matches: dict, groups) -> tuple:
    out = []
    for ms in matches.values():
        for m in ms:
            if m.group in groups and _concept(m) not in out:
                out.append(_concept(m))
    return tuple(out)


@dataclass(frozen=True)
class Hit:
    """One rule that fired."""

    category: str
    rule: str
    action: str
    layer: str  # "terms" or "semantic"
    evidence: tuple[str, ...]
    fields: tuple[str, ...]
    absolute: bool
    score: float | None = None
    # the concept words behind the hit: (concept, normalised words, language, how matched)
    concepts: tuple[tuple[str, str, str, str], ...] = ()


@dataclass(frozen=True)
class Decision:
    action: str  # allow | warn | block
    category: str | None
    rule: str | None
    evidence: tuple[str, ...]
    policy_version: str
    absolute: bool = False
    hits: tuple[Hit, ...] = ()
    title: str | None = None
    concepts: dict = field(default_factory=dict)  # concept -> ["words [language, how]", ...]

    @property
    def blocked(self) -> bool:
        return self.action == "block"

    @property
    def allowed(self) -> bool:
        return self.action == "allow"

    def message(self) -> str:
        if self.action == "allow":
            return f"allowed (policy {self.policy_version})"
        why = f"{self.title or self.category} (rule {self.rule}; matched: {', '.join(self.evidence)})"
        if self.action == "warn":
            return f"warning: {why}; policy {self.policy_version}"
        if self.absolute:
            hint = "This category is absolute and cannot be switched off. Rephrase the prompt."
        else:
            hint = ("Rephrase the prompt; an administrator can configure this category in "
                    f"<data dir>/{SETTINGS_FILE}.")
        return f"blocked by policy {self.policy_version}: {why}. {hint}"

    def raise_if_blocked(self) -> "Decision":
        if self.blocked:
            raise PolicyBlocked(self.message())
        return self

    def to_dict(self) -> dict:
        """What goes to the audit log and the API (evidence is normalised text, not the prompt)."""
        d = asdict(self)
        d["hits"] = [asdict(h) for h in self.hits]
        d["evidence"] = list(self.evidence)
        d["concepts"] = {k: list(v) for k, v in self.concepts.items()}
        # what fired, without the words (evidence, hits and concepts hold normalised prompt
        # words and are personal; this summary is not)
        d["rules"] = [{"category": h.category, "rule": h.rule, "action": h.action, "layer": h.layer,
                       "absolute": h.absolute, "score": h.score} for h in self.hits]
        return d


@dataclass(frozen=True)
class CategoryState:
    id: str
    title: dict
    absolute: bool
    level: str  # off | warn | on | block
    semantic: bool
    source: str


@dataclass
class Policy:
    rules: RuleSet
    levels: dict[str, str]
    semantic_for: set[str]
    version: str
    layers: tuple[str, ...] = LAYERS
    notices: list[str] = field(default_factory=list)
    settings_file: Path | None = None
    _index: object = field(default=None, repr=False)
    _signals: dict | None = field(default=None, repr=False)

    # ---- loading -------------------------------------------------------------------
    @classmethod
    def load(cls, settings=None, *, layers: tuple[str, ...] = LAYERS) -> "Policy":
        """Shipped packs + the administrator's `<data dir>/policy.yaml` (if any).

        `layers` selects the matching layers, for measurements; production code leaves it.
        """
        home = None
        if settings is not None:
            home = Path(settings.home)
        else:
            from darkroom.settings import Settings

            home = Path(Settings().home)
        path = Path(getattr(settings, "policy_file", None) or home / SETTINGS_FILE)
        admin: dict = {}
        raw = b""
        if path.is_file():
            raw = path.read_bytes()
            try:
                admin = yaml.safe_load(raw) or {}
            except yaml.YAMLError as err:
                raise InvalidParameter(f"{path} is not valid YAML: {err}") from err
            if not isinstance(admin, dict):
                raise InvalidParameter(f"{path} must be a mapping (categories:, semantic:, ...)")
        extra = [home / p for p in (admin.get("extra_packs") or [])]
        rules = load_rules(extra)
        notices: list[str] = []

        for gname, terms in (admin.get("extra_terms") or {}).items():
            if gname not in rules.groups:
                raise InvalidParameter(f"{path}: extra_terms names unknown group {gname!r}; "
                                       f"known: {', '.join(sorted(rules.groups))}")
            g = rules.groups[gname]
            rules.groups[gname] = Group(name=g.name, terms=g.terms + list(terms), description=g.description)
            rules.groups[gname].compile()

        semantic_default = bool(admin.get("semantic", True))
        levels: dict[str, str] = {}
        semantic_for: set[str] = set()
        conf = admin.get("categories") or {}
        for name in conf:
            if name not in rules.categories:
                raise InvalidParameter(f"{path}: unknown policy category {name!r}; "
                                       f"known: {', '.join(rules.categories)}")
        for cid, cat in rules.categories.items():
            absolute = cat.absolute or cid in ABSOLUTE_CATEGORIES
            cat.absolute = absolute
            c = conf.get(cid)
            level, sem = "on", semantic_default
            if isinstance(c, dict):
                level = _level(c.get("action", c.get("level", "on")))
                if "enabled" in c and not c["enabled"]:
                    level = "off"
                sem = bool(c.get("semantic", sem))
            elif c is not None:
                level = _level(c)
            if level not in _LEVELS:
                raise InvalidParameter(f"{path}: category {cid}: {level!r} is not one of {', '.join(_LEVELS)}")
            if absolute:
                if c is not None and (level != "on" or not sem):
                    notices.append(f"{path}: category {cid!r} is absolute; the setting {c!r} is ignored")
                level, sem = "on", True
            levels[cid] = level
            if sem and cat.semantic is not None:
                semantic_for.add(cid)
        digest = hashlib.sha256(rules.digest.encode() + b"\0" + raw).hexdigest()
        for n in notices:
            log.warning(n)
        return cls(rules=rules, levels=levels, semantic_for=semantic_for,
                   version=f"{rules.version}+{digest[:10]}", layers=tuple(layers), notices=notices,
                   settings_file=path)

    def warm(self) -> "Policy":
        """Load everything a first check would: term indexes, the speller and, with the
        semantic layer, the sentence model (semantic.get_embedder) and the reference vectors.
        Safe to call from a background thread while checks run."""
        self.rules.speller()
        self.rules.native_speller()
        self.rules.phonetic_speller()
        self.rules.arabizi_index()
        if "semantic" in self.layers and self.semantic_for:
            self.check("a photo")
            for cid in self.semantic_for:
                for concept in self.rules.categories[cid].semantic.signals or {}:
                    self._signal(cid, concept).vectors()
            if self._sentence_categories():
                from darkroom.trust.policy.semantic import SemanticIndex, get_embedder

                if self._index is None:
                    self._index = SemanticIndex(self.rules.categories)
                self._index._ensure(get_embedder())
        return self

    def _signal(self, cid: str, concept: str):
        from darkroom.trust.policy.semantic import SignalIndex

        signals = self._signals
        if signals is None:
            signals = self._signals = {}
        key = (cid, concept)
        if key not in signals:
            signals[key] = SignalIndex(self.rules.categories[cid].semantic.signals[concept])
        return signals[key]

    # ---- inspection ----------------------------------------------------------------
    def categories(self) -> list[CategoryState]:
        cats = sorted(self.rules.categories.values(), key=lambda c: not c.absolute)  # absolute first
        return [CategoryState(id=c.id, title=c.title, absolute=c.absolute, level=self.levels[c.id],
                              semantic=c.id in self.semantic_for, source=Path(c.source).name)
                for c in cats]

    def _action(self, cat: Category, action: str) -> str:
        level = self.levels[cat.id]
        if level == "off":
            return "allow"
        if level == "warn" and action == "block":
            return "warn"
        if level == "block" and action == "warn":
            return "block"
        return action

    # ---- checking ------------------------------------------------------------------
    def _matches(self, texts: dict[str, str]) -> dict[str, list]:
        """Per field: every term occurrence (rules.Match), negative fields as implied groups."""
        from dataclasses import replace

        out: dict[str, list] = {}
        for fname, text in texts.items():
            if not text or not text.strip():
                continue
            vs = [self.rules.mask(v) for v in views(text)]
            nat = native(text)
            if is_negative_field(fname):
                implied = self.rules.negative_implies
                ms = self.rules.scan(vs, nat, fuzzy=False, groups=set(implied))
                out[fname] = [replace(m, group=implied[m.group], evidence=f"{m.evidence} (avoided in {fname})")
                              for m in ms]
            else:
                skips: dict[int, frozenset] = {}
                scale = script_scale(text)
                out[fname] = _Matches(self.rules.scan(vs, nat, scale=scale, native_words=native_words(text),
                                                      skips=skips, genuine=scale is not None and genuine_script(text)))
                out[fname].skips = skips
        return out

    def _group_hits(self, texts: dict[str, str], matches: dict | None = None) -> dict[str, list[tuple[str, str]]]:
        matches = self._matches(texts) if matches is None else matches
        found: dict[str, list[tuple[str, str]]] = {}
        for fname, ms in matches.items():
            for m in ms:
                lst = found.setdefault(m.group, [])
                if (m.evidence, fname) not in lst:
                    lst.append((m.evidence, fname))
        for lst in found.values():  # "nude (spaced)" adds nothing next to "nude"
            evs = {e for e, _ in lst}
            lst[:] = [(e, f) for e, f in lst if not (e.endswith(" (spaced)") and e[:-9] in evs)]
        return found

    @staticmethod
    def _gap(a, b, skips=None) -> int:
        """Words between two matches; an age between them ("flicka 12år naken", "koritsi 12
        xronwn gymno") and an intensifier ("toute nue") are not counted (rules.RuleSet.scan
        `skips`)."""
        lo, hi = min(a.end, b.end), max(a.start, b.start)
        gap = hi - lo
        if a.view == -1:
            return gap // 2  # native script: characters, about two to a word
        if gap > 0 and skips:
            gap -= sum(1 for i in skips.get(a.view, ()) if lo <= i < hi)
        return gap

    def _same_language(self, a, b) -> bool:
        """False when one of two matches is a short romanisation of a Cyrillic or Greek word
        ("hola" for Ukrainian "гола", also Spanish for hello) and the other match is a word of
        none of its languages."""
        for x, y in ((a, b), (b, a)):
            if _short_romanised(x.term, x.evidence):
                # every term the romanisation spells ("holi": "голи", "голі")
                langs = set().union(*(self.rules._term_langs(g, t) for g, t, _s in
                                      self.rules._index.get(tuple(x.evidence.split()), ()) if g == x.group))
                if not langs & self.rules._term_langs(y.group, y.term):
                    return False
        return True

    def _near(self, matches: dict, slots: list[list[str]], within: int, anchor: list[str] = ()) -> list:
        """Matches of every slot lying within `within` words of each other in one view of one
        field; with `anchor`, also a match of an anchor group within `within` words of the pair."""
        for fname, ms in matches.items():
            skips = getattr(ms, "skips", None)
            for a in ms:
                if a.group not in slots[0] or a.start < 0:
                    continue
                for b in ms:
                    if (b.group not in slots[1] or b.view != a.view or b.start < 0
                            or self._gap(a, b, skips) > within or not self._same_language(a, b)):
                        continue
                    if not anchor:
                        return [(a, fname), (b, fname)]
                    for c in ms:
                        if (c.group in anchor and c.view == a.view and c.start >= 0
                                and min(self._gap(a, c, skips), self._gap(b, c, skips)) <= within):
                            return [(c, fname), (a, fname), (b, fname)]
        return []

    def _term_hits(self, texts: dict[str, str], found: dict | None = None, matches: dict | None = None) -> list[Hit]:
        matches = self._matches(texts) if matches is None else matches
        found = self._group_hits(texts, matches) if found is None else found
        hits = []
        for cat in self.rules.categories.values():
            if self.levels[cat.id] == "off":
                continue
            for rule in cat.rules:
                if any(g in found for g in rule.unless):
                    continue
                if rule.near:
                    pair = self._near(matches, rule.near, rule.within, rule.anchor)
                    if not pair:
                        continue
                    ev = [m.evidence for m, _ in pair]
                    fields = list(dict.fromkeys(f for _, f in pair))
                    concepts = tuple(_concept(m) for m, _ in pair)
                else:
                    if not all(any(g in found for g in slot) for slot in rule.all):
                        continue
                    ev, fields = [], []
                    for slot in rule.all:
                        for g in slot:
                            for e, f in found.get(g, []):
                                if e not in ev:
                                    ev.append(e)
                                if f not in fields:
                                    fields.append(f)
                    wanted = {g for slot in rule.all for g in slot}
                    concepts = _concepts(matches, wanted)
                hits.append(Hit(category=cat.id, rule=rule.id, action=self._action(cat, rule.action),
                                layer="terms", evidence=tuple(ev), fields=tuple(fields),
                                absolute=cat.absolute, concepts=concepts))
        return hits

    def _unmasked(self, text: str) -> str:
        from darkroom.trust.policy.normalize import View

        v = self.rules.mask(View(text=f" {text} ", leet=False, squeezed=()))
        return " ".join(w for w in v.text.split() if not w.startswith("_"))

    def _concept_semantic(self, texts: dict[str, str], found: dict, matches: dict) -> list[Hit]:
        """Absolute categories with per-clause `signals`: the semantic layer supplies the concept
        the terms did not name (a preteen + "showing off her body in a suggestive way"), never
        both: without a minor or a sexual term it stays silent."""
        hits = []
        for cid in self.semantic_for:
            cat = self.rules.categories[cid]
            sem = cat.semantic
            if not cat.absolute or not sem.signals:
                continue
            named = {k for k in sem.signals if k in found}
            missing = [k for k in sem.signals if k not in found]
            if not named or not missing:
                continue  # nothing named (silent), or every concept named (the terms decide)
            segs = self._clauses(texts)
            for concept in missing:
                sig = sem.signals[concept]
                sim, margin, seg, ref = self._signal(cid, concept).best(segs)
                if sim >= sig.threshold and margin >= sig.margin:
                    ev = [e for g in named for e, _ in found[g]]
                    ev.append(f"{seg!r} ~ {ref!r} ({sim:.2f})")
                    concepts = _concepts(matches, named) + ((concept, seg, "en", f"semantic {sim:.2f}"),)
                    fields = list(dict.fromkeys(f for g in named for _, f in found[g]))
                    hits.append(Hit(category=cid, rule=f"{cid}.semantic", action=self._action(cat, sem.action),
                                    layer="semantic", evidence=tuple(ev), fields=tuple(fields),
                                    absolute=cat.absolute, score=round(sim, 4), concepts=concepts))
                    break
        return hits

    def _semantic_hits(self, texts: dict[str, str], found: dict) -> list[Hit]:
        from darkroom.trust.policy.semantic import SemanticIndex

        cats = self._sentence_categories()
        names, items = self._sentence_items(texts)
        if not cats or not items:
            return []
        if self._index is None:
            self._index = SemanticIndex(self.rules.categories)
        scores = self._index.scores(items, cats)
        hits = []
        for cid in cats:
            cat = self.rules.categories[cid]
            sem = cat.semantic
            threshold = sem.threshold
            if sem.gate and not any(g in found for g in sem.gate):
                if sem.ungated_threshold is None:
                    continue
                threshold = sem.ungated_threshold
            for fname, (sim, margin, seg, ref) in zip(names, scores[cid]):
                if sim >= threshold and margin >= sem.margin:
                    hits.append(Hit(category=cid, rule=f"{cid}.semantic", action=self._action(cat, sem.action),
                                    layer="semantic", evidence=(f"{seg!r} ~ {ref!r} ({sim:.2f})",),
                                    fields=(fname,), absolute=cat.absolute, score=round(sim, 4),
                                    concepts=((cid, seg, "", f"semantic {sim:.2f} ~ {ref!r}"),)))
                    break
        return hits

    def _clauses(self, texts: dict[str, str]) -> list[str]:
        """The clauses and short windows of every positive text (the per-clause layer reads them)."""
        from darkroom.trust.policy.semantic import clauses

        segs: list[str] = []
        for k, v in texts.items():
            if v and v.strip() and not is_negative_field(k):
                segs += [c for c in clauses(v, clean=self._unmasked) if c not in segs]
        return segs

    def _needs_clauses(self, found: dict) -> bool:
        """True when an absolute category's per-clause signals have one concept named, one not."""
        for cid in self.semantic_for:
            sig = self.rules.categories[cid].semantic.signals
            if self.rules.categories[cid].absolute and sig:
                if any(k in found for k in sig) and any(k not in found for k in sig):
                    return True
        return False

    def _sentence_categories(self) -> list[str]:
        return [cid for cid in self.semantic_for if self.levels[cid] != "off"
                and not (self.rules.categories[cid].absolute and self.rules.categories[cid].semantic.signals)]

    @staticmethod
    def _sentence_items(texts: dict[str, str]) -> tuple[list[str], list[str]]:
        """(field names, normalised texts) for the whole-text layer; several fields also together."""
        positive = {k: canonical(v) for k, v in texts.items() if v and v.strip() and not is_negative_field(k)}
        positive = {k: v for k, v in positive.items() if v}
        names = list(positive)
        items = [positive[k] for k in names]
        if len(items) > 1:
            names.append("+".join(names))
            items.append(" ".join(items))
        return names, items

    def _segments(self, texts: dict[str, str], found: dict) -> list[str]:
        """Every text the semantic layer will embed for this request, for one encoder call."""
        from darkroom.trust.policy.semantic import segments

        out = self._clauses(texts) if self._needs_clauses(found) else []
        if self._sentence_categories():
            out += [s for item in self._sentence_items(texts)[1] for s in segments(item)]
        return list(dict.fromkeys(out))

    def _prefetch(self, segs: list[str]) -> None:
        from darkroom.trust.policy.semantic import get_embedder

        if segs:
            get_embedder().embed(segs)

    def check_many(self, requests: list[dict[str, str] | str]) -> list[Decision]:
        """`check` for many requests; the semantic layer embeds their texts in batches."""
        if "semantic" in self.layers and self.semantic_for:
            pending: list[str] = []
            for texts in requests:
                texts = {"prompt": texts} if isinstance(texts, str) else texts
                matches = self._matches(texts)
                found = self._group_hits(texts, matches)
                if any(h.action == "block" for h in self._term_hits(texts, found, matches)):
                    continue  # decided without the semantic layer
                pending += self._segments(texts, found)
            self._prefetch(pending)
        return [self.check(t) for t in requests]

    def check(self, texts: dict[str, str] | str) -> Decision:
        """Judge every text of one generation request; the most severe hit decides."""
        if isinstance(texts, str):
            texts = {"prompt": texts}
        hits: list[Hit] = []
        matches = self._matches(texts)
        found = self._group_hits(texts, matches)
        if "terms" in self.layers:
            hits += self._term_hits(texts, found, matches)
        # The semantic layer looks for what the term lists missed; a term block already decides.
        if "semantic" in self.layers and self.semantic_for and not any(h.action == "block" for h in hits):
            self._prefetch(self._segments(texts, found))  # one encoder call for both layers
            hits += self._concept_semantic(texts, found, matches)
            if not any(h.action == "block" for h in hits):
                hits += self._semantic_hits(texts, found)
        hits = [h for h in hits if h.action != "allow"]
        if not hits:
            return Decision(action="allow", category=None, rule=None, evidence=(), policy_version=self.version)
        hits.sort(key=lambda h: (-_RANK[h.action], not h.absolute, h.layer != "terms"))
        top = hits[0]
        cat = self.rules.categories[top.category]
        concepts: dict[str, list[str]] = {}
        for c, words, lang, how in top.concepts:
            item = f"{words} [{lang or '?'}, {how}]"
            if item not in concepts.setdefault(c, []):
                concepts[c].append(item)
        return Decision(action=top.action, category=top.category, rule=top.rule, evidence=top.evidence,
                        policy_version=self.version, absolute=top.absolute, hits=tuple(hits),
                        title=cat.title.get("en", cat.id), concepts=concepts)
