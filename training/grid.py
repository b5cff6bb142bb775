"""Save a grid of generated images with their prompts (for looking at a model or checkpoint).

  python -m training.grid --run training/runs/main --out /tmp/grid.png
"""
from __future__ import annotations

import argparse

import torch
from PIL import Image

from darkroom.mini import world

from . import evaluate


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--run")
    p.add_argument("--model", default=evaluate.MODEL_DIR)
    p.add_argument("--out", default="grid.png")
    p.add_argument("--n", type=int, default=16)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    pipe = evaluate.pipeline_from_run(args.run) if args.run else evaluate.load_pipeline(args.model)
    scenes = evaluate.eval_scenes(args.n, args.seed)
    prompts = [world.full_caption(s) for s in scenes]
    imgs = evaluate.txt2img(pipe, prompts, args.seed)
    cols = 8
    rows = (len(imgs) + cols - 1) // cols
    grid = Image.new("RGB", (cols * 66, rows * 66), "gray")
    for i, im in enumerate(imgs):
        grid.paste(im, ((i % cols) * 66 + 1, (i // cols) * 66 + 1))
    grid.resize((grid.width * 2, grid.height * 2), Image.NEAREST).save(args.out)
    for i, pr in enumerate(prompts):
        print(i, pr)


if __name__ == "__main__":
    main()
