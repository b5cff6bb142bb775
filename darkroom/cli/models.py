"""darkroom models add|list|remove: the checkpoints darkroom knows by name."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


SOURCES = {
    "override": "as given", "metadata": "from the file's metadata", "marker": "from the file's v_pred marker",
    "yaml": "from the .yaml beside it", "weights": "guessed from the weights", "default": "assumed",
    "config": "from its scheduler config",
}


def register(sub) -> None:
    parser = sub.add_parser("models", help="add, list and remove models")
    models = parser.add_subparsers(dest="models_command", required=True, metavar="ACTION")

    add = models.add_parser(
        "add", help="register a .safetensors checkpoint (SD 1.x, 2.x, SDXL), a diffusers folder, a LoRA or an embedding",
        description="Register a single-file .safetensors checkpoint (SD 1.x, SD 2.x, SDXL base), a "
                    "diffusers folder, a LoRA (kohya/A1111 or diffusers/peft) or a textual-inversion embedding "
                    "(used by its name as the trigger word). Pickle files (.ckpt, .pt, .bin) are refused.",
    )
    add.add_argument("path", type=Path, help="a .safetensors file or a diffusers folder")
    add.add_argument("--name", help="the name to use it by (default: the file name)")
    add.add_argument("--prediction", choices=["v", "epsilon"],
                     help="override the prediction type (SD 2.x 768 models are v; most others epsilon)")
    add.add_argument("--config", type=Path, metavar="DIR",
                     help="a diffusers config folder for a checkpoint whose architecture is not standard")
    add.set_defaults(run=run_add)

    lst = models.add_parser("list", help="list the registered models (* marks the default)")
    lst.set_defaults(run=run_list)

    remove = models.add_parser("remove", help="forget a model (the file itself is not touched)")
    remove.add_argument("name")
    remove.set_defaults(run=run_remove)


def _registry():
    from darkroom.models.registry import Registry
    from darkroom.settings import Settings

    return Registry(Settings())


class _HashProgress:
    """A progress bar on stderr while a large file is hashed (small files stay silent)."""

    MIN_BYTES = 64 * 1024 * 1024

    def __init__(self):
        self.bar = None
        self.file = None

    def __call__(self, path, done: int, total: int) -> None:
        if total < self.MIN_BYTES:
            return
        if path != self.file:
            self.close()
            from tqdm import tqdm

            self.file = path
            self.bar = tqdm(total=total, unit="B", unit_scale=True, desc=f"sha256 {path.name}",
                            file=sys.stderr, leave=False)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def run_add(args: argparse.Namespace) -> int:
    from darkroom.models.networks import NetworkRegistry, is_network_file
    from darkroom.settings import Settings

    if is_network_file(args.path):
        if args.prediction or args.config:
            print("darkroom: note: --prediction and --config are for checkpoints; ignored for this file",
                  file=sys.stderr)
        net = NetworkRegistry(Settings()).add(args.path, name=args.name)
        use = f"<lora:{net.name}:1>" if net.kind == "lora" else f"the word {net.name}"
        detail = f"rank {net.rank}, {net.layers} layers" if net.kind == "lora" else f"{net.layers} vector(s)"
        print(f"added {net.kind} {net.name}: {net.family}, {detail}, hash {net.short_hash} ({net.path}); "
              f"use it in a prompt with {use}")
        return 0
    progress = _HashProgress()
    try:
        entry = _registry().add(args.path, name=args.name, prediction=args.prediction, config_dir=args.config,
                                progress=progress)
    finally:
        progress.close()
    how = f" ({SOURCES.get(entry.prediction_source, entry.prediction_source)})" if entry.family.startswith("sd2") else ""
    print(f"added {entry.name}: {entry.family}, {entry.prediction} prediction{how}, native size "
          f"{entry.native_size}x{entry.native_size}, hash {entry.short_hash} ({entry.path})")
    if entry.prediction_source == "default" and entry.family.startswith("sd2"):
        other = "epsilon" if entry.prediction == "v" else "v"
        print(f"note: nothing in the file says whether it is a v-prediction model; assumed {entry.prediction}. "
              f"If images come out as noise or flat grey, add it again with --prediction {other}.")
    return 0


def run_list(args: argparse.Namespace) -> int:
    registry = _registry()
    entries = registry.list()
    default = entries[0].name  # the built-in darkroom-mini
    from darkroom.models.networks import NetworkRegistry

    rows = [("", "NAME", "KIND", "FAMILY", "SIZE", "HASH", "PATH")]
    for entry in entries:
        path = entry.path if entry.exists() else f"{entry.path} (missing)"
        rows.append(("*" if entry.name == default else "", entry.name, "checkpoint", entry.family,
                     str(entry.native_size), entry.short_hash or "-", path))
    for net in NetworkRegistry(registry.settings).list():
        path = net.path if net.exists() else f"{net.path} (missing)"
        rows.append(("", net.name, net.kind, net.family, "-", net.short_hash, path))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])
    return 0


def run_remove(args: argparse.Namespace) -> int:
    from darkroom.errors import UnknownModel
    from darkroom.models.networks import NetworkRegistry

    registry = _registry()
    if args.name not in registry.names():
        try:
            net = NetworkRegistry(registry.settings).remove(args.name)
        except UnknownModel:
            raise registry._unknown(args.name, registry._load()) from None
        print(f"removed {net.kind} {net.name} ({net.path}); the file was not touched")
        return 0
    entry = registry.remove(args.name)
    print(f"removed {entry.name} ({entry.path}); the file was not touched")
    return 0
