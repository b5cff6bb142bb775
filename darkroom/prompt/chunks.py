"""From weighted fragments to token chunks, the way A1111 builds them.

A CLIP text encoder sees a fixed context (77 positions for SD: BOS, 75 tokens, EOS).
A longer prompt is cut into chunks of `context - 2` tokens; each chunk is wrapped as

    [BOS] t1 t2 ... tn [EOS] [PAD] ... [PAD]        (exactly `context` ids)

and encoded on its own, so nothing is ever truncated. A chunk ends when

- it is full. If a comma lies within the last `comma_backtrack` (20) tokens, the
  tokens after that comma move to the next chunk, so a phrase is not split;
- BREAK: the chunk is padded and a new one begins (even an empty one);
- the prompt ends.

Every size and special id comes from the tokenizer and the encoder's config
(`TokenizerSpec`), so the same code serves SD1 (pad = EOS), SD2/SDXL's second
tokenizer (pad = "!") and the embedded mini model (its own vocabulary and context).

Text is cleaned the way CLIP's own tokenizer cleans it before BPE (ftfy, HTML
entities; see `clean_text`), so ids equal open_clip's SimpleTokenizer.
"""

from __future__ import annotations

import html
import unicodedata
from dataclasses import dataclass, field

from darkroom.errors import ModelError
from darkroom.prompt.syntax import BREAK, Fragment, ParsedPrompt, parse

# Used only when neither the tokenizer nor a text encoder states its context length
# (a bare vocab.json/merges.txt tokenizer says 1e30): CLIP's context, as in its paper.
CLIP_CONTEXT_LENGTH = 77
# A1111's "comma_padding_backtrack" default.
COMMA_BACKTRACK = 20

try:  # CLIP's tokenizer runs ftfy first; the HF fast tokenizer does not.
    import ftfy as _ftfy
except ImportError:  # pragma: no cover - exercised only where ftfy is missing
    _ftfy = None


def clean_text(text: str) -> str:
    """CLIP's `basic_clean`: repair mojibake, unify quotes and widths (ftfy), decode HTML
    entities. Lower-casing and whitespace are left to the tokenizer's normaliser."""
    if _ftfy is not None:
        text = _ftfy.fix_text(text)
    else:  # the parts of ftfy that matter most for prompts
        text = unicodedata.normalize("NFKC", text)
        text = text.translate({0x2018: "'", 0x2019: "'", 0x201C: '"', 0x201D: '"'})
    return html.unescape(html.unescape(text)).strip()


@dataclass(frozen=True)
class TokenizerSpec:
    """The sizes and special ids a chunk is built from."""

    bos_id: int
    eos_id: int
    pad_id: int
    comma_id: int | None
    context_length: int  # ids per chunk, BOS and EOS included

    @property
    def chunk_length(self) -> int:
        return self.context_length - 2


def _sane_length(value) -> int | None:
    return int(value) if isinstance(value, int) and 2 < value < 1_000_000 else None


def tokenizer_spec(tokenizer, text_encoder=None, context_length: int | None = None) -> TokenizerSpec:
    """Read the special ids from `tokenizer` and the context length from (in order)
    `context_length`, the smaller of the tokenizer's `model_max_length` and the encoder's
    `max_position_embeddings`, or CLIP's 77 when neither says."""
    if context_length is None:
        candidates = [_sane_length(getattr(tokenizer, "model_max_length", None))]
        if text_encoder is not None:
            candidates.append(_sane_length(getattr(text_encoder.config, "max_position_embeddings", None)))
        candidates = [c for c in candidates if c]
        context_length = min(candidates) if candidates else CLIP_CONTEXT_LENGTH
    if context_length < 3:
        raise ModelError(f"a text encoder context of {context_length} positions cannot hold a prompt.")
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    if bos is None or eos is None:
        raise ModelError(
            f"the tokenizer {type(tokenizer).__name__} has no start/end token; "
            "darkroom needs a CLIP-style tokenizer (bos_token and eos_token set)."
        )
    pad = tokenizer.pad_token_id
    comma = tokenizer(",", add_special_tokens=False)["input_ids"]
    return TokenizerSpec(
        bos_id=bos,
        eos_id=eos,
        pad_id=eos if pad is None else pad,
        comma_id=comma[0] if len(comma) == 1 else None,
        context_length=context_length,
    )


@dataclass(frozen=True)
class Token:
    id: int
    weight: float
    part: int  # index into ParsedPrompt.parts of the fragment it came from


@dataclass
class Chunk:
    tokens: list[Token] = field(default_factory=list)
    end: str = "end"  # why it ended: "full", "comma" (moved back to a comma), "BREAK", "end"

    def input_ids(self, spec: TokenizerSpec) -> list[int]:
        fill = spec.chunk_length - len(self.tokens)
        return [spec.bos_id, *(t.id for t in self.tokens), spec.eos_id] + [spec.pad_id] * fill

    def weights(self, spec: TokenizerSpec) -> list[float]:
        fill = spec.chunk_length - len(self.tokens)
        return [1.0, *(t.weight for t in self.tokens), 1.0] + [1.0] * fill


@dataclass
class TokenizedPrompt:
    parsed: ParsedPrompt
    spec: TokenizerSpec
    chunks: list[Chunk]
    part_ids: list[list[int]]  # the token ids of each part (empty for BREAK)

    @property
    def token_count(self) -> int:
        return sum(len(c.tokens) for c in self.chunks)


def tokenize_fragments(tokenizer, texts: list[str]) -> list[list[int]]:
    """Token ids of each text, cleaned like CLIP, without special tokens or truncation."""
    if not texts:
        return []
    cleaned = [clean_text(t) for t in texts]
    return tokenizer(cleaned, add_special_tokens=False, truncation=False, verbose=False)["input_ids"]


def tokenize_prompt(
    tokenizer,
    prompt: str | ParsedPrompt,
    spec: TokenizerSpec | None = None,
    *,
    comma_backtrack: int = COMMA_BACKTRACK,
) -> TokenizedPrompt:
    """Parse (if needed), tokenize each fragment and cut the tokens into chunks."""
    parsed = prompt if isinstance(prompt, ParsedPrompt) else parse(prompt)
    spec = spec or tokenizer_spec(tokenizer)
    size = spec.chunk_length

    texts = [p.text for p in parsed.parts if isinstance(p, Fragment)]
    ids_iter = iter(tokenize_fragments(tokenizer, texts))
    part_ids = [[] if p is BREAK else list(next(ids_iter)) for p in parsed.parts]

    chunks: list[Chunk] = []
    current = Chunk()
    last_comma = -1  # index in current.tokens of its last comma

    def close(reason: str) -> None:
        nonlocal current, last_comma
        current.end = reason
        chunks.append(current)
        current = Chunk()
        last_comma = -1

    for index, part in enumerate(parsed.parts):
        if part is BREAK:
            close("BREAK")
            continue
        for token_id in part_ids[index]:
            if token_id == spec.comma_id:
                last_comma = len(current.tokens)
            elif (
                comma_backtrack > 0
                and len(current.tokens) == size
                and last_comma != -1
                and size - last_comma <= comma_backtrack
            ):
                moved = current.tokens[last_comma + 1 :]
                del current.tokens[last_comma + 1 :]
                close("comma" if moved else "full")
                current.tokens = moved
            if len(current.tokens) == size:
                close("full")
            current.tokens.append(Token(token_id, part.weight, index))

    if current.tokens or not chunks:
        close("end")
    return TokenizedPrompt(parsed=parsed, spec=spec, chunks=chunks, part_ids=part_ids)
