"""What every step of one run shares: the loaded model, prompt encodings, inputs, the observer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from darkroom.prompt.encode import PromptCache


@dataclass
class Frame:
    """A picture between steps; `latents` when the step that made it has them (scaled, 4-channel)."""

    image: Any  # PIL.Image.Image
    latents: Any = None  # torch.Tensor | None


def _no_inputs(ref: str):
    from darkroom.errors import ImageError

    raise ImageError(f"input {ref} is not available in this run")


@dataclass
class RunContext:
    engine: object  # darkroom.models.engine.Engine
    observe: Callable[[Any], None] | None = None  # sees every denoising step (DenoiseStep); may raise Cancelled
    prompts: PromptCache = field(default_factory=PromptCache)
    load_input: Callable[[str], Any] = _no_inputs  # "sha256:HEX" -> PIL image

    def encode(self, prompt: str, negative_prompt: str, clip_skip: int) -> dict:
        """Prompt embeddings as pipeline kwargs, computed once per run."""
        kind = "inpaint" if self.engine.unet_in_channels == 9 else "txt2img"
        pipe = self.engine.pipeline(kind)
        adapters = self.engine.adapters.active if hasattr(self.engine, "adapters") else ()
        return self.prompts.encode(pipe, prompt, negative_prompt, clip_skip=clip_skip, device=self.engine.device,
                                   adapters=adapters)
