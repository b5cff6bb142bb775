"""Prompt control: A1111 weighting syntax, 75-token chunks, encoding and token analysis.

    syntax.py   parse "(word:1.3) [word] BREAK" into weighted fragments
    chunks.py   tokenize the fragments into chunks of the text encoder's context
    encode.py   chunks -> prompt_embeds for a diffusers pipeline (SD1/SD2/SDXL), cached
    analyze.py  what the tokenizer makes of a prompt, for `darkroom prompt analyze`

Only syntax is imported eagerly; the rest loads torch/transformers on first use.
"""

from __future__ import annotations

import importlib

from darkroom.prompt.syntax import BREAK, Fragment, ParsedPrompt, parse, parse_prompt_attention

_LAZY = {
    "encode_prompt": "darkroom.prompt.encode",
    "PromptCache": "darkroom.prompt.encode",
    "tokenize_prompt": "darkroom.prompt.chunks",
    "tokenizer_spec": "darkroom.prompt.chunks",
    "clean_text": "darkroom.prompt.chunks",
    "analyze": "darkroom.prompt.analyze",
    "Analysis": "darkroom.prompt.analyze",
    "format_analysis": "darkroom.prompt.analyze",
}

__all__ = ["BREAK", "Fragment", "ParsedPrompt", "parse", "parse_prompt_attention", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'darkroom.prompt' has no attribute {name!r}")
