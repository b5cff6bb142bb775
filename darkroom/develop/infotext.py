"""A1111's `parameters` text: the PNG-info format other tools already read.

    prompt
    Negative prompt: negative
    Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7.0, Seed: 42, Size: 512x512, ...

The format has no escaping for the prompts: A1111's reader takes every line that starts with
`Negative prompt:` as the start of the negative prompt, sd-parsers splits at the first
`Negative prompt:` anywhere, others split lines at any Unicode line break or search the
text for `Steps: N`. So a prompt with a line break could forge those lines (A1111 writes
them as they are). Here, before a prompt is written:

- a `Negative prompt:` inside a prompt (any case, any spacing) becomes `Negative prompt :`,
- a line of a prompt that reads as a parameter line (three or more `Key: value` pairs, the
  test A1111 applies to the last line) gets the same space before each of its colons,
- a line break other than `\\n` (`\\r`, U+2028, ...) that starts such a line counts as one.

A space before a colon changes no CLIP token (the tokenizer splits punctuation from words and
drops whitespace), so the prompt still encodes to exactly the same conditioning; every other
prompt (quotes, colons, weights, newlines, unicode) is written unchanged and reads back
exactly. Parameter values are JSON-quoted as A1111 does, with every line break escaped.
The recipe chunk (`darkroom`) stays the exact record.
"""

from __future__ import annotations

import json
import re

# A1111's own expression for one `Key: value` pair (modules/infotext_utils.py)
PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
# every character str.splitlines() breaks at
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_LINES = re.compile(f"([{LINE_BREAKS}])")
_NEGATIVE = re.compile(r"negative(\s*)prompt\s*:", re.IGNORECASE)
_KEY_COLON = re.compile(r"(\w[\w \-/]*?)\s*:")


def _defuse_line(line: str) -> str:
    line = _NEGATIVE.sub(lambda m: m.group(0)[:-1].rstrip() + " :", line)
    if len(PARAM.findall(line)) >= 3:
        line = _KEY_COLON.sub(lambda m: m.group(1) + " :", line)
    return line


def safe_prompt(text: str) -> str:
    """`text` as it can go into an infotext: no line of it can pass for a `Negative prompt:` or a
    parameter line, in A1111's reader or in any other."""
    parts = _LINES.split(text)
    return "".join(part if i % 2 else _defuse_line(part) for i, part in enumerate(parts))


def _quote(value) -> str:
    text = str(value)
    if "," in text or ":" in text or '"' in text or any(c in text for c in LINE_BREAKS):
        quoted = json.dumps(text, ensure_ascii=False)
        # json leaves these raw; a reader that splits lines at them must not see a break
        for char in "\x85\u2028\u2029":
            quoted = quoted.replace(char, f"\\u{ord(char):04x}")
        return quoted
    return text


def infotext(prompt: str, negative_prompt: str, params: dict) -> str:
    """A1111's create_infotext layout; params with value None are left out."""
    line = ", ".join(f"{key}: {_quote(value)}" for key, value in params.items() if value is not None)
    lines = [safe_prompt(prompt)]
    if negative_prompt:
        lines.append(f"Negative prompt: {safe_prompt(negative_prompt)}")
    lines.append(line)
    return "\n".join(lines)
