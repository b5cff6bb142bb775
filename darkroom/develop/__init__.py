"""The workflow: a recipe of steps, developed from a raw negative to the final picture.

    recipe.py     the schema: every step's parameters (range, default, en/de description)
    runner.py     runs a recipe: one function per step op (STEPS), chains, batches, lineage
    generate.py   txt2img               hires.py    Hi-Res Fix (upscalers.py: A1111 names)
    img2img.py    img2img (images.py: fitting input pictures)
    inpaint.py    inpaint a zone (masks.py: zone -> mask, blur, crop, composite, colour;
                  detectors.py: face and other detected zones)
    passes.py     what the later passes share (inherited settings, one img2img pass)
    latents.py    VAE encode/decode, tiled for big pictures
    context.py    what a run shares (engine, prompt cache, inputs, progress)
    inputs.py     input pictures -> library references
    variants.py   N variants of a step and their contact sheet
    output.py     the one place picture files are written (PNG chunks: infotext, recipe, lineage)
    infotext.py   A1111's parameters text; samplers.py: A1111 sampler names

Adding a step: its model in recipe.py (a Step union member), its function in a file of
its own, one line in runner.STEPS.
"""
