"""The step registry: one line per step type, and everything else derives from it.

A step type is its pydantic model (its `op` literal names it), its function
`(ctx, frame, step, index) -> Frame` and its A1111 infotext fields `(step, first step) -> dict`,
all three in the step's own file. From this list come the recipe's `Step` union (so the JSON
schema, validation and the CLI's fields), the runner's op -> function table, the infotext and
the error locations. Adding a step type means one file, and its import and its line here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Callable, Iterable, Union

from pydantic import Field

from darkroom.develop.generate import GenerateStep, generate_infotext, run_generate_step
from darkroom.develop.hires import HiresStep, hires_infotext, run_hires
from darkroom.develop.img2img import Img2ImgStep, img2img_infotext, run_img2img
from darkroom.develop.inpaint import InpaintStep, inpaint_infotext, run_inpaint
from darkroom.develop.outpaint import OutpaintStep, outpaint_infotext, run_outpaint


@dataclass(frozen=True)
class StepType:
    model: type  # a StepModel with an `op` literal
    run: Callable  # (ctx, frame, step, index) -> Frame
    infotext: Callable[..., dict]  # (step, first step of the recipe) -> A1111 fields; None values are left out
    keeps_prompt: bool = False  # the infotext shows the first step's prompt (the hires fix is part of its image)

    @property
    def op(self) -> str:
        return self.model.model_fields["op"].default


REGISTRY: tuple[StepType, ...] = (
    StepType(model=GenerateStep, run=run_generate_step, infotext=generate_infotext),
    StepType(model=HiresStep, run=run_hires, infotext=hires_infotext, keeps_prompt=True),
    StepType(model=Img2ImgStep, run=run_img2img, infotext=img2img_infotext),
    StepType(model=InpaintStep, run=run_inpaint, infotext=inpaint_infotext),
    StepType(model=OutpaintStep, run=run_outpaint, infotext=outpaint_infotext),
)


def step_union(types: Iterable[StepType]):
    """The tagged union of the types' models, told apart by `op`."""
    return Annotated[Union[tuple(t.model for t in types)], Field(discriminator="op")]


def by_op(types: Iterable[StepType]) -> dict[str, StepType]:
    return {t.op: t for t in types}


Step = step_union(REGISTRY)
BY_OP = by_op(REGISTRY)
OPS = tuple(BY_OP)


def step_type(op: str) -> StepType:
    return BY_OP[op]
