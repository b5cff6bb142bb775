"""What every step of one run shares: the loaded model, prompt encodings, inputs, progress."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from darkroom.prompt.encode import PromptCache

Progress = Callable[[int, int], None]


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
    progress: Progress | None = None
    prompts: PromptCache = field(default_factory=PromptCache)
    load_input: Callable[[str], Any] = _no_inputs  # "sha256:HEX" -> PIL image (the library)
    on_step: Callable[[Any], None] | None = None  # called with each Developed as it is made (audit)

    def encode(self, prompt: str, negative_prompt: str, clip_skip: int) -> dict:
        """Prompt embeddings as pipeline kwargs, computed once per run."""
        kind = "inpaint" if self.engine.unet_in_channels == 9 else "txt2img"
        pipe = self.engine.pipeline(kind)
        return self.prompts.encode(pipe, prompt, negative_prompt, clip_skip=clip_skip, device=self.engine.device)

    def step_callback(self):
        """A diffusers callback_on_step_end that reports progress."""

        def callback(pipe, index, timestep, callback_kwargs):
            if self.progress is not None:
                self.progress(index + 1, pipe.num_timesteps)
            return callback_kwargs

        return callback
