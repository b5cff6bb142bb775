"""A1111's `parameters` text: the PNG-info format other tools already read.

    prompt
    Negative prompt: negative
    Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7.0, Seed: 42, Size: 512x512, ...
"""

from __future__ import annotations

import json


def _quote(value) -> str:
    text = str(value)
    if "," in text or "\n" in text or ":" in text:
        return json.dumps(text, ensure_ascii=False)
    return text


def infotext(prompt: str, negative_prompt: str, params: dict) -> str:
    """A1111's create_infotext layout; params with value None are left out."""
    line = ", ".join(f"{key}: {_quote(value)}" for key, value in params.items() if value is not None)
    lines = [prompt]
    if negative_prompt:
        lines.append(f"Negative prompt: {negative_prompt}")
    lines.append(line)
    return "\n".join(lines)
