"""darkroom prompt analyze "PROMPT": the tokens, chunks and weights a prompt becomes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

CLIP_DIR = Path(__file__).resolve().parent.parent / "models" / "clip"


def register(sub) -> None:
    parser = sub.add_parser("prompt", help="inspect prompts: tokens, 75-token chunks, weights")
    actions = parser.add_subparsers(dest="prompt_command", required=True, metavar="ACTION")
    analyze = actions.add_parser(
        "analyze",
        help="show the tokens, chunk boundaries and effective weights of a prompt",
        description="Show what the text encoder sees: every token with its effective weight, "
        "where each chunk ends and why, and warnings about anything dropped or probably "
        "unintended (unbalanced brackets, text that produces no tokens, ...).",
    )
    analyze.add_argument("prompt", help='the prompt, in A1111 syntax: "a (red:1.3) fox, BREAK snow"')
    analyze.add_argument(
        "--model",
        "-m",
        help="whose tokenizer to use: a registered model name or hash, a checkpoint, or a diffusers "
        "folder (default: the Stable Diffusion CLIP tokenizer)",
    )
    analyze.add_argument("--json", action="store_true", help="print the analysis as JSON")
    analyze.set_defaults(run=run_analyze)


def _context_length(text_encoder_dir: Path) -> int | None:
    config = text_encoder_dir / "config.json"
    if config.is_file():
        value = json.loads(config.read_text()).get("max_position_embeddings")
        return int(value) if isinstance(value, int) else None
    return None


def _from_folder(root: Path):
    """Tokenizer and spec of a diffusers model folder, a bundled config folder or a tokenizer folder."""
    from darkroom.models.engine import load_tokenizer as load_model_tokenizer
    from darkroom.prompt.chunks import tokenizer_spec

    folder = root / "tokenizer" if (root / "tokenizer").is_dir() else root
    try:
        tokenizer = load_model_tokenizer(folder)
    except (OSError, ValueError) as err:
        from darkroom.errors import InvalidParameter

        raise InvalidParameter(f"no tokenizer could be loaded from {folder}: {err}") from None
    lengths = [n for n in (_context_length(root / "text_encoder"),) if n]
    spec = tokenizer_spec(tokenizer, context_length=min(lengths) if lengths else None)
    return tokenizer, spec


def load_tokenizer(model: str | None = None):
    """(tokenizer, TokenizerSpec) for `model`: None is SD's CLIP tokenizer; a folder is read
    as it is; anything else (a name, a hash, a checkpoint file) goes through the registry.
    Nothing is downloaded, and no model weights are loaded."""
    from darkroom.prompt.chunks import tokenizer_spec

    if model is None:
        from transformers import CLIPTokenizer

        tokenizer = CLIPTokenizer.from_pretrained(str(CLIP_DIR), local_files_only=True)
        return tokenizer, tokenizer_spec(tokenizer)
    path = Path(model).expanduser()
    if path.is_dir():
        return _from_folder(path)

    from darkroom.models import detect
    from darkroom.models.registry import Registry

    entry = Registry().resolve(model)
    if entry.format == "diffusers":
        return _from_folder(Path(entry.path))
    return _from_folder(Path(entry.config_dir or detect.config_dir_for(entry.family)))


def run_analyze(args: argparse.Namespace) -> int:
    from darkroom.prompt.analyze import analyze, format_analysis

    tokenizer, spec = load_tokenizer(args.model)
    analysis = analyze(tokenizer, args.prompt, spec=spec)
    if args.json:
        print(json.dumps(analysis.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_analysis(analysis))
    return 0
