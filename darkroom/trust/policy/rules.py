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
  "re:REGEX"      a regular expression over the normalised view " word word ... "
German umlauts and ß are matched both as "a" and as "ae" ("mädchen", "maedchen", "madchen").
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from darkroom.errors import InvalidParameter
from darkroom.trust.policy.normalize import View, normalize_term

PACKS_DIR = Path(__file__).parent / "packs"
ACTIONS = ("allow", "warn", "block")
_UMLAUTS = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"}


def _spellings(term: str) -> list[str]:
    out = [term]
    if any(c in term for c in _UMLAUTS):
        out.append("".join(_UMLAUTS.get(c, c) for c in term))
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


@dataclass
class Group:
    name: str
    terms: list[str]
    description: str = ""
    _regex: re.Pattern | None = field(default=None, repr=False)
    _cores: list[tuple[str, str]] = field(default_factory=list, repr=False)

    def compile(self) -> None:
        parts, cores = [], []
        for term in self.terms:
            for spelling in _spellings(term):
                pattern, core = _term_pattern(spelling)
                parts.append(pattern)
                if core and len(core) >= 3:
                    cores.append((core, term))
        self._regex = re.compile("(?<= )(?:" + "|".join(f"(?:{p})" for p in parts) + ")(?= )")
        self._cores = cores

    def find(self, views: list[View]) -> list[str]:
        """Matched evidence (normalised text) in any view; empty if none."""
        if self._regex is None:
            self.compile()
        found: list[str] = []
        for view in views:
            for m in self._regex.finditer(view.text):
                if m.group(0).strip() and m.group(0).strip() not in found:
                    found.append(m.group(0).strip())
            for run in view.squeezed:
                for core, term in self._cores:
                    if core in run and f"{core} (spaced)" not in found:
                        found.append(f"{core} (spaced)")
        return [f for f in found if not (f.endswith(" (spaced)") and f[:-9] in found)]


@dataclass
class Rule:
    id: str
    all: list[list[str]]  # each slot: any of these groups
    action: str
    unless: list[str] = field(default_factory=list)
    note: str = ""


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


@dataclass
class RuleSet:
    version: str
    groups: dict[str, Group]
    masks: list[str]
    negative_implies: dict[str, str]
    categories: dict[str, Category]
    digest: str
    _mask_regex: re.Pattern | None = field(default=None, repr=False)

    def mask(self, view: View) -> View:
        """Hide benign phrases ("naked tree branches") before terms are matched."""
        if not self.masks:
            return view
        if self._mask_regex is None:
            parts = [_term_pattern(s)[0] for m in self.masks for s in _spellings(m)]
            self._mask_regex = re.compile("(?<= )(?:" + "|".join(parts) + ")(?= )")
        text = self._mask_regex.sub(lambda m: "_" * len(m.group(0)), view.text)
        return View(text=text, leet=view.leet, squeezed=view.squeezed)


def _slot(item) -> list[str]:
    return list(item) if isinstance(item, list) else [item]


def _parse_category(data: dict, source: str) -> Category:
    cid = data["id"]
    action = data.get("action", "block")
    rules = []
    for r in data.get("rules", []):
        slots = r.get("all") or [r["any"]]
        rules.append(Rule(id=r["id"], all=[_slot(s) for s in slots],
                          action=r.get("action", action), unless=list(r.get("unless", [])),
                          note=r.get("note", "")))
    sem = None
    if data.get("semantic"):
        s = data["semantic"]
        sem = Semantic(references=list(s["references"]), contrast=list(s.get("contrast", [])),
                       threshold=float(s["threshold"]), margin=float(s.get("margin", 0.0)),
                       action=s.get("action", action), gate=list(s.get("gate", [])),
                       ungated_threshold=(float(s["ungated_threshold"]) if s.get("ungated_threshold") is not None
                                          else None))
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
                data = yaml.safe_load(raw) or {}
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
    for cat in categories.values():
        for rule in cat.rules:
            for name in [g for slot in rule.all for g in slot] + rule.unless:
                if name not in groups:
                    raise InvalidParameter(f"{cat.source}: rule {rule.id} uses unknown term group {name!r}")
        for name in cat.semantic.gate if cat.semantic else []:
            if name not in groups:
                raise InvalidParameter(f"{cat.source}: semantic gate uses unknown term group {name!r}")
    for g in groups.values():
        g.compile()
    return RuleSet(version=version, groups=groups, masks=masks, negative_implies=implies,
                   categories=categories, digest=h.hexdigest())
