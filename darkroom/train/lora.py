"""Train a LoRA for darkroom-mini on a CPU: `train_lora("teal", "teal.safetensors")`.

The recipe is the mini model's own (training/train.py): latents of the pictures encoded once
(posterior mean x scaling factor), the frozen text encoder's last hidden state of each caption
(10% empty, for classifier-free guidance), DDPM noise on the model's zero-terminal-SNR schedule,
a v-prediction target, MSE. Only LoRA matrices on the UNet's attention projections learn
(peft, rank `rank`, Gaussian init of A, zero B: step 0 is the plain model). Every random draw
comes from generators seeded by `seed`, so the same call writes the same file.

The output is a kohya-format `.safetensors` (`lora_unet_<layer>.lora_down.weight` /
`.lora_up.weight` / `.alpha`, with kohya's `ss_*` metadata), which diffusers'
`load_lora_weights`, A1111 and ComfyUI read, and `darkroom models add` registers.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from darkroom import imports
from darkroom.errors import InvalidParameter, ModelError
from darkroom.fsutil import write_atomic
from darkroom.settings import Settings
from darkroom.train.data import Example, concept_examples, folder_examples

TARGETS = ["to_q", "to_k", "to_v", "to_out.0"]
Progress = Callable[[int, int, float], None]  # (step, steps, loss)


@dataclass
class TrainResult:
    path: Path
    concept: str  # the concept word, or the folder
    steps: int
    seconds: float
    examples: int
    rank: int
    losses: list[float] = field(default_factory=list)

    @property
    def final_loss(self) -> float:
        tail = self.losses[-20:]
        return float(np.mean(tail)) if tail else float("nan")


def _check(steps: int, rank: int, batch: int, images: int, lr: float) -> None:
    limits = {"steps": (steps, 1, 100_000), "rank": (rank, 1, 128), "batch": (batch, 1, 256),
              "images": (images, 1, 20_000)}
    for name, (value, low, high) in limits.items():
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidParameter(f"{name} must be a whole number from {low} to {high}, not {value!r}")
    if not (isinstance(lr, (int, float)) and np.isfinite(lr) and 0 < lr <= 1):
        raise InvalidParameter(f"the learning rate must be a number in (0, 1], not {lr!r}")


def _examples(concept_or_folder: str | Path, images: int, seed: int, prior: float) -> tuple[str, list[Example]]:
    path = Path(str(concept_or_folder)).expanduser()
    if path.is_dir():
        return str(path), folder_examples(path)
    return str(concept_or_folder), concept_examples(str(concept_or_folder), images, seed, prior)


def _mini(settings: Settings):
    from darkroom.models.engine import load_engine
    from darkroom.models.registry import Registry

    engine = load_engine(Registry(settings).builtin(), device="cpu", dtype="float32", settings=settings)
    return engine.components  # our own copy: nothing shared is changed


def _latents(vae, examples: list[Example]) -> torch.Tensor:
    pixels = torch.from_numpy(np.stack([np.asarray(e.image, dtype=np.float32) for e in examples]))
    pixels = pixels.permute(0, 3, 1, 2) / 127.5 - 1
    with torch.no_grad():
        chunks = [vae.encode(pixels[i:i + 64]).latent_dist.mean for i in range(0, len(pixels), 64)]
    return torch.cat(chunks) * vae.config.scaling_factor


def _captions(tokenizer, text_encoder, captions: list[str]) -> dict[str, torch.Tensor]:
    unique = sorted(set(captions) | {""})
    ids = tokenizer(unique, padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                    return_tensors="pt").input_ids
    with torch.no_grad():
        hidden = text_encoder(ids)[0]
    return dict(zip(unique, hidden))


def kohya_state(unet, alpha: float) -> dict[str, torch.Tensor]:
    """The UNet's peft LoRA weights under kohya's names, with one alpha per layer."""
    from peft import get_peft_model_state_dict

    out = {}
    for key, value in get_peft_model_state_dict(unet).items():
        layer, _, kind = key.rpartition(".lora_")
        name = "lora_unet_" + layer.replace(".", "_")
        out[f"{name}.{'lora_down' if kind.startswith('A') else 'lora_up'}.weight"] = value.detach().contiguous()
        out[f"{name}.alpha"] = torch.tensor(float(alpha))
    return dict(sorted(out.items()))


def train_lora(concept_or_folder: str | Path, out_path: str | Path, *, steps: int = 400, seed: int = 0,
               rank: int = 4, batch: int = 16, images: int = 256, lr: float = 2e-3, prior: float = 0.5,
               progress: Progress | None = None, settings: Settings | None = None) -> TrainResult:
    """Teach darkroom-mini a concept (a colour word from `data.NEW_COLORS`) or a folder of captioned
    pictures; write a kohya-format LoRA to `out_path` and return what happened."""
    with imports.LOCK:
        from diffusers import DDPMScheduler
        from peft import LoraConfig
    from safetensors.torch import save

    _check(steps, rank, batch, images, lr)
    out_path = Path(out_path).expanduser()
    if out_path.suffix.lower() != ".safetensors":
        raise InvalidParameter(f"the LoRA is written as .safetensors; {out_path.name} has another suffix")
    if not out_path.parent.is_dir():
        raise InvalidParameter(f"no folder {out_path.parent} to write {out_path.name} into")
    started = time.perf_counter()
    torch.manual_seed(seed)
    concept, examples = _examples(concept_or_folder, images, seed, prior)
    parts = _mini(settings or Settings())
    unet, vae = parts["unet"], parts["vae"]
    latents = _latents(vae, examples)
    hidden = _captions(parts["tokenizer"], parts["text_encoder"], [e.caption for e in examples])
    schedule = DDPMScheduler.from_config(dict(parts["scheduler"].config))
    unet.requires_grad_(False)
    unet.add_adapter(LoraConfig(r=rank, lora_alpha=rank, init_lora_weights="gaussian", target_modules=TARGETS))
    params = [p for p in unet.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    unet.train()
    losses = []
    for step in range(steps):
        rng = np.random.default_rng([seed, 15, step])
        index = rng.integers(0, len(examples), batch)
        captions = ["" if rng.random() < 0.1 else examples[i].caption for i in index]
        x0 = latents[torch.from_numpy(index)]
        generator = torch.Generator().manual_seed(seed * 104729 + step)
        noise = torch.randn(x0.shape, generator=generator)
        t = torch.randint(0, schedule.config.num_train_timesteps, (batch,), generator=generator)
        prediction = unet(schedule.add_noise(x0, noise, t), t, torch.stack([hidden[c] for c in captions])).sample
        loss = torch.nn.functional.mse_loss(prediction, schedule.get_velocity(x0, noise, t))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        losses.append(float(loss.item()))
        if progress is not None:
            progress(step + 1, steps, losses[-1])
    metadata = {"ss_network_module": "networks.lora", "ss_network_dim": str(rank), "ss_network_alpha": str(rank),
                "ss_base_model_version": "darkroom-mini", "ss_sd_model_name": "darkroom-mini",
                "ss_output_name": out_path.stem, "ss_seed": str(seed), "ss_max_train_steps": str(steps),
                "ss_learning_rate": str(lr), "ss_num_train_images": str(len(examples)),
                "ss_training_comment": f"darkroom train lora {concept}",
                "darkroom_training": json.dumps({"concept": concept, "batch": batch, "prior": prior,
                                                 "targets": TARGETS})}
    state = kohya_state(unet, alpha=rank)
    if not all(torch.isfinite(v).all() for v in state.values()):
        raise ModelError("training diverged (NaN or infinite weights); lower the learning rate")
    write_atomic(out_path, save(state, metadata=metadata), mode=0o644)
    return TrainResult(path=out_path, concept=concept, steps=steps, seconds=time.perf_counter() - started,
                       examples=len(examples), rank=rank, losses=losses)
