"""What the text encoder will see of a prompt: tokens, chunks, weights, and warnings.

    analysis = analyze(tokenizer, "a (red:1.3) fox, BREAK snow")
    print(format_analysis(analysis))

Uses exactly the parser and chunker that `encode_prompt` uses, so the table is the
truth about generation, not an approximation of it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass, field

from darkroom.prompt.chunks import TokenizerSpec, tokenize_prompt, tokenizer_spec
from darkroom.prompt.syntax import Fragment


@dataclass(frozen=True)
class TokenInfo:
    text: str  # the token as readable text ("cat", "," ...); raw BPE symbols where not printable
    id: int
    weight: float  # the effective weight after all brackets
    chunk: int  # 0-based chunk index
    position: int  # position in the chunk's encoder input (1 = first after BOS)


@dataclass(frozen=True)
class ChunkInfo:
    index: int
    first: int  # index into Analysis.tokens of its first token
    count: int  # tokens of the prompt in it (0 .. chunk_length)
    end: str  # why it ended: "full", "comma", "BREAK", "end"


@dataclass
class Analysis:
    prompt: str
    tokens: list[TokenInfo]
    chunks: list[ChunkInfo]
    chunk_length: int  # prompt tokens per chunk (75 for SD)
    context_length: int  # encoder positions per chunk (77 for SD)
    warnings: list[str] = field(default_factory=list)

    @property
    def token_count(self) -> int:
        return len(self.tokens)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["token_count"] = self.token_count
        return data


def _readable(tokenizer, token_id: int) -> str:
    """The token as text; a BPE piece that continues into the next token ends in "-"."""
    raw = tokenizer.convert_ids_to_tokens(token_id)
    text = tokenizer.decode([token_id]).strip()
    if not text or "\ufffd" in text:
        return raw
    if raw in tokenizer.all_special_tokens:
        return raw
    if _uses_word_end(tokenizer) and not raw.endswith("</w>"):
        return text + "-"
    return text


def _uses_word_end(tokenizer) -> bool:
    return tokenizer.convert_tokens_to_ids("a</w>") not in (None, tokenizer.unk_token_id)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def analyze(tokenizer, prompt: str, *, spec: TokenizerSpec | None = None) -> Analysis:
    """Tokenize `prompt` as `encode_prompt` would with this tokenizer. Pass `spec`
    (`tokenizer_spec(tokenizer, text_encoder)`) when the context length is known from
    the text encoder; otherwise it comes from the tokenizer (or CLIP's 77)."""
    spec = spec or tokenizer_spec(tokenizer)
    tp = tokenize_prompt(tokenizer, prompt, spec)
    parsed = tp.parsed

    tokens: list[TokenInfo] = []
    chunks: list[ChunkInfo] = []
    for c_index, chunk in enumerate(tp.chunks):
        chunks.append(ChunkInfo(index=c_index, first=len(tokens), count=len(chunk.tokens), end=chunk.end))
        for position, token in enumerate(chunk.tokens, start=1):
            tokens.append(TokenInfo(_readable(tokenizer, token.id), token.id, token.weight, c_index, position))

    warnings: list[str] = []
    if not prompt.strip():
        warnings.append("the prompt is empty: the image is generated without text guidance.")
    elif not tokens:
        warnings.append("the prompt has no tokens after parsing: only brackets, weights or BREAKs.")
    for note in parsed.notes:
        warnings.append(f"at character {note.position + 1}: {note.message}")

    special = {spec.bos_id: "start", spec.eos_id: "end"}
    unk = getattr(tokenizer, "unk_token_id", None)
    for index, part in enumerate(parsed.parts):
        if not isinstance(part, Fragment):
            continue
        ids = tp.part_ids[index]
        if part.text.strip() and not ids:
            warnings.append(f"'{_short(part.text)}' produces no tokens and is dropped.")
        if any(i in special for i in ids):
            names = sorted({special[i] for i in ids if i in special})
            warnings.append(
                f"'{_short(part.text)}' contains the tokenizer's {'/'.join(names)} token; "
                "the encoder treats it as the end of the text."
            )
        elif unk is not None and unk in ids:
            warnings.append(f"'{_short(part.text)}' contains characters this tokenizer does not know (unknown token).")
        if ids and part.weight <= 0:
            warnings.append(
                f"'{_short(part.text)}' has weight {part.weight:g}: zero or negative weights do not remove a "
                "concept (use the negative prompt); they distort the whole chunk."
            )
    return Analysis(
        prompt=prompt,
        tokens=tokens,
        chunks=chunks,
        chunk_length=spec.chunk_length,
        context_length=spec.context_length,
        warnings=warnings,
    )


_END = {
    "full": "full",
    "comma": "full; the words after the last comma moved to the next chunk",
    "BREAK": "BREAK",
    "end": "end of prompt",
}


def format_analysis(analysis: Analysis) -> str:
    """A plain-text table: one block per chunk, one row per token, weights != 1 marked."""
    a = analysis
    lines = [
        f"{a.token_count} tokens in {len(a.chunks)} chunk{'s' if len(a.chunks) != 1 else ''} "
        f"of {a.chunk_length} (each encoded as {a.context_length} positions: start, tokens, end, padding)",
    ]
    width = max([_width(t.text) for t in a.tokens] + [5])
    for chunk in a.chunks:
        lines.append("")
        lines.append(f"chunk {chunk.index + 1}: {chunk.count}/{a.chunk_length} tokens, ends at {_END[chunk.end]}")
        lines.append(f"  {'pos':>3}  {'id':>6}  {'token':<{width}}  weight")
        for t in a.tokens[chunk.first : chunk.first + chunk.count]:
            mark = "" if t.weight == 1.0 else ("  ↑" if t.weight > 1 else "  ↓")
            pad = " " * (width - _width(t.text))
            lines.append(f"  {t.position:>3}  {t.id:>6}  {t.text}{pad}  {t.weight:.3f}{mark}")
    if a.warnings:
        lines.append("")
        lines.append("warnings:")
        lines.extend(f"  - {w}" for w in a.warnings)
    return "\n".join(lines)
