"""CLI flags derived from a step's pydantic fields (the one place a parameter is defined)."""

from __future__ import annotations

import argparse
import types
import typing

from pydantic import BaseModel


def _scalar_type(annotation):
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return next(a for a in typing.get_args(annotation) if a is not type(None))
    return annotation


def add_step_arguments(parser: argparse.ArgumentParser, model: type[BaseModel], *,
                       positional: tuple[str, ...] = (), aliases: dict[str, list[str]] | None = None,
                       skip: tuple[str, ...] = ("op",), prefix: str = "") -> None:
    """One argument per field; help text and default come from the field declaration.

    Flags default to None so that only what the user typed overrides the model's defaults.
    Literal fields become choices, booleans --flag/--no-flag. With `prefix` ("hires"), flags
    are --hires-NAME and values land in args.hires_NAME (see `step_values`).
    """
    aliases = aliases or {}
    for name, info in model.model_fields.items():
        if name in skip:
            continue
        kind = _scalar_type(info.annotation)
        help_text = info.description or ""
        if not info.is_required():
            help_text += f" (default: {info.default})" if info.default is not None else ""
        extra: dict = {"type": kind}
        if typing.get_origin(kind) is typing.Literal:
            extra = {"type": str, "choices": list(typing.get_args(kind))}
        elif kind is bool:
            extra = {"action": argparse.BooleanOptionalAction}
        if name in positional:
            parser.add_argument(name, help=help_text, **extra)
            continue
        dest = f"{prefix}_{name}" if prefix else name
        flags = aliases.get(name, ["--" + dest.replace("_", "-")])
        parser.add_argument(*flags, dest=dest, default=None, help=help_text, **extra)


def step_values(args: argparse.Namespace, model: type[BaseModel], prefix: str = "") -> dict:
    """The fields the user set on the command line."""
    return {
        name: getattr(args, f"{prefix}_{name}" if prefix else name)
        for name in model.model_fields
        if getattr(args, f"{prefix}_{name}" if prefix else name, None) is not None
    }
