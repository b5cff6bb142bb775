"""A1111's prompt-attention syntax: which part of a prompt gets which weight.

    a (cat) on a [mat]   ->  "a " 1.0, "cat" 1.1, " on a " 1.0, "mat" 1/1.1
    (cat:1.3)            ->  "cat" 1.3
    ((cat))              ->  "cat" 1.21            (nesting multiplies)
    \\(literal\\)          ->  "(literal)" 1.0       (escapes: \\( \\) \\[ \\] \\\\ \\:)
    a BREAK b            ->  "a", BREAK, "b"       (BREAK starts a new 75-token chunk)

The semantics are those of AUTOMATIC1111's `parse_prompt_attention` (its documented
examples are in tests/test_prompt_syntax.py), including how it tolerates mistakes:
an unclosed `(` or `[` weights everything after it, an unmatched `)` or `]` and a
`:1.2)` without its `(` stay literal text, a lone backslash is dropped, and runs of
equal weight are merged. Three deliberate differences, each reported as a note:

- `\\:` is a literal colon. (A1111 drops the backslash and still reads `(a\\:1.2)` as
  weight 1.2, so a colon could not be written inside round brackets before a number.)
- `BREAK` inside brackets is still a chunk break. (A1111 multiplies its internal
  marker weight and then encodes the word "BREAK" with a negative weight.)
- A malformed weight such as `(a:1.2.3)` keeps the colon as text instead of crashing.

The parser knows nothing about tokens; chunking and encoding live in chunks.py and
encode.py.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import NamedTuple, Union

ROUND_MULTIPLIER = 1.1
SQUARE_MULTIPLIER = 1 / 1.1


class Fragment(NamedTuple):
    """A run of prompt text and the weight its tokens get."""

    text: str
    weight: float


class Break:
    """The BREAK keyword: the current chunk ends here (padded), the next one begins."""

    _instance: Break | None = None

    def __new__(cls) -> Break:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "BREAK"


BREAK = Break()

Part = Union[Fragment, Break]


@dataclass(frozen=True)
class SyntaxNote:
    """Something the parser tolerated that the user probably did not mean."""

    position: int  # character offset in the prompt
    message: str


@dataclass
class ParsedPrompt:
    text: str
    parts: list[Part]
    notes: list[SyntaxNote] = field(default_factory=list)

    @property
    def fragments(self) -> list[Fragment]:
        return [p for p in self.parts if isinstance(p, Fragment)]


# One alternative per lexical element, tried in this order (as A1111's re_attention).
_LEXER = re.compile(
    r"""
      (?P<escape>\\[()\[\]\\:])              # \( \) \[ \] \\ \:  ->  the character itself
    | (?P<backslash>\\)                      # any other backslash is dropped
    | (?P<open>[(\[])
    | :\s*(?P<weight>[+-]?[.\d]+)\s*\)       # ":1.3)" closes a round bracket with a weight
    | (?P<close>[)\]])
    | (?P<text>[^\\()\[\]:]+)
    | (?P<colon>:)
    """,
    re.VERBOSE,
)
_BREAK = re.compile(r"\s*\bBREAK\b\s*", re.DOTALL)


LORA_TAG = re.compile(r"<lora:([^<>]*)>", re.IGNORECASE)
MAX_LORA_WEIGHT = 10.0


class NetworkTag(NamedTuple):
    """An A1111 extra-network tag, `<lora:name:0.8>`: a LoRA applied to the whole picture."""

    name: str
    weight: float


def network_tags(text: str) -> list[NetworkTag]:
    """The `<lora:name[:weight]>` tags of a prompt, in order (weight 1 when left out)."""
    from darkroom.errors import InvalidParameter

    tags = []
    for match in LORA_TAG.finditer(text):
        name, _, rest = match.group(1).partition(":")
        weight_text = rest.split(":")[0].strip() or "1"
        try:
            weight = float(weight_text)
        except ValueError:
            weight = math.nan
        if not math.isfinite(weight) or abs(weight) > MAX_LORA_WEIGHT:
            raise InvalidParameter(f"{match.group(0)[:80]}: the weight must be a number from -{MAX_LORA_WEIGHT:g} "
                                   f"to {MAX_LORA_WEIGHT:g}, e.g. <lora:{name.strip()[:40]}:0.8>")
        if not name.strip():
            raise InvalidParameter(f"{match.group(0)[:80]}: name the LoRA, e.g. <lora:name:0.8>")
        tags.append(NetworkTag(name.strip(), weight))
    return tags


def strip_network_tags(text: str) -> str:
    """The prompt without its `<lora:...>` tags: they choose networks, they are not text to encode."""
    return LORA_TAG.sub("", text)


def parse(text: str) -> ParsedPrompt:
    """Parse `text` into weighted fragments and BREAKs, with notes on tolerated mistakes.
    `<lora:...>` tags are left out (positions in notes are those of the text without them)."""
    source, text = text, strip_network_tags(text)
    entries: list[list] = []  # [text, weight] or [BREAK, None], mutable while brackets close
    notes: list[SyntaxNote] = []
    rounds: list[tuple[int, int]] = []  # (index into entries, character position)
    squares: list[tuple[int, int]] = []

    def note(pos: int, message: str) -> None:
        notes.append(SyntaxNote(pos, message))

    def multiply(start: int, multiplier: float) -> None:
        for entry in entries[start:]:
            if entry[0] is not BREAK:
                entry[1] *= multiplier

    def add_text(chunk: str, pos: int) -> None:
        pieces = _BREAK.split(chunk)
        for i, piece in enumerate(pieces):
            if i > 0:
                if rounds or squares:
                    note(pos, "BREAK inside brackets: darkroom starts a new chunk here; A1111 would "
                              "encode the word BREAK with a negative weight. Close the brackets before BREAK.")
                entries.append([BREAK, None])
            entries.append([piece, 1.0])

    pos = 0
    while pos < len(text):
        m = _LEXER.match(text, pos)
        kind = m.lastgroup
        token = m.group(0)
        if kind == "escape":
            entries.append([token[1], 1.0])
        elif kind == "backslash":
            note(pos, "a lone backslash is dropped; write \\\\ for a literal backslash.")
        elif kind == "open":
            (rounds if token == "(" else squares).append((len(entries), pos))
        elif kind == "weight":
            number = m.group("weight")
            try:
                weight = float(number)
            except ValueError:
                note(pos, f"'{number}' is not a number, so ':{number}' is kept as text.")
                entries.append([":", 1.0])
                pos += 1
                continue
            if rounds:
                multiply(rounds.pop()[0], weight)
            else:
                note(pos, f"'{token}' has no opening '(' and is kept as text; write (word:{number}).")
                add_text(token, pos)
        elif kind == "close" and token == ")" and rounds:
            multiply(rounds.pop()[0], ROUND_MULTIPLIER)
        elif kind == "close" and token == "]" and squares:
            multiply(squares.pop()[0], SQUARE_MULTIPLIER)
        else:  # text, a colon, or a closing bracket without its opening one
            if kind == "close":
                note(pos, f"unmatched '{token}' is kept as text; escape it as \\{token} to mean that.")
            elif kind == "colon" and squares and not any("prompt editing" in n.message for n in notes):
                note(pos, "prompt editing/alternation ([from:to:when], [a|b]) is not supported; "
                          "the text inside [...] is encoded literally with weight /1.1.")
            add_text(token, pos)
        pos = m.end()

    for start, where in rounds:
        note(where, "'(' is never closed: everything after it is weighted x1.1.")
        multiply(start, ROUND_MULTIPLIER)
    for start, where in squares:
        note(where, "'[' is never closed: everything after it is weighted /1.1.")
        multiply(start, SQUARE_MULTIPLIER)

    if not entries:
        entries = [["", 1.0]]

    # Merge neighbours of identical weight (A1111 does; it keeps the fragment list short).
    merged: list[list] = []
    for entry in entries:
        if merged and entry[0] is not BREAK and merged[-1][0] is not BREAK and merged[-1][1] == entry[1]:
            merged[-1][0] += entry[0]
        else:
            merged.append(list(entry))

    parts: list[Part] = [BREAK if e[0] is BREAK else Fragment(e[0], e[1]) for e in merged]
    notes.sort(key=lambda n: n.position)
    return ParsedPrompt(text=source, parts=parts, notes=notes)


def parse_prompt_attention(text: str) -> list[Part]:
    """The weighted fragments and BREAKs of `text` (A1111's function of the same name)."""
    return parse(text).parts


def as_a1111(parts: list[Part]) -> list[list]:
    """The same list in A1111's own shape: [[text, weight], ..., ["BREAK", -1], ...]."""
    return [["BREAK", -1] if p is BREAK else [p.text, p.weight] for p in parts]
