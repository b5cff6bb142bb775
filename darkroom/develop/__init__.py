"""The workflow: a recipe of steps, developed from a raw negative to the final picture.

This layer makes pixels and nothing else; admission, audit and saving are the studio's.

    recipe.py     the recipe (model + steps), canonical JSON, validation messages
    fields.py     shared field types: each range, default and en/de description once
    steps.py      the step registry: the Step union, the runner table, the infotext
    runner.py     runs a recipe on an engine: chains, batches, lineage, listeners
    denoise.py    the one denoising pass every step uses (x0.py: predicted x0;
                  previews.py: cheap preview pictures)
    generate.py   txt2img               hires.py    Hi-Res Fix (upscalers.py: A1111 names)
    img2img.py    img2img (images.py: fitting input pictures)
    inpaint.py    inpaint a zone (masks.py: zone -> mask, blur, crop, composite, colour)
    outpaint.py   extend the canvas and inpaint the new border
    passes.py     what the later passes share (inherited settings, one img2img pass)
    latents.py    VAE encode/decode, tiled for big pictures
    context.py    what a run's steps share (engine, prompt cache, inputs, observer)
    variants.py   N variants of a step and their contact sheet
    infotext.py   A1111's parameters text; samplers.py: A1111 sampler names

Adding a step: one file (its model, run function and infotext fields) and its line in steps.py.
"""
